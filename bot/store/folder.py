"""Reading the store folder into the database: scan, per-file read, diff, apply.

Only new or changed files (by mtime and size) are read; big loads are parsed in
worker processes that also build the rows, so the main process spends its time on SQL."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import stat
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from bot import metrics
from bot.articles import ARTICLE_SUFFIXES, read_article
from bot.frontmatter import ArticleError, printable_name
from bot.providers import PROVIDERS_FILE
from bot.store.database import Database, in_chunks
from bot.store.first_load import FirstLoad
from bot.store.providers import ProviderMap
from bot.store.records import ArticleRows, article_rows
from bot.store.search_index import SearchIndex
from bot.store.stories import Prepared, prepare
from bot.store.writer import ArticleWriter, Changes

log = logging.getLogger(__name__)

BATCH = 2000  # files per parse task and per write transaction (fewer, larger commits)
PARALLEL_THRESHOLD = 2000  # below this many files, parsing in a thread beats starting processes
KNOWN_PAGE = 1000  # rows of the files table per read in a rescan (the loop runs between)

FileStat = tuple[int, int]  # (mtime_ns, size)
Parsed = tuple[ArticleRows, Prepared]  # a file's rows and its story keys


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

    def changes_line(self) -> str:
        """What changed, for one log line."""
        return (
            f"{self.new} new, {self.changed} changed, {self.deleted} withdrawn, "
            f"{len(self.errors)} bad, {len(self.published)} newly published"
        )

    def take(self, changes: Changes) -> None:
        self.published.extend(changes.published)
        self.warnings.extend(changes.warnings)


def scan_store(store_dir: Path) -> dict[str, FileStat]:
    """Every article file in the store folder: name -> (mtime_ns, size).

    Every entry with an article suffix counts (sub-folders and hidden files aside), a
    FIFO, a device, a dangling or outside link too: the reader makes each a bad file,
    named, rather than letting it vanish in silence. A name that is not UTF-8 (it could
    not be stored) is listed by its printable form; the reader refuses that name.

    The hot loop of every rescan (100,000 entries for a big store): kept to one
    stat call and no per-entry context manager.
    """
    found: dict[str, FileStat] = {}
    with os.scandir(store_dir) as entries:
        for entry in entries:
            name = entry.name
            if is_article_name(name) and not entry.is_dir():
                try:
                    st = entry.stat()
                except OSError:  # a dangling link, or removed while we looked
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                if not name.isprintable() and _undecodable(name):
                    name = printable_name(name)
                found[name] = (st.st_mtime_ns, st.st_size)
    return found


def is_article_name(name: str) -> bool:
    """A store file's name: an article suffix, not hidden (temporary files are)."""
    return name.endswith(ARTICLE_SUFFIXES) and not name.startswith(".")


def is_store_name(name: str) -> bool:
    """A file the sync reads: an article file, or providers.yaml."""
    return name == PROVIDERS_FILE or is_article_name(name)


def stat_files(store_dir: Path, names: Sequence[str]) -> dict[str, FileStat]:
    """`scan_store` for a few named files: those that exist, listed as the scan lists them
    (a dangling link too: the reader makes it a bad file)."""
    found: dict[str, FileStat] = {}
    for name in names:
        path = store_dir / name
        try:
            st = os.stat(path)
        except OSError:
            try:
                st = os.lstat(path)
            except OSError:
                continue
        if not stat.S_ISDIR(st.st_mode):
            found[name] = (st.st_mtime_ns, st.st_size)
    return found


