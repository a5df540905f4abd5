"""Crash tests for a story's later source: the real `newsbot run` is SIGKILLed between the
story's two articles, and as the reply or the edit that the second one makes reaches
Discord; then restarted. The stand-in answers after 150 ms and applies a request even when
its sender has died, as Discord would, and outlives the bot. Afterwards each channel shows
the story as its feed wants it, exactly once: one post edited to show both sources (text,
`edit`), one forum post with one reply (`thread`), two posts (`new`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.store import ChannelKind, DeliveryState, Store, Updates
from tests.support.helpers import card_texts, card_title, write_article
from tests.support.run_bot import BotProcess, bot_env
from tests.support.stand_in import Recorded, StandIn

WIRE = "https://wire.example.org/2024/01/01/flood-barriers-hold"


def url_of(name: str) -> str:
    return f"https://example.com/news/{name}"


@dataclass
class Rig:
    discord: StandIn
    bot: BotProcess
    store: Store  # the bot's database, opened read-side here
    store_dir: Path
    text: int  # updates: edit (a text channel's default)
    forum: int  # updates: thread (a forum's default)
    new: int  # updates: new

    def publish(self, name: str, at: str) -> None:
        write_article(
            self.store_dir,
            name,
            published=True,
            originalUrl=WIRE,
            publishedDateTime=at,
            topics=["Climate"],
            title=f"Flood barriers hold, says {name}",
            provider={"name": f"{name.title()} Times", "domain": f"{name}.example"},
        )

    async def sent(self, name: str) -> None:
        """Until the source's rows in all three channels are sent and nothing is owed."""

        async def done() -> bool:
            posts = await self.store.outbox.posts(url_of(name))
            channels = (self.text, self.forum, self.new)
            if any(posts.get(c, (None,))[0] != DeliveryState.SENT for c in channels):
                return False
            return (await self.store.outbox.health()).waiting == 0

        await self.discord.wait_for(done, timeout=40)

    def kill_on(self, method: str, path: str) -> None:
        """SIGKILL the bot the instant this request reaches Discord."""

        def hook(rec: Recorded) -> None:
            if rec.method == method and rec.path == path:
                self.bot.kill()

        self.discord.on_request = hook

    async def restart(self) -> None:
        await self.bot.wait_exit(timeout=20)
        self.discord.on_request = None
        await self.bot.start()
        await self.bot.wait_ready()

    async def assert_the_story_once_each(self) -> None:
        [post] = self.discord.messages(self.text)
        more = [t for t in card_texts(post) if t.startswith("**More coverage**")]
        assert more and url_of("daily") in more[0]
        assert card_title(post) == "Flood barriers hold, says wire"
        [thread] = self.discord.threads(self.forum)
        thread_id = int(thread["id"])
        assert [card_title(m) for m in self.discord.messages(thread_id)] == [
            "Flood barriers hold, says wire",
            "Flood barriers hold, says daily",
        ]
        assert [card_title(m) for m in self.discord.messages(self.new)] == [
            "Flood barriers hold, says wire",
            "Flood barriers hold, says daily",
        ]


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    db_path = tmp_path / "news.db"
    async with StandIn(latency=0.15, rate_limits=True) as discord:
        text = discord.add_channel("news")
        forum = discord.add_forum("forum", tags=["Climate"])
        new = discord.add_channel("every-source")
        async with Store.open(db_path, store_dir) as store:
            await store.folder.sync()
            guild = discord.guild_id
            await store.feeds.subscribe(text, "", actor="test", guild_id=guild)
            await store.feeds.subscribe(
                forum, "", actor="test", guild_id=guild, kind=ChannelKind.FORUM
            )
            await store.feeds.subscribe(new, "", actor="test", guild_id=guild, updates=Updates.NEW)
            env = bot_env(discord, store_dir, db_path, DISCORD_GUILD_ID=guild, NEWS_POLL_SECONDS=1)
            bot = BotProcess(env, tmp_path / "bot.log")
            await bot.start()
            try:
                await bot.wait_ready()
                yield Rig(discord, bot, store, store_dir, text, forum, new)
            finally:
                bot.kill()
                with contextlib.suppress(Exception):
                    await bot.wait_exit()


async def test_killed_between_the_two_sources(rig: Rig) -> None:
    rig.publish("wire", "2024-01-01T12:00:00Z")
    await rig.sent("wire")
    rig.bot.kill()
    rig.publish("daily", "2024-01-01T15:00:00Z")  # while the bot is down

    await rig.restart()
    await rig.sent("daily")

    await rig.assert_the_story_once_each()


async def test_killed_as_the_reply_reaches_discord(rig: Rig) -> None:
    rig.publish("wire", "2024-01-01T12:00:00Z")
    await rig.sent("wire")
    [thread] = rig.discord.threads(rig.forum)
    rig.kill_on("POST", f"/channels/{thread['id']}/messages")
    rig.publish("daily", "2024-01-01T15:00:00Z")

    await rig.restart()
    await rig.sent("daily")

    await rig.assert_the_story_once_each()


async def test_killed_as_the_edit_reaches_discord(rig: Rig) -> None:
    rig.publish("wire", "2024-01-01T12:00:00Z")
    await rig.sent("wire")
    [post] = rig.discord.messages(rig.text)
    rig.kill_on("PATCH", f"/channels/{rig.text}/messages/{post['id']}")
    rig.publish("daily", "2024-01-01T15:00:00Z")

    await rig.restart()
    await rig.sent("daily")

    await rig.assert_the_story_once_each()
