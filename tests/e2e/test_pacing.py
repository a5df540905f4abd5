"""One admin's `max_per_hour` never delays another server's channel.

A paced channel's whole backlog is parked in one update when it must wait, and `due()`
hands out at most a few rows of any one channel a round: 3,000 paced rows falling due
together leave room for another channel's story in the very first round.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.store import Store
from tests.support.botenv import news_bot, two_rounds
from tests.support.helpers import write_article

BACKLOG = 3000
HOUR = 3600
PACED, OTHER = 1, 2


class Clock:
    """The outbox's clock in a test: unix seconds that move only when told."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


def write_backlog(store_dir: Path) -> None:
    """BACKLOG stories on the topic the paced channel follows, older than anything else."""
    for n in range(BACKLOG):
        write_article(
            store_dir,
            f"bulk{n:04d}",
            title=f"Bulk story {n}",
            published=True,
            topics=["Bulk"],
            publishedDateTime=f"2024-01-01T{n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z",
        )


def write_other(store_dir: Path) -> None:
    write_article(
        store_dir,
        "other",
        title="Another server's story",
        published=True,
        topics=["Elsewhere"],
        publishedDateTime="2024-06-01T00:00:00Z",
    )


@pytest.mark.slow  # 3,000 rows
async def test_a_parked_backlog_falling_due_leaves_room_for_another_channel(
    database: Path | str, store_dir: Path
) -> None:
    clock = Clock()
    async with Store.open(database, store_dir, clock=clock) as store:
        await parked_backlog_leaves_room(store, store_dir, clock)


async def parked_backlog_leaves_room(store: Store, store_dir: Path, clock: Clock) -> None:
    await store.feeds.subscribe(PACED, "Bulk", actor="t", max_per_hour=1)
    await store.feeds.subscribe(OTHER, "Elsewhere", actor="t")
    write_backlog(store_dir)
    await store.folder.sync()
    [first, *_] = await store.outbox.due()
    assert first.channel_id == PACED

    # The paced channel must wait an hour: its whole backlog waits, in one update.
    await store.outbox.park(PACED, int(clock.now) + HOUR, "max_per_hour")
    assert await store.outbox.due() == []
    write_other(store_dir)
    await store.folder.sync()
    assert [d.channel_id for d in await store.outbox.due()] == [OTHER]

    clock.now += HOUR  # the 3,000 fall due together; the other story is newer than all
    due = await store.outbox.due()
    assert due[-1].channel_id == OTHER, "another channel's story waits behind the backlog"
    assert [d.channel_id for d in due].count(PACED) < len(due)


@pytest.mark.usefixtures("both_backends")
@pytest.mark.slow  # 3,000 rows
async def test_three_thousand_paced_rows_falling_due_do_not_hold_up_another_channel(
    tmp_path: Path,
) -> None:
    clock = Clock()
    async with news_bot(tmp_path, clock=clock) as env:
        d, paced, other = env.discord, env.guild.channels["news"], env.guild.channels["ai"]
        guild = d.guild_id
        await env.store.feeds.subscribe(paced, "Bulk", actor="t", guild_id=guild, max_per_hour=1)
        await env.store.feeds.subscribe(other, "Elsewhere", actor="t", guild_id=guild)
        write_backlog(env.store_dir)
        await d.wait_for(lambda: len(d.messages(paced)) == 1, timeout=30)

        async def parked() -> bool:  # every other row of the backlog waits for the hour
            due_at = await env.store.outbox.next_due_at()
            return due_at is not None and due_at > clock.now and not await env.store.outbox.due()

        await d.wait_for(parked, timeout=10)

        clock.now += HOUR  # the hour is up: 2,999 rows fall due together
        env.bot.deliveries_due.set()
        write_other(env.store_dir)
        queued = time.monotonic()
        await d.wait_for(lambda: len(d.messages(other)) == 1, timeout=10)
        assert time.monotonic() - queued < 3, "another channel waited behind the backlog"
        await d.wait_for(lambda: len(d.messages(paced)) == 2, timeout=10)

        async def recorded() -> bool:  # the two sent are recorded; the rest wait their turn
            return (await env.store.outbox.health()).waiting == BACKLOG - 2

        await d.wait_for(recorded, timeout=10)
        await two_rounds(env.bot)
        assert len(d.messages(paced)) == 2  # one an hour, still
