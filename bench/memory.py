"""Memory: the bot's RSS with 100,000 articles loaded (target: under 200 MB).

    python -m bench.memory [--count 100000] [--interactions 500] [--poll 5]

Generates COUNT articles (tests/support/corpus.py), then runs the real `newsbot run` in a
subprocess against the stand-in twice over the same database:

1. cold: the bot's first start loads every file itself (parse workers in child
   processes); peak RSS of the bot process, and of the bot plus its workers, while loading.
2. warm: a restart on the loaded database, as in production; RSS at ready, after
   INTERACTIONS commands (/news, /search, /topics, /article autocomplete) and after
   three store rescans (every --poll seconds, each one stat()s all COUNT files).

The articles live in SQLite on disk; the bot keeps no list of them in Python.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench.fanout import machine, rig
from bench.soak import Load
from bot.store import Store
from tests.support.corpus import write_corpus
from tests.support.run_bot import BotProcess

MB = 1024 * 1024
TARGET_MB = 200


class Sampler:
    """Peak RSS of the bot process (alone, and with its child processes), every 0.1 s."""

    def __init__(self) -> None:
        self.bot: BotProcess | None = None
        self.main = 0
        self.total = 0
        self.task: asyncio.Task[None] | None = None

    def start(self, bot: BotProcess) -> None:
        self.bot = bot
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(psutil.Error):
                assert self.bot is not None
                process = psutil.Process(self.bot.pid)
                main = process.memory_info().rss
                total = main
                for child in process.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        total += child.memory_info().rss
                self.main, self.total = max(self.main, main), max(self.total, total)
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


def rss(bot: BotProcess) -> int:
    return int(psutil.Process(bot.pid).memory_info().rss)


async def measure(args: argparse.Namespace, workdir: Path) -> int:
    store_dir = workdir / "store"
    started = time.perf_counter()
    write_corpus(store_dir, args.count, seed=3, drafts_fraction=0.3, jobs=os.cpu_count() or 1)
    print(f"machine: {machine()}")
    print(f"generated {args.count} articles in {time.perf_counter() - started:.0f} s")
    sampler = Sampler()
    began = time.monotonic()
    async with rig(
        workdir,
        channels=5,
        latency=0.0,
        poll_seconds=args.poll,
        preload=False,
        on_started=sampler.start,
    ) as r:
        cold_seconds = time.monotonic() - began
        await sampler.stop()
        cold_ready = rss(r.bot)
        print(
            f"cold start (the bot loads all {args.count} files itself): ready after "
            f"{cold_seconds:.0f} s; peak RSS {sampler.main / MB:.0f} MB bot process, "
            f"{sampler.total / MB:.0f} MB with its parse workers; {cold_ready / MB:.0f} MB "
            "once ready"
        )

        await r.bot.stop()
        await r.bot.start()
        await r.bot.wait_ready(timeout=600)
        at_ready = rss(r.bot)
        load = Load(r, seed=9)
        for _ in range(args.interactions // 10):
            await asyncio.gather(*(load.one() for _ in range(10)))
        for typed in ("clim", "ai", "elect", "bitcoin", "x"):
            await r.discord.autocomplete("article", {}, "article", user_id=r.reader)
            await r.discord.autocomplete("article", {"article": typed}, "article", user_id=r.reader)
        after_commands = rss(r.bot)
        await asyncio.sleep(args.poll * 3 + 1)
        after_rescans = rss(r.bot)
        peak = max(at_ready, after_commands, after_rescans)
        async with Store.open(r.db_path, r.store_dir) as store:  # a reader beside the bot
            articles = (await store.articles.counts()).articles
        db_mb = sum(p.stat().st_size for p in workdir.glob("news.db*")) / MB

    answered = len(load.latencies)
    print(
        f"warm restart on the loaded database ({articles} articles, {db_mb:.0f} MB on disk): "
        f"RSS {at_ready / MB:.0f} MB at ready, {after_commands / MB:.0f} MB after "
        f"{answered} commands ({load.unanswered} unanswered) and 10 autocompletes, "
        f"{after_rescans / MB:.0f} MB after 3 rescans of every file"
    )
    ok = peak < TARGET_MB * MB and load.unanswered == 0
    print(
        f"target: RSS under {TARGET_MB} MB with {args.count} articles: "
        f"{peak / MB:.0f} MB, {'MET' if ok else 'NOT MET'}"
    )
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--interactions", type=int, default=500)
    parser.add_argument("--poll", type=float, default=5.0, help="NEWS_POLL_SECONDS")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (bot.log)")
    args = parser.parse_args(argv)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        return asyncio.run(measure(args, args.keep))
    with tempfile.TemporaryDirectory(prefix="newsbot-memory-") as tmp:
        return asyncio.run(measure(args, Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
