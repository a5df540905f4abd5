"""Sharding: SHARD_COUNT runs an AutoShardedBot; SHARD_IDS splits the shards over processes.

Real `newsbot run` processes against one stand-in and one SQLite database. The stand-in
hosts two guilds, one on each of 2 shards, and sends each guild's events and interactions
to the gateway session that owns its shard, as Discord does. Only the process owning
shard 0 runs the delivery loop; every process answers the commands of its own guilds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.helpers import card_title, write_article
from tests.support.run_bot import BotProcess, bot_env, follow_everything
from tests.support.stand_in import Perm, StandIn

SHARDS = 2
OLD_NEWS = "Harbour reopens after the storm"
BREAKING = "Rail strike called off at the last minute"


@dataclass
class ShardGuild:
    id: int
    reader: int
    moderator: int
    channels: list[int] = field(default_factory=list)


@dataclass
class Cluster:
    discord: StandIn
    guilds: dict[int, ShardGuild]  # by the shard that owns the guild
    store_dir: Path
    db_path: Path
    tmp_path: Path
    processes: list[BotProcess] = field(default_factory=list)

    async def start(self, name: str, **variables: str | int | None) -> BotProcess:
        env = bot_env(
            self.discord,
            self.store_dir,
            self.db_path,
            NEWS_POLL_SECONDS=0.5,
            SHARD_COUNT=SHARDS,
            NEWSROOM_GUILD_IDS=self.guilds[1].id,  # the newsroom is the guild on shard 1
            **variables,
        )
        process = BotProcess(env, self.tmp_path / name / "bot.log")
        self.processes.append(process)
        await process.start()
        return process

    def channels(self) -> list[int]:
        return [c for g in self.guilds.values() for c in g.channels]

    def posts_sent(self, channel: int) -> int:
        """How many times a bot asked Discord to post in the channel."""
        path = f"/channels/{channel}/messages"
        return sum(1 for r in self.discord.requests if r.method == "POST" and r.path == path)


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    write_article(store_dir, "old", title=OLD_NEWS, published=True)
    write_article(store_dir, "strike", title=BREAKING, published=False)
    db_path = tmp_path / "news.db"
    async with StandIn() as discord:
        first_shard = (discord.guild_id >> 22) % SHARDS
        other = discord.add_guild("Second Guild", shard=(1 - first_shard, SHARDS))
        guilds: dict[int, ShardGuild] = {}
        for guild_id in (discord.guild_id, other):
            guild = ShardGuild(
                guild_id,
                reader=discord.add_member("reader", guild_id=guild_id),
                moderator=discord.add_member(
                    "moderator", permissions=Perm.MANAGE_MESSAGES, guild_id=guild_id
                ),
            )
            guild.channels = [discord.add_channel(f"news-{n}", guild_id=guild_id) for n in range(3)]
            guilds[(guild_id >> 22) % SHARDS] = guild
        assert sorted(guilds) == [0, 1]
        await follow_everything(
            db_path,
            store_dir,
            {c: g.id for g in guilds.values() for c in g.channels},
            actor="test",
        )
        cluster = Cluster(discord, guilds, store_dir, db_path, tmp_path)
        try:
            yield cluster
        finally:
            for process in cluster.processes:
                process.kill()
            for process in cluster.processes:
                with contextlib.suppress(Exception):
                    await process.wait_exit()


async def test_two_processes_split_the_shards_and_deliver_once(cluster: Cluster) -> None:
    first = await cluster.start("shard0", SHARD_IDS="0")
    second = await cluster.start("shard1", SHARD_IDS="1")
    await asyncio.gather(first.wait_ready(), second.wait_ready())
    assert "ready: 1 guild(s), shards [0] of 2; delivery loop on" in first.log()
    assert "ready: 1 guild(s), shards [1] of 2; delivery loop off" in second.log()

    # Each guild's commands reach the process owning its shard, and are answered there.
    for shard, guild in cluster.guilds.items():
        answer = await cluster.discord.slash("news", user_id=guild.reader, guild_id=guild.id)
        assert answer.shard == (shard, SHARDS)
        assert OLD_NEWS in json.dumps(answer.data)

    # A moderator on shard 1 (the newsroom) publishes; the process that does not deliver
    # answers, and the shard-0 process posts to every following channel, in both guilds, once.
    guild = cluster.guilds[1]
    published = await cluster.discord.slash(
        "publish", {"article": "strike"}, user_id=guild.moderator, guild_id=guild.id
    )
    assert published.shard == (1, SHARDS)
    assert published.data["content"].startswith(f"Published **{BREAKING}**: posting it to 6")
    channels = cluster.channels()
    await cluster.discord.wait_for(
        lambda: all(cluster.discord.messages(c) for c in channels), timeout=15
    )
    await asyncio.sleep(1.5)  # a second deliverer, if there were one, would have posted by now

    for channel in channels:
        shown = cluster.discord.messages(channel)
        assert [card_title(m) for m in shown] == [BREAKING]
        assert cluster.posts_sent(channel) == 1
    assert "posted strike" in first.log()
    assert "posted" not in second.log()


async def test_shard_count_alone_runs_every_shard_in_one_process(cluster: Cluster) -> None:
    # discord.py identifies shard after shard, 5 s apart: the shipped behaviour.
    only = await cluster.start("all")
    await only.wait_ready(timeout=40)
    assert "ready: 2 guild(s), shards [0, 1] of 2; delivery loop on" in only.log()
    for shard, guild in cluster.guilds.items():
        answer = await cluster.discord.slash("news", user_id=guild.reader, guild_id=guild.id)
        assert answer.shard == (shard, SHARDS)
        assert OLD_NEWS in json.dumps(answer.data)
    identified = sorted(f["d"]["shard"] for f in cluster.discord.gateway_log if f.get("op") == 2)
    assert identified == [[0, 2], [1, 2]]
