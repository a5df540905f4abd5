"""Chaos: two bots on one PostgreSQL and one store folder, under every fault at once (issue 16).

    python -m bench.chaos [--minutes 30] [--articles 20000] [--channels 50] [--forums 10]
                          [--every 10] [--rate 5] [--seed 16] [--no-faults] [--no-hostile]
                          [--keep DIR]

A throwaway PostgreSQL server (tests/support/postgres.py), the stand-in (in this process,
Discord's rate limits on, 50 ms answers) and two real `newsbot run` processes sharing the
store folder, both competing for the scanner's and the deliverer's leases. Every channel
(``--forums`` of them forums) follows every topic. For ``--minutes``:

- a story (a new published article file) lands in the store every ``--every`` seconds;
- one draft file is rewritten every 100 ms;
- readers send /news, /news by topic, /search and /topics at ``--rate`` per second;
- one hostile reader sends, twice a second each, the longest `/article` autocomplete and
  the longest `/search` the synced command definitions allow (6,000 characters where
  they declare no ``max_length``), unless ``--no-hostile``;

and, unless ``--no-faults``: the database is stopped for 20 s every 5 minutes (first at
1 minute); the process holding the deliverer's lease (read from the `leases` table) is
SIGSTOPped for 20 s once, at 2 minutes, on its next forum request (mid forum post); and
Discord answers every channel request with 429s or 5xx for 3 s about every 45 s. Then the
faults stop and the bots get up to ``--drain`` seconds to deliver everything. The schedule
is fixed by ``--seed``: with the default one a 429 burst starts at 118 s, so the freeze
catches a forum request that Discord refuses with a 429 and discord.py itself would send
again once the process resumes (the lease check at every request's start refuses it).

Prints: posts lost and doubled (each story must reach each channel exactly once: messages
counted per story and channel, forum posts per story and forum; target 0 and 0); the
readers' latency p50/p99 outside outages (dispatch to answer; a request whose wait, up
to Discord's 3 s, overlaps a database outage or the freeze or the ``--grace`` seconds
after one is left out; unanswered ones count as infinitely late; target p99 < 250 ms);
each process's longest event-loop stall outside outages (the bots' own "event loop
stalled N ms" log lines, bot/stalls.py; target < 100 ms); each process's RSS one minute
after start and at the end (target <= +10%); how often a supervised task was restarted
(log lines "supervised task ... restarted"); then one verdict line per target.
Traffic goes to 127.0.0.1 only; every process (bots, PostgreSQL) is stopped on the way
out, on Ctrl-C too.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import gc
import itertools
import logging
import os
import random
import re
import signal
import statistics
import string
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import psutil

from bench.fanout import machine, post_title
from bench.soak import APOLOGY, SEARCHES, percentile
from tests.support.corpus import TOPIC_NAMES, write_corpus
from tests.support.helpers import article_text, write_article
from tests.support.postgres import PostgresServer, server_binaries, throwaway_server
from tests.support.run_bot import BotProcess, bot_env, follow_everything
from tests.support.stand_in import InteractionNotAnswered, Perm, Recorded, StandIn

OUTAGE_SECONDS = 20.0
OUTAGE_EVERY = 300.0
FIRST_OUTAGE = 60.0
FREEZE_AT = 120.0
FREEZE_SECONDS = 20.0
FREEZE_WAIT = 30.0  # seconds the freeze waits for the deliverer's next forum request
BURST_EVERY = 45.0
BURST_SECONDS = 3.0
CHURN_EVERY = 0.1
HOSTILE_EVERY = 0.5
DEADLINE = 3.0  # seconds Discord gives an interaction's first answer
MAX_IN_FLIGHT = 400  # requests of one kind (readers', the hostile's) waiting at once
DISCORD_MAX_OPTION = 6000  # Discord's longest string option, when a command declares none
TARGET_P99_MS = 250.0
TARGET_STALL_MS = 100.0
TARGET_RSS_GROWTH = 0.10
LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")
STALL = re.compile(r"event loop stalled (\d+) ms")
RESTARTED = re.compile(r"supervised task .* restarted")
CHANNEL_ROUTE = r"^/channels/"  # deliveries; interaction answers (/interactions, /webhooks) spared


@dataclass
class Window:
    """A fault's time span (time.time()); ``pid`` names the one process it hit, if one."""

    kind: str
    start: float
    end: float = float("inf")
    pid: int | None = None

    def overlaps(self, start: float, end: float, grace: float, pid: int | None = None) -> bool:
        if self.pid is not None and pid is not None and pid != self.pid:
            return False
        return start < self.end + grace and end > self.start


