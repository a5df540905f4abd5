"""The SQLite backend: one file, WAL, forward migrations, read connections beside the writer.

The embedded default: nothing to install. Everything SQLite-specific (pragmas,
`user_version` migrations, the search change log's triggers during a bulk load) lives
here, behind `Database`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import stat
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import aiosqlite

from bot.errors import DatabaseDamaged, DatabaseUnavailable, DeskUnavailable
from bot.store import schema
from bot.store.database import NESTED, Row

log = logging.getLogger(__name__)

_SAVED_TRIGGERS = "bulk_load_triggers"  # meta key: the triggers a bulk load dropped
READERS = 2  # read-only connections giving rows, and one giving tuples (bulk reads)
HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database file


@dataclass(eq=False)
class _Writing:
    """A write transaction open here: its own reads must go through the writing
    connection, and a second `transaction()` inside it is refused. A task started inside
    it inherits it, and must not count as inside it once it has ended (`open`)."""

    db: SQLiteDatabase
    open: bool = True


_writing: ContextVar[_Writing | None] = ContextVar("sqlite_writing", default=None)


class SQLiteDatabase:
    """One writing connection (writes serialised here, and by `BEGIN IMMEDIATE` across
    processes) and a few read-only ones: WAL lets them read while a write is under way,
    and they only ever see committed data.

    Every read runs to its last row in one step on its connection's thread: a statement
    left half-read holds a snapshot that the connection's next statement would share,
    missing a commit made in between (a `/feed add` once failed to find its own row so).
    """

    kind = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn
        self.readers: list[aiosqlite.Connection] = []
        self.tuple_reader: aiosqlite.Connection | None = None
        self._next_reader = 0
        self.generation = 0
        self._write_lock = asyncio.Lock()
        self._after_commit: list[Callable[[], None]] = []

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, path: Path) -> AsyncIterator[SQLiteDatabase]:
        """Open (creating and migrating) the database file; closed on exit.

        It holds the confidential `secured` field: created 0600 in a 0700 folder.
        """
        # aiosqlite logs every statement with its parameters at DEBUG, the confidential
        # `secured` field among them: its logger stays at INFO whatever LOG_LEVEL says.
        logging.getLogger("aiosqlite").setLevel(logging.INFO)
        try:
            _create_private(path)
            conn = await aiosqlite.connect(path, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise DatabaseUnavailable(str(path), str(exc)) from None
        try:
            conn.row_factory = aiosqlite.Row
            # First, so a second process starting at the same moment waits instead of failing.
            await conn.execute("PRAGMA busy_timeout = 10000")
            await _set_wal(conn)
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            db = cls(conn)
            await db.check_integrity(path)
            await db.migrate()
            async with contextlib.AsyncExitStack() as readers:
                for _ in range(READERS + 1):
                    reader = await aiosqlite.connect(
                        f"file:{path}?mode=ro", uri=True, isolation_level=None
                    )
                    readers.push_async_callback(reader.close)
                    await reader.execute("PRAGMA busy_timeout = 10000")
                    if len(db.readers) < READERS:
                        reader.row_factory = aiosqlite.Row
                        db.readers.append(reader)
                    else:
                        db.tuple_reader = reader
                yield db
        finally:
            await conn.close()

    def _in_transaction(self) -> bool:
        state = _writing.get()
        return state is not None and state.db is self and state.open

    def _reading(self) -> aiosqlite.Connection:
        """The connection for a read: the writer inside a transaction, else the next reader."""
        if self._in_transaction() or not self.readers:
            return self.conn
        self._next_reader = (self._next_reader + 1) % len(self.readers)
        return self.readers[self._next_reader]

    async def check_integrity(self, path: Path) -> None:
        """A damaged file must not start and serve half its articles: stop, say how to rebuild."""
        found = [str(r[0]) for r in await self.fetch("PRAGMA quick_check(3)")]
        if found != ["ok"]:
            lines = [line.strip() for text in found for line in text.splitlines()]
            problems = [line for line in lines if line and not line.startswith("***")]
            raise DatabaseDamaged(str(path), "; ".join(problems[:3]))

    async def migrate(self) -> None:
        """Create or upgrade the schema (schema.py) in one write transaction, reading the
        version inside it: two processes starting on a fresh file migrate it once, the
        second one waiting."""
        async with self.transaction():
            version = int(await self.fetchval("PRAGMA user_version") or 0)
            for number, script in schema.upgrade("sqlite", version):
                for statement in _statements(script):
                    await self.execute(statement)
                await self.execute(f"PRAGMA user_version = {number}")
            if version < schema.latest("sqlite"):
                log.info("migrated schema %d → %d", version, schema.latest("sqlite"))
        await self._restore_triggers()

    # ------------------------------------------------------------------ Database

    async def fetch(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        with _busy_is_unavailable():
            return list(await self._reading().execute_fetchall(sql, tuple(params)))

    async def fetch_tuples(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with _busy_is_unavailable():
            if self._in_transaction() or self.tuple_reader is None:
                return [tuple(r) for r in await self.conn.execute_fetchall(sql, tuple(params))]
            rows = await self.tuple_reader.execute_fetchall(sql, tuple(params))
        return list(cast("Iterable[tuple[Any, ...]]", rows))  # no row factory: plain tuples

    async def fetchval(self, sql: str, params: Iterable[Any] = ()) -> Any:
        rows = await self.fetch(sql, params)
        return rows[0][0] if rows else None

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        with _busy_is_unavailable():
            async with self.conn.execute(sql, tuple(params)) as cur:
                return cur.rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with _busy_is_unavailable():
            await self.conn.executemany(sql, rows)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        if self._in_transaction():  # it would wait for itself for ever
            raise RuntimeError(NESTED)
        async with self._write_lock:
            with _busy_is_unavailable():  # another process kept the file's write lock
                await self.conn.execute("BEGIN IMMEDIATE")
            state = _Writing(self)
            writing = _writing.set(state)
            try:
                yield
            except BaseException:
                self._after_commit.clear()
                await self.conn.execute("ROLLBACK")
                raise
            finally:
                state.open = False
                _writing.reset(writing)
            try:
                with _busy_is_unavailable():
                    await self.conn.execute("COMMIT")
            except BaseException:  # not committed: nothing of it may stay open
                self._after_commit.clear()
                with contextlib.suppress(sqlite3.Error):
                    await self.conn.execute("ROLLBACK")
                raise
            self.generation += 1
            callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        if not self._in_transaction():  # nothing to wait for: what it follows is committed
            callback()
        elif callback not in self._after_commit:
            self._after_commit.append(callback)

    def notify(self, topic: str) -> None:
        """Other processes on this file find work by polling: nothing to send."""

    def listen(self, topic: str, callback: Callable[[], None]) -> None:
        """No other process notifies over a SQLite file."""

    async def clock(self) -> float:
        return time.time()

    def now(self) -> float:
        """One host: its own clock is every process's."""
        return time.time()

    @contextlib.asynccontextmanager
    async def bulk_load(self) -> AsyncIterator[None]:
        """Drop the search change log's triggers during a big load, then ask every search
        index for one rebuild instead of a log row per article.

        The trigger SQL is saved in `meta` in the same transaction, so a crash mid-load is
        healed at next open.
        """
        async with self.transaction():
            triggers = await self.fetch(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND name LIKE 'search_log_%'"
            )
            if triggers:
                await self.execute(
                    f"INSERT INTO meta (key, value) VALUES ('{_SAVED_TRIGGERS}', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (json.dumps([row[1] for row in triggers]),),
                )
            for row in triggers:
                await self.execute(f'DROP TRIGGER "{row[0]}"')
        try:
            yield
        finally:
            await self._restore_triggers()

    async def analyze(self) -> None:
        """Nothing: SQLite plans from its indexes alone (no `sqlite_stat1` is kept)."""

    async def _restore_triggers(self) -> None:
        """Recreate the triggers saved by `bulk_load`; the marker row asks for a rebuild."""
        saved = await self.fetchval(f"SELECT value FROM meta WHERE key = '{_SAVED_TRIGGERS}'")
        if saved is None:
            return
        async with self.transaction():
            for sql in json.loads(saved):
                await self.execute(sql)
            await self.execute("INSERT INTO search_changes (article_rowid) VALUES (NULL)")
            await self.execute(f"DELETE FROM meta WHERE key = '{_SAVED_TRIGGERS}'")


