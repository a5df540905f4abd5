"""A generated store and its loaded SQLite database, made once and reused by the benchmarks.

Generating 100,000 articles and loading them takes minutes; the benchmarks that only need
a big loaded store (bench.latency, bench.freshness) take it from a cache folder instead:
``<cache>/store-<count>-s<seed>-d<drafts>/`` holds ``store/`` (the files), ``news.db``
(loaded, no subscriptions) and ``facts.json`` (published count, topics, search terms with
their document counts). `working_copy` gives each run its own folder: the files
hard-linked (a run that changes a file must replace it, never write into it), the
database copied, so nothing a run does reaches the cache.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from bot.store import Store
from tests.support import fts5
from tests.support.corpus import write_corpus

MIN_DOCUMENTS = 50  # search terms found in fewer documents are not kept in facts.json


def default_cache() -> Path:
    """$NEWSBOT_BENCH_CACHE, else $XDG_CACHE_HOME/newsbot-bench, else ~/.cache/newsbot-bench."""
    if os.environ.get("NEWSBOT_BENCH_CACHE"):
        return Path(os.environ["NEWSBOT_BENCH_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "newsbot-bench"


@dataclass
class CachedStore:
    folder: Path
    published: int
    topics: list[tuple[str, int]]  # (name, published articles), most first
    terms: list[tuple[str, int]]  # (search term, documents it is found in)
    made: str  # how this run got it: generated now, or reused

    @property
    def store_dir(self) -> Path:
        return self.folder / "store"

    @property
    def db_path(self) -> Path:
        return self.folder / "news.db"

    def frequent_terms(self, low: float, high: float) -> list[tuple[str, float]]:
        """Terms found in between `low` and `high` of the published articles, commonest first."""
        found = [(t, n / self.published) for t, n in self.terms]
        return sorted(((t, f) for t, f in found if low <= f <= high), key=lambda x: -x[1])


def _search_terms(db_path: Path) -> list[tuple[str, int]]:
    """Every full-text term with its document count (a temporary FTS5 index of the visible
    articles: the store keeps none of its own)."""
    con = fts5.reference(db_path)
    try:
        return [(str(t), int(n)) for t, n in fts5.vocabulary(con) if n >= MIN_DOCUMENTS]
    finally:
        con.close()


async def _load(folder: Path) -> dict[str, object]:
    logging.getLogger("bot").setLevel(logging.ERROR)  # the generator's duplicate webUrls warn
    async with Store.open(folder / "news.db", folder / "store") as store:
        report = await store.folder.sync()
        counts = await store.articles.counts()
        topics = await store.articles.topics()
    return {
        "load_seconds": round(report.seconds, 1),
        "published": counts.published,
        "topics": topics,
        "terms": _search_terms(folder / "news.db"),
    }


def cached_store(
    count: int, *, seed: int = 0, drafts_fraction: float = 0.3, cache: Path | None = None
) -> CachedStore:
    """The cached store of `count` generated articles, generated and loaded on first use."""
    folder = (cache or default_cache()) / f"store-{count}-s{seed}-d{drafts_fraction:g}"
    facts = folder / "facts.json"
    made = ""
    if not facts.exists():  # absent or half-made (an interrupted run): start over
        shutil.rmtree(folder, ignore_errors=True)
        started = time.perf_counter()
        write_corpus(
            folder / "store", count, seed=seed, drafts_fraction=drafts_fraction,
            jobs=os.cpu_count() or 1,
        )  # fmt: skip
        generated = time.perf_counter() - started
        loaded = asyncio.run(_load(folder))  # called outside the caller's event loop
        facts.write_text(json.dumps(loaded), encoding="utf-8")
        made = (
            f"generated {count} articles in {generated:.0f} s and loaded them in "
            f"{loaded['load_seconds']} s into {folder}"
        )
    data = json.loads(facts.read_text(encoding="utf-8"))
    return CachedStore(
        folder,
        int(data["published"]),
        [(str(n), int(c)) for n, c in data["topics"]],
        [(str(t), int(n)) for t, n in data["terms"]],
        made or f"reused {folder}",
    )


def working_copy(cached: CachedStore, workdir: Path) -> None:
    """``workdir/store`` (hard links to the cached files; copies where links fail) and
    ``workdir/news.db`` (a copy): a run's own store and database, ready in seconds."""
    store_dir = workdir / "store"
    store_dir.mkdir(parents=True, exist_ok=True)
    with os.scandir(cached.store_dir) as entries:
        for entry in entries:
            try:
                os.link(entry.path, store_dir / entry.name)
            except OSError:
                shutil.copy2(entry.path, store_dir / entry.name)
    shutil.copy2(cached.db_path, workdir / "news.db")