@dataclass
class Faults:
    """What was done when: the windows readers' latencies and stalls are judged outside."""

    windows: list[Window] = field(default_factory=list)
    begin: float = 0.0  # time.time() when both bots were ready: stalls before are start-up
    bursts: collections.Counter[str] = field(default_factory=collections.Counter)
    notes: list[str] = field(default_factory=list)

    def outages(self) -> list[Window]:
        return [w for w in self.windows if w.kind in ("database", "freeze")]

    def inside(self, start: float, end: float, grace: float, pid: int | None = None) -> bool:
        return any(w.overlaps(start, end, grace, pid) for w in self.outages())


@dataclass
class Answer:
    command: str
    sent: float  # time.time() at dispatch
    latency: float | None  # seconds to the answer; None: not answered
    error: bool = False


class Rig:
    """The stand-in, the server, the store and the two bot processes."""

    def __init__(self, args: argparse.Namespace, workdir: Path, pg: PostgresServer, url: str):
        self.args = args
        self.workdir = workdir
        self.store_dir = workdir / "store"
        self.pg = pg
        self.url = url
        self.discord = StandIn(rate_limits=True, latency=0.05)
        self.bots: list[BotProcess] = []
        self.channels: list[int] = []
        self.forums: set[int] = set()
        self.lobby = 0
        self.reader = self.hostile = 0
        self.frozen: set[int] = set()

    async def start(self) -> None:
        d = self.discord
        await d.start()
        self.lobby = d.add_channel("lobby")  # where readers type; follows nothing
        self.channels = [d.add_forum(f"forum-{n:02d}") for n in range(self.args.forums)]
        self.forums = set(self.channels)
        self.channels += [
            d.add_channel(f"news-{n:02d}") for n in range(self.args.channels - self.args.forums)
        ]
        self.reader = d.add_member("reader")
        self.hostile = d.add_member("hostile")
        d.add_member("moderator", permissions=Perm.MANAGE_MESSAGES)
        logging.getLogger("bot").setLevel(logging.ERROR)  # the generator's duplicate webUrls
        await follow_everything(
            self.url,
            self.store_dir,
            dict.fromkeys(self.channels, d.guild_id),
            actor="bench",
            kinds=dict.fromkeys(self.forums, "forum"),
        )
        for name in ("a", "b"):
            env = bot_env(
                d,
                self.store_dir,
                self.workdir / "unused.db",
                DISCORD_GUILD_ID=d.guild_id,
                NEWS_DATABASE_URL=self.url,
                DISCORD_TOKEN=f"token-{name}",
            )
            bot = BotProcess(env, self.workdir / f"bot-{name}.log")
            self.bots.append(bot)
            await bot.start()
        for bot in self.bots:
            await bot.wait_ready(timeout=600)

    async def close(self) -> None:
        for pid in list(self.frozen):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        with contextlib.suppress(Exception):
            if not self.pg_running():
                self.pg.resume()  # a clean shutdown releases the leases
        for bot in self.bots:
            with contextlib.suppress(Exception):
                await bot.stop(timeout=15)
        await self.discord.close()

    def pg_running(self) -> bool:
        return (self.pg.data / "postmaster.pid").exists()

    def bot_of(self, pid: int) -> str:
        return next((f"bot-{n}" for n, b in zip("ab", self.bots, strict=True) if b.pid == pid), "?")

    async def deliverer(self) -> int | None:
        """The pid of the process holding the deliverer's lease, from the `leases` table."""
        import asyncpg

        conn = await asyncpg.connect(self.url, timeout=5)
        try:
            holder = await conn.fetchval("SELECT holder FROM leases WHERE role = 'deliverer'")
        finally:
            await conn.close()
        if not holder:
            return None
        return int(str(holder).split(":")[1])  # host:pid:nonce (bot/store/leases.py)

    def option_max(self, command: str, option: str) -> int:
        """The longest value the synced definition of /command's option allows."""
        for cmd in self.discord.commands(self.discord.guild_id) + self.discord.commands():
            if cmd["name"] == command:
                for opt in cmd.get("options") or []:
                    if opt["name"] == option:
                        return int(opt.get("max_length") or DISCORD_MAX_OPTION)
        return DISCORD_MAX_OPTION


