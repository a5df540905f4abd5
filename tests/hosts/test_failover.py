"""Several `newsbot run` processes sharing one PostgreSQL database: roles by lease.

Real processes against the Discord stand-in (150 ms per answer, Discord's rate limits on)
and a throwaway PostgreSQL server. One process holds the scanner's and the deliverer's
leases; a standby takes a role over when its holder stops renewing it. Each process has
its own token, so the stand-in's record shows which process sent what.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.store import Role, Store
from bot.store.leases import LEASE_SECONDS
from tests.support.helpers import card_title, write_article
from tests.support.postgres import PASSWORD
from tests.support.run_bot import BotProcess, bot_env, follow_everything
from tests.support.stand_in import Perm, Recorded, StandIn

CHANNELS = 40
TITLE = "Storm surge expected along the coast"


@dataclass
class Cluster:
    discord: StandIn
    url: str
    store_dir: Path
    tmp_path: Path
    channels: list[int]
    store: Store  # the shared database, read through the store's API
    processes: dict[str, BotProcess] = field(default_factory=dict)

    async def start(self, name: str, **variables: str | int | None) -> BotProcess:
        settings: dict[str, str | int | None] = {"NEWS_POLL_SECONDS": 1}
        settings.update(variables)
        env = bot_env(
            self.discord,
            self.store_dir,
            self.tmp_path / "unused.db",
            NEWS_DATABASE_URL=self.url,
            DISCORD_TOKEN=f"token-{name}",
            **settings,
        )
        process = BotProcess(env, self.tmp_path / name / "bot.log")
        self.processes[name] = process
        await process.start()
        await process.wait_ready()
        return process

    def posts_by(self, name: str, after: float = 0.0) -> list[Recorded]:
        """POST /channels/{id}/messages sent by one process (by its token)."""
        auth = f"Bot token-{name}"
        return [
            r
            for r in self.discord.requests
            if r.method == "POST"
            and r.path.startswith("/channels/")
            and r.headers.get("Authorization") == auth
            and r.time >= after
        ]

    def publish_file(self) -> None:
        """The pipeline drops a published story: the scanner finds it within a poll."""
        write_article(self.store_dir, "surge", title=TITLE, published=True, topics=["Climate"])

    async def all_posted(self, timeout: float) -> None:
        await self.discord.wait_for(
            lambda: all(self.discord.messages(c) for c in self.channels), timeout=timeout
        )

    def assert_exactly_once(self) -> None:
        for channel in self.channels:
            shown = self.discord.messages(channel)
            assert len(shown) == 1, f"channel {channel} shows {len(shown)} posts"
            assert card_title(shown[0]) == TITLE


@pytest.fixture
async def cluster(tmp_path: Path, pg_url: str) -> AsyncIterator[Cluster]:
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    write_article(store_dir, "old", title="Yesterday's news", published=True)
    async with StandIn(latency=0.15, rate_limits=True) as discord:
        channels = [discord.add_channel(f"news-{n:02d}") for n in range(CHANNELS)]
        await follow_everything(
            pg_url, store_dir, dict.fromkeys(channels, discord.guild_id), actor="test"
        )
        async with Store.open(pg_url, store_dir) as store:
            cluster = Cluster(discord, pg_url, store_dir, tmp_path, channels, store)
            try:
                yield cluster
            finally:
                await BotProcess.kill_all(cluster.processes.values())
                for process in cluster.processes.values():
                    assert PASSWORD not in process.log()


async def test_the_standby_takes_over_a_killed_deliverer_mid_fanout(cluster: Cluster) -> None:
    first = await cluster.start("a")
    second = await cluster.start("b")
    assert "took the deliverer lease (epoch 1)" in first.log()
    assert "took the scanner lease (epoch 1)" in first.log()
    assert "delivery loop a candidate for the deliverer's lease" in second.log()
    assert await cluster.store.leases.holders() == {
        Role.SCANNER: first_holder(first),
        Role.DELIVERER: first_holder(first),
    }

    killed_at = 0.0

    def kill_on_15th(rec: Recorded) -> None:
        nonlocal killed_at
        if len(cluster.posts_by("a")) == 15 and not killed_at:
            killed_at = time.monotonic()
            first.kill()

    cluster.discord.on_request = kill_on_15th
    cluster.publish_file()
    await first.wait_exit(timeout=30)
    cluster.discord.on_request = None
    await asyncio.sleep(0.4)  # posts in flight at the kill land now (Discord keeps them)
    stored = sum(1 for c in cluster.channels if cluster.discord.messages(c))
    assert killed_at and 15 <= stored < CHANNELS

    await cluster.all_posted(timeout=40)
    taken_over = cluster.posts_by("b")[0].time - killed_at
    assert taken_over <= LEASE_SECONDS + 2 <= 15, taken_over
    await asyncio.sleep(2)  # anything doubled would have arrived by now
    cluster.assert_exactly_once()
    assert "took the deliverer lease (epoch 2)" in second.log()
    assert "took the scanner lease (epoch 2)" in second.log()


async def test_a_frozen_deliverer_resumed_sends_nothing_and_doubles_nothing(
    cluster: Cluster,
) -> None:
    first = await cluster.start("a")
    second = await cluster.start("b")
    frozen_at = 0.0

    def freeze_on_10th(rec: Recorded) -> None:
        nonlocal frozen_at
        if len(cluster.posts_by("a")) == 10 and not frozen_at:
            frozen_at = time.monotonic()
            os.kill(first.pid, signal.SIGSTOP)

    cluster.discord.on_request = freeze_on_10th
    cluster.publish_file()
    await cluster.discord.wait_for(lambda: bool(frozen_at), timeout=30)
    cluster.discord.on_request = None
    await cluster.all_posted(timeout=40)  # the standby finishes the fan-out
    await asyncio.sleep(max(0.0, frozen_at + 20 - time.monotonic()))
    resumed_at = time.monotonic()
    os.kill(first.pid, signal.SIGCONT)
    await first.wait_for_log("lost the deliverer lease", timeout=15)
    await asyncio.sleep(3)  # anything it would still send has arrived by now

    assert cluster.posts_by("a", after=resumed_at) == []  # nothing sent once resumed
    assert first.running  # it lives on, as a standby
    cluster.assert_exactly_once()
    assert "took the deliverer lease (epoch 2)" in second.log()
    assert (await cluster.store.leases.holders())[Role.DELIVERER] == first_holder(second)


async def test_a_new_scanner_publishes_a_file_dropped_after_the_old_one_died(
    cluster: Cluster,
) -> None:
    scanner = await cluster.start("a", DELIVERY=0)  # the scanner only
    deliverer = await cluster.start("b")  # the deliverer, and the scanner's standby
    assert "took the scanner lease (epoch 1)" in scanner.log()
    assert "took the deliverer lease (epoch 1)" in deliverer.log()
    scanner.kill()
    await scanner.wait_exit()
    killed_at = time.monotonic()
    cluster.publish_file()

    await cluster.all_posted(timeout=40)
    assert time.monotonic() - killed_at <= 25
    await asyncio.sleep(1.5)  # anything doubled would have arrived by now
    cluster.assert_exactly_once()
    assert "took the scanner lease (epoch 2)" in deliverer.log()
    assert cluster.posts_by("a") == []


def first_holder(process: BotProcess) -> str:
    """The lease holder name a process logs at start ("holder …")."""
    marker = "lease holder "
    line = next(line for line in process.log().splitlines() if marker in line)
    return line.split(marker, 1)[1].strip()


async def test_a_publish_answered_by_a_process_without_the_store_folder(
    tmp_path: Path, pg_url: str
) -> None:
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    write_article(store_dir, "strike", title="Rail strike called off", published=False)
    async with StandIn() as discord:
        here = (discord.guild_id >> 22) % 2  # the shard of the guild the scanner serves
        guild = discord.add_guild("Other host's guild", shard=(1 - here, 2))
        moderator = discord.add_member("mod", permissions=Perm.MANAGE_MESSAGES, guild_id=guild)
        channel = discord.add_channel("news", guild_id=guild)
        await follow_everything(pg_url, store_dir, {channel: guild}, actor="test")
        processes = []
        for name, shard, folder in (("a", here, store_dir), ("b", 1 - here, tmp_path / "none")):
            env = bot_env(
                discord,
                folder,
                tmp_path / "unused.db",
                NEWS_DATABASE_URL=pg_url,
                NEWS_POLL_SECONDS=1,
                SHARD_COUNT=2,
                SHARD_IDS=shard,
                NEWSROOM_GUILD_IDS=guild,  # moderation lives in the other host's guild
            )
            processes.append(BotProcess(env, tmp_path / name / "bot.log"))
        try:
            for process in processes:
                await process.start()
                await process.wait_ready()
            folderless = processes[1]
            assert "competing for deliverer as lease holder" in folderless.log()

            asked = time.monotonic()
            result = await discord.slash(
                "publish", {"article": "strike"}, user_id=moderator, guild_id=guild
            )
            assert result.shard == (1 - here, 2)  # the process without the folder answered
            assert result.deferred and time.monotonic() - asked < 3
            [answer] = result.followups
            assert answer["content"].startswith("Published **Rail strike called off**")
            assert b"published: true" in (store_dir / "strike.txt").read_bytes()
            await discord.wait_for(lambda: bool(discord.messages(channel)), timeout=15)

            again = await discord.slash(
                "publish", {"article": "strike"}, user_id=moderator, guild_id=guild
            )
            assert "is already published" in again.followups[0]["content"]
            assert "Traceback" not in folderless.log()
        finally:
            for process in processes:
                process.kill()
            for process in processes:
                with contextlib.suppress(Exception):
                    await process.wait_exit()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "systemd"])
async def test_a_clean_shutdown_hands_the_roles_over_at_once(
    cluster: Cluster, stop: signal.Signals
) -> None:
    first = await cluster.start("a")
    second = await cluster.start("b")
    stopped_at = time.monotonic()
    await first.stop(sig=stop)  # the leases are released, not left to expire
    assert first.proc is not None and first.proc.returncode == 0, first.tail()
    assert "released the deliverer lease" in first.log()
    assert "bot: stopped" in first.log(), first.tail()
    await second.wait_for_log("took the deliverer lease (epoch 2)", timeout=5)
    await second.wait_for_log("took the scanner lease (epoch 2)", timeout=5)
    assert time.monotonic() - stopped_at < LEASE_SECONDS
    cluster.publish_file()
    await cluster.all_posted(timeout=30)
    cluster.assert_exactly_once()


async def test_work_queued_by_one_process_wakes_the_deliverer_on_another_at_once(
    cluster: Cluster,
) -> None:
    # Polls every 30 s: only the file-system event (on the scanner) and NOTIFY (to the
    # deliverer) can make this fast.
    await cluster.start("a", DELIVERY=0, NEWS_POLL_SECONDS=30)  # the scanner only
    await cluster.start("b", NEWS_POLL_SECONDS=30)  # the deliverer
    dropped_at = time.monotonic()
    cluster.publish_file()
    await cluster.all_posted(timeout=15)
    first = min(r.time for r in cluster.posts_by("b"))
    assert first - dropped_at < 5, first - dropped_at
    cluster.assert_exactly_once()
