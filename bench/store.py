"""Store benchmark: load, restart, re-sync and query figures over a generated store.

    python -m bench.store [--count 100000] [--queries 1000] [--keep DIR]

Generates COUNT articles with tests/support/corpus.py into a temp folder and prints, in one run:
cold full load (time, files/s, peak RSS), the parse step alone over the same files
(so load/parse shows what SQLite adds), a restart with nothing changed, a re-sync
with one changed file, and p50/p99 of latest(topic) and search (common and rare words).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import yaml

from bot.frontmatter import split_front_matter
from bot.store import Store
from tests.support import fts5
from tests.support.corpus import write_corpus


def _parse_only(paths: Sequence[str]) -> int:
    """Read + split + CSafeLoader: the floor any load has to pay."""
    for path in paths:
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8")
        front, _ = split_front_matter(text, path)
        yaml.load(front, Loader=yaml.CSafeLoader)
    return len(paths)


def parse_alone(folder: Path, processes: int) -> float:
    """Seconds to parse every file in that many processes (pool start-up included)."""
    paths = sorted(str(p) for p in folder.iterdir())
    batches = [paths[i : i + 500] for i in range(0, len(paths), 500)]
    started = time.perf_counter()
    with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
        sum(pool.map(_parse_only, batches))
    return time.perf_counter() - started


def _rss_mb(usage: int) -> float:
    return usage / 1024  # ru_maxrss is in KiB on Linux


async def _load(db: Path, folder: Path) -> dict[str, float]:
    async with Store.open(db, folder) as store:
        report = await store.folder.sync()
    return {
        "seconds": report.seconds,
        "files": report.loaded,
        "errors": len(report.errors),
        "rss_mb": _rss_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss),
        "workers_rss_mb": _rss_mb(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss),
    }


def load_in_fresh_process(db: Path, folder: Path) -> dict[str, float]:
    """The cold load in its own process, so its peak RSS is the load's alone."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.store", "_load", str(db), str(folder)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


async def timed(calls: Sequence[Callable[[], Awaitable[Any]]]) -> tuple[float, float]:
    """(p50, p99) in milliseconds."""
    times: list[float] = []
    for call in calls:
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def vocabulary(reference: sqlite3.Connection) -> tuple[list[tuple[str, int]], list[str]]:
    """(term, documents) for terms in 50+ documents, and terms found in exactly one."""
    words = fts5.vocabulary(reference)
    return [(t, n) for t, n in words if n >= 50], [t for t, n in words if n == 1]


async def queries(
    db: Path, folder: Path, count: int
) -> tuple[dict[str, tuple[float, float]], float]:
    rng = random.Random(7)
    reference = fts5.reference(db)  # full FTS5 scoring: vocabulary, and the ranking to agree with
    common, rare = vocabulary(reference)
    async with Store.open(db, folder) as store:
        started = time.perf_counter()
        await store.articles.search_index.refresh()
        build = (time.perf_counter() - started) * 1000
        topics = await store.articles.topics()
        names = [n for n, _ in topics]
        weights = [c for _, c in topics]
        picked_topics = rng.choices(names, weights, k=count)
        picked_common = rng.choices([t for t, _ in common], [n for _, n in common], k=count)
        picked_rare = [rng.choice(rare) for _ in range(count)]
        articles = store.articles
        await articles.latest(names[0])  # warm the page cache once
        commonest = max(common, key=lambda c: c[1])[0]
        figures = {
            "search index build": (build, build),
            "latest(topic)": await timed([partial(articles.latest, t) for t in picked_topics]),
            f"search {commonest!r} (commonest)": await timed(
                [partial(articles.search, commonest) for _ in range(count)]
            ),
            "search common word": await timed([partial(articles.search, w) for w in picked_common]),
            "search rare word": await timed([partial(articles.search, w) for w in picked_rare]),
        }
        agreed = expected = 0
        for query in fts5.sample_queries(reference):
            best = fts5.top(reference, query, 5)
            found = [a.id for a in (await articles.search(query)).items]
            expected += len(best)
            agreed += len(set(best) & set(found))
        overlap = 100 * agreed / expected
    reference.close()
    return figures, overlap


async def resync_times(db: Path, folder: Path) -> tuple[float, float, float]:
    """(restart with nothing changed, full re-sync after one changed file, the same change
    applied from its file-system event), in seconds."""
    async with Store.open(db, folder) as store:
        started = time.perf_counter()
        report = await store.folder.sync()
        restart = time.perf_counter() - started
        assert report.loaded == 0, report
        victim = min(folder.iterdir())
        text = victim.read_text("utf-8").replace('excerpt: "', 'excerpt: "Updated. ', 1)
        victim.write_text(text, "utf-8")
        started = time.perf_counter()
        report = await store.folder.sync()
        changed = time.perf_counter() - started
        assert report.changed == 1, report
        victim.write_text(text.replace("Updated. ", "Updated again. ", 1), "utf-8")
        started = time.perf_counter()
        report = await store.folder.sync_files([victim.name])
        event = time.perf_counter() - started
        assert report.changed == 1, report
    return restart, changed, event


def main(argv: list[str] | None = None) -> int:
    args_in = sys.argv[1:] if argv is None else argv
    if args_in[:1] == ["_load"]:
        print(json.dumps(asyncio.run(_load(Path(args_in[1]), Path(args_in[2])))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this folder")
    args = parser.parse_args(args_in)
    with tempfile.TemporaryDirectory(prefix="newsbot-bench-") as tmp:
        folder = args.keep or Path(tmp) / "store"
        if not folder.is_dir() or len(os.listdir(folder)) != args.count:
            started = time.perf_counter()
            write_corpus(folder, args.count, jobs=os.cpu_count() or 1)
            print(f"generated {args.count} articles in {time.perf_counter() - started:.1f} s")
        db = Path(tmp) / "news.db"
        parse_s = parse_alone(folder, os.cpu_count() or 1)
        parse_one = parse_alone(folder, 1)
        load = load_in_fresh_process(db, folder)
        restart, one_changed, one_event = asyncio.run(resync_times(db, folder))
        figures, overlap = asyncio.run(queries(db, folder, args.queries))
    n = args.count
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"SQLite {sqlite3.sqlite_version}"
    )
    print(
        f"parse alone (read+split+CSafeLoader, {os.cpu_count()} procs): {parse_s:6.2f} s "
        f"({n / parse_s:,.0f} files/s)"
    )
    print(f"parse alone, one core:          {parse_one:6.2f} s ({n / parse_one:,.0f} files/s)")
    print(
        f"cold full load:                 {load['seconds']:6.2f} s ({n / load['seconds']:,.0f} "
        f"files/s), load/parse = {load['seconds'] / parse_s:.2f}x, "
        f"load/one-core parse = {load['seconds'] / parse_one:.2f}x, errors {load['errors']:.0f}"
    )
    print(
        f"peak RSS during load:           {load['rss_mb']:6.0f} MB main process, "
        f"{load['workers_rss_mb']:.0f} MB largest parse worker"
    )
    print(f"restart, nothing changed:       {restart:6.3f} s")
    print(f"re-sync, one file changed:      {one_changed:6.3f} s (full rescan)")
    print(f"one file changed, from event:   {one_event:6.3f} s (the watcher's path)")
    for name, (p50, p99) in figures.items():
        print(f"{name + ':':31} p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   ({args.queries} queries)")
    print(f"ranking: top 5 agree with full FTS5 scoring for {overlap:.1f}% (200 sample queries)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