# --- the load -----------------------------------------------------------------------------


class Every:
    """Run ``action`` every ``seconds`` (on a fixed schedule, skipping missed ticks)."""

    def __init__(self, seconds: float, action: Callable[[], Awaitable[None] | None]) -> None:
        self.seconds = seconds
        self.action = action

    async def run(self, until: float) -> None:
        due = time.monotonic()
        while (now := time.monotonic()) < until:
            if now >= due:
                result = self.action()
                if result is not None:
                    await result
                due += self.seconds * max(1, int((time.monotonic() - due) / self.seconds) + 1)
            await asyncio.sleep(max(0.0, min(due, until) - time.monotonic()))


class Load:
    """Stories, the churned file, the readers and the hostile reader."""

    def __init__(self, rig: Rig, seed: int) -> None:
        self.rig = rig
        self.random = random.Random(seed)
        self.titles: list[str] = []
        self.answers: list[Answer] = []
        self.hostile: list[Answer] = []
        self.reading: set[asyncio.Task[None]] = set()  # readers' requests in flight
        self.attacking: set[asyncio.Task[None]] = set()  # the hostile reader's
        self.hostile_random = random.Random(seed + 1)
        self.churns = 0
        self.search_max = rig.option_max("search", "query")
        self.article_max = rig.option_max("article", "article")
        self.prefixes = self._prefixes(self.search_max)

    @staticmethod
    def _prefixes(length: int) -> str:
        """Distinct one- and two-letter prefixes ("a* b* ... aa* ab*"), ``length`` at most."""
        words = itertools.chain(
            string.ascii_lowercase,
            map("".join, itertools.product(string.ascii_lowercase, repeat=2)),
        )
        out = ""
        for word in words:
            if len(out) + len(word) + 2 > length:
                break
            out += f"{word}* "
        return out.strip()

    def story(self) -> None:
        n = len(self.titles) + 1
        title = f"Chaos story {n}: the harbour council votes again"
        write_article(
            self.rig.store_dir,
            f"chaos{n:05d}",
            title=title,
            published=True,
            topics=[TOPIC_NAMES[n % 10]],
            publishedDateTime=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        self.titles.append(title)

    def churn(self) -> None:
        """Rewrite one draft, as an editor's autosave would (a temp file, then a rename)."""
        self.churns += 1
        folder = self.rig.store_dir
        text = article_text("churned", body=f"Revision {self.churns}.\n", published=False)
        (folder / ".churned.txt.tmp").write_text(text, encoding="utf-8")
        os.replace(folder / ".churned.txt.tmp", folder / "churned.txt")

    def _spawn(self, tasks: set[asyncio.Task[None]], make: Callable[[], Awaitable[None]]) -> bool:
        """Start ``make()`` unless MAX_IN_FLIGHT of ``tasks`` are still waiting (a bot far
        behind: the load must not pile up without bound)."""
        if len(tasks) >= MAX_IN_FLIGHT:
            return False
        task: asyncio.Task[None] = asyncio.ensure_future(make())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return True

    async def _slash(
        self, into: list[Answer], label: str, name: str, options: dict[str, Any], user: int
    ) -> None:
        sent = time.time()
        try:
            result = await self.rig.discord.slash(
                name, options, user_id=user, channel_id=self.rig.lobby, timeout=30, quiet=0
            )
        except (InteractionNotAnswered, RuntimeError):  # RuntimeError: no session is up
            into.append(Answer(label, sent, None))
            return
        after = result.answered_after
        error = APOLOGY in str(result.data.get("content"))
        into.append(Answer(label, sent, after, error))

    def reader(self) -> None:
        roll = self.random.random()
        if roll < 0.4:
            label, name, options = "/news", "news", {}
        elif roll < 0.6:
            label, name, options = (
                "/news topic",
                "news",
                {"topic": self.random.choice(TOPIC_NAMES[:20])},
            )
        elif roll < 0.9:
            label, name, options = "/search", "search", {"query": self.random.choice(SEARCHES)}
        else:
            label, name, options = "/topics", "topics", {}
        ask = partial(self._slash, self.answers, label, name, options, self.rig.reader)
        if not self._spawn(self.reading, ask):
            self.answers.append(Answer(label, time.time(), None))

    async def _autocomplete(self, text: str) -> None:
        sent, started = time.time(), time.monotonic()
        try:
            await self.rig.discord.autocomplete(
                "article",
                {"article": text},
                "article",
                user_id=self.rig.hostile,
                channel_id=self.rig.lobby,
                timeout=30,
            )
        except (InteractionNotAnswered, RuntimeError):
            self.hostile.append(Answer("autocomplete", sent, None))
            return
        self.hostile.append(Answer("autocomplete", sent, time.monotonic() - started))

    def hostile_reader(self) -> None:
        rng = self.hostile_random
        if rng.random() < 0.5:
            typed = ("a " * self.article_max)[: self.article_max]
        else:  # distinct short words: no cache helps
            letters = string.ascii_lowercase
            words = (
                "".join(rng.choices(letters, k=rng.randint(1, 3))) for _ in range(self.article_max)
            )
            typed = " ".join(words)[: self.article_max]
        self._spawn(self.attacking, partial(self._autocomplete, typed))
        query = {"query": self.prefixes}
        search = partial(self._slash, self.hostile, "/search (hostile)", "search", query)
        self._spawn(self.attacking, partial(search, self.rig.hostile))


# --- the faults ---------------------------------------------------------------------------


async def faults(rig: Rig, record: Faults, begin: float, until: float, seed: int) -> None:
    """Database outages, one frozen deliverer and Discord bursts, on a schedule from
    ``begin`` (time.monotonic()) until ``until``."""
    rng = random.Random(seed)
    events: list[tuple[float, str]] = []
    at = begin + FIRST_OUTAGE
    while at + OUTAGE_SECONDS < until:
        events.append((at, "database"))
        at += OUTAGE_EVERY
    if begin + FREEZE_AT + FREEZE_SECONDS < until:
        events.append((begin + FREEZE_AT, "freeze"))
    at = begin + BURST_EVERY * rng.uniform(0.5, 1.0)
    while at + BURST_SECONDS < until:
        events.append((at, "burst"))
        at += BURST_EVERY * rng.uniform(0.7, 1.3)
    tasks = [
        asyncio.create_task(_at(when, kind, rig, record, rng)) for when, kind in sorted(events)
    ]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _at(when: float, kind: str, rig: Rig, record: Faults, rng: random.Random) -> None:
    await asyncio.sleep(max(0.0, when - time.monotonic()))
    if kind == "database":
        window = Window("database", time.time())
        record.windows.append(window)
        await asyncio.to_thread(rig.pg.halt, "fast")
        try:
            await asyncio.sleep(OUTAGE_SECONDS)
        finally:
            await asyncio.to_thread(rig.pg.resume)
            window.end = time.time()
    elif kind == "freeze":
        await freeze(rig, record)
    else:
        status = rng.choice((429, 429, 500, 502, 503))
        rig.discord.fail_for(BURST_SECONDS, "*", CHANNEL_ROUTE, status, retry_after=1.0)
        record.windows.append(Window(f"burst {status}", time.time(), time.time() + BURST_SECONDS))
        record.bursts[str(status)] += 1


async def freeze(rig: Rig, record: Faults) -> None:
    """SIGSTOP the deliverer for FREEZE_SECONDS, at the moment it sends a forum request
    (a forum post is several requests: frozen between them, as in issue 16) if it sends
    one within FREEZE_WAIT seconds, else then; SIGCONT after."""
    pid = None
    with contextlib.suppress(Exception):
        pid = await rig.deliverer()
    bot = next((b for b in rig.bots if b.pid == pid), None)
    if pid is None or bot is None:
        record.notes.append(f"freeze skipped: no bot holds the deliverer's lease ({pid})")
        return
    auth = f"Bot {bot.env['DISCORD_TOKEN']}"
    forums = tuple(f"/channels/{f}" for f in rig.forums)
    stopped = asyncio.Event()
    caught: list[str] = []

    def stop(rec: Recorded | None = None) -> None:
        if stopped.is_set():
            return
        if rec is not None:
            if rec.headers.get("Authorization") != auth or not rec.path.startswith(forums):
                return
            caught.append(f"{rec.method} {rec.path}")
        os.kill(pid, signal.SIGSTOP)
        rig.frozen.add(pid)
        record.windows.append(Window("freeze", time.time(), pid=pid))
        stopped.set()

    rig.discord.on_request = stop
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopped.wait(), FREEZE_WAIT)
        stop()
        await asyncio.sleep(FREEZE_SECONDS)
    finally:
        rig.discord.on_request = None
        if pid in rig.frozen:
            os.kill(pid, signal.SIGCONT)
            rig.frozen.discard(pid)
            record.windows[-1].end = time.time()
    during = f"during its forum request {caught[0]}" if caught else "(no forum request seen)"
    record.notes.append(
        f"froze {rig.bot_of(pid)} (the deliverer, pid {pid}) for {FREEZE_SECONDS:g} s {during}"
    )


