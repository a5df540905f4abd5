"""Digest periods: one message per period, and no story left out when the hour moves.

A scheduled digest's nonce carries its period: Discord drops a repeat of the same nonce
within minutes, so two periods' digests in one channel must differ or the second is lost.
A period starts where the digest's last logged period ended: a digest moved to a later
hour on a day it was already sent still covers that day's later stories.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.digest import Every
from bot.store import DigestState, Store
from tests.support.botenv import news_bot, two_rounds
from tests.support.helpers import card_texts, write_article

GUILD = 500
DAY = timedelta(days=1)
START = datetime(2030, 3, 4, 12, tzinfo=UTC)  # a Monday, noon


class Clock:
    """Unix seconds that move only when told: the bot's and the store's."""

    def __init__(self, at: datetime) -> None:
        self.now = at.timestamp()

    def set(self, at: datetime) -> None:
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now


async def test_moving_a_daily_digest_to_a_later_hour_leaves_no_story_out(
    database: Path | str, store_dir: Path
) -> None:
    clock = Clock(START)  # when each story becomes published
    async with Store.open(database, store_dir, clock=clock) as store:
        await store.folder.sync()

        async def publish(name: str, at: datetime) -> None:
            clock.set(at)
            write_article(store_dir, name, published=True)
            await store.folder.sync()

        async def add(hour: int, at: datetime) -> None:
            await store.digests.add(
                9,
                "",
                every=Every.DAILY,
                hour=hour,
                size=5,
                guild_id=GUILD,
                actor="a",
                now=int(at.timestamp()),
            )

        async def send_due(at: datetime) -> list[list[str]]:
            """One scheduler round at `at`: each logged digest's stories, sent."""
            await store.digests.open_due(at)
            shown = []
            for run in await store.digests.due(int(at.timestamp())):
                stories = sorted(s.article_id for s in await store.digests.stories(run.period))
                await store.digests.settle(run, DigestState.SENT, int(at.timestamp()), stories=1)
                shown.append(stories)
            return shown

        day = START.replace(hour=0)
        await add(8, START)
        await publish("early", day + DAY + timedelta(hours=7))
        assert await send_due(day + DAY + timedelta(hours=8, minutes=1)) == [["early"]]
        await publish("midday", day + DAY + timedelta(hours=10))
        await add(20, day + DAY + timedelta(hours=10, minutes=5))  # the digest moves to 20:00
        assert await send_due(day + DAY + timedelta(hours=20, minutes=1)) == []  # sent today
        await publish("evening", day + DAY + timedelta(hours=21))
        assert await send_due(day + 2 * DAY + timedelta(hours=20, minutes=1)) == [
            ["evening", "midday"]
        ]


@pytest.mark.usefixtures("both_backends")
async def test_two_periods_digests_in_one_channel_are_two_messages(tmp_path: Path) -> None:
    clock = Clock(START)
    async with news_bot(tmp_path, clock=clock) as env:
        d, news = env.discord, env.guild.channels["news"]
        await env.store.digests.add(
            news,
            "",
            every=Every.DAILY,
            hour=8,
            size=5,
            guild_id=d.guild_id,
            actor="a",
            now=int(START.timestamp()),
        )
        day = START.replace(hour=0)
        for n in (1, 2):
            clock.set(day + n * DAY + timedelta(hours=7))
            write_article(env.store_dir, f"story{n}", title=f"Story of day {n}", published=True)

            await env.store.folder.sync()  # published at the clock's time
            clock.set(day + n * DAY + timedelta(hours=8, minutes=1))

            async def sent(count: int = n) -> bool:
                log = await env.store.digests.log(news)
                return [r.state for r in log] == [DigestState.SENT] * count

            await d.wait_for(sent, 10)
        await two_rounds(env.bot, "digests")
        shown = ["\n".join(card_texts(m)) for m in d.messages(news)]  # new digests are cards
        assert len(shown) == 2, "the second period's digest was taken for a repeat"
        assert "Story of day 1" in shown[0] and "Story of day 2" in shown[1]
