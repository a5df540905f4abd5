"""The store folder's cog: file-system events (inotify, through watchfiles) bring a dropped,
changed or deleted file into the database within a second or two; the rescan every
NEWS_POLL_SECONDS stays as the safety net where events are unavailable; and while this
process holds the scanner's role, it applies the /publish asked on other processes.

The rescan and the requests run supervised (`delivery.supervise`): a database away holds
them back, and they resume by themselves on its return."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable

import watchfiles
from discord.ext import commands

from bot import metrics
from bot.bot import NewsBot
from bot.delivery import supervise
from bot.errors import DeskUnavailable
from bot.store import Role
from bot.store.folder import is_store_name

log = logging.getLogger(__name__)

STEP_MS = 50  # a burst of events is one batch once the folder is quiet this long...
DEBOUNCE_MS = 400  # ...or after this long at most


def _store_file(change: watchfiles.Change, path: str) -> bool:
    return is_store_name(os.path.basename(path))


class StoreWatcher(commands.Cog):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.store = bot.store
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.loops: list[asyncio.Task[None]] = []
        self.postponed = False  # file events arrived while the database was away

    async def cog_load(self) -> None:
        self.task = asyncio.create_task(self.watch(), name="store-watcher")
        self._supervise("store rescan", self.rescan)
        if self.store.leases.elected:  # other hosts' /publish, applied by the scanner
            self._supervise("publish requests", self.serve)

    def _supervise(self, name: str, iteration: Callable[[], Awaitable[float]]) -> None:
        task = supervise(name, iteration, self.bot.held_back, rounds=self.bot.rounds)
        self.loops.append(asyncio.create_task(task, name=name))

    async def cog_unload(self) -> None:
        for loop in self.loops:
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop
        self.stop.set()
        if self.task is not None:
            try:
                await asyncio.wait_for(self.task, 5)
            except TimeoutError:
                self.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self.task

    async def watch(self) -> None:
        folder = self.bot.settings.store_dir
        if not folder.is_dir():
            return  # a host without the store folder (PostgreSQL): another process scans
        try:
            async for changes in watchfiles.awatch(
                folder,
                watch_filter=_store_file,
                step=STEP_MS,
                debounce=DEBOUNCE_MS,
                recursive=False,
                stop_event=self.stop,
            ):
                await self.apply({os.path.basename(path) for _, path in changes})
        except (OSError, RuntimeError) as exc:  # no inotify here (a network file system)
            log.warning(
                "no file-system events for %s (%s); changes are noticed by the rescan every %s s",
                folder,
                exc,
                self.bot.settings.poll_seconds,
            )

    async def rescan(self) -> float:
        """Every NEWS_POLL_SECONDS (the load at start came first), while this process holds
        the scanner's role: the whole folder, for what events missed."""
        await asyncio.sleep(self.bot.settings.poll_seconds)
        if not self.store.leases.holds(Role.SCANNER):
            return 0.0  # another process scans the store folder
        report = await self.store.folder.sync()
        metrics.RESCANS.inc()
        if report.loaded or report.deleted:
            log.info("store rescan: %s", report.changes_line())
        return 0.0

    async def serve(self) -> float:
        """While this process is the scanner: apply /publish asked on other processes."""
        requests = self.store.requests
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(requests.asked.wait(), 1.0)  # NOTIFY, or a poll
        requests.asked.clear()
        if self.store.leases.holds(Role.SCANNER):
            await requests.serve(self.store.publishing.apply_here)
        return 0.0

    async def apply(self, names: set[str]) -> None:
        """One batch of changed names: only these files are stat'ed and read."""
        if not self.store.leases.holds(Role.SCANNER):
            return  # another process holds the scanner's lease: it sees the change
        try:
            report = await self.store.folder.sync_files(names)
        except DeskUnavailable as exc:  # the database away: the next rescan catches up
            if not self.postponed:  # said once an outage, not for every batch of events
                log.warning("changes to store files postponed: %s", exc)
            self.postponed = True
            return
        except Exception:  # a vanished file mid-read: the next rescan catches up
            log.exception("applying changes to %d store file(s) failed", len(names))
            return
        self.postponed = False
        if report.loaded or report.deleted or report.errors:
            log.info("store change: %s", report.changes_line())


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(StoreWatcher(bot))
