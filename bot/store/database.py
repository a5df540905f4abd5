"""The seam between the store's ideas and a database backend.

The idea modules (sync, queries, publishing, outbox, feeds) speak SQL through this
small protocol only, never through a driver: a backend (`sqlite.py`, `postgres.py`)
supplies the connection, transactions, placeholders and the full-text search dialect.
The SQL the idea modules write is one text for both backends, with `?` placeholders.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence, Sized
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

Clock = Callable[[], float]
"""Seconds since the epoch: the store's one clock (`Store.clock`), injected by tests."""

CHUNK = 500  # ids per `IN (...)` list: well under every backend's bound-parameter limit
NESTED = (
    "transaction() inside an open transaction of the same database: write transactions do "
    "not nest; do the inner work in the outer transaction"
)


class Row(Protocol):
    """A result row, addressed by column name or position."""

    def __getitem__(self, key: int | str, /) -> Any: ...


class Database(Protocol):
    """One backend's connection: reads, one write transaction at a time, and its dialect."""

    kind: str
    """"sqlite" (one host) or "postgresql" (several processes on several hosts)."""

    generation: int
    """Bumped on every commit (on PostgreSQL, other processes' too): caches keyed by it
    never serve stale data."""

    async def fetch(self, sql: str, params: Iterable[Any] = ()) -> list[Row]: ...

    async def fetch_tuples(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        """Plain tuples: for the few reads of 100,000 rows."""
        ...

    async def fetchval(self, sql: str, params: Iterable[Any] = ()) -> Any: ...

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    def transaction(self) -> AbstractAsyncContextManager[None]:
        """One write transaction; serialised in this process and across processes.

        Transactions do not nest: entering one while this task (or the task that started
        this one) already has one open on the same database raises RuntimeError at once,
        on every backend (neither waiting for itself nor silently joining the outer one,
        whose rollback would then undo the inner one's work after it looked done).
        """
        ...

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Inside a transaction: call `callback` once it has committed (not at all if it
        rolls back; once however often it is registered). Outside one: call it at once,
        on every backend, since what it follows is already committed (e.g. wake the poster)."""
        ...

    def notify(self, topic: str) -> None:
        """Once the current transaction commits, other processes' `listen(topic)` callbacks
        run (a no-op where no other process can listen: SQLite)."""
        ...

    def listen(self, topic: str, callback: Callable[[], None]) -> None:
        """Call `callback` when another process commits a transaction that notified `topic`."""
        ...

    async def clock(self) -> float:
        """Seconds since the epoch by the database's clock: one clock for every process."""
        ...

    def now(self) -> float:
        """The database's clock without a round trip: the local clock corrected by the
        offset to it last measured (`clock`). The store's clock unless one is injected."""
        ...

    def bulk_load(self) -> AbstractAsyncContextManager[None]:
        """Around a load of thousands of files: the backend may defer index upkeep."""
        ...

    async def analyze(self) -> None:
        """After the first batch of a big load into near-empty tables: the planner's
        statistics made anew, so the next batches' lookups use the indexes."""
        ...


def marks(items: Sized) -> str:
    """`?, ?, ?` for an `IN (...)` list."""
    return ", ".join("?" * len(items))


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def in_chunks(
    db: Database, sql: str, items: Sequence[Any], params: Sequence[Any] = ()
) -> AsyncIterator[Row]:
    """Rows of `sql` (with one `{marks}` placeholder for the list) over `items`, 500 at a time."""
    for chunk in chunks(items):
        for row in await db.fetch(sql.format(marks=marks(chunk)), [*chunk, *params]):
            yield row