# --- what the bots did --------------------------------------------------------------------


def tally(rig: Rig, titles: list[str]) -> collections.Counter[tuple[int, str]]:
    """(channel, story) -> messages showing it now (a forum: posts)."""
    wanted = set(titles)
    counts: collections.Counter[tuple[int, str]] = collections.Counter()
    for channel in rig.channels:
        if channel in rig.forums:
            shown = [t["name"] for t in rig.discord.threads(channel)]
        else:
            shown = [post_title(m) for m in rig.discord.messages(channel)]
        counts.update((channel, t) for t in shown if t in wanted)
    return counts


def delivered(rig: Rig, titles: list[str]) -> tuple[int, int, int]:
    """(lost, doubled, expected): each story in each channel, messages (a forum: posts)."""
    counts = tally(rig, titles)
    expected = [(c, t) for c in rig.channels for t in titles]
    lost = sum(1 for key in expected if counts[key] == 0)
    doubled = sum(counts[key] - 1 for key in expected if counts[key] > 1)
    return lost, doubled, len(expected)


def wrong(rig: Rig, titles: list[str], begin: float, limit: int = 8) -> list[str]:
    """The first (channel, story) pairs shown other than once, each with the posts Discord
    accepted for it: when (seconds into the run) and from which bot."""
    counts = tally(rig, titles)
    out = []
    for channel in rig.channels:
        for title in titles:
            if counts[channel, title] == 1:
                continue
            sends = []
            for r in rig.discord.requests:
                if r.method != "POST" or r.status not in (200, 201) or not isinstance(r.json, dict):
                    continue
                if r.path not in (f"/channels/{channel}/messages", f"/channels/{channel}/threads"):
                    continue
                if title in (
                    r.json.get("name"),
                    post_title(r.json),
                    post_title(r.json.get("message")),
                ):
                    who = r.headers.get("Authorization", "").removeprefix("Bot token-")
                    sends.append(
                        f"{r.path.rsplit('/', 1)[1]} by bot-{who} at {r.time - begin:.1f} s"
                    )
            kind = "forum" if channel in rig.forums else "channel"
            out.append(
                f"{title.split(':')[0]} in {kind} {channel}: shown {counts[channel, title]} "
                f"time(s); accepted posts: {', '.join(sends) or 'none'}"
            )
            if len(out) >= limit:
                return out
    return out


