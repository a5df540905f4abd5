"""Crash test for forum posts: the real `newsbot run` is SIGKILLed while its forum post is
in flight, then restarted. Discord takes no nonce on `POST /channels/{forum}/threads`, so
exactly-once rests on reconciliation: the outbox records that the creation went out, and
the restarted bot looks the thread up (by name and starter message) before creating one.

The stand-in answers after 150 ms and applies a request even when its sender has died,
as Discord would; it outlives the bot, keeping its threads.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.store import ChannelKind, DeliveryState, Store
from tests.support.helpers import write_article
from tests.support.run_bot import BotProcess, bot_env
from tests.support.stand_in import Recorded, StandIn

TITLE = "Forum crash: the river peaks overnight"
THREADS = r"^/channels/\d+/threads$"


@dataclass
class Rig:
    discord: StandIn
    bot: BotProcess
    store: Store
    store_dir: Path
    forum: int

    def thread_posts(self) -> list[Recorded]:
        return [
            r for r in self.discord.requests if r.method == "POST" and r.path.endswith("/threads")
        ]

    def kill_on_thread_post(self) -> None:
        """SIGKILL the bot the instant its forum post reaches Discord."""

        def hook(rec: Recorded) -> None:
            if rec.method == "POST" and rec.path == f"/channels/{self.forum}/threads":
                self.bot.kill()

        self.discord.on_request = hook

    async def publish_and_kill(self) -> None:
        self.kill_on_thread_post()
        write_article(self.store_dir, "river", title=TITLE, published=True, topics=["Climate"])
        await self.bot.wait_exit(timeout=20)
        self.discord.on_request = None

    async def restart_and_settle(self) -> None:
        await self.bot.start()
        await self.bot.wait_ready()

        async def sent() -> bool:
            posts = await self.store.outbox.posts("https://example.com/news/river")
            return posts.get(self.forum, (None, None))[0] == DeliveryState.SENT

        await self.discord.wait_for(sent, timeout=30)

    def assert_one_thread(self) -> dict[str, object]:
        [thread] = self.discord.threads(self.forum)
        assert thread["name"] == TITLE
        return thread


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    db_path = tmp_path / "news.db"
    async with StandIn(latency=0.15, rate_limits=True) as discord:
        forum = discord.add_forum("forum", tags=["Climate"])
        async with Store.open(db_path, store_dir) as store:
            await store.folder.sync()
            await store.feeds.subscribe(
                forum, "", actor="test", guild_id=discord.guild_id, kind=ChannelKind.FORUM
            )
            env = bot_env(
                discord, store_dir, db_path, DISCORD_GUILD_ID=discord.guild_id, NEWS_POLL_SECONDS=1
            )
            bot = BotProcess(env, tmp_path / "bot.log")
            await bot.start()
            try:
                await bot.wait_ready()
                yield Rig(discord, bot, store, store_dir, forum)
            finally:
                bot.kill()
                with contextlib.suppress(Exception):
                    await bot.wait_exit()


async def test_killed_while_the_forum_post_is_in_flight_leaves_one_thread(rig: Rig) -> None:
    # Discord creates the thread after the bot has died: only a lookup can know it exists.
    await rig.publish_and_kill()
    await rig.discord.wait_for(lambda: len(rig.discord.threads(rig.forum)) == 1, timeout=5)

    await rig.restart_and_settle()

    thread = rig.assert_one_thread()
    assert len(rig.thread_posts()) == 1, "the restart created the thread a second time"
    lookups = [r for r in rig.discord.requests if r.path.endswith("/threads/active")]
    assert lookups, "the restart did not look for the thread it may have made"
    posts = await rig.store.outbox.posts("https://example.com/news/river")
    assert posts == {rig.forum: (DeliveryState.SENT, int(str(thread["id"])))}


async def test_killed_before_discord_made_the_forum_post_makes_it_once(rig: Rig) -> None:
    # The post leaves the bot and is refused (never applied) as the process dies.
    rig.discord.fail_next("POST", THREADS, 503)
    await rig.publish_and_kill()
    assert rig.discord.threads(rig.forum) == []

    await rig.restart_and_settle()

    rig.assert_one_thread()
    assert [r.status for r in rig.thread_posts()] == [503, 201]
