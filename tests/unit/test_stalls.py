"""The event loop's stall monitor: a blocked loop is logged with how long it was held."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from bot.stalls import StallMonitor


async def test_a_blocked_loop_is_logged_as_a_stall(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bot.stalls")
    monitor = StallMonitor.start()
    try:
        await asyncio.sleep(0)  # the monitor is asleep in its first round
        time.sleep(0.3)  # what a slow search run on the loop does to everyone
        for _ in range(50):
            if monitor.stalls:
                break
            await asyncio.sleep(0.02)  # the monitor wakes, late
    finally:
        await monitor.stop()
    assert monitor.stalls >= 1
    assert monitor.longest >= 0.15
    messages = [r.getMessage() for r in caplog.records if r.name == "bot.stalls"]
    assert messages and messages[0].startswith("event loop stalled ")
    assert int(messages[0].split()[3]) >= 150


def test_only_a_lateness_past_the_threshold_is_logged_and_the_longest_is_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.stalls")
    monitor = StallMonitor()
    monitor.observe(0.05)
    monitor.observe(0.153)
    monitor.observe(0.12)
    assert [r.getMessage() for r in caplog.records] == [
        "event loop stalled 153 ms",
        "event loop stalled 120 ms",
    ]
    assert (monitor.longest, monitor.stalls) == (0.153, 2)


async def test_the_monitor_ends_when_its_owner_closes() -> None:
    closed = False
    monitor = StallMonitor.start(until=lambda: closed)
    closed = True
    assert monitor.task is not None
    await asyncio.wait_for(monitor.task, 5)
