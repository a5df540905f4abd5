"""The only module that speaks SQL: schema, migrations, store sync, queries, publishing, outbox.

The article files are the source of truth; SQLite holds the index built from them,
the delivery log (outbox), channel subscriptions and the moderation audit trail.
Keep this interface narrow: a server database could later stand behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import hashlib
import json
import logging
import os
import re
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Self

import aiosqlite

from bot.articles import (
    ARTICLE_SUFFIXES,
    Article,
    ArticleError,
    RelatedLink,
    parse_article_bytes,
    topic_key,
)
from bot.errors import ArticleNotFound, NewsError, PublishError

log = logging.getLogger(__name__)
# aiosqlite logs every statement with its parameters at DEBUG, the confidential `secured`
# field among them: its logger stays at INFO whatever LOG_LEVEL says.
logging.getLogger("aiosqlite").setLevel(logging.INFO)

PAGE_SIZE = 5
_TIE_ROOM = 20  # extra ranked rows, so equal scores at a page edge still sort by quality
BATCH = 2000  # files per parse task and per write transaction (fewer, larger commits)
PARALLEL_THRESHOLD = 2000  # below this many files, parsing in a thread beats starting processes
TOPIC_SEPARATOR = " · "
_PUBLISHED_LINE = re.compile(rb"^(published[ \t]*:[ \t]*)([^\s#]*)", re.MULTILINE)

MIGRATIONS: tuple[str, ...] = (resources.files("bot").joinpath("schema.sql").read_text("utf-8"),)

_UPSERT_ARTICLE = """
    INSERT INTO articles (id, file, title, excerpt, url, original_url, published_at, category,
        type, quality, heat, provider_name, provider_domain, topics, published, secured, extra,
        file_mtime_ns, render_hash)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET
        file = excluded.file, title = excluded.title, excerpt = excluded.excerpt,
        url = excluded.url, original_url = excluded.original_url,
        published_at = excluded.published_at, category = excluded.category, type = excluded.type,
        quality = excluded.quality, heat = excluded.heat, provider_name = excluded.provider_name,
        provider_domain = excluded.provider_domain, topics = excluded.topics,
        published = excluded.published, secured = excluded.secured, extra = excluded.extra,
        file_mtime_ns = excluded.file_mtime_ns, render_hash = excluded.render_hash,
        deleted_at = NULL"""

_DRAFT = "a.published = 0 AND a.deleted_at IS NULL AND a.duplicate_of IS NULL"

_ARTICLE_COLUMNS = (
    "id, file, title, excerpt, url, original_url, published_at, category, type, quality, heat, "
    "provider_name, provider_domain, topics, published, extra, file_mtime_ns, render_hash"
)
_COLUMNS = ", ".join(f"a.{c.strip()}" for c in _ARTICLE_COLUMNS.split(","))


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list answer."""

    items: tuple[Article, ...]
    page: int
    has_next: bool


@dataclass(slots=True)
class SyncReport:
    """What one store scan did: counts, and each bad file with its reason."""

    scanned: int = 0
    new: int = 0
    changed: int = 0
    deleted: int = 0
    unchanged: int = 0
    published: list[str] = field(default_factory=list)  # ids that became visible
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def loaded(self) -> int:
        return self.new + self.changed


