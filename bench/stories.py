"""Stories benchmark: how well and how fast articles are clustered into stories.

    python -m bench.stories [--sizes 10000,100000] [--new 200] [--seed 0] [--postgresql]

For each size, writes a corpus with planted stories (tests/support/corpus.py: wire copies,
tracked and AMP links, follow-ups, rewordings, decoys sharing headline words) and loads it
into a fresh SQLite store (PostgreSQL with --postgresql), which clusters every batch as
it is written (store/stories.py). Prints, against the planted membership:

  - pairwise precision and recall after the load (targets >= 0.98, >= 0.95), after a
    full re-cluster (`newsbot recluster`: the keys are current, only changed ones are
    written) and after the re-cluster of a database just upgraded (every key written),
    with each re-cluster's time (target < 60 s at 100,000);
  - the load's time, with and without clustering (the same files, a store whose
    clustering is switched off; the parse workers make the story keys in both), so the
    load's share is seen;
  - the cost of clustering one new article at that size (--new articles, each written
    on its own as a file event would): median (target < 5 ms) and p99.

Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.soak import percentile
from bot.store import Store
from bot.store.records import ArticleRows
from bot.store.stories import Prepared, Reclustered
from tests.support.corpus import planted_story, write_corpus
from tests.support.postgres import PostgresServer, server_binaries, throwaway_server

TARGETS = {"precision": 0.98, "recall": 0.95, "per_article_ms": 5.0, "recluster_s": 60.0}


def pairwise(found: dict[str, str], planted: dict[str, int]) -> tuple[float, float]:
    """(precision, recall) over pairs of articles: a pair found in one story is right when
    it was planted in one story."""

    def pairs(counts: Counter[Any]) -> int:
        return sum(n * (n - 1) // 2 for n in counts.values())

    both = pairs(Counter((found[i], planted[i]) for i in planted))
    said, true = pairs(Counter(found[i] for i in planted)), pairs(Counter(planted.values()))
    return (both / said if said else 1.0), (both / true if true else 1.0)


async def stories_of(store: Store) -> dict[str, str]:
    return dict(await store.db.fetch_tuples("SELECT id, story FROM articles"))


def planted(ids: Sequence[str], seed: int) -> dict[str, int]:
    """Each article's planted story (its file's index is the first part of its name)."""
    return {i: planted_story(seed, int(i.split("_", 1)[0])) for i in ids}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def _no_clustering(
    articles: Sequence[ArticleRows], prepared: Mapping[str, Prepared] | None = None
) -> None:
    """A stand-in for `Stories.assign`: the load without clustering, for comparison."""


async def load_without_clustering(folder: Path, db: Path | str) -> float:
    """Seconds to load the same files into a store whose clustering is switched off."""
    async with Store.open(db, folder) as store:
        store.folder.writer.stories.assign = _no_clustering  # type: ignore[method-assign]
        return (await store.folder.sync()).seconds


async def as_upgraded(store: Store) -> Reclustered:
    """The re-cluster of a database just upgraded to stories: each article alone, no
    keys (the migration's state), so every key is written."""
    async with store.db.transaction():
        await store.db.execute("UPDATE articles SET story = id")
        await store.db.execute("DELETE FROM story_keys")
        await store.db.execute("DELETE FROM meta WHERE key = 'stories'")
    done = await store.folder.writer.stories.recluster()
    assert done is not None
    return done


async def one_by_one(store: Store, folder: Path, seed: int, first: int, count: int) -> list[float]:
    """Seconds `assign` took for each of `count` new articles, each synced on its own."""
    stories = store.folder.writer.stories
    assign = stories.assign
    took: list[float] = []

    async def timed(
        articles: Sequence[ArticleRows], prepared: Mapping[str, Prepared] | None = None
    ) -> None:
        started = time.perf_counter()
        await assign(articles, prepared)
        took.append(time.perf_counter() - started)

    stories.assign = timed  # type: ignore[method-assign]
    extra = folder.parent / "extra"
    write_corpus(extra, first + count, seed=seed, start=first, stories=True)
    for path in sorted(extra.iterdir()):
        target = folder / path.name
        path.rename(target)
        await store.folder.sync_files([target.name])
    stories.assign = assign  # type: ignore[method-assign]
    return took


async def run(size: int, new: int, seed: int, work: Path, pg: PostgresServer | None) -> bool:
    folder = work / f"store{size}"
    started = time.perf_counter()
    write_corpus(folder, size, seed=seed, jobs=os.cpu_count() or 1, stories=True)
    print(
        f"\n{size:,} articles (planted stories), written in {time.perf_counter() - started:.1f} s"
    )

    plain_s = await load_without_clustering(folder, await database(work / f"plain{size}.db", pg))
    async with Store.open(await database(work / f"news{size}.db", pg), folder) as store:
        load_s = (await store.folder.sync()).seconds
        found = await stories_of(store)
        truth = planted(sorted(found), seed)
        p_load, r_load = pairwise(found, truth)
        print(f"load: {load_s:.1f} s with clustering, {plain_s:.1f} s without")
        print(f"after the load:       precision {p_load:.4f}, recall {r_load:.4f}")
        done = await store.folder.writer.stories.recluster()
        assert done is not None
        p_full, r_full = pairwise(await stories_of(store), truth)
        print(
            f"after a re-cluster:   precision {p_full:.4f}, recall {r_full:.4f}; "
            f"{done.articles:,} articles in {done.stories:,} stories, {done.moved} moved, "
            f"{done.seconds:.1f} s (peak RSS so far {_peak_mb():.0f} MB)"
        )
        upgraded = await as_upgraded(store)
        p_up, r_up = pairwise(await stories_of(store), truth)
        print(
            f"as just upgraded:     precision {p_up:.4f}, recall {r_up:.4f}; every key "
            f"written anew, {upgraded.moved} moved, {upgraded.seconds:.1f} s "
            f"(peak RSS so far {_peak_mb():.0f} MB)"
        )
        took = await one_by_one(store, folder, seed, size + 1_000_000, new)
        median, p99 = statistics.median(took) * 1000, percentile(took, 0.99) * 1000
        print(f"one new article at {size:,}: median {median:.2f} ms, p99 {p99:.2f} ms")
    return (
        min(p_load, p_full, p_up) >= TARGETS["precision"]
        and min(r_load, r_full, r_up) >= TARGETS["recall"]
        and median < TARGETS["per_article_ms"]
        and max(done.seconds, upgraded.seconds) < TARGETS["recluster_s"]
    )


async def database(path: Path, pg: PostgresServer | None) -> Path | str:
    """A fresh database: the SQLite file `path`, or a new one on the PostgreSQL server."""
    return await pg.new_database() if pg is not None else path


async def main_async(sizes: list[int], new: int, seed: int, pg: PostgresServer | None) -> bool:
    with tempfile.TemporaryDirectory(prefix="bench-stories-") as tmp:
        results = [await run(size, new, seed, Path(tmp), pg) for size in sizes]
    return all(results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated counts")
    parser.add_argument("--new", type=int, default=200, help="new articles timed one by one")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--postgresql", action="store_true", help="on a throwaway PostgreSQL server, not SQLite"
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    logging.getLogger("bot").setLevel(logging.ERROR)  # the corpus's few shared webUrls
    print(f"targets: {TARGETS}")
    if not args.postgresql:
        return 0 if asyncio.run(main_async(sizes, args.new, args.seed, None)) else 1
    bindir = server_binaries()
    if bindir is None:
        print("PostgreSQL server binaries (initdb, pg_ctl) not found", file=sys.stderr)
        return 1
    with throwaway_server(bindir) as pg:
        return 0 if asyncio.run(main_async(sizes, args.new, args.seed, pg)) else 1


if __name__ == "__main__":
    raise SystemExit(main())
