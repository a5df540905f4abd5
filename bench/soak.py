"""Soak: the real bot for N minutes under steady load; memory, latency and delivery.

    python -m bench.soak [--minutes 10] [--rate 20] [--every 2] [--channels 20]

The bot is `newsbot run` in a subprocess against the stand-in (in this process, Discord's
rate limits on). It starts on a generated store (tests/support/corpus.py); every ``--every``
seconds a new published article lands in the store folder, and ``--rate`` interactions per
second arrive (/news, /news topic, /search, /topics). Prints the bot's RSS over time
(after warm-up vs at the end: target no growth beyond 10%), interaction latency (p50,
p99: dispatch to the bot's answer reaching Discord), and whether every new article
reached every channel exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench.fanout import Rig, machine, post_title, rig
from tests.support.corpus import TOPIC_NAMES, write_corpus
from tests.support.helpers import write_article
from tests.support.stand_in import InteractionNotAnswered

SEARCHES = ("climate", "election", "bitcoin", "ransomware", "nasa", "tariffs", "earnings")
APOLOGY = "Sorry, something went wrong"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Load:
    """The interactions fired, their latencies and what went wrong."""

    def __init__(self, rig_: Rig, seed: int) -> None:
        self.rig = rig_
        self.random = random.Random(seed)
        self.latencies: list[float] = []
        self.unanswered = 0
        self.apologies = 0
        self.by_command: collections.Counter[str] = collections.Counter()
        self.tasks: set[asyncio.Task[None]] = set()

    async def one(self) -> None:
        roll = self.random.random()
        name = "news"
        options: dict[str, Any] = {}
        if roll < 0.2:
            options = {"topic": self.random.choice(TOPIC_NAMES[:20])}
        elif roll < 0.5:
            name, options = "search", {"query": self.random.choice(SEARCHES)}
        elif roll < 0.6:
            name = "topics"
        self.by_command[name] += 1
        started = time.monotonic()
        try:
            result = await self.rig.discord.slash(
                name, options, user_id=self.rig.reader, timeout=10
            )
        except InteractionNotAnswered:
            self.unanswered += 1
            return
        if not result.attempts:
            self.unanswered += 1
            return
        self.latencies.append(result.attempts[0].time - started)
        if APOLOGY in str(result.data.get("content")):
            self.apologies += 1

    def fire(self) -> None:
        if len(self.tasks) >= 500:  # the bot is far behind; do not pile up without bound
            self.unanswered += 1
            return
        task = asyncio.create_task(self.one())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


async def soak(args: argparse.Namespace, workdir: Path) -> int:
    store_dir = workdir / "store"
    started = time.perf_counter()
    write_corpus(store_dir, args.articles, seed=11, drafts_fraction=0.1, jobs=os.cpu_count() or 1)
    print(f"machine: {machine()}")
    print(
        f"soak: {args.minutes:g} min, {args.rate:g} interactions/s, 1 new article every "
        f"{args.every:g} s to {args.channels} channels, store starts with {args.articles} "
        f"articles (generated in {time.perf_counter() - started:.0f} s), poll every "
        f"{args.poll:g} s, stand-in latency {args.latency * 1000:.0f} ms, rate limits on"
    )
    async with rig(
        workdir, channels=args.channels, latency=args.latency, poll_seconds=args.poll
    ) as r:
        process = psutil.Process(r.bot.pid)
        load = Load(r, seed=5)
        titles: list[str] = []
        samples: list[tuple[float, int]] = []
        begin = time.monotonic()
        end = begin + args.minutes * 60
        next_article = begin
        next_sample = begin
        fired = 0
        while (now := time.monotonic()) < end:
            if now >= next_sample:
                samples.append((now - begin, process.memory_info().rss))
                next_sample += 5
            if now >= next_article:
                n = len(titles) + 1
                title = f"Soak story {n}: harbour council update"
                write_article(
                    store_dir,
                    f"soak{n:05d}",
                    title=title,
                    published=True,
                    topics=[TOPIC_NAMES[n % 10]],
                    publishedDateTime=datetime.now(UTC).isoformat(timespec="seconds"),
                )
                titles.append(title)
                next_article += args.every
            due = int((now - begin) * args.rate) + 1
            while fired < due:
                load.fire()
                fired += 1
            await asyncio.sleep(0.01)
        samples.append((time.monotonic() - begin, process.memory_info().rss))
        await asyncio.gather(*list(load.tasks), return_exceptions=True)

        # let the last articles go out, then check every channel
        expected = len(titles) * len(r.channels)
        deadline = time.monotonic() + max(60.0, args.poll * 3)
        while time.monotonic() < deadline:
            shown = r.discord.all_posts()
            if sum(len(v) for v in shown.values()) >= expected:
                break
            await asyncio.sleep(1)
        await asyncio.sleep(2)
        shown = r.discord.all_posts()
        rss_end = process.memory_info().rss

    missing = doubled = 0
    for channel in r.channels:
        counts = collections.Counter(post_title(m) for m in shown.get(channel, []))
        missing += sum(1 for t in titles if counts[t] == 0)
        doubled += sum(counts[t] - 1 for t in titles if counts[t] > 1)
    warm = min(60.0, args.minutes * 60 * 0.2)
    at_warm = next(rss for t, rss in samples if t >= warm)
    at_ready = samples[0][1]
    growth = (rss_end - at_warm) / at_warm
    mb = 1024 * 1024
    print(
        "RSS (MB) over time: "
        + ", ".join(
            f"{t / 60:.1f}m {rss / mb:.0f}"
            for t, rss in [*samples[:: max(1, len(samples) // 12)], samples[-1]]
        )
    )
    print(
        f"RSS: {at_ready / mb:.0f} MB at ready, {at_warm / mb:.0f} MB after {warm:.0f} s warm-up, "
        f"{rss_end / mb:.0f} MB at the end, peak {max(s for _, s in samples) / mb:.0f} MB: "
        f"growth warm-up -> end {growth * 100:+.1f}% (target <= +10%)"
    )
    print(
        f"interactions: {fired} fired ({fired / (args.minutes * 60):.1f}/s; "
        f"{dict(load.by_command)}), {len(load.latencies)} answered, {load.unanswered} "
        f"unanswered, {load.apologies} errors; latency p50 "
        f"{statistics.median(load.latencies) * 1000:.0f} ms, p99 "
        f"{percentile(load.latencies, 0.99) * 1000:.0f} ms, max "
        f"{max(load.latencies) * 1000:.0f} ms"
    )
    print(
        f"articles: {len(titles)} added, {expected} posts expected, {missing} missing, "
        f"{doubled} doubled, {r.discord.rate_limited_count} x 429"
    )
    delivered = missing == 0 and doubled == 0 and load.unanswered == 0
    verdicts = [
        f"delivery and answers {'MET' if delivered else 'NOT MET'}",
        f"RSS warm-up -> end {'MET' if growth <= 0.10 else 'NOT MET'}",
    ]
    print("targets: " + "; ".join(verdicts))
    return 0 if delivered and growth <= 0.10 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=20.0, help="interactions per second")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between new articles")
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--articles", type=int, default=2000, help="articles at the start")
    parser.add_argument("--poll", type=float, default=5.0, help="NEWS_POLL_SECONDS")
    parser.add_argument("--latency", type=float, default=0.05, help="stand-in answer delay")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (bot.log)")
    args = parser.parse_args(argv)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        return asyncio.run(soak(args, args.keep))
    with tempfile.TemporaryDirectory(prefix="newsbot-soak-") as tmp:
        return asyncio.run(soak(args, Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
