"""Rounds of background work: how many each supervised task completed, and when the last.

A round is one pass of a task run by `delivery.supervise`: the delivery loop's look at the
outbox, an alerts or digests pass, a store rescan. Each completed round is counted in
`newsbot_task_rounds_total` and stamped in `newsbot_task_last_round_timestamp_seconds`, so
a loop that stopped going round (stuck in a request, say) shows on a dashboard and in an
alert before any post is late. `wait_past` lets a caller wait for rounds that began after
a moment of its choosing: once two have ended, whatever was due then has been handled,
and "nothing was sent" is an answer rather than a guess after a sleep.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from bot import metrics


class Rounds:
    """The rounds each task of this process completed; `tick` is set at each and renewed."""

    def __init__(self) -> None:
        self._done: Counter[str] = Counter()
        self._tick = asyncio.Event()

    def count(self, task: str) -> int:
        """Rounds `task` completed so far in this process."""
        return self._done[task]

    def done(self, task: str) -> None:
        """One round of `task` completed: counted, stamped, and told to whoever waits."""
        self._done[task] += 1
        metrics.ROUNDS.labels(task).inc()
        metrics.LAST_ROUND.labels(task).set_to_current_time()
        tick, self._tick = self._tick, asyncio.Event()
        tick.set()

    async def wait_past(self, task: str, count: int) -> None:
        """Until `task` has completed `count` rounds in all."""
        while self._done[task] < count:
            await self._tick.wait()