def log_lines(bot: BotProcess) -> Iterator[tuple[float | None, str]]:
    """(time.time() of the line, or None for a continuation line; the line)."""
    for line in bot.log().splitlines():
        m = LOG_TIME.match(line)
        when = None
        if m:
            # the bots log local time (logging's asctime), as time.localtime() reads it
            when = time.mktime(time.strptime(m.group(1)[:19], "%Y-%m-%d %H:%M:%S"))
            when += int(m.group(1)[20:]) / 1000
        yield when, line


@dataclass
class BotFigures:
    name: str
    pid: int
    longest_stall_ms: float = 0.0
    stalls_outside: int = 0
    stalls_inside: int = 0
    longest_inside_ms: float = 0.0
    startup_ms: float = 0.0  # the longest stall before both bots were ready
    restarts: int = 0
    errors: int = 0
    warnings: collections.Counter[str] = field(default_factory=collections.Counter)
    rss_minute: int = 0
    rss_end: int = 0


def read_log(bot: BotProcess, name: str, record: Faults, grace: float) -> BotFigures:
    figures = BotFigures(name, bot.pid)
    for when, line in log_lines(bot):
        if RESTARTED.search(line):
            figures.restarts += 1
        if " ERROR " in line or " CRITICAL " in line:
            figures.errors += 1
        if " WARNING " in line and not STALL.search(line):
            message = line.split(": ", 1)[-1]
            figures.warnings[re.sub(r"\d+(\.\d+)?", "N", message)[:110]] += 1
        m = STALL.search(line)
        if m is None or when is None:
            continue
        ms = float(m.group(1))
        if when < record.begin:
            figures.startup_ms = max(figures.startup_ms, ms)
        elif record.inside(when - ms / 1000, when, grace, bot.pid):
            figures.stalls_inside += 1
            figures.longest_inside_ms = max(figures.longest_inside_ms, ms)
        else:
            figures.stalls_outside += 1
            figures.longest_stall_ms = max(figures.longest_stall_ms, ms)
    return figures


