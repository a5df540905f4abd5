"""PostgreSQL beside SQLite, in one run, on a throwaway PostgreSQL server this starts itself.

    python -m bench.postgres [--count 100000] [--queries 1000] [--channels 1000]
                             [--failovers 3] [--skip store,fanout,failover]

Prints, for each backend: the cold load of COUNT generated articles (in a fresh process),
p50/p99 of latest(topic) and of search for common and rare words (the same words on
both); the fan-out of one story to CHANNELS channels through the stand-in (rate limits
on, 100 ms answers); and, on PostgreSQL, the time to fail over: two `newsbot run`
processes, the deliverer SIGKILLed mid fan-out, until the standby's first post.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from bench.fanout import arguments as fanout_arguments
from bench.fanout import bench as fanout_bench
from bench.fanout import machine
from bench.store import timed, vocabulary
from bot.store import Store
from tests.support import fts5
from tests.support.corpus import write_corpus
from tests.support.helpers import write_article
from tests.support.postgres import PostgresServer, server_binaries, throwaway_server
from tests.support.run_bot import BotProcess, bot_env, follow_everything
from tests.support.stand_in import Recorded, StandIn


async def _load(database: str, folder: Path) -> dict[str, float]:
    target: Path | str = database if database.startswith("postgres") else Path(database)
    async with Store.open(target, folder) as store:
        report = await store.folder.sync()
    return {"seconds": report.seconds, "files": report.loaded, "errors": len(report.errors)}


def cold_load(database: Path | str, folder: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.postgres", "_load", str(database), str(folder)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


async def query_figures(
    database: Path | str, folder: Path, words: tuple[list[tuple[str, int]], list[str]], count: int
) -> dict[str, tuple[float, float]]:
    rng = random.Random(7)
    common, rare = words
    async with Store.open(database, folder) as store:
        topics = await store.articles.topics()
        names, weights = [n for n, _ in topics], [c for _, c in topics]
        picked_topics = rng.choices(names, weights, k=count)
        picked_common = rng.choices([t for t, _ in common], [n for _, n in common], k=count)
        picked_rare = [rng.choice(rare) for _ in range(count)]
        articles = store.articles
        await articles.latest(names[0])
        await articles.search(picked_common[0])  # warm caches once
        return {
            "latest(topic)": await timed([partial(articles.latest, t) for t in picked_topics]),
            "search common word": await timed([partial(articles.search, w) for w in picked_common]),
            "search rare word": await timed([partial(articles.search, w) for w in picked_rare]),
        }


async def store_figures(args: argparse.Namespace, tmp: Path, pg: PostgresServer) -> None:
    folder = tmp / "corpus"
    started = time.perf_counter()
    write_corpus(folder, args.count, jobs=os.cpu_count() or 1)
    print(f"generated {args.count} articles in {time.perf_counter() - started:.1f} s")
    sqlite_db = tmp / "news.db"
    await pg.admin("CREATE DATABASE bench_store TEMPLATE newsbot_template")
    backends: dict[str, Path | str] = {"SQLite": sqlite_db, "PostgreSQL": pg.url("bench_store")}
    loads = {name: cold_load(db, folder) for name, db in backends.items()}
    reference = fts5.reference(sqlite_db)
    words = vocabulary(reference)  # the same words on both backends
    reference.close()
    for name, db in backends.items():
        load = loads[name]
        print(
            f"{name:10} cold load of {args.count}: {load['seconds']:7.2f} s "
            f"({args.count / load['seconds']:,.0f} files/s), errors {load['errors']:.0f}"
        )
        for what, (p50, p99) in (await query_figures(db, folder, words, args.queries)).items():
            print(f"{name:10} {what + ':':20} p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")


async def fanout_figures(args: argparse.Namespace, tmp: Path, pg: PostgresServer) -> None:
    await pg.admin("CREATE DATABASE bench_fanout TEMPLATE newsbot_template")
    for name, url in (("SQLite", None), ("PostgreSQL", pg.url("bench_fanout"))):
        print(f"--- fan-out on {name}")
        workdir = tmp / f"fanout-{name}"
        workdir.mkdir()
        options = fanout_arguments().parse_args(["--channels", str(args.channels)])
        options.database_url = url
        await fanout_bench(options, workdir)


async def one_failover(discord: StandIn, url: str, workdir: Path, n: int) -> float:
    """Two processes; SIGKILL the deliverer at its 50th post; seconds until the standby's
    first post."""
    store_dir = workdir / "store"
    write_article(store_dir, f"failover{n}", title=f"Failover story {n}", published=False)
    procs = []
    for name in ("a", "b"):
        env = bot_env(
            discord,
            store_dir,
            workdir / "unused.db",
            NEWS_DATABASE_URL=url,
            NEWS_POLL_SECONDS=1,
            DISCORD_TOKEN=f"token-{name}{n}",
        )
        procs.append(BotProcess(env, workdir / f"{name}{n}.log"))
        await procs[-1].start()
        await procs[-1].wait_ready(timeout=60)
    killed: list[float] = []

    def by(name: str) -> list[Recorded]:
        auth = f"Bot token-{name}{n}"
        posts = [r for r in discord.requests if r.method == "POST" and "/messages" in r.path]
        return [r for r in posts if r.headers.get("Authorization") == auth]

    def kill(rec: Recorded) -> None:
        if not killed and len(by("a")) >= 50:
            killed.append(time.monotonic())
            procs[0].kill()

    discord.on_request = kill
    path = store_dir / f"failover{n}.txt"
    path.write_text(path.read_text().replace("published: false", "published: true"))
    await discord.wait_for(lambda: bool(killed) and bool(by("b")), timeout=60)
    discord.on_request = None
    seconds = by("b")[0].time - killed[0]
    for proc in procs:
        await proc.stop()
    return seconds


async def failover_figures(args: argparse.Namespace, tmp: Path, pg: PostgresServer) -> None:
    times = []
    for n in range(1, args.failovers + 1):
        await pg.admin(f"CREATE DATABASE bench_failover{n} TEMPLATE newsbot_template")
        url = pg.url(f"bench_failover{n}")
        workdir = tmp / f"failover{n}"
        (workdir / "store").mkdir(parents=True)
        async with StandIn(rate_limits=True, latency=0.1) as discord:
            channels = [discord.add_channel(f"news-{c:04d}") for c in range(200)]
            await follow_everything(
                url, workdir / "store", dict.fromkeys(channels, discord.guild_id), actor="bench"
            )
            times.append(await one_failover(discord, url, workdir, n))
        print(f"  failover {n}: SIGKILL -> first post by the standby {times[-1]:5.2f} s")
    print(
        f"PostgreSQL failover, {len(times)} runs: median {statistics.median(times):.2f} s, "
        f"max {max(times):.2f} s (target: within 15 s)"
    )


async def run(args: argparse.Namespace, tmp: Path, pg: PostgresServer) -> None:
    print(f"machine: {machine()}")
    if "store" not in args.skip:
        await store_figures(args, tmp, pg)
    if "fanout" not in args.skip:
        await fanout_figures(args, tmp, pg)
    if "failover" not in args.skip:
        await failover_figures(args, tmp, pg)


def main(argv: list[str] | None = None) -> int:
    args_in = sys.argv[1:] if argv is None else argv
    if args_in[:1] == ["_load"]:
        print(json.dumps(asyncio.run(_load(args_in[1], Path(args_in[2])))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--failovers", type=int, default=3)
    parser.add_argument("--skip", default="", help="comma-separated: store, fanout, failover")
    args = parser.parse_args(args_in)
    bindir = server_binaries()
    if bindir is None:
        print("PostgreSQL server binaries (initdb, pg_ctl) not found", file=sys.stderr)
        return 1
    with throwaway_server(bindir) as pg, tempfile.TemporaryDirectory(prefix="newsbot-pg-") as tmp:
        asyncio.run(run(args, Path(tmp), pg))
    return 0


if __name__ == "__main__":
    sys.exit(main())
