"""The PostgreSQL backend (asyncpg): several processes on several hosts share one database.

Everything PostgreSQL-specific lives here, behind `Database`: the pool, `?` placeholders
turned into `$n`, transactions pinned to one connection, forward migrations under an
advisory lock, and LISTEN/NOTIFY so other processes' writes are seen
at once. Write transactions are serialised across processes by an advisory lock, as
SQLite's `BEGIN IMMEDIATE` serialises them, so the idea modules behave alike on both.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from bot.config import redact
from bot.errors import DatabaseUnavailable, DeskUnavailable
from bot.store import schema
from bot.store.database import NESTED, Row

log = logging.getLogger(__name__)

MIGRATE_LOCK = 0x6E657773_0001  # advisory lock keys ("news" + n)
WRITE_LOCK = 0x6E657773_0002
_SURROGATE = re.compile("[\ud800-\udfff]")
CHANNEL = "newsbot"  # the NOTIFY channel every process listens on
CONNECT_TIMEOUT = 2.0  # seconds: a command must still be answered within Discord's 3 s
IDLE_IN_TRANSACTION_MS = 8000  # under the lease's 12 s, so a frozen holder never blocks it
CLOSE_TIMEOUT = 5.0  # seconds to let busy connections finish at exit
UNREACHABLE_LOG_EVERY = 60.0  # seconds: "unreachable" is said once a minute, not every retry
RECONNECT_FIRST = 0.5  # seconds before LISTEN's connection is tried again, doubling to 10
READ_DELAYS = (0.1, 0.4)  # a read that lost its connection is tried again after these
SERVER_SETTINGS = {
    "jit": "off",
    "application_name": "newsbot",
    # A process frozen in a transaction (SIGSTOP, a stalled VM) must not hold the write lock
    # for ever: the server ends its session; the others go on.
    "idle_in_transaction_session_timeout": str(IDLE_IN_TRANSACTION_MS),
}
# The connection is gone (or never came): the desk is briefly unavailable, not broken.
LOST = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.TooManyConnectionsError,
    asyncpg.InternalClientError,  # a connection cut off mid-operation by the server
)


@dataclass(eq=False)
class _Transaction:
    db: PostgresDatabase
    conn: Any  # asyncpg.Connection
    callbacks: list[Callable[[], None]] = field(default_factory=list)
    topics: set[str] = field(default_factory=set)
    wrote: bool = False  # some statement changed a row: the other processes are told
    open: bool = True  # a task started inside it and outliving it must not use its connection


_CURRENT: ContextVar[_Transaction | None] = ContextVar("newsbot_pg_transaction", default=None)


def _privileges(exc: Exception) -> str:
    """A role that may not create tables: since PostgreSQL 15 `GRANT ALL ON DATABASE`
    alone no longer lets it create anything in the schema public."""
    return (
        f"{exc}: the bot's role must own the schema public (as the database's owner, run "
        "`ALTER SCHEMA public OWNER TO <role>`, or `GRANT ALL ON SCHEMA public TO <role>`; "
        "see docs/operations.md)"
    )


async def _session_kept(conn: Any) -> None:
    """What a pooled connection needs on its way back to the pool beyond asyncpg's own
    rollback of a transaction left open: nothing. The bot sets no session setting, takes
    only transaction-scoped advisory locks, opens no cursor and listens on a connection of
    its own, so asyncpg's default reset (`RESET ALL`, `UNLISTEN *`, ... : one more round
    trip per statement, the connection held until it returns) would undo nothing."""


class PostgresDatabase:
    """An asyncpg pool; statements inside `transaction()` share its one connection."""

    kind = "postgresql"

    def __init__(self, pool: Any, label: str) -> None:
        self.pool = pool
        self.label = label
        self.generation = 0
        self.token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"  # this process, in notifications
        self._write_lock = asyncio.Lock()
        self.notifications = _Notifications(self, "")
        self._listen_task: asyncio.Task[None] | None = None
        self.offset = 0.0  # the server's clock minus ours, last measured (`clock`)
        self._said_unreachable_at = -UNREACHABLE_LOG_EVERY

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, url: str, pool_size: int = 10) -> AsyncIterator[PostgresDatabase]:
        """Connect (the pool), migrate, and listen for other processes' writes; closed on exit."""
        label = redact(url)
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=pool_size,
                timeout=CONNECT_TIMEOUT,
                reset=_session_kept,
                server_settings=SERVER_SETTINGS,
            )
        except (*LOST, asyncpg.PostgresError, ValueError) as exc:
            raise DatabaseUnavailable(label, _reason(exc), "NEWS_DATABASE_URL") from None
        db = cls(pool, label)
        try:
            try:
                await db.migrate()
            except asyncpg.InsufficientPrivilegeError as exc:
                raise DatabaseUnavailable(label, _privileges(exc), "NEWS_DATABASE_URL") from None
            await db.clock()  # the first measure of the offset: `now` is right from the start
            db.notifications.url = url
            db._listen_task = asyncio.create_task(db.notifications.run_forever(), name="listen")
            yield db
        finally:
            if db._listen_task is not None:
                db._listen_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await db._listen_task
            try:
                await asyncio.wait_for(pool.close(), CLOSE_TIMEOUT)
            except TimeoutError:
                log.warning("database connections still busy at exit; closing them")
                pool.terminate()

    async def migrate(self) -> None:
        """Create or upgrade the schema (schema.py) in one transaction under an advisory
        lock: two processes starting on an empty database do it once, the second waiting."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATE_LOCK)
            await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INT NOT NULL)")
            version = int(await conn.fetchval("SELECT MAX(version) FROM schema_version") or 0)
            for number, script in schema.upgrade("postgres", version):
                await conn.execute(script)
                await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", number)
            if version < schema.latest("postgres"):
                log.info("migrated schema %d → %d", version, schema.latest("postgres"))

    # ------------------------------------------------------------------ Database

    async def fetch(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        args = _params(params)
        return list(await self._run(lambda conn: conn.fetch(dollars(sql), *args)))

    async def fetch_tuples(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in await self.fetch(sql, params)]  # type: ignore[arg-type]

    async def fetchval(self, sql: str, params: Iterable[Any] = ()) -> Any:
        args = _params(params)
        return await self._run(lambda conn: conn.fetchval(dollars(sql), *args))

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        args = _params(params)
        status = str(await self._run(lambda conn: conn.execute(dollars(sql), *args)))
        last = status.rsplit(" ", 1)[-1]
        changed = int(last) if last.isdigit() else 0
        # "UPDATE 3", "INSERT 0 1" changed rows; "CREATE INDEX" changed the schema
        self._wrote(not last.isdigit() or (changed > 0 and not status.startswith("SELECT")))
        return changed

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = [_params(row) for row in rows]
        if batch:
            await self._run(lambda conn: conn.executemany(dollars(sql), batch))
            self._wrote(True)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """One write transaction on one connection; a nested call raises (`Database`)."""
        current = _CURRENT.get()
        if current is not None and current.db is self and current.open:
            raise RuntimeError(NESTED)
        async with self._write_lock:
            tx = await self._begin()
            token = _CURRENT.set(tx)
            try:
                yield
                await self._commit(tx)
            except BaseException:
                await self._rollback(tx)
                raise
            finally:
                tx.open = False
                _CURRENT.reset(token)
                await self._release(tx.conn)
        self.generation += 1
        for callback in tx.callbacks:
            callback()

    def _wrote(self, changed: bool) -> None:
        tx = _CURRENT.get()
        if changed and tx is not None and tx.db is self and tx.open:
            tx.wrote = True

    def after_commit(self, callback: Callable[[], None]) -> None:
        tx = _CURRENT.get()
        if tx is None or tx.db is not self or not tx.open:
            callback()
        elif callback not in tx.callbacks:
            tx.callbacks.append(callback)

    def notify(self, topic: str) -> None:
        """Once the current transaction commits, every other process's `listen(topic)`
        callbacks run (this process's own callbacks are registered with `after_commit`)."""
        tx = _CURRENT.get()
        if tx is not None and tx.db is self and tx.open:
            tx.topics.add(topic)

    def listen(self, topic: str, callback: Callable[[], None]) -> None:
        self.notifications.listeners.setdefault(topic, []).append(callback)

    async def clock(self) -> float:
        """The database server's clock (seconds): one clock for every host's leases. Each
        answer also measures the offset `now` applies (taken mid-way through the round trip)."""
        asked = time.time()
        server = float(await self.fetchval("SELECT EXTRACT(EPOCH FROM clock_timestamp())"))
        self.offset = server - (asked + time.time()) / 2
        return server

    def now(self) -> float:
        """The server's clock without a round trip: ours plus the offset last measured (at
        open, then at each lease renewal). One clock for every host's outbox times."""
        return time.time() + self.offset

    @contextlib.asynccontextmanager
    async def bulk_load(self) -> AsyncIterator[None]:
        """Nothing to set aside: the change log gets a row per article, and a search index
        that finds more than it would apply one by one rebuilds (search_index.py)."""
        yield

    async def analyze(self) -> None:
        """Plan a big load's later batches for the rows its first wrote, not an empty table."""
        await self.execute("ANALYZE")

    # ------------------------------------------------------------------ connections

    async def _run(self, operation: Callable[[Any], Awaitable[Any]]) -> Any:
        """Run on the transaction's connection, or on a pooled one (a read whose connection
        was lost is tried again, briefly: a command must still be answered in time)."""
        tx = _CURRENT.get()
        if tx is not None and tx.db is self and tx.open:
            try:
                return await operation(tx.conn)
            except LOST as exc:
                raise DeskUnavailable(_reason(exc)) from None
        for delay in (*READ_DELAYS, None):
            try:
                return await self._on_pooled(operation)
            except LOST as exc:
                if delay is None:
                    self._say_unreachable(_reason(exc))
                    raise DeskUnavailable(_reason(exc)) from None
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    def _say_unreachable(self, reason: str) -> None:
        """Once a minute at most: every task retries every few seconds while it is away."""
        if time.monotonic() - self._said_unreachable_at >= UNREACHABLE_LOG_EVERY:
            self._said_unreachable_at = time.monotonic()
            log.warning("database %s unreachable: %s", self.label, reason)

    async def _on_pooled(self, operation: Callable[[Any], Awaitable[Any]]) -> Any:
        conn = await self._acquire()
        try:
            return await operation(conn)
        except LOST:
            with contextlib.suppress(asyncpg.InterfaceError):
                conn.terminate()  # a connection that failed mid-operation is never reused
            raise
        finally:
            await self._release(conn)

    async def _acquire(self) -> Any:
        """A pooled connection; any failure to connect (refused, not accepting connections,
        shutting down) is the database being away, raised as a lost connection."""
        try:
            return await self.pool.acquire(timeout=CONNECT_TIMEOUT)
        except LOST:
            raise
        except asyncpg.PostgresError as exc:
            raise ConnectionError(_reason(exc)) from exc

    async def _begin(self) -> _Transaction:
        conn = None
        try:
            conn = await self._acquire()
            tx = _Transaction(self, conn)
            await conn.execute("BEGIN")
            await conn.execute("SELECT pg_advisory_xact_lock($1)", WRITE_LOCK)
            return tx
        except BaseException as exc:  # cancelled too: a connection is never left checked out
            if conn is not None:
                await self._release(conn)
            if isinstance(exc, LOST):
                raise DeskUnavailable(_reason(exc)) from None
            raise

    async def _commit(self, tx: _Transaction) -> None:
        try:
            if tx.wrote or tx.topics:  # a read-only transaction (a standby's try) says nothing
                payload = " ".join([self.token, *sorted(tx.topics)])
                await tx.conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
            await tx.conn.execute("COMMIT")
        except LOST as exc:
            raise DeskUnavailable(_reason(exc)) from None

    async def _rollback(self, tx: _Transaction) -> None:
        try:
            if not tx.conn.is_closed():
                await tx.conn.execute("ROLLBACK")
        except (*LOST, asyncpg.PostgresError):
            with contextlib.suppress(asyncpg.InterfaceError):  # already handed back
                tx.conn.terminate()  # in no state to be reused

    async def _release(self, conn: Any) -> None:
        with contextlib.suppress(*LOST, asyncpg.PostgresError):
            await self.pool.release(conn)


class _Notifications:
    """LISTEN on a connection of its own, reconnecting with backoff. Another process's
    commit bumps `generation` and runs the callbacks of the topics it notified; after a
    gap, every callback runs once (a notification may have been missed)."""

    def __init__(self, db: PostgresDatabase, url: str) -> None:
        self.db = db
        self.url = url
        self.listeners: dict[str, list[Callable[[], None]]] = {}

    async def run_forever(self) -> None:
        delay = RECONNECT_FIRST
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(self.url, timeout=CONNECT_TIMEOUT)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, gone=lost: gone.set())
                await conn.add_listener(CHANNEL, self._notified)
                self._missed()
                delay = RECONNECT_FIRST
                while not conn.is_closed() and not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), 5)
                    if not lost.is_set():
                        await conn.execute("SELECT 1")  # notices a silently dead link
            except asyncio.CancelledError:
                raise
            except (*LOST, asyncpg.PostgresError) as exc:
                if delay == RECONNECT_FIRST:  # said once a gap, not at every try
                    log.warning("database notifications lost (%s); reconnecting", _reason(exc))
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=1)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        sender, *topics = payload.split(" ")
        if sender == self.db.token:
            return
        self.db.generation += 1  # another process wrote: caches keyed by generation refresh
        for topic in topics:
            for callback in self.listeners.get(topic, ()):
                callback()

    def _missed(self) -> None:
        self.db.generation += 1
        for callbacks in self.listeners.values():
            for callback in callbacks:
                callback()


@functools.lru_cache(maxsize=4096)
def dollars(sql: str) -> str:
    """`?` placeholders as PostgreSQL's `$1, $2, ...` (never inside a quoted literal)."""
    out: list[str] = []
    number = 0
    quoted = False
    for ch in sql:
        if ch == "'":
            quoted = not quoted
        elif ch == "?" and not quoted:
            number += 1
            out.append(f"${number}")
            continue
        out.append(ch)
    return "".join(out)


def _params(params: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(clean(p) if isinstance(p, str) else p for p in params)


def clean(text: str) -> str:
    """PostgreSQL text holds no NUL and no lone surrogate: such a character (only ever in
    typed input: stored articles cannot hold one) becomes U+FFFD, so it matches nothing."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    if not text.isascii():
        text = _SURROGATE.sub("\ufffd", text)
    return text


def _reason(exc: BaseException) -> str:
    return str(exc).strip() or exc.__class__.__name__