@dataclass(frozen=True, slots=True)
class Subscription:
    channel_id: int
    topic: str  # display name, "" = every topic
    role_id: int | None
    min_quality: int
    guild_id: int | None
    paused_reason: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox row due for work: a post to send, edit or delete."""

    id: int
    url: str
    article_id: str
    channel_id: int
    role_id: int | None
    state: str
    message_id: int | None
    attempts: int
    generation: int

    @property
    def nonce(self) -> str:
        """Same (story, channel, generation), same nonce: Discord drops the repeat."""
        digest = hashlib.sha256(f"{self.url}|{self.channel_id}|{self.generation}".encode())
        return digest.hexdigest()[:25]


def _now() -> int:
    return int(time.time())


def _render_hash(article: Article) -> str:
    """Changes exactly when what a post shows changes, so only real edits are re-sent."""
    parts: list[object] = [
        article.title,
        article.excerpt,
        article.url,
        article.provider_name,
        article.provider_domain,
        article.published_at.isoformat(),
        article.topics,
        [(r.title, r.url, r.provider) for r in article.related],
    ]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()[:16]


def _jsonable(value: object) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


@dataclass(frozen=True, slots=True)
class ArticleRows:
    """An article flattened into the rows the index stores.

    Built in the parse workers, so a big load spends the main process only on SQL.
    """

    id: str
    url: str
    published: bool
    values: tuple[Any, ...]  # the columns of _UPSERT_ARTICLE, in order
    topics: tuple[tuple[str, str], ...]  # (key, name as written)
    published_at: int
    related: tuple[tuple[Any, ...], ...]  # the columns of related, after article_rowid
    warnings: tuple[str, ...]


def article_rows(article: Article, name: str, mtime_ns: int) -> ArticleRows:
    published_at = int(article.published_at.timestamp())
    return ArticleRows(
        id=article.id,
        url=article.url,
        published=article.published,
        values=(
            article.id,
            name,
            article.title,
            article.excerpt,
            article.url,
            article.original_url,
            published_at,
            article.category,
            article.type,
            article.quality,
            article.heat,
            article.provider_name,
            article.provider_domain,
            TOPIC_SEPARATOR.join(article.topics),
            int(article.published),
            article.secured,
            json.dumps(_jsonable(article.extra), ensure_ascii=False) if article.extra else "{}",
            mtime_ns,
            _render_hash(article),
        ),
        topics=tuple((topic_key(t), t) for t in article.topics),
        published_at=published_at,
        related=tuple(
            (
                position,
                r.title,
                r.url,
                r.excerpt,
                r.provider,
                int(r.published_at.timestamp()) if r.published_at else None,
                r.quality,
            )
            for position, r in enumerate(article.related)
        ),
        warnings=article.warnings,
    )


def _parse_file(path: str, mtime_ns: int) -> ArticleRows | str:
    """Read and parse one file; an `ArticleError` comes back as its message (picklable)."""
    name = os.path.basename(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
        return article_rows(parse_article_bytes(raw, name), name, mtime_ns)
    except ArticleError as exc:
        return str(exc)
    except OSError as exc:
        return f"{name}: cannot read ({exc.strerror or exc})"


def _parse_batch(files: Sequence[tuple[str, int]]) -> list[ArticleRows | str]:
    return [_parse_file(path, mtime_ns) for path, mtime_ns in files]


def scan_store(store_dir: Path) -> dict[str, tuple[int, int]]:
    """Every article file in the store folder: name -> (mtime_ns, size).

    The hot loop of every rescan (100,000 entries for a big store): kept to one
    stat call and no per-entry context manager.
    """
    found: dict[str, tuple[int, int]] = {}
    with os.scandir(store_dir) as entries:
        for entry in entries:
            name = entry.name
            if name.endswith(ARTICLE_SUFFIXES) and name[0] != "." and entry.is_file():
                try:
                    st = entry.stat()
                except OSError:  # removed while we looked
                    continue
                found[name] = (st.st_mtime_ns, st.st_size)
    return found


def fts_query(text: str) -> str | None:
    """Turn any user text into a safe FTS5 query: words and "quoted phrases", each quoted.

    A trailing `*` on a word keeps its prefix meaning; every other character is
    data. Terms without a letter or digit are dropped (they match nothing).
    """
    terms: list[str] = []
    # FTS5 ends a quoted string at NUL ("unterminated string"); a lone surrogate cannot be bound
    text = text.replace("\x00", " ").encode("utf-8", "replace").decode("utf-8")
    for phrase, word in re.findall(r'"([^"]*)"|(\S+)', text):
        raw = phrase or word
        prefix = bool(word) and len(word) > 1 and word.endswith("*")
        if prefix:
            raw = raw.rstrip("*")
        if not any(ch.isalnum() for ch in raw):
            continue
        terms.append('"' + raw.replace('"', '""') + '"' + ("*" if prefix else ""))
    return " ".join(terms) if terms else None


def rewrite_published(raw: bytes, published: bool) -> bytes:
    """The same bytes with the front matter's `published:` value set; nothing else changes."""
    value = b"true" if published else b"false"
    fence = re.match(rb"\A(?:\xef\xbb\xbf)?---[ \t]*\r?\n", raw)
    if fence is None:
        raise ValueError("no front matter")
    closing = re.compile(rb"^---[ \t]*\r?$", re.MULTILINE).search(raw, fence.end())
    if closing is None:
        raise ValueError("no closing '---' line")
    match = _PUBLISHED_LINE.search(raw, fence.end(), closing.start())
    if match is not None:
        return raw[: match.start(2)] + value + raw[match.end(2) :]
    newline = b"\r\n" if raw[fence.end() - 2 : fence.end()] == b"\r\n" else b"\n"
    return raw[: closing.start()] + b"published: " + value + newline + raw[closing.start() :]