def answered_within(a: Answer) -> tuple[float, float]:
    """The span in which an outage spoils an answer: from the dispatch to the answer, or to
    Discord's 3 s deadline for one later or never answered."""
    return a.sent, a.sent + min(a.latency if a.latency is not None else DEADLINE, DEADLINE)


def latencies(answers: list[Answer], record: Faults, grace: float) -> tuple[list[float], int]:
    """Answers outside every outage window: their latencies (inf: not answered, or the
    apology), and how many were left out."""
    kept: list[float] = []
    left_out = 0
    for a in answers:
        if record.inside(*answered_within(a), grace):
            left_out += 1
            continue
        kept.append(a.latency if a.latency is not None and not a.error else float("inf"))
    return kept, left_out


def ms(value: float) -> str:
    return "late" if value == float("inf") else f"{value * 1000:.0f} ms"


# --- the run ------------------------------------------------------------------------------


async def chaos(args: argparse.Namespace, workdir: Path, pg: PostgresServer) -> int:
    main = asyncio.current_task()
    assert main is not None
    # SIGTERM ends the run as Ctrl-C does: the main task is cancelled, everything stopped
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
    await pg.admin("CREATE DATABASE bench_chaos TEMPLATE newsbot_template")
    url = pg.url("bench_chaos")
    print(f"machine: {machine()}")
    print(
        f"chaos: {args.minutes:g} min, 2 bot processes on PostgreSQL, {args.articles} articles "
        f"(generated in {args.generated:.0f} s), a story every {args.every:g} s "
        f"to {args.channels} channels ({args.forums} forums), readers {args.rate:g}/s, "
        f"faults {'OFF' if args.no_faults else 'on'}, hostile reader "
        f"{'OFF' if args.no_hostile else 'on'}, seed {args.seed}"
    )
    rig = Rig(args, workdir, pg, url)
    record = Faults()
    try:
        await rig.start()
        ready = time.monotonic()
        record.begin = time.time()
        pids = {b.pid: psutil.Process(b.pid) for b in rig.bots}
        load = Load(rig, args.seed)
        print(
            f"bots ready (bot-a pid {rig.bots[0].pid}, bot-b pid {rig.bots[1].pid}); hostile "
            f"reader{' (off)' if args.no_hostile else ''}: /article autocomplete of "
            f"{load.article_max} characters, /search of "
            f"{len(load.prefixes)} ({load.prefixes.count('*')} prefixes), "
            f"each every {HOSTILE_EVERY:g} s"
        )
        gc.freeze()  # the set-up's objects: fewer and shorter collections in the harness
        end = ready + args.minutes * 60
        rss_minute: dict[int, int] = {}

        def sample_rss() -> None:
            if not rss_minute and time.monotonic() >= ready + 60:
                for pid, proc in pids.items():
                    with contextlib.suppress(psutil.Error):
                        rss_minute[pid] = proc.memory_info().rss

        jobs = [
            Every(args.every, load.story).run(end),
            Every(CHURN_EVERY, load.churn).run(end),
            Every(1 / args.rate, load.reader).run(end),
            Every(1.0, sample_rss).run(end),
        ]
        if not args.no_hostile:
            jobs.append(Every(HOSTILE_EVERY, load.hostile_reader).run(end))
        if not args.no_faults:
            jobs.append(faults(rig, record, ready, end, args.seed))
        await asyncio.gather(*jobs)
        sample_rss()
        if not rss_minute:  # a run shorter than a minute: its first minute is its end
            rss_minute = {pid: proc.memory_info().rss for pid, proc in pids.items()}
        for line in record.notes:
            print(f"  {line}")
        await asyncio.gather(*load.reading, *load.attacking, return_exceptions=True)

        # the drain: every story to every channel, then a while for a late duplicate
        drain_started = time.monotonic()
        while time.monotonic() - drain_started < args.drain:
            lost, doubled, expected = delivered(rig, load.titles)
            if lost == 0:
                break
            await asyncio.sleep(1)
        drained = time.monotonic() - drain_started
        await asyncio.sleep(5)
        lost, doubled, expected = delivered(rig, load.titles)
        problems = wrong(rig, load.titles, ready)
        rss_end = {pid: proc.memory_info().rss for pid, proc in pids.items()}
    finally:
        await rig.close()

    figures = [
        read_log(b, f"bot-{n}", record, args.grace) for n, b in zip("ab", rig.bots, strict=True)
    ]
    for f in figures:
        f.rss_minute, f.rss_end = rss_minute.get(f.pid, 0), rss_end.get(f.pid, 0)
    return report(args, rig, load, record, figures, (lost, doubled, expected, problems), drained)