def _undecodable(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def read_file(path: str, mtime_ns: int = 0) -> ArticleRows | str:
    """Read one store file into its rows, or its one-line error message (picklable).

    The per-file read of the sync and of `newsbot check`: whatever the file holds, any
    exception is this file's error, never the load's.
    """
    store_dir, name = os.path.split(path)
    try:
        return article_rows(read_article(store_dir, name), name, mtime_ns)
    except ArticleError as exc:
        return str(exc)
    except Exception as exc:
        log.debug("reading %s failed", printable_name(name), exc_info=True)
        return str(ArticleError(name, f"could not be read ({exc.__class__.__name__})"))


def _differences(
    current: dict[str, FileStat], known: dict[str, FileStat]
) -> tuple[list[str], list[str]]:
    """The files to read (new or changed) and the files gone, each in name order."""
    todo = sorted(name for name, stat in current.items() if known.get(name) != stat)
    return todo, sorted(known.keys() - current.keys())


def _read_batch(files: Sequence[tuple[str, int]]) -> list[Parsed | str]:
    """Read files, each with its story keys (made here: in a worker, for a big load)."""
    out: list[Parsed | str] = []
    for path, mtime_ns in files:
        rows = read_file(path, mtime_ns)
        out.append(rows if isinstance(rows, str) else (rows, prepare(rows)))
    return out


def _prepared(results: Sequence[Parsed | str]) -> dict[str, Prepared]:
    """Article id -> the story keys its parse worker made."""
    return {p[0].id: p[1] for p in results if not isinstance(p, str)}


async def _parsed(
    store_dir: Path, batches: list[list[str]], current: dict[str, FileStat]
) -> AsyncIterator[tuple[list[str], list[Parsed | str]]]:
    """Parse batches (in worker processes for big loads), keeping a few in flight."""
    total = sum(len(b) for b in batches)
    pool: ProcessPoolExecutor | None = None
    if total >= PARALLEL_THRESHOLD and (os.cpu_count() or 1) > 1:
        pool = ProcessPoolExecutor(os.cpu_count(), mp_context=get_context("spawn"))
    loop = asyncio.get_running_loop()
    folder = str(store_dir)  # os.path.join: 4x cheaper than pathlib over 100,000 names
    try:
        window: list[tuple[list[str], asyncio.Future[list[Parsed | str]]]] = []
        pending = iter(batches)
        in_flight = (os.cpu_count() or 1) + 1
        while True:
            while len(window) < in_flight:
                names = next(pending, None)
                if names is None:
                    break
                files = [(os.path.join(folder, n), current[n][0]) for n in names]
                window.append((names, loop.run_in_executor(pool, _read_batch, files)))
            if not window:
                return
            names, future = window.pop(0)
            yield names, await future
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


class Folder:
    def __init__(
        self,
        db: Database,
        writer: ArticleWriter,
        store_dir: Path,
        fence: Callable[[], Awaitable[None]],
    ) -> None:
        self.db = db
        self.writer = writer
        self.store_dir = store_dir
        # Called first in a withdrawal's transaction: raises (leases.LeaseLost) when this
        # process no longer holds the scanner's lease, so only the scanner withdraws.
        self.fence = fence
        self.providers = ProviderMap(db)

    async def sync(self, progress: Callable[[int, int], None] | None = None) -> SyncReport:
        """Bring the database in line with the whole store folder, reading only new or changed
        files: the start-up load, and the safety-net rescan every NEWS_POLL_SECONDS."""
        started = time.perf_counter()
        current = await asyncio.to_thread(scan_store, self.store_dir)
        report = await self._bring_in_line(current, await self._known_files(), progress)
        await self._sync_providers(report)
        report.seconds = time.perf_counter() - started
        await self._save_summary(report)
        metrics.BAD_FILES.inc(len(report.errors))
        return report

    async def sync_files(self, names: Iterable[str]) -> SyncReport:
        """Bring in line only these files (named by file-system events): a one-file change
        costs one stat, not a scan of the whole folder."""
        started = time.perf_counter()
        names = set(names)
        wanted = sorted({n for n in names if is_article_name(n)})
        current = await asyncio.to_thread(stat_files, self.store_dir, wanted)
        known = await self._known_files(wanted)
        report = await self._bring_in_line(current, known, None, only=wanted)
        if PROVIDERS_FILE in names:
            await self._sync_providers(report)
        report.seconds = time.perf_counter() - started
        metrics.BAD_FILES.inc(len(report.errors))
        return report

    async def _bring_in_line(
        self,
        current: dict[str, FileStat],
        known: dict[str, FileStat],
        progress: Callable[[int, int], None] | None,
        *,
        only: list[str] | None = None,
    ) -> SyncReport:
        """Withdraw the files gone, read and apply the new or changed ones."""
        report = SyncReport(scanned=len(current))
        await self.writer.stories.ensure_clustered()  # once, after an upgrade
        todo, gone = await asyncio.to_thread(_differences, current, known)
        report.unchanged = len(current) - len(todo)
        if gone and not current and only is None:
            # An empty folder (an unmounted volume, a bad deploy) would withdraw every
            # article and delete every post: refuse, loudly, and change nothing.
            message = (
                f"{self.store_dir}: the store folder is empty; not withdrawing its {len(gone)} "
                "articles. Restore the files (or keep at least one) to change the store."
            )
            report.errors.append(message)
            log.error("%s", message)
        elif gone:
            await self._withdraw_files(gone, report)
        batches = [todo[i : i + BATCH] for i in range(0, len(todo), BATCH)]
        done = 0
        big = len(todo) >= PARALLEL_THRESHOLD
        first = FirstLoad(self.db) if big and await FirstLoad.applies(self.db) else None
        if first is not None:
            await self.writer.stories.unsettle()
        bulk = self.db.bulk_load() if big else contextlib.nullcontext()
        async with bulk:
            async for names, results in _parsed(self.store_dir, batches, current):
                await self._apply(names, results, current, known, report, first)
                if big and done == 0:
                    await self.db.analyze()
                done += len(names)
                if progress is not None:
                    progress(done, len(todo))
            if first is not None:
                await first.finish()
        return report

    async def _save_summary(self, report: SyncReport) -> None:
        at = datetime.fromtimestamp(self.writer.outbox.now(), UTC)  # the store's one clock
        summary = {
            "at": at.isoformat(timespec="seconds"),
            "scanned": report.scanned,
            "loaded": report.loaded,
            "deleted": report.deleted,
            "errors": len(report.errors),
            "seconds": round(report.seconds, 3),
        }
        async with self.db.transaction():
            await self.db.execute(
                "INSERT INTO meta (key, value) VALUES ('last_sync', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (json.dumps(summary),),
            )
            await SearchIndex.prune(self.db)

    async def _known_files(self, names: list[str] | None = None) -> dict[str, FileStat]:
        """What the database last recorded: every article file, or only `names`."""
        if names is None:  # a page at a time: asyncpg decodes rows on the event loop, and
            # the 100,000 of a big store in one read held it 100-150 ms, every rescan
            known: dict[str, FileStat] = {}
            page: list[tuple[Any, ...]] = [("",)]  # the first page starts after ""
            while page:
                page = await self.db.fetch_tuples(
                    "SELECT name, mtime_ns, size FROM files WHERE name > ? AND name <> ? "
                    "ORDER BY name LIMIT ?",
                    [page[-1][0], PROVIDERS_FILE, KNOWN_PAGE],
                )
                known.update((name, (mtime, size)) for name, mtime, size in page)
            return known
        return {
            row[0]: (row[1], row[2])
            async for row in in_chunks(
                self.db, "SELECT name, mtime_ns, size FROM files WHERE name IN ({marks})", names
            )
        }

    async def _sync_providers(self, report: SyncReport) -> None:
        """providers.yaml, read when it changed (`ProviderMap.sync`); a bad one is a bad
        file, in the report's errors too."""
        found = await asyncio.to_thread(stat_files, self.store_dir, [PROVIDERS_FILE])
        error = await self.providers.sync(
            self.store_dir, found.get(PROVIDERS_FILE), self.writer.record_files
        )
        if error is not None:
            report.errors.append(error)
            log.warning("skipped %s", error)

    async def _withdraw_files(self, names: list[str], report: SyncReport) -> None:
        """Withdraw the articles of files gone from the folder. Fenced, and re-checked last:
        a file back in the folder by now (re-added, or rewritten by a /publish, since the
        scan listed it) stays; the next scan reads it."""
        changes = Changes()
        async with self.db.transaction():
            await self.fence()
            back = await asyncio.to_thread(stat_files, self.store_dir, names)
            names = [name for name in names if name not in back]
            ids = [
                row[0]
                async for row in in_chunks(
                    self.db,
                    "SELECT id FROM articles WHERE file IN ({marks}) AND deleted_at IS NULL",
                    names,
                )
            ]
            before = await self.writer.visibility(ids)
            await self.db.executemany(
                "UPDATE articles SET deleted_at = ? WHERE file = ? AND deleted_at IS NULL",
                [(self.writer.outbox.now(), n) for n in names],
            )
            await self.db.executemany("DELETE FROM files WHERE name = ?", [(n,) for n in names])
            await self.writer.settle(before, {}, changes)
        report.deleted += len(ids)
        report.take(changes)

    async def _apply(
        self,
        names: list[str],
        results: list[Parsed | str],
        current: dict[str, FileStat],
        known: dict[str, FileStat],
        report: SyncReport,
        first: FirstLoad | None,
    ) -> None:
        """Write one parsed batch in one transaction (in a `first` load, without stories:
        they are decided at its end).

        A file whose recorded entry changed since the scan began (a /publish rewrote it
        meanwhile) is left out: this read is older than what the database holds now.
        """
        changes = Changes()
        async with self.db.transaction():
            stale = await self._changed_since(names, known)
            good: list[tuple[str, ArticleRows]] = []
            file_rows: list[tuple[str, int, int, str | None]] = []
            for name, parsed in zip(names, results, strict=True):
                if name in stale:
                    continue
                mtime, size = current[name]
                if isinstance(parsed, str):
                    report.errors.append(parsed)
                    log.warning("skipped %s", parsed)
                    file_rows.append((name, mtime, size, parsed))
                    continue
                good.append((name, parsed[0]))
                report.warnings.extend(parsed[0].warnings)
                file_rows.append((name, mtime, size, None))
                if name in known:
                    report.changed += 1
                else:
                    report.new += 1
            good = await self._drop_id_clashes(good, file_rows, report)
            before = await self.writer.visibility([a.id for _, a in good], {a.url for _, a in good})
            articles, prepared = [a for _, a in good], _prepared(results)
            await self.writer.write(articles, prepared, stories=first is None)
            if first is not None:
                first.add(articles, prepared)
            await self.writer.record_files(file_rows)
            await self.writer.settle(before, {a.id: a.url for _, a in good}, changes)
        report.take(changes)

    async def _changed_since(self, names: list[str], known: dict[str, FileStat]) -> set[str]:
        """Of `names`, those whose recorded stat is no longer what the scan started from."""
        now_known = await self._known_files(names)
        return {name for name in names if now_known.get(name) != known.get(name)}

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
            async for row in in_chunks(
                self.db,
                "SELECT id, file FROM articles WHERE id IN ({marks}) AND deleted_at IS NULL",
                [a.id for _, a in good],
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
