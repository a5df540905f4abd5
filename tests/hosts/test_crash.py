"""Crash test: the real `newsbot run` process is SIGKILLed during a fan-out and restarted.

A moderator publishes a story followed by 40 channels. The stand-in answers every request
after 150 ms (and keeps Discord's rate limits), so the fan-out takes long enough for the
kill to land where we choose. The stand-in lives in the test process and outlives the
bot, keeping its messages and its memory of nonces, as Discord would. After the restart
every channel must show the story exactly once: nothing lost, nothing doubled.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.store import DeliveryState, Store
from tests.support.helpers import card_title, write_article
from tests.support.run_bot import BotProcess, bot_env, follow_everything
from tests.support.stand_in import InteractionNotAnswered, Perm, Recorded, StandIn

CHANNELS = 40
POST = r"^/channels/\d+/messages$"
TITLE = "Flood barriers hold as the river peaks"


@dataclass
class Fanout:
    discord: StandIn
    bot: BotProcess
    store: Store  # the bot's database, opened read-side here (WAL lets both in)
    channels: list[int]
    moderator: int

    def posts(self) -> list[Recorded]:
        """Every POST /channels/{id}/messages the bot made, in arrival order."""
        return [
            r
            for r in self.discord.requests
            if r.method == "POST" and r.path.startswith("/channels/")
        ]

    def stored(self) -> int:
        """Channels that currently show a post."""
        return sum(1 for c in self.channels if self.discord.messages(c))

    async def unsettled(self) -> int:
        """Channels whose post the outbox (the bot's own record of work left) does not
        show as sent: rows in any other state, and rows not written yet."""
        counts = await self.store.outbox.state_counts()
        total = sum(counts.values())
        sent = counts.get(DeliveryState.SENT, 0)
        return (total - sent) + (CHANNELS - total)

    def publish(self) -> asyncio.Task[Any]:
        """/publish as the moderator; the answer may never come if the bot is killed first."""
        return asyncio.create_task(
            self.discord.slash(
                "publish",
                {"article": "flood"},
                user_id=self.moderator,
                channel_id=self.channels[0],
                timeout=8,
            )
        )

    async def restart_and_settle(self) -> None:
        await self.bot.wait_exit()
        await asyncio.sleep(0.4)  # requests still inside the stand-in's latency land now
        await self.bot.start()
        await self.bot.wait_ready()

        async def settled() -> bool:
            return await self.unsettled() == 0

        await self.discord.wait_for(settled, timeout=40)

    def assert_exactly_once(self) -> None:
        """What the channels show: the story, once each, as its embed."""
        for channel in self.channels:
            shown = self.discord.messages(channel)
            assert len(shown) == 1, f"channel {channel} shows {len(shown)} posts"
            assert card_title(shown[0]) == TITLE


@pytest.fixture
async def fanout(tmp_path: Path) -> AsyncIterator[Fanout]:
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    write_article(store_dir, "flood", title=TITLE, published=False, topics=["Climate"])
    db_path = tmp_path / "news.db"
    async with StandIn(latency=0.15, rate_limits=True) as discord:
        channels = [discord.add_channel(f"news-{n:02d}") for n in range(CHANNELS)]
        moderator = discord.add_member("moderator", permissions=Perm.MANAGE_MESSAGES)
        await follow_everything(
            db_path, store_dir, dict.fromkeys(channels, discord.guild_id), actor="test"
        )
        env = bot_env(
            discord, store_dir, db_path, DISCORD_GUILD_ID=discord.guild_id, NEWS_POLL_SECONDS=1
        )
        bot = BotProcess(env, tmp_path / "bot.log")
        async with Store.open(db_path, store_dir) as store:
            await bot.start()
            try:
                await bot.wait_ready()
                yield Fanout(discord, bot, store, channels, moderator)
            finally:
                bot.kill()
                with contextlib.suppress(Exception):
                    await bot.wait_exit()


def nonce(post: Recorded) -> str:
    assert isinstance(post.json, dict)
    return str(post.json["nonce"])


def kill_on_post(fanout: Fanout, number: int) -> Callable[[Recorded], None]:
    """A stand-in hook: SIGKILL the bot the moment its `number`-th post arrives."""
    seen = 0

    def hook(rec: Recorded) -> None:
        nonlocal seen
        if rec.method == "POST" and rec.path.startswith("/channels/"):
            seen += 1
            if seen == number:
                fanout.bot.kill()

    return hook


async def moderator_answer(task: asyncio.Task[Any]) -> str | None:
    """The moderator's reply, if the bot lived long enough to send it."""
    try:
        result = await task
    except InteractionNotAnswered:
        return None
    return str(result.data["content"])


async def test_killed_before_the_first_post_reaches_discord(fanout: Fanout) -> None:
    # The first post leaves the bot and the process dies that instant; Discord never
    # applies it (answered 503 to nobody). Only the outbox knows the 40 posts are owed.
    fanout.discord.fail_next("POST", POST, 503)
    fanout.discord.on_request = kill_on_post(fanout, 1)
    answer = await moderator_answer(fanout.publish())
    await fanout.bot.wait_exit()
    assert fanout.stored() == 0
    fanout.discord.on_request = None

    await fanout.restart_and_settle()

    fanout.assert_exactly_once()
    if answer is not None:
        assert answer.startswith(f"Published **{TITLE}**")


async def test_killed_mid_fanout_with_posts_in_flight(fanout: Fanout) -> None:
    # Killed as the 20th post arrives: some posts were answered, several (the 20th among
    # them) are stored by Discord after the bot died, the rest were never sent.
    fanout.discord.on_request = kill_on_post(fanout, 20)
    answer = await moderator_answer(fanout.publish())
    await fanout.bot.wait_exit()
    fanout.discord.on_request = None
    await asyncio.sleep(0.3)  # posts in flight at the kill land now
    stored_while_dead = fanout.stored()
    twentieth = fanout.posts()[19]
    assert 20 <= stored_while_dead < CHANNELS

    await fanout.restart_and_settle()

    fanout.assert_exactly_once()
    # The 20th post was stored but never answered: the restart sent it again with the
    # same nonce, and Discord returned the stored message instead of posting twice.
    resent = [p for p in fanout.posts() if p.path == twentieth.path]
    assert len(resent) >= 2
    assert {nonce(p) for p in resent} == {nonce(twentieth)}
    assert answer is None or answer.startswith(f"Published **{TITLE}**")


async def test_killed_right_after_a_post_whose_answer_was_lost(fanout: Fanout) -> None:
    # Discord stores the first post and the connection drops before the answer; the bot
    # schedules a retry and is killed before it runs.
    fanout.discord.drop_after_commit("POST", POST)
    answer = await moderator_answer(fanout.publish())
    await fanout.discord.wait_for(lambda: any(p.dropped for p in fanout.posts()), timeout=10)
    fanout.bot.kill()
    dropped = next(p for p in fanout.posts() if p.dropped)
    channel = int(dropped.path.split("/")[2])
    assert len(fanout.discord.messages(channel)) == 1

    await fanout.restart_and_settle()

    fanout.assert_exactly_once()
    resent = [p for p in fanout.posts() if p.path == dropped.path]
    assert len(resent) >= 2, "the lost answer was never retried"
    assert {nonce(p) for p in resent} == {nonce(dropped)}
    assert answer is not None and answer.startswith(f"Published **{TITLE}**")
    assert "posting it to 40 channel(s)" in answer