def write_atomically(path: Path, data: bytes) -> None:
    """Replace a file's content in one step: readers see the old or the new file, never half."""
    mode = path.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class Store:
    """The bot's state in one SQLite file, on one aiosqlite connection."""

    def __init__(self, db: aiosqlite.Connection, store_dir: Path) -> None:
        self.db = db
        self.store_dir = store_dir
        self._topic_cache: list[tuple[str, str, int]] | None = None
        self._write_lock = asyncio.Lock()

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, db_path: Path, store_dir: Path) -> AsyncIterator[Self]:
        """Open (creating and migrating) the database; closed on exit."""
        try:
            db_path.parent.mkdir(parents=True, exist_ok=True)
            db = await aiosqlite.connect(db_path, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise NewsError(
                f"cannot open the database {db_path} ({exc}); check NEWS_DB_PATH"
            ) from None
        try:
            db.row_factory = aiosqlite.Row
            await db.execute("PRAGMA journal_mode = WAL")
            await db.execute("PRAGMA synchronous = NORMAL")
            await db.execute("PRAGMA foreign_keys = ON")
            await db.execute("PRAGMA busy_timeout = 10000")
            store = cls(db, store_dir)
            await store._migrate()
            yield store
        finally:
            await db.close()

    async def _migrate(self) -> None:
        async with self.db.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        version = int(row[0]) if row else 0
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            await self.db.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;"
            )
            log.info("database migrated to schema version %d", number)
        await self._restore_fts()

    @contextlib.asynccontextmanager
    async def _fts_paused(self) -> AsyncIterator[None]:
        """For a big load: drop the FTS triggers, then rebuild the index once at the end.

        One rebuild is several times cheaper than a trigger per row. The trigger SQL is
        saved in `meta` in the same transaction, so a crash mid-load is healed at next open.
        """
        async with self._transaction() as db:
            triggers = await self._rows(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND name LIKE 'articles_fts_%'"
            )
            if triggers:
                await db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('fts_triggers', ?)",
                    (json.dumps([row[1] for row in triggers]),),
                )
            for row in triggers:
                await db.execute(f'DROP TRIGGER "{row[0]}"')
        try:
            yield
        finally:
            await self._restore_fts()

    async def _restore_fts(self) -> None:
        """Recreate FTS triggers saved by `_fts_paused` and refill the index (visible rows)."""
        saved = await self._scalar("SELECT value FROM meta WHERE key = 'fts_triggers'")
        if saved is None:
            return
        async with self._transaction() as db:
            for sql in json.loads(saved):
                await db.execute(sql)
            await db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('delete-all')")
            await db.execute(
                "INSERT INTO articles_fts (rowid, title, excerpt, provider_name, topics) "
                "SELECT rowid, title, excerpt, provider_name, topics FROM articles "
                "WHERE visible = 1"
            )
            await db.execute("DELETE FROM meta WHERE key = 'fts_triggers'")

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction; serialised inside this process, IMMEDIATE across processes."""
        async with self._write_lock:
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise
            await self.db.execute("COMMIT")
            self._topic_cache = None

    async def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        async with self.db.execute(sql, tuple(params)) as cur:
            return list(await cur.fetchall())

    async def _scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        rows = await self._rows(sql, params)
        return rows[0][0] if rows else None

    # ------------------------------------------------------------------ sync

    async def sync(
        self,
        store_dir: Path | None = None,
        progress: Callable[[int, int], None] | None = None,
        executor: Executor | None = None,
    ) -> SyncReport:
        """Bring the index in line with the store folder, reading only new or changed files."""
        started = time.perf_counter()
        folder = store_dir or self.store_dir
        report = SyncReport()
        current = await asyncio.to_thread(scan_store, folder)
        known = await self._known_files()
        report.scanned = len(current)
        todo = sorted(name for name, stat in current.items() if known.get(name) != stat)
        report.unchanged = len(current) - len(todo)
        gone = sorted(set(known) - set(current))
        if gone and not current:
            # An empty folder (an unmounted volume, a bad deploy) would withdraw every
            # article and delete every post: refuse, loudly, and change nothing.
            message = (
                f"{folder}: the store folder is empty; not withdrawing its {len(gone)} "
                "articles. Restore the files (or keep at least one) to change the store."
            )
            report.errors.append(message)
            log.error("%s", message)
        elif gone:
            await self._withdraw_files(gone, report)
        batches = [todo[i : i + BATCH] for i in range(0, len(todo), BATCH)]
        done = 0
        bulk = self._fts_paused() if len(todo) >= PARALLEL_THRESHOLD else contextlib.nullcontext()
        async with bulk:
            async for names, results in self._parsed(folder, batches, current, executor):
                await self._apply(names, results, current, known, report)
                done += len(names)
                if progress is not None:
                    progress(done, len(todo))
        report.seconds = time.perf_counter() - started
        summary = {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "scanned": report.scanned,
            "loaded": report.loaded,
            "deleted": report.deleted,
            "errors": len(report.errors),
            "seconds": round(report.seconds, 3),
        }
        async with self._transaction() as db:
            await db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_sync', ?)",
                (json.dumps(summary),),
            )
        return report

    async def _known_files(self) -> dict[str, tuple[int, int]]:
        async with self.db.execute("SELECT name, mtime_ns, size FROM files") as cur:
            cur.row_factory = None  # plain tuples: 100,000 rows on every rescan
            return {name: (mtime, size) for name, mtime, size in await cur.fetchall()}

    async def _parsed(
        self,
        folder: Path,
        batches: list[list[str]],
        current: dict[str, tuple[int, int]],
        executor: Executor | None,
    ) -> AsyncIterator[tuple[list[str], list[ArticleRows | str]]]:
        """Parse batches in worker processes for big loads, keeping a few in flight."""
        total = sum(len(b) for b in batches)
        own_pool: ProcessPoolExecutor | None = None
        if executor is None and total >= PARALLEL_THRESHOLD and (os.cpu_count() or 1) > 1:
            own_pool = ProcessPoolExecutor(os.cpu_count(), mp_context=get_context("spawn"))
            executor = own_pool
        loop = asyncio.get_running_loop()
        try:
            window: list[tuple[list[str], asyncio.Future[list[ArticleRows | str]]]] = []
            pending = iter(batches)
            in_flight = (os.cpu_count() or 1) + 1
            while True:
                while len(window) < in_flight:
                    names = next(pending, None)
                    if names is None:
                        break
                    files = [(str(folder / n), current[n][0]) for n in names]
                    window.append((names, loop.run_in_executor(executor, _parse_batch, files)))
                if not window:
                    return
                names, future = window.pop(0)
                yield names, await future
        finally:
            if own_pool is not None:
                own_pool.shutdown(cancel_futures=True)

    async def _withdraw_files(self, names: list[str], report: SyncReport) -> None:
        now = _now()
        async with self._transaction() as db:
            ids = [
                row[0]
                for chunk in _chunks(names, 500)
                for row in await self._rows(
                    f"SELECT id FROM articles WHERE file IN ({_marks(chunk)}) "
                    "AND deleted_at IS NULL",
                    chunk,
                )
            ]
            before = await self._visibility(ids)
            await db.executemany(
                "UPDATE articles SET deleted_at = ? WHERE file = ? AND deleted_at IS NULL",
                [(now, n) for n in names],
            )
            await db.executemany("DELETE FROM files WHERE name = ?", [(n,) for n in names])
            await self._resolve_duplicates({url for _, url, _ in before.values()}, report)
            await self._after_change(before, {}, report)
        report.deleted += len(ids)

    async def _apply(
        self,
        names: list[str],
        results: list[ArticleRows | str],
        current: dict[str, tuple[int, int]],
        known: dict[str, tuple[int, int]],
        report: SyncReport,
    ) -> None:
        """Write one parsed batch in one transaction."""
        good: list[tuple[str, ArticleRows]] = []
        file_rows: list[tuple[str, int, int, str | None]] = []
        for name, result in zip(names, results, strict=True):
            mtime, size = current[name]
            if isinstance(result, str):
                report.errors.append(result)
                log.warning("skipped %s", result)
                file_rows.append((name, mtime, size, result))
                continue
            good.append((name, result))
            report.warnings.extend(result.warnings)
            file_rows.append((name, mtime, size, None))
            if name in known:
                report.changed += 1
            else:
                report.new += 1
        async with self._transaction() as db:
            good = await self._drop_id_clashes(good, file_rows, report)
            ids = [a.id for _, a in good]
            before = await self._visibility(ids, {a.url for _, a in good})
            old_urls = {before[i][1] for i in ids if i in before}
            await self._upsert([a for _, a in good])
            await db.executemany(
                "INSERT OR REPLACE INTO files (name, mtime_ns, size, error) VALUES (?, ?, ?, ?)",
                file_rows,
            )
            await self._resolve_duplicates(old_urls | {a.url for _, a in good}, report)
            await self._after_change(before, {a.id: a.url for _, a in good}, report)

    async def _drop_id_clashes(
        self,
        good: list[tuple[str, ArticleRows]],
        file_rows: list[tuple[str, int, int, str | None]],
        report: SyncReport,
    ) -> list[tuple[str, ArticleRows]]:
        """Two live files for one id (`a.txt` and `a.md`): the second is an error, not a merge."""
        if not good:
            return good
        owners = {
            row[0]: row[1]
            for chunk in _chunks([a.id for _, a in good], 500)
            for row in await self._rows(
                f"SELECT id, file FROM articles WHERE id IN ({_marks(chunk)}) "
                "AND deleted_at IS NULL",
                chunk,
            )
        }
        kept: list[tuple[str, ArticleRows]] = []
        seen: dict[str, str] = {}
        for name, article in good:
            other = seen.get(article.id) or owners.get(article.id)
            if other is not None and other != name and (self.store_dir / other).exists():
                message = f"{name}: same article id as {other}; rename one of them"
                report.errors.append(message)
                file_rows[:] = [(n, m, s, message if n == name else e) for n, m, s, e in file_rows]
                continue
            seen[article.id] = name
            kept.append((name, article))
        return kept

    async def _upsert(self, good: Sequence[ArticleRows]) -> None:
        if not good:
            return
        ids = [a.id for a in good]
        existing = await self._rowids(ids)
        if existing:  # a changed file: its topics and related links are written anew
            keys = [(rowid,) for rowid in existing.values()]
            await self.db.executemany("DELETE FROM article_topics WHERE article_rowid = ?", keys)
            await self.db.executemany("DELETE FROM related WHERE article_rowid = ?", keys)
        await self.db.executemany(_UPSERT_ARTICLE, [a.values for a in good])
        rowids = existing | await self._rowids([i for i in ids if i not in existing])
        await self.db.executemany(
            "INSERT OR IGNORE INTO topics (key, name) VALUES (?, ?)",
            # one spelling per key, the first written (a set let a later spelling win at random)
            {key: name for a in reversed(good) for key, name in reversed(a.topics)}.items(),
        )
        await self.db.executemany(
            "INSERT OR IGNORE INTO article_topics (article_rowid, topic_key, published_at) "
            "VALUES (?, ?, ?)",
            [(rowids[a.id], key, a.published_at) for a in good for key, _ in a.topics],
        )
        await self.db.executemany(
            "INSERT INTO related (article_rowid, position, title, url, excerpt, provider, "
            "published_at, quality) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(rowids[a.id], *r) for a in good for r in a.related],
        )

    async def _rowids(self, ids: Sequence[str]) -> dict[str, int]:
        rowids: dict[str, int] = {}
        for chunk in _chunks(ids, 500):
            for row in await self._rows(
                f"SELECT id, rowid FROM articles WHERE id IN ({_marks(chunk)})", chunk
            ):
                rowids[row[0]] = row[1]
        return rowids

    async def _visibility(
        self, ids: Sequence[str], urls: Iterable[str] = ()
    ) -> dict[str, tuple[bool, str, str]]:
        """id -> (visible, url, render hash), for the rows that exist, plus the article now
        serving each of their webUrls and of `urls`: another file may show the same story."""
        out: dict[str, tuple[bool, str, str]] = {}
        for chunk in _chunks(list(ids), 500):
            for row in await self._rows(
                f"SELECT id, visible, url, render_hash FROM articles WHERE id IN ({_marks(chunk)})",
                chunk,
            ):
                out[row[0]] = (bool(row[1]), row[2], row[3])
        stories = sorted({url for _, url, _ in out.values()} | set(urls))
        for chunk in _chunks(stories, 500):
            for row in await self._rows(
                "SELECT id, url, render_hash FROM articles "
                f"WHERE url IN ({_marks(chunk)}) AND visible = 1",
                chunk,
            ):
                out[row[0]] = (True, row[1], row[2])
        return out

    async def _resolve_duplicates(self, urls: set[str], report: SyncReport) -> None:
        """One story, one article: of live files sharing a webUrl, the newest file wins."""
        for chunk in _chunks(sorted(urls), 500):
            rows = await self._rows(
                f"SELECT id, url, file_mtime_ns, duplicate_of FROM articles "
                f"WHERE url IN ({_marks(chunk)}) AND deleted_at IS NULL "
                "ORDER BY url, file_mtime_ns DESC, id DESC",
                chunk,
            )
            winner_of: dict[str, str] = {}
            updates: list[tuple[str | None, str]] = []
            for row in rows:
                winner = winner_of.setdefault(row["url"], row["id"])
                wanted = None if winner == row["id"] else winner
                if wanted != row["duplicate_of"]:
                    updates.append((wanted, row["id"]))
                    if wanted is not None:
                        message = (
                            f"{row['id']}: same webUrl as {wanted}; "
                            f"serving {wanted} (the newer file)"
                        )
                        report.warnings.append(message)
                        log.warning("%s", message)
            if updates:
                await self.db.executemany(
                    "UPDATE articles SET duplicate_of = ? WHERE id = ?", updates
                )

    async def _after_change(
        self,
        before: dict[str, tuple[bool, str, str]],
        changed: dict[str, str],
        report: SyncReport,
    ) -> None:
        """Turn visibility and content changes into outbox work, in the caller's transaction.

        `changed` maps the ids just (re)written to their webUrl.
        """
        urls = {url for _, url, _ in before.values()} | set(changed.values())
        if not urls:
            return
        ids_by_url: dict[str, tuple[str, str] | None] = dict.fromkeys(urls)
        for chunk in _chunks(sorted(urls), 500):
            for row in await self._rows(
                f"SELECT url, id, render_hash FROM articles WHERE url IN ({_marks(chunk)}) "
                "AND visible = 1",
                chunk,
            ):
                ids_by_url[row[0]] = (row[1], row[2])
        was_visible = {url for visible, url, _ in before.values() if visible}
        old_hash = {url: h for visible, url, h in before.values() if visible}
        newly: list[tuple[str, str]] = []
        for url, now_visible in ids_by_url.items():
            if now_visible is None:
                if url in was_visible:
                    await self._outbox_withdraw(url)
                continue
            article_id, render_hash = now_visible
            if url not in was_visible:
                report.published.append(article_id)
                newly.append((url, article_id))
            elif old_hash.get(url) != render_hash or article_id in changed:
                await self._outbox_edit(url, article_id, old_hash.get(url) != render_hash)
        if newly and await self._scalar("SELECT EXISTS (SELECT 1 FROM subscriptions)"):
            await self._outbox_enqueue(newly)

    # ------------------------------------------------------------------ outbox writes

    async def _outbox_enqueue(self, stories: list[tuple[str, str]]) -> None:
        """One pending row per following channel; posts already made are edited instead.

        `stories` are (webUrl, article id) pairs that just became visible.
        """
        now = _now()
        await self.db.executemany(
            """INSERT INTO outbox (url, article_id, channel_id, role_id, created_at)
               SELECT ?, a.id, s.channel_id, MAX(s.role_id), ?
               FROM articles a JOIN subscriptions s
                 ON (s.topic_key = '' OR s.topic_key IN
                        (SELECT topic_key FROM article_topics WHERE article_rowid = a.rowid))
                AND s.min_quality <= a.quality
               LEFT JOIN channels c ON c.channel_id = s.channel_id
               WHERE a.id = ? AND c.paused_reason IS NULL
               GROUP BY s.channel_id
               ON CONFLICT (url, channel_id) DO UPDATE SET
                   article_id = excluded.article_id,
                   state = CASE outbox.state WHEN 'sent' THEN 'edit' WHEN 'edit' THEN 'edit'
                                             WHEN 'delete' THEN 'edit' ELSE 'pending' END,
                   generation = outbox.generation
                       + (CASE WHEN outbox.state IN ('deleted', 'failed') THEN 1 ELSE 0 END),
                   message_id = CASE WHEN outbox.state IN ('deleted', 'failed') THEN NULL
                                     ELSE outbox.message_id END,
                   attempts = 0, next_try_at = 0, last_error = NULL""",
            [(url, now, article_id) for url, article_id in stories],
        )

    async def _outbox_edit(self, url: str, article_id: str, content_changed: bool) -> None:
        await self.db.execute(
            "UPDATE outbox SET article_id = ?, "
            "state = CASE WHEN state = 'sent' AND ? THEN 'edit' ELSE state END "
            "WHERE url = ?",
            (article_id, int(content_changed), url),
        )

    async def _outbox_withdraw(self, url: str) -> None:
        """The story is no longer visible: delete what was sent, cancel what was not.

        A pending row is marked too, not dropped: if its send is in flight (another
        process), the answer records the message id and the next round deletes it.
        """
        await self.db.execute(
            "UPDATE outbox SET state = 'delete', attempts = 0, next_try_at = 0 "
            "WHERE url = ? AND state IN ('pending', 'sent', 'edit')",
            (url,),
        )

    # ------------------------------------------------------------------ reading

    def _article(self, row: aiosqlite.Row, related: tuple[RelatedLink, ...] = ()) -> Article:
        topics = tuple(t for t in row["topics"].split(TOPIC_SEPARATOR) if t)
        return Article(
            id=row["id"],
            title=row["title"],
            url=row["url"],
            published_at=datetime.fromtimestamp(row["published_at"], UTC),
            excerpt=row["excerpt"],
            original_url=row["original_url"],
            category=row["category"],
            type=row["type"],
            quality=row["quality"],
            heat=row["heat"],
            published=bool(row["published"]),
            provider_name=row["provider_name"],
            provider_domain=row["provider_domain"],
            topics=topics,
            related=related,
            extra=json.loads(row["extra"]),
        )

    async def _page(self, sql: str, params: Sequence[Any], page: int) -> Page:
        page = max(page, 0)
        rows = await self._rows(
            f"{sql} LIMIT ? OFFSET ?", [*params, PAGE_SIZE + 1, page * PAGE_SIZE]
        )
        items = tuple(self._article(r) for r in rows[:PAGE_SIZE])
        return Page(items, page, len(rows) > PAGE_SIZE)

    async def latest(self, topic: str | None = None, page: int = 0) -> Page:
        """Published articles, newest first, optionally of one topic."""
        if topic:
            return await self._page(
                f"SELECT {_COLUMNS} FROM article_topics t "
                "JOIN articles a ON a.rowid = t.article_rowid "
                "WHERE t.topic_key = ? AND a.visible = 1 ORDER BY t.published_at DESC, a.id",
                [topic_key(topic)],
                page,
            )
        return await self._page(
            f"SELECT {_COLUMNS} FROM articles a WHERE a.visible = 1 "
            "ORDER BY a.published_at DESC, a.id",
            [],
            page,
        )

    async def search(self, query: str, topic: str | None = None, page: int = 0) -> Page:
        """Ranked full-text search over published articles; any text is a valid query.

        bm25 ranks inside FTS5 alone (the index holds only visible articles), and only
        the best rows are joined to their articles for the quality/recency tie-breakers:
        joining every match first made common words several times slower.
        """
        match = fts_query(query)
        if match is None:
            return Page((), 0, False)
        page = max(page, 0)
        params: list[Any] = [match]
        topic_filter = ""
        if topic:
            topic_filter = (
                "AND rowid IN (SELECT article_rowid FROM article_topics WHERE topic_key = ?)"
            )
            params.append(topic_key(topic))
        # Enough ranked rows for this page and the next, plus room for ties at the edge.
        params.append((page + 1) * PAGE_SIZE + 1 + _TIE_ROOM)
        return await self._page(
            f"SELECT {_COLUMNS} FROM ("
            "  SELECT rowid, bm25(articles_fts, 10.0, 4.0, 2.0, 3.0) AS score FROM articles_fts"
            f"  WHERE articles_fts MATCH ? {topic_filter} ORDER BY score LIMIT ?"
            ") r JOIN articles a ON a.rowid = r.rowid WHERE a.visible = 1 "
            "ORDER BY r.score, a.quality DESC, a.published_at DESC",
            params,
            page,
        )

    async def drafts(self, page: int = 0) -> Page:
        """Drafts awaiting review, newest first."""
        return await self._page(
            f"SELECT {_COLUMNS} FROM articles a WHERE {_DRAFT} ORDER BY a.published_at DESC, a.id",
            [],
            page,
        )

    async def topics(self) -> list[tuple[str, int]]:
        """Known topics with their published-article counts, most articles first."""
        return [(name, count) for _, name, count in await self._topic_counts()]

    async def _topic_counts(self) -> list[tuple[str, str, int]]:
        if self._topic_cache is None:
            rows = await self._rows(
                """SELECT t.key, t.name, COUNT(a.rowid) AS n
                   FROM topics t
                   JOIN article_topics at ON at.topic_key = t.key
                   JOIN articles a ON a.rowid = at.article_rowid AND a.visible = 1
                   GROUP BY t.key ORDER BY n DESC, t.name"""
            )
            self._topic_cache = [(r[0], r[1], r[2]) for r in rows]
        return self._topic_cache

    async def topic_name(self, topic: str) -> str | None:
        """The display name of a known topic (any spelling), or None."""
        name = await self._scalar("SELECT name FROM topics WHERE key = ?", [topic_key(topic)])
        return str(name) if name is not None else None

    async def match_topics(self, typed: str, limit: int = 25) -> list[tuple[str, int]]:
        """Topics whose name contains what was typed, most articles first (for autocomplete)."""
        key = topic_key(typed)
        counts = await self._topic_counts()
        starts = [(n, c) for k, n, c in counts if k.startswith(key)]
        inside = [(n, c) for k, n, c in counts if key in k and not k.startswith(key)]
        return (starts + inside)[:limit]

    async def get(self, article_id: str, *, include_hidden: bool = False) -> Article:
        """One article with its related links; hidden ones only for moderators."""
        rows = await self._rows(
            f"SELECT a.rowid AS rowid_, {_COLUMNS}, a.visible, a.deleted_at FROM articles a "
            "WHERE a.id = ?",
            [_article_key(article_id)],
        )
        if not rows or rows[0]["deleted_at"] is not None:
            raise ArticleNotFound(article_id)
        row = rows[0]
        if not row["visible"] and not include_hidden:
            raise ArticleNotFound(article_id)
        related = tuple(
            RelatedLink(
                title=r["title"],
                url=r["url"],
                excerpt=r["excerpt"],
                provider=r["provider"],
                published_at=(
                    datetime.fromtimestamp(r["published_at"], UTC) if r["published_at"] else None
                ),
                quality=r["quality"],
            )
            for r in await self._rows(
                "SELECT * FROM related WHERE article_rowid = ? ORDER BY position", [row["rowid_"]]
            )
        )
        return self._article(row, related)

    async def match_titles(
        self, typed: str, *, published: bool, limit: int = 25
    ) -> list[tuple[str, str]]:
        """(title, id) of published articles or drafts whose title matches what was typed.

        Autocomplete must answer in milliseconds: published titles come from the FTS index
        (a bounded candidate set, newest first); drafts, which are few, from a title scan.
        """
        words = [w for w in typed.split() if any(ch.isalnum() for ch in w)]
        match = fts_query(" ".join(w + "*" for w in words))
        if published and match is not None:
            rows = await self._rows(
                "SELECT a.title, a.id FROM articles a WHERE a.rowid IN ("
                "  SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?"
                "  ORDER BY rowid DESC LIMIT 500) AND a.visible = 1 "
                "ORDER BY a.published_at DESC LIMIT ?",
                ["{title}: (" + match + ")", limit],
            )
        else:
            state = "a.visible = 1" if published else _DRAFT
            like = "".join(" AND a.title LIKE ? ESCAPE '\\'" for _ in words)
            rows = await self._rows(
                f"SELECT a.title, a.id FROM articles a WHERE {state}{like} "
                "ORDER BY a.published_at DESC LIMIT ?",
                [*(f"%{_like_escape(w)}%" for w in words), limit],
            )
        return [(r[0], r[1]) for r in rows]

    async def counts(self) -> tuple[int, int, int]:
        """(live articles, published, drafts)."""
        rows = await self._rows(
            "SELECT COUNT(*), COALESCE(SUM(visible), 0), "
            "COALESCE(SUM(published = 0 AND duplicate_of IS NULL), 0) "
            "FROM articles WHERE deleted_at IS NULL"
        )
        return rows[0][0], rows[0][1], rows[0][2]

    # ------------------------------------------------------------------ publishing

    async def publish(self, article_id: str, actor: str) -> Article:
        """Publish a draft: the file's `published:` flips to true, then the index follows."""
        return await self._set_published(article_id, actor, True)

    async def unpublish(self, article_id: str, actor: str) -> Article:
        """Withdraw a published article: hidden from readers, its posts deleted."""
        return await self._set_published(article_id, actor, False)

    async def _set_published(self, article_id: str, actor: str, published: bool) -> Article:
        rows = await self._rows(
            "SELECT id, file, published, deleted_at, duplicate_of FROM articles WHERE id = ?",
            [_article_key(article_id)],
        )
        if not rows or rows[0]["deleted_at"] is not None:
            raise ArticleNotFound(article_id)
        row = rows[0]
        verb = "publish" if published else "unpublish"
        if row["duplicate_of"] is not None:
            raise PublishError(
                f"`{row['id']}` has the same webUrl as `{row['duplicate_of']}`, which is served "
                f"instead; {verb} that one."
            )
        if bool(row["published"]) == published:
            state = "already published" if published else "not published (it is a draft)"
            raise PublishError(f"`{row['id']}` is {state}.")
        path = self.store_dir / row["file"]
        name = row["file"]
        try:
            raw = await asyncio.to_thread(path.read_bytes)
            article = parse_article_bytes(raw, name)
            new_raw = rewrite_published(raw, published)
            updated = parse_article_bytes(new_raw, name)
            if updated.published != published:
                raise ValueError("the published flag could not be located")
            await asyncio.to_thread(write_atomically, path, new_raw)
            st = await asyncio.to_thread(path.stat)
        except ArticleError as exc:
            raise PublishError(
                f"Cannot {verb} `{row['id']}`: the file is not valid now ({exc})."
            ) from None
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise PublishError(
                f"Cannot {verb} `{row['id']}`: the file {name} could not be written ({reason}). "
                "Nothing was changed."
            ) from None
        report = SyncReport()
        async with self._transaction() as db:
            before = await self._visibility([article.id])
            old_urls = {url for _, url, _ in before.values()}
            await self._upsert([article_rows(updated, name, st.st_mtime_ns)])
            await db.execute(
                "INSERT OR REPLACE INTO files (name, mtime_ns, size, error) VALUES (?, ?, ?, NULL)",
                (name, st.st_mtime_ns, st.st_size),
            )
            await self._resolve_duplicates(old_urls | {updated.url}, report)
            await self._after_change(before, {updated.id: updated.url}, report)
            await db.execute(
                "INSERT INTO audit (at, actor, action, article_id) VALUES (?, ?, ?, ?)",
                (_now(), actor, verb, updated.id),
            )
        log.info("%s %sed %s", actor, verb, updated.id)
        return updated

    async def audit_refusal(self, actor: str, action: str, article_id: str, detail: str) -> None:
        """Record a refused moderation attempt in the audit trail."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO audit (at, actor, action, article_id, detail) VALUES (?, ?, ?, ?, ?)",
                (_now(), actor, f"refused {action}", article_id, detail),
            )

    # ------------------------------------------------------------------ topics and commands

    async def require_topic(self, typed: str) -> str:
        """The display name of a known topic, or a NewsError that suggests close ones."""
        name = await self.topic_name(typed)
        if name is not None:
            return name
        known = {key: shown for key, shown, _ in await self._topic_counts()}
        close = difflib.get_close_matches(topic_key(typed), list(known), n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(f'**{known[k]}**' for k in close)}?" if close else ""
        shown_typed = " ".join(typed.split())[:100]
        raise NewsError(f"No articles with the topic “{shown_typed}”.{hint} Try /topics.")

    async def command_digest(self, target: int) -> str | None:
        """The digest of the command definitions last synced to a guild (0 = global)."""
        value = await self._scalar("SELECT digest FROM command_sync WHERE target = ?", [target])
        return str(value) if value is not None else None

    async def save_command_digest(self, target: int, digest: str) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT OR REPLACE INTO command_sync (target, digest, at) VALUES (?, ?, ?)",
                (target, digest, _now()),
            )

    # ------------------------------------------------------------------ subscriptions

    async def subscribe(
        self,
        channel_id: int,
        topic: str | None,
        *,
        actor: str,
        guild_id: int | None = None,
        role_id: int | None = None,
        min_quality: int = 0,
        replace: bool = True,
    ) -> Subscription:
        """Follow a topic (None = all) in a channel from now on; resumes a paused channel."""
        name = await self.require_topic(topic) if topic else ""
        async with self._transaction() as db:
            verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
            await db.execute(
                f"{verb} INTO subscriptions (channel_id, topic_key, guild_id, topic_name, role_id, "
                "min_quality, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (channel_id, topic_key(name), guild_id, name, role_id, min_quality, _now(), actor),
            )
            if replace:
                await db.execute(
                    "UPDATE channels SET paused_reason = NULL, paused_at = NULL "
                    "WHERE channel_id = ?",
                    (channel_id,),
                )
        subs = [s for s in await self.subscriptions(channel_id=channel_id) if s.topic == name]
        return subs[0]

    async def unsubscribe(self, channel_id: int, topic: str | None) -> int:
        """Stop following; without a topic, every subscription of the channel. Returns how many."""
        async with self._transaction() as db:
            if topic is None:
                cur = await db.execute(
                    "DELETE FROM subscriptions WHERE channel_id = ?", (channel_id,)
                )
            else:
                cur = await db.execute(
                    "DELETE FROM subscriptions WHERE channel_id = ? AND topic_key = ?",
                    (channel_id, topic_key(topic)),
                )
            return cur.rowcount

    async def subscriptions(
        self, *, guild_id: int | None = None, channel_id: int | None = None
    ) -> list[Subscription]:
        """Subscriptions of a guild or a channel (or all), with each channel's pause reason."""
        where, params = "1", []
        if guild_id is not None:
            where, params = "s.guild_id = ?", [guild_id]
        if channel_id is not None:
            where, params = "s.channel_id = ?", [channel_id]
        rows = await self._rows(
            "SELECT s.channel_id, s.topic_name, s.role_id, s.min_quality, s.guild_id, "
            "c.paused_reason FROM subscriptions s "
            "LEFT JOIN channels c ON c.channel_id = s.channel_id "
            f"WHERE {where} ORDER BY s.channel_id, s.topic_name",
            params,
        )
        return [Subscription(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]

    # ------------------------------------------------------------------ deliveries

    async def queued_channels(self, url: str) -> int:
        """How many channels have a post of this story waiting to be sent."""
        value = await self._scalar(
            "SELECT COUNT(*) FROM outbox WHERE url = ? AND state = 'pending'", [url]
        )
        return int(value or 0)

    async def due_deliveries(self, limit: int = 200) -> list[Delivery]:
        """Outbox work that is due: oldest article first, then channel, paused channels skipped."""
        rows = await self._rows(
            """SELECT o.id, o.url, o.article_id, o.channel_id, o.role_id, o.state, o.message_id,
                      o.attempts, o.generation
               FROM outbox o
               JOIN articles a ON a.id = o.article_id
               LEFT JOIN channels c ON c.channel_id = o.channel_id
               WHERE o.state IN ('pending', 'edit', 'delete') AND o.next_try_at <= ?
                 AND (c.paused_reason IS NULL OR o.state = 'delete')
               ORDER BY a.published_at, o.id
               LIMIT ?""",
            [_now(), limit],
        )
        return [Delivery(*tuple(r)) for r in rows]

    async def next_delivery_at(self) -> int | None:
        """When the earliest waiting retry falls due (unix seconds), if any."""
        value = await self._scalar(
            "SELECT MIN(next_try_at) FROM outbox WHERE state IN ('pending', 'edit', 'delete')"
        )
        return int(value) if value is not None else None

    async def delivery_done(self, delivery: Delivery, message_id: int | None) -> None:
        """Discord answered: record the message (or its deletion). Only now is a row done."""
        now = _now()
        async with self._transaction() as db:
            if delivery.state == "delete":
                await db.execute(
                    "UPDATE outbox SET state = 'deleted', message_id = NULL, last_error = NULL "
                    "WHERE id = ? AND state = 'delete'",
                    (delivery.id,),
                )
                return
            # An edit queued while this send was in flight stays queued: only the state we
            # acted on is marked done.
            await db.execute(
                "UPDATE outbox SET state = CASE WHEN state = ? THEN 'sent' ELSE state END, "
                "message_id = ?, sent_at = COALESCE(sent_at, ?), attempts = 0, last_error = NULL "
                "WHERE id = ?",
                (delivery.state, message_id, now, delivery.id),
            )
            await db.execute(
                "INSERT INTO channels (channel_id, last_post_at, last_article) VALUES (?, ?, ?) "
                "ON CONFLICT (channel_id) DO UPDATE SET last_post_at = excluded.last_post_at, "
                "last_article = excluded.last_article",
                (delivery.channel_id, now, delivery.article_id),
            )

    async def delivery_retry(self, delivery: Delivery, error: str, delay: float) -> None:
        """A transient failure: try again after `delay` seconds."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_try_at = ?, last_error = ? "
                "WHERE id = ?",
                (_now() + max(1, round(delay)), error[:500], delivery.id),
            )

    async def delivery_lost(self, delivery: Delivery) -> None:
        """The message we meant to edit or delete is gone: nothing left to do for this row."""
        async with self._transaction() as db:
            state = "deleted" if delivery.state == "delete" else "failed"
            await db.execute(
                "UPDATE outbox SET state = ?, last_error = 'message no longer exists' WHERE id = ?",
                (state, delivery.id),
            )

    async def pause_channel(self, channel_id: int, reason: str) -> None:
        """Forbidden or gone: stop sending there (never retry a 403) until /feed add resumes it."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO channels (channel_id, paused_reason, paused_at) VALUES (?, ?, ?) "
                "ON CONFLICT (channel_id) DO UPDATE SET paused_reason = excluded.paused_reason, "
                "paused_at = excluded.paused_at",
                (channel_id, reason, _now()),
            )
            await db.execute(
                "UPDATE outbox SET state = 'failed', last_error = ? "
                "WHERE channel_id = ? AND state IN ('pending', 'edit')",
                (reason, channel_id),
            )
        log.warning("channel %s paused: %s", channel_id, reason)

    async def delivery_health(
        self,
    ) -> tuple[int, int, list[tuple[int, int | None, str | None, str | None]]]:
        """(outbox rows waiting, rows failed, per channel: id, last post, last article, paused)."""
        rows = await self._rows(
            "SELECT COALESCE(SUM(state IN ('pending', 'edit', 'delete')), 0), "
            "COALESCE(SUM(state = 'failed'), 0) FROM outbox"
        )
        channels = await self._rows(
            """SELECT ch.channel_id, c.last_post_at, c.last_article, c.paused_reason
               FROM (SELECT DISTINCT channel_id FROM subscriptions
                     UNION SELECT channel_id FROM channels) ch
               LEFT JOIN channels c ON c.channel_id = ch.channel_id
               ORDER BY ch.channel_id"""
        )
        return rows[0][0], rows[0][1], [(r[0], r[1], r[2], r[3]) for r in channels]

    # ------------------------------------------------------------------ status

    async def bad_files(self) -> list[tuple[str, str]]:
        rows = await self._rows(
            "SELECT name, error FROM files WHERE error IS NOT NULL ORDER BY name"
        )
        return [(r[0], r[1]) for r in rows]

    async def last_sync(self) -> dict[str, Any] | None:
        value = await self._scalar("SELECT value FROM meta WHERE key = 'last_sync'")
        return json.loads(value) if value else None


def _article_key(article_id: str) -> str:
    """An id as typed; one SQLite cannot even hold (a lone surrogate) names no article."""
    try:
        article_id.encode("utf-8")
    except UnicodeEncodeError:
        raise ArticleNotFound(article_id.encode("utf-8", "replace").decode()) from None
    return article_id.strip()


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _marks(items: Sequence[object]) -> str:
    return ", ".join("?" * len(items))


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
