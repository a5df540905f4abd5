"""The event loop's stall monitor: how late a task that sleeps 0.1 s in a loop wakes up.

Everything a bot process does shares one event loop, so anything that holds it (a slow
query run in the loop, a big search, a garbage collection) delays every reader and every
delivery alike. The monitor makes that visible: a lateness past THRESHOLD is logged as a
WARNING ("event loop stalled 153 ms"), the longest is kept (``longest``), and the log
lines, with their timestamps, are what bench.chaos reads. Each lateness is also observed
in the `newsbot_event_loop_lag_seconds` histogram, and /healthz reads ``woke_at``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from bot.metrics import LOOP_LAG

log = logging.getLogger(__name__)

INTERVAL = 0.1  # seconds the monitor sleeps each round
THRESHOLD = 0.1  # a wake-up later than this is a stall, logged


class StallMonitor:
    """A task on the running loop measuring how late its 0.1 s sleeps end."""

    def __init__(self, interval: float = INTERVAL, threshold: float = THRESHOLD) -> None:
        self.interval = interval
        self.threshold = threshold
        self.longest = 0.0  # seconds: the latest wake-up seen so far
        self.stalls = 0  # wake-ups later than the threshold
        self.woke_at = time.monotonic()  # the last wake-up (read from other threads)
        self.task: asyncio.Task[None] | None = None

    @classmethod
    def start(cls, *, until: Callable[[], bool] = lambda: False) -> StallMonitor:
        """A monitor running on the current event loop until `stop`, the loop's end or
        `until()` (checked each round: e.g. the bot's `is_closed`)."""
        monitor = cls()
        monitor.task = asyncio.get_running_loop().create_task(monitor.run(until), name="stalls")
        return monitor

    async def run(self, until: Callable[[], bool] = lambda: False) -> None:
        while not until():
            before = time.monotonic()
            await asyncio.sleep(self.interval)
            self.woke_at = time.monotonic()
            self.observe(self.woke_at - before - self.interval)

    def observe(self, late: float) -> None:
        """One wake-up `late` seconds after it was due."""
        self.longest = max(self.longest, late)
        LOOP_LAG.observe(max(0.0, late))
        if late > self.threshold:
            self.stalls += 1
            log.warning("event loop stalled %.0f ms", late * 1000)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None