def report(
    args,
    rig: Rig,
    load: Load,
    record: Faults,
    figures: list[BotFigures],
    delivery: tuple[int, int, int, list[str]],
    drained: float,
) -> int:
    lost, doubled, expected, problems = delivery
    outages = record.outages()
    print(
        "faults: "
        + (
            ", ".join(
                f"{w.kind}{' ' + rig.bot_of(w.pid) if w.pid else ''} {w.end - w.start:.0f} s"
                for w in outages
            )
            or "none"
        )
        + (
            f"; Discord bursts of {BURST_SECONDS:g} s: {dict(record.bursts)}"
            if record.bursts
            else ""
        )
        + f"; {rig.discord.rate_limited_count} x 429 in all"
    )
    print(
        f"load: {len(load.titles)} stories, {load.churns} rewrites of one draft, "
        f"{len(load.answers)} reader requests, {len(load.hostile)} hostile requests"
    )
    print(
        f"posts: {expected} expected ({len(load.titles)} stories x {len(rig.channels)} channels), "
        f"{lost} lost, {doubled} doubled (drained in {drained:.0f} s of {args.drain:g})"
    )
    for line in problems:
        print(f"  {line}")
    # the freeze counts as an outage for every reader: the stand-in sends interactions to
    # the newest session, which may be the frozen process's
    kept, left_out = latencies(load.answers, record, args.grace)
    answered = [x for x in kept if x != float("inf")]
    p50 = percentile(kept, 0.5) if kept else float("inf")
    p99 = percentile(kept, 0.99) if kept else float("inf")
    print(
        f"readers outside outages: {len(kept)} requests ({left_out} during outages left out), "
        f"{len(kept) - len(answered)} unanswered or errors; p50 {ms(p50)}, p99 {ms(p99)}, "
        f"max {ms(max(kept, default=float('inf')))}"
    )
    by_command: dict[str, list[float]] = collections.defaultdict(list)
    for a in load.answers:
        if a.latency is not None and not record.inside(*answered_within(a), args.grace):
            by_command[a.command].append(a.latency)
    print(
        "  by command: "
        + "; ".join(
            f"{c} p50 {ms(statistics.median(v))} p99 {ms(percentile(v, 0.99))}"
            for c, v in sorted(by_command.items())
        )
    )
    hostile: dict[str, list[float | None]] = {"autocomplete": [], "/search (hostile)": []}
    for a in load.hostile:
        hostile[a.command].append(a.latency)
    print(
        "hostile reader: "
        + "; ".join(
            f"{c} {sum(x is not None for x in v)}/{len(v)} answered, p50 "
            f"{ms(statistics.median([x for x in v if x is not None] or [float('inf')]))}"
            for c, v in sorted(hostile.items())
        )
        if load.hostile
        else "hostile reader: off"
    )
    for f in figures:
        growth = (f.rss_end - f.rss_minute) / f.rss_minute if f.rss_minute else float("nan")
        print(
            f"{f.name} (pid {f.pid}): longest loop stall outside outages "
            f"{f.longest_stall_ms:.0f} ms "
            f"({f.stalls_outside} stalls past 100 ms; {f.stalls_inside} during outages, longest "
            f"{f.longest_inside_ms:.0f} ms; {f.startup_ms:.0f} ms at start-up); "
            f"RSS {f.rss_minute / 2**20:.0f} MB after 1 min, "
            f"{f.rss_end / 2**20:.0f} MB at the end ({growth * 100:+.1f}%); supervised task "
            f"restarts {f.restarts}; {f.errors} ERROR lines"
        )
        for message, count in f.warnings.most_common(6):
            print(f"    {count:5d} x WARNING {message}")
    longest = max(f.longest_stall_ms for f in figures)
    worst_growth = max(
        ((f.rss_end - f.rss_minute) / f.rss_minute if f.rss_minute else float("inf"))
        for f in figures
    )
    verdicts = [
        ("posts lost 0", lost == 0, f"{lost}"),
        ("posts doubled 0", doubled == 0, f"{doubled}"),
        (
            f"readers p99 < {TARGET_P99_MS:.0f} ms outside outages",
            p99 * 1000 < TARGET_P99_MS,
            ms(p99),
        ),
        (
            f"loop stall < {TARGET_STALL_MS:.0f} ms outside outages",
            longest < TARGET_STALL_MS,
            f"{longest:.0f} ms",
        ),
        (
            "RSS end <= +10% of 1 min",
            worst_growth <= TARGET_RSS_GROWTH,
            f"{worst_growth * 100:+.1f}%",
        ),
    ]
    print(f"supervised task restarts: {sum(f.restarts for f in figures)} (reported, no target)")
    for name, met, value in verdicts:
        print(f"target {name}: {value}: {'met' if met else 'MISSED'}")
    return 0 if all(met for _, met, _ in verdicts) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--articles", type=int, default=20_000, help="articles at the start")
    parser.add_argument("--channels", type=int, default=50, help="channels following everything")
    parser.add_argument("--forums", type=int, default=10, help="of which forums")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between stories")
    parser.add_argument("--rate", type=float, default=5.0, help="reader requests per second")
    parser.add_argument("--drain", type=float, default=180.0, help="seconds to deliver the rest")
    parser.add_argument("--grace", type=float, default=5.0, help="seconds after an outage left out")
    parser.add_argument("--seed", type=int, default=16, help="of the corpus, load and faults")
    parser.add_argument(
        "--no-faults", action="store_true", help="the load alone: checks the counting"
    )
    parser.add_argument("--no-hostile", action="store_true", help="without the hostile reader")
    parser.add_argument(
        "--keep", type=Path, help="work in this folder and keep it (bot-a.log, ...)"
    )
    args = parser.parse_args(argv)
    bindir = server_binaries()
    if bindir is None:
        parser.error("PostgreSQL server binaries (initdb, pg_ctl) not found")
    with contextlib.ExitStack() as stack:
        if args.keep is not None:
            if args.keep.exists() and any(args.keep.iterdir()):
                parser.error(f"--keep {args.keep}: not empty (a run needs a fresh store)")
            args.keep.mkdir(parents=True, exist_ok=True)
            workdir = args.keep
        else:
            workdir = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="newsbot-chaos-"))
            )
        # before any event loop or signal handler: the generator forks worker processes
        started = time.perf_counter()
        write_corpus(
            workdir / "store", args.articles, seed=args.seed, drafts_fraction=0.1,
            jobs=os.cpu_count() or 1,
        )  # fmt: skip
        args.generated = time.perf_counter() - started
        pg = stack.enter_context(throwaway_server(bindir))
        try:
            return asyncio.run(chaos(args, workdir, pg))
        except (KeyboardInterrupt, asyncio.CancelledError):
            print("interrupted: bots and PostgreSQL stopped", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())