@contextlib.contextmanager
def _busy_is_unavailable() -> Iterator[None]:
    """ "database is locked" after busy_timeout: another process holds the file's write lock
    (a long `BEGIN IMMEDIATE`, a backup). Like a PostgreSQL server away, it is retried in the
    background, and readers are told the desk is briefly unavailable."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise DeskUnavailable(str(exc)) from None
        raise


async def _set_wal(conn: aiosqlite.Connection) -> None:
    """WAL mode. Switching takes an exclusive lock for which SQLite may answer "locked"
    without waiting (another process creating the file at the same moment): retry a while."""
    for attempt in range(50):
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 49:
                raise
            await asyncio.sleep(0.1)


def _create_private(path: Path) -> None:
    """The database folder 0700 and file 0600 when we create them. An existing path must be
    a SQLite file (or an empty one, as a start cut short leaves it): anything else, a text
    file, a folder, a device, is refused before anything is changed. One that others may
    read is tightened (SQLite gives its -wal and -shm files the same mode)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
        return
    except FileExistsError:
        pass
    # Non-blocking: opening a FIFO to read would wait for a writer.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotADatabase("not a regular file")
        if info.st_size and os.pread(fd, len(HEADER), 0) != HEADER:
            raise NotADatabase("not a SQLite database file")
        if info.st_mode & 0o077:
            os.fchmod(fd, 0o600)
            log.warning("%s was readable by others; made it private (0600)", path)
    finally:
        os.close(fd)


class NotADatabase(OSError):
    """NEWS_DB_PATH names something that is not a SQLite file: it is left as it is."""


def _statements(script: str) -> list[str]:
    """A script's statements, one by one: `executescript` would commit the transaction."""
    statements: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():  # a trailing comment
        statements.append(current.strip())
    return statements
