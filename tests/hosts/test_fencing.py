"""Fencing: a deliverer that lost its lease changes nothing, in Discord or in the database.

Real `newsbot run` processes share one PostgreSQL database against the Discord stand-in
(150 ms per answer). One is frozen (SIGSTOP) in the middle of a delivery; the standby takes
the lease over and delivers; the frozen one is resumed (SIGCONT). Discord takes no fencing
token, so the resumed process must check its lease before each request it would make:
it makes none. And every deliverer write is refused once another process took the lease.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.digest import Every
from bot.store import (
    Delivery,
    DeliveryState,
    DigestRun,
    DigestState,
    Followup,
    LeaseLost,
    Role,
    Store,
    leases,
)
from tests.support.helpers import card_title, write_article
from tests.support.run_bot import BotProcess, bot_env, follow_everything
from tests.support.stand_in import Perm, Recorded, StandIn

URL = "https://example.com/news/river"


@dataclass
class Pair:
    """Two bot processes, "a" (started first: it holds both leases) and "b" (standby)."""

    discord: StandIn
    url: str
    store_dir: Path
    tmp_path: Path
    forum: int
    news: int
    store: Store
    processes: dict[str, BotProcess] = field(default_factory=dict)

    async def start(self, name: str) -> BotProcess:
        env = bot_env(
            self.discord,
            self.store_dir,
            self.tmp_path / "unused.db",
            NEWS_DATABASE_URL=self.url,
            DISCORD_TOKEN=f"token-{name}",
            NEWS_POLL_SECONDS=1,
        )
        process = BotProcess(env, self.tmp_path / name / "bot.log")
        self.processes[name] = process
        await process.start()
        await process.wait_ready()
        return process

    def sent_by(self, name: str, method: str, pattern: str, after: float = 0.0) -> list[Recorded]:
        auth = f"Bot token-{name}"
        return [
            r
            for r in self.discord.requests
            if r.method == method
            and re.search(pattern, r.path)
            and r.headers.get("Authorization") == auth
            and r.time >= after
        ]

    def freeze_on(self, name: str, method: str, pattern: str) -> Callable[[], float]:
        """SIGSTOP process `name` the moment its first matching request reaches Discord;
        the returned function says when (0 until then)."""
        frozen_at = 0.0
        process = self.processes[name]

        def hook(rec: Recorded) -> None:
            nonlocal frozen_at
            mine = rec.headers.get("Authorization") == f"Bot token-{name}"
            if mine and not frozen_at and rec.method == method and re.search(pattern, rec.path):
                frozen_at = time.monotonic()
                os.kill(process.pid, signal.SIGSTOP)

        self.discord.on_request = hook
        return lambda: frozen_at

    def write(self, title: str, version: int) -> None:
        write_article(
            self.store_dir,
            "river",
            title=title,
            published=True,
            topics=["Climate"],
            mtime=time.time() + version,
        )


@pytest.fixture
async def pair(tmp_path: Path, pg_url: str) -> AsyncIterator[Pair]:
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    write_article(store_dir, "old", title="Yesterday's news", published=True)
    async with StandIn(latency=0.15, rate_limits=True) as discord:
        forum = discord.add_forum("forum", tags=["Other"], bot_allow=Perm.MANAGE_CHANNELS)
        news = discord.add_channel("news")
        channels = {forum: discord.guild_id, news: discord.guild_id}
        await follow_everything(pg_url, store_dir, channels, actor="t", kinds={forum: "forum"})
        async with Store.open(pg_url, store_dir) as store:
            pair = Pair(discord, pg_url, store_dir, tmp_path, forum, news, store)
            try:
                yield pair
            finally:
                await BotProcess.kill_all(pair.processes.values())


async def resume(pair: Pair, name: str, frozen_at: float) -> float:
    """SIGCONT `name` at least 20 s after it froze; it notices it lost the lease."""
    await asyncio.sleep(max(0.0, frozen_at + 20 - time.monotonic()))
    resumed_at = time.monotonic()
    process = pair.processes[name]
    os.kill(process.pid, signal.SIGCONT)
    await process.wait_for_log("lost the deliverer lease", timeout=15)
    await asyncio.sleep(3)  # anything it would still send has arrived by now
    return resumed_at


async def test_a_deliverer_frozen_mid_forum_post_makes_no_second_post_once_resumed(
    pair: Pair,
) -> None:
    await pair.start("a")
    await pair.start("b")
    # "a" edits the forum's tags (the story's topic is new), then would create the post.
    hold = pair.discord.hold_answer("PATCH", rf"^/channels/{pair.forum}$")
    frozen_at = pair.freeze_on("a", "PATCH", rf"^/channels/{pair.forum}$")
    pair.write("The river peaks overnight", 0)
    await pair.discord.wait_for(lambda: bool(frozen_at()), timeout=30)

    await pair.discord.wait_for(lambda: len(pair.discord.threads(pair.forum)) == 1, timeout=40)
    assert pair.sent_by("b", "POST", rf"^/channels/{pair.forum}/threads$")
    hold.release()  # the tag edit's answer reaches "a" once it runs again
    await resume(pair, "a", frozen_at())

    [thread] = pair.discord.threads(pair.forum)
    assert thread["name"] == "The river peaks overnight"
    assert pair.sent_by("a", "POST", rf"^/channels/{pair.forum}/threads$") == []
    assert len(pair.discord.messages(pair.news)) == 1
    posts = await pair.store.outbox.posts(URL)
    assert posts[pair.forum] == (DeliveryState.SENT, int(thread["id"]))


async def test_a_deliverer_frozen_mid_edit_never_overwrites_the_newer_text(pair: Pair) -> None:
    await pair.start("a")
    await pair.start("b")
    pair.write("River: first take", 0)
    await pair.discord.wait_for(lambda: len(pair.discord.messages(pair.news)) == 1, timeout=30)
    await pair.discord.wait_for(lambda: len(pair.discord.threads(pair.forum)) == 1, timeout=30)
    [message] = pair.discord.messages(pair.news)
    edit_path = rf"^/channels/{pair.news}/messages/{message['id']}$"

    # The edit reaches Discord as a 500: discord.py tries it again a second later, by then
    # frozen. While it is, the story changes again and the standby edits the post to that.
    pair.discord.fail_next("PATCH", edit_path, 500)
    frozen_at = pair.freeze_on("a", "PATCH", edit_path)
    pair.write("River: second take", 10)
    await pair.discord.wait_for(lambda: bool(frozen_at()), timeout=30)
    pair.write("River: third take", 20)

    def shown() -> str:
        [post] = pair.discord.messages(pair.news)
        return card_title(post)

    await pair.discord.wait_for(lambda: shown() == "River: third take", timeout=40)
    resumed_at = await resume(pair, "a", frozen_at())

    assert shown() == "River: third take", "the resumed process wrote its older text back"
    assert pair.sent_by("a", "PATCH", r"/messages/", after=resumed_at) == []
    [thread] = pair.discord.threads(pair.forum)
    assert card_title(thread["message"]) == "River: third take"


# --- every deliverer write, against a lease another process took over ----------------------

NOW = datetime(2030, 1, 7, 9, tzinfo=UTC)  # the daily digest's 08:00 period is due
Write = Callable[[Store, Delivery, DigestRun], Awaitable[object]]
WRITES: dict[str, Write] = {
    "done": lambda s, row, run: s.outbox.done(row, 1001),
    "retry": lambda s, row, run: s.outbox.retry(row, "boom", 30),
    "wait": lambda s, row, run: s.outbox.wait(row, 2**40, "later"),
    "lost": lambda s, row, run: s.outbox.lost(row),
    "followed_up": lambda s, row, run: s.outbox.followed_up(row),
    "starting": lambda s, row, run: s.outbox.starting(row),
    "park": lambda s, row, run: s.outbox.park(row.channel_id, 2**40, "max_per_hour"),
    "pause_channel": lambda s, row, run: s.outbox.pause_channel(row.channel_id, "gone"),
    "digest open_due": lambda s, row, run: s.digests.open_due(NOW.replace(day=8)),
    "digest settle": lambda s, row, run: s.digests.settle(run, DigestState.SENT, 1, message_id=9),
    "digest retry": lambda s, row, run: s.digests.retry(run, "boom", 30, 1),
}


async def _snapshot(store: Store) -> tuple[object, ...]:
    """Everything a deliverer write may change, as the store reports it."""
    return (
        await store.outbox.posts(URL),
        await store.outbox.next_due_at(),
        [(d.state, d.attempts, d.started_at, d.followup) for d in await store.outbox.due()],
        await store.outbox.health(),
        [(r.state, r.attempts, r.message_id) for r in await store.digests.log(1)],
    )


@pytest.mark.parametrize("name", WRITES)
async def test_every_deliverer_write_is_refused_once_another_process_took_the_lease(
    name: str, pg_url: str, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "a" takes the lease and then stops renewing it (as if frozen); "b" takes it over.
    monkeypatch.setattr(leases, "LEASE_SECONDS", 1.0)
    monkeypatch.setattr(leases, "MARGIN", 0.0)
    monkeypatch.setattr(leases, "RENEW_SECONDS", 3600.0)
    async with Store.open(pg_url, store_dir) as a, Store.open(pg_url, store_dir) as b:
        await b.feeds.subscribe(1, "", actor="t", guild_id=5)
        await b.digests.add(1, "", every=Every.DAILY, hour=8, size=5, guild_id=5, actor="t", now=0)
        write_article(store_dir, "river", published=True)
        await b.folder.sync()
        async with a.leases.holding({Role.DELIVERER}):
            await a.digests.open_due(NOW)
            [run] = await a.digests.due(int(NOW.timestamp()))
            [row] = await a.outbox.due()
            if name == "followed_up":  # a sent post that still owes its crosspost
                await a.outbox.done(row, 1001, Followup.CROSSPOST)
                [row] = await a.outbox.due()
            async with b.leases.holding({Role.DELIVERER}):
                await asyncio.wait_for(b.leases.wait_for(Role.DELIVERER), 10)
                before = await _snapshot(b)
                with pytest.raises(LeaseLost):
                    await WRITES[name](a, row, run)
                assert await _snapshot(b) == before
