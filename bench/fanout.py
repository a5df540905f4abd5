"""Fan-out benchmark: one story to 1,000 channels through the stand-in, rate limits on.

    python -m bench.fanout [--channels 1000] [--repeat 3] [--latency 0.1] [--database-url URL]
                           [--mixed | --forums N --announcements N]

The bot is the real `newsbot run` in a subprocess (tests/support/run_bot.py points it at the
stand-in); the stand-in runs in this process with Discord's rate limits (5 posts per 5 s
per channel, 50 requests/s globally, 429 past them) and answers every request after
``--latency`` seconds, like a network round trip. Each run publishes a fresh story with
/publish and times it until every channel shows it. Prints, per run and as medians: total
time, posts/s, 429s, duplicates and missing channels, against the target of 1.3x the time
the global limit allows (N posts at 50/s).

A mixed audience (``--mixed``: 100 of the channels are forums, 50 announcement channels)
makes each forum's copy a forum post and crossposts each announcement: the floor is then
every request Discord must see (posts and crossposts) at 50/s, and the runs also count
crossposts that had to wait out Discord's hourly limit.

`Rig` (stand-in + store + database + bot process) is shared with bench.soak and
bench.memory.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.helpers import card_title, is_card, write_article
from tests.support.run_bot import BotProcess, bot_env, follow_everything
from tests.support.stand_in import Perm, Recorded, StandIn

GLOBAL_LIMIT = 50.0  # Discord's global requests/s
TARGET_FACTOR = 1.3
MIXED = (100, 50)  # --mixed: forums and announcement channels among the channels
POST_PATH = re.compile(r"^/channels/\d+/(messages|threads)$")  # a message, or a forum post


def machine() -> str:
    """One line naming the machine the figures came from."""
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GB RAM"
    return (
        f"{os.cpu_count()} cores ({model}){memory}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


@dataclass
class Rig:
    """The stand-in (in this process), the store folder, the database and the bot process."""

    discord: StandIn
    bot: BotProcess
    store_dir: Path
    db_path: Path
    channels: list[int]
    moderator: int
    reader: int
    forums: frozenset[int] = frozenset()
    announcements: frozenset[int] = frozenset()
    bots: list[BotProcess] = field(default_factory=list)  # every process, `bot` first
    readers: list[tuple[int, int]] = field(default_factory=list)  # (guild, reader), a shard each

    def message_posts(self, since: int = 0) -> list[Recorded]:
        """Posts (POST /channels/{id}/messages, or a forum's /threads) from index ``since``
        of ``requests`` on."""
        return [
            r
            for r in self.discord.requests[since:]
            if r.method == "POST" and POST_PATH.match(r.path)
        ]

    def crossposts(self, since: int = 0) -> list[Recorded]:
        return [r for r in self.discord.requests[since:] if r.path.endswith("/crosspost")]

    def channels_answered(self, since: int) -> int:
        """Channels whose post Discord accepted since request index ``since``."""
        return len({r.path for r in self.message_posts(since) if r.status in (200, 201)})

    def crossposted(self, since: int) -> int:
        """Messages crossposted since request index ``since``."""
        return len({r.path for r in self.crossposts(since) if r.status == 200})

    def shown(self, title: str) -> dict[int, int]:
        """channel -> how many messages (a forum: posts) it shows with this title."""
        counts = dict.fromkeys(self.channels, 0)
        for channel, posts in self.discord.all_posts().items():
            if channel in counts:
                counts[channel] = sum(1 for m in posts if post_title(m) == title)
        for forum in self.forums:
            counts[forum] = sum(1 for t in self.discord.threads(forum) if t["name"] == title)
        return counts


def post_title(message: object) -> str | None:
    """The headline a message (or a message request's body) shows: its card's, or its first
    embed's title (feeds made before cards)."""
    if not isinstance(message, dict):
        return None
    if is_card(message):
        return card_title(message)
    embeds = message.get("embeds")
    if isinstance(embeds, list) and embeds and isinstance(embeds[0], dict):
        return str(embeds[0].get("title"))
    return None


@contextlib.asynccontextmanager
async def rig(
    workdir: Path,
    *,
    channels: int,
    latency: float,
    rate_limits: bool = True,
    poll_seconds: float | None = 1.0,
    preload: bool = True,
    on_started: Callable[[BotProcess], None] | None = None,
    database_url: str | None = None,
    forums: int = 0,
    announcements: int = 0,
    processes: int = 1,
) -> AsyncIterator[Rig]:
    """Start everything over ``workdir/store`` (already holding the articles) and yield it
    once the bot is ready; every channel follows every topic.

    ``preload`` loads the store into the database here first, so the bot starts on a
    loaded database; without it the bot's own first start loads everything and no channel
    follows anything. ``on_started`` is called as soon as the bot process exists.
    ``poll_seconds`` None leaves NEWS_POLL_SECONDS unset: the product's default.
    ``database_url`` runs everything on that PostgreSQL database instead of a SQLite file.
    The first ``forums`` channels are forums, the next ``announcements`` announcement ones.
    ``processes`` above 1 starts that many bot processes, each owning one shard of as many
    (SHARD_COUNT, SHARD_IDS), with a guild and a reader on each shard (`Rig.readers`).
    """
    store_dir, db_path = workdir / "store", workdir / "news.db"
    database: Path | str = database_url or db_path
    store_dir.mkdir(exist_ok=True)
    async with StandIn(rate_limits=rate_limits, latency=latency) as discord:
        made = [discord.add_forum(f"forum-{n:04d}") for n in range(forums)]
        made += [discord.add_announcement(f"desk-{n:04d}") for n in range(announcements)]
        made += [discord.add_channel(f"news-{n:04d}") for n in range(channels - len(made))]
        ids = made
        kinds = dict.fromkeys(ids[:forums], "forum")
        kinds |= dict.fromkeys(ids[forums : forums + announcements], "announcement")
        moderator = discord.add_member("moderator", permissions=Perm.MANAGE_MESSAGES)
        reader = discord.add_member("reader")
        readers = shard_readers(discord, reader, processes)
        if preload:
            await follow_everything(
                database,
                store_dir,
                dict.fromkeys(ids, discord.guild_id),
                actor="bench",
                kinds=kinds,
            )
        env = bot_env(
            discord,
            store_dir,
            db_path,
            # one process: its commands in the guild; shards: global, as every guild needs them
            DISCORD_GUILD_ID=discord.guild_id if processes == 1 else None,
            NEWS_POLL_SECONDS=poll_seconds,
            NEWS_DATABASE_URL=database_url,
            SHARD_COUNT=processes if processes > 1 else None,
        )
        bots = [
            BotProcess(
                env | ({"SHARD_IDS": str(n)} if processes > 1 else {}),
                workdir / (f"bot-{n}.log" if processes > 1 else "bot.log"),
            )
            for n in range(processes)
        ]
        try:
            for bot in bots:
                await bot.start()
                if on_started is not None:
                    on_started(bot)
            # a first start loads the store (100,000: minutes)
            await asyncio.gather(*(bot.wait_ready(timeout=600) for bot in bots))
            yield Rig(
                discord,
                bots[0],
                store_dir,
                db_path,
                ids,
                moderator,
                reader,
                frozenset(ids[:forums]),
                frozenset(ids[forums : forums + announcements]),
                bots,
                readers,
            )
        finally:
            await asyncio.gather(*(bot.stop() for bot in bots))


def shard_readers(discord: StandIn, reader: int, shards: int) -> list[tuple[int, int]]:
    """(guild, reader) on each of ``shards`` shards: the stand-in's guild on its own, and a
    guild made for each other shard, with a channel and a reader."""
    if shards == 1:
        return [(discord.guild_id, reader)]
    readers = {(discord.guild_id >> 22) % shards: (discord.guild_id, reader)}
    for shard in range(shards):
        if shard not in readers:
            guild = discord.add_guild(f"Shard {shard}", shard=(shard, shards))
            discord.add_channel("news", guild_id=guild)
            readers[shard] = (guild, discord.add_member("reader", guild_id=guild))
    return [readers[shard] for shard in range(shards)]


@dataclass
class Run:
    seconds: float
    fanout_seconds: float
    first_post: float
    posts: int
    sends: int
    rate_limited: int
    duplicates: int
    missing: int
    crossposts: int = 0
    crossposts_waited: int = 0  # refused (429) for Discord's hourly crosspost limit

    @property
    def per_second(self) -> float:
        return self.posts / self.seconds

    @property
    def floor(self) -> float:
        """Seconds Discord's global limit needs for the requests this run must make."""
        return (self.posts + self.missing + self.crossposts) / GLOBAL_LIMIT


async def one_run(r: Rig, article: str, title: str, timeout: float) -> Run:
    """Publish ``article`` and time it until every channel shows it (and every
    announcement channel has crossposted it)."""
    limited_before = r.discord.rate_limited_count
    since = len(r.discord.requests)
    started = time.monotonic()
    answer = await r.discord.slash("publish", {"article": article}, user_id=r.moderator)
    assert str(answer.data["content"]).startswith("Published"), answer.data
    deadline = started + timeout
    while time.monotonic() < deadline and (
        r.channels_answered(since) < len(r.channels) or r.crossposted(since) < len(r.announcements)
    ):
        await asyncio.sleep(0.05)
    finished = time.monotonic()
    await asyncio.sleep(2.0)  # a duplicate would have arrived by now
    posts = r.message_posts(since)
    shown = r.shown(title)
    first = posts[0].time if posts else finished
    last = max((p.time for p in posts), default=finished)
    return Run(
        seconds=finished - started,
        fanout_seconds=last - first + r.discord.latency,
        first_post=first - started,
        posts=sum(shown.values()),
        sends=len(posts),
        rate_limited=r.discord.rate_limited_count - limited_before,
        duplicates=sum(n - 1 for n in shown.values() if n > 1),
        missing=sum(1 for n in shown.values() if n == 0),
        crossposts=r.crossposted(since),
        crossposts_waited=sum(1 for c in r.crossposts(since) if c.status == 429),
    )


def stories(folder: Path, count: int) -> list[tuple[str, str]]:
    """``count`` drafts; returns (article id, title) pairs."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for n in range(count):
        title = f"Benchmark story {n + 1}: the fan-out under Discord's limits"
        write_article(folder, f"bench{n + 1}", title=title, published=False)
        out.append((f"bench{n + 1}", title))
    return out


async def bench(args: argparse.Namespace, workdir: Path) -> int:
    drafts = stories(workdir / "store", args.repeat)
    forums, announcements = MIXED if args.mixed else (args.forums, args.announcements)
    bound = (args.channels + announcements) / GLOBAL_LIMIT  # every post and crosspost
    print(f"machine: {machine()}")
    print(
        f"fan-out of one story to {args.channels} channels ({forums} forums, {announcements} "
        f"announcement channels), stand-in latency {args.latency * 1000:.0f} ms, Discord's "
        f"rate limits on; {args.repeat} run(s)"
    )
    runs: list[Run] = []
    async with rig(
        workdir,
        channels=args.channels,
        latency=args.latency,
        database_url=args.database_url,
        forums=forums,
        announcements=announcements,
    ) as r:
        for n, (article, title) in enumerate(drafts, start=1):
            if n > 1:
                await asyncio.sleep(5.5)  # let every channel's 5-per-5 s bucket refill
            run = await one_run(r, article, title, timeout=max(60.0, bound * 4))
            runs.append(run)
            print(
                f"  run {n}: {run.seconds:6.2f} s publish->last post ({run.fanout_seconds:.2f} s "
                f"first->last), first post after {run.first_post * 1000:.0f} ms, "
                f"{run.per_second:5.1f} posts/s, {run.sends} sends, {run.rate_limited} x 429, "
                f"{run.duplicates} duplicates, {run.missing} missing"
                + (
                    f", {run.crossposts} crossposts ({run.crossposts_waited} waited); "
                    f"floor {run.floor:.1f} s ({run.seconds / run.floor:.2f}x)"
                    if announcements
                    else ""
                )
            )
    seconds = statistics.median(x.seconds for x in runs)
    target = bound * TARGET_FACTOR
    ok = seconds <= target and all(x.duplicates == 0 and x.missing == 0 for x in runs)
    print(
        f"median: {seconds:.2f} s to the last of {args.channels} posts"
        f"{f' and {announcements} crossposts' if announcements else ''} = "
        f"{statistics.median(x.per_second for x in runs):.1f} posts/s, "
        f"{statistics.median(x.rate_limited for x in runs):.0f} x 429 per run; "
        f"global limit allows {bound:.1f} s, target <= {target:.1f} s "
        f"({seconds / bound:.2f}x): {'MET' if ok else 'NOT MET'}"
    )
    return 0 if ok else 1


def arguments() -> argparse.ArgumentParser:
    """The command line, also how bench.postgres asks for a run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="runs (median reported)")
    parser.add_argument("--latency", type=float, default=0.1, help="stand-in answer delay, seconds")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (bot.log)")
    parser.add_argument(
        "--mixed", action="store_true", help="100 of the channels are forums, 50 announcement"
    )
    parser.add_argument("--forums", type=int, default=0, help="channels that are forums")
    parser.add_argument("--announcements", type=int, default=0, help="announcement channels")
    parser.add_argument("--database-url", help="a PostgreSQL database to run on (default SQLite)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = arguments().parse_args(argv)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        return asyncio.run(bench(args, args.keep))
    with tempfile.TemporaryDirectory(prefix="newsbot-fanout-") as tmp:
        return asyncio.run(bench(args, Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
