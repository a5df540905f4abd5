"""Freshness: how soon a file dropped, changed or deleted in the store reaches Discord (issue 11).

    python -m bench.freshness [--articles 100000] [--trials 20] [--database-url URL]
                              [--cache DIR]

`newsbot run` in a subprocess against the stand-in (in this process, answering at once),
NEWS_POLL_SECONDS left at the product's default, on a generated store made and loaded
once into a cache folder (tests/support/cached_store.py); one channel follows every
topic. Each trial, one file at a time, as a pipeline would (written aside, then renamed in):

- drop: a new file with ``published: true`` -> its post reaches the stand-in;
- change: that file's title changed -> the post's edit (PATCH) reaches the stand-in;
- delete: that file removed -> the post's deletion (DELETE) reaches the stand-in. A deleted
  file withdraws its article, and a withdrawn article's posts are deleted
  (bot/store/writer.py), so this is the product's own reaction to a deletion.

"applied" is from the file system change to the database showing it (a store opened beside
the bot, read every 10 ms: new article visible with its title, new title, article gone).
Prints p50/p99 (and max) of each, against the targets: applied within 2 s, posted within 3 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.fanout import Rig, machine, post_title, rig
from bench.soak import percentile
from bot.config import DEFAULT_POLL_SECONDS
from bot.store import Store
from tests.support.cached_store import CachedStore, cached_store, default_cache, working_copy
from tests.support.helpers import article_text
from tests.support.stand_in import Recorded

ACTIONS = ("drop", "change", "delete")
WHAT = {"drop": "posted", "change": "post edited", "delete": "post deleted"}
TARGET_APPLIED, TARGET_POSTED = 2.0, 3.0
TIMEOUT = DEFAULT_POLL_SECONDS * 3  # the safety-net rescan would have caught it twice by then


def put_file(path: Path, text: str) -> float:
    """Write `text` aside (a hidden name the store ignores), rename it into place; returns
    the moment it appeared (time.monotonic)."""
    aside = path.with_name(f".{path.name}.tmp")
    aside.write_text(text, encoding="utf-8")
    os.replace(aside, path)
    return time.monotonic()


async def arrival(r: Rig, since: int, wanted: Callable[[Recorded], bool]) -> float:
    """When the first request from index `since` on that `wanted` matches reached the
    stand-in (its monotonic arrival time); +inf after TIMEOUT."""
    deadline = time.monotonic() + TIMEOUT
    position = since
    while time.monotonic() < deadline:
        requests = r.discord.requests
        while position < len(requests) and requests[position].status:  # 0: not answered yet
            rec = requests[position]
            if wanted(rec) and 200 <= rec.status < 300:
                return rec.time
            position += 1
        await asyncio.sleep(0.005)
    return float("inf")


async def applied(check: Callable[[], Awaitable[bool]]) -> float:
    """When `check` (a read of the database) first holds; +inf after TIMEOUT."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if await check():
            return time.monotonic()
        await asyncio.sleep(0.01)
    return float("inf")


async def title_of(store: Store, article_id: str) -> str | None:
    """The article's title as readers see it, None while it is not visible."""
    with contextlib.suppress(Exception):
        return (await store.articles.get(article_id)).title
    return None


Trial = dict[str, tuple[float, float]]  # action -> (applied seconds, at Discord seconds)


async def trial(r: Rig, store: Store, n: int) -> Trial:
    """Drop, change, then delete one file; the two delays of each."""
    article_id, channel = f"freshness{n:03d}", r.channels[0]
    path = r.store_dir / f"{article_id}.txt"
    title = f"Freshness trial {n}: harbour council votes on the new ferry"
    fields: dict[str, Any] = {
        "title": title,
        "published": True,
        "topics": ["Travel"],
        "publishedDateTime": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    out: Trial = {}
    message = f"/channels/{channel}/messages"

    async def measure(action: str, change: Callable[[], float], check, wanted) -> None:
        since = len(r.discord.requests)
        began = change()
        done = await asyncio.gather(applied(check), arrival(r, since, wanted))
        out[action] = (done[0] - began, done[1] - began)

    async def shows(wanted: str | None) -> bool:
        return await title_of(store, article_id) == wanted

    await measure(
        "drop",
        lambda: put_file(path, article_text(article_id, **fields)),
        lambda: shows(title),
        lambda rec: rec.method == "POST" and rec.path == message and post_title(rec.json) == title,
    )
    posted = [m for m in r.discord.messages(channel) if post_title(m) == title]
    if not posted:
        return out  # never posted: nothing to edit or delete
    post = f"{message}/{posted[0]['id']}"
    fields["title"] = new_title = title.replace("votes on", "approves")
    await measure(
        "change",
        lambda: put_file(path, article_text(article_id, **fields)),
        lambda: shows(new_title),
        lambda rec: (
            rec.method == "PATCH" and rec.path == post and post_title(rec.json) == new_title
        ),
    )

    def delete() -> float:
        path.unlink()
        return time.monotonic()

    await measure(
        "delete",
        delete,
        lambda: shows(None),
        lambda rec: rec.method == "DELETE" and rec.path == post,
    )
    return out


def summary(values: list[float]) -> str:
    missed = sum(1 for v in values if v == float("inf"))
    got = [v for v in values if v != float("inf")]
    if not got:
        return f"never (all {missed} timed out)"
    text = (
        f"p50 {statistics.median(got):6.2f} s  p99 {percentile(values, 0.99):6.2f} s  "
        f"max {max(values):6.2f} s"
    )
    return text + (f" ({missed} timed out after {TIMEOUT:.0f} s)" if missed else "")


def report(trials: list[Trial]) -> int:
    print(f"\n{len(trials)} trials, seconds from the file system change:")
    met = True
    for action in ACTIONS:
        rows = [t[action] for t in trials if action in t]
        applied_s, discord_s = [a for a, _ in rows], [d for _, d in rows]
        print(
            f"  {action:7} {'applied':13} {summary(applied_s)}\n"
            f"  {'':7} {WHAT[action]:13} {summary(discord_s)}"
        )
        target = TARGET_POSTED if action == "drop" else TARGET_APPLIED
        met &= len(rows) == len(trials) and percentile(applied_s, 0.99) <= TARGET_APPLIED
        met &= percentile(discord_s, 0.99) <= target
    print(
        f"targets: applied p99 <= {TARGET_APPLIED:g} s, a dropped published file posted p99 <= "
        f"{TARGET_POSTED:g} s (edits and deletions held to {TARGET_APPLIED:g} s here): "
        f"{'MET' if met else 'NOT MET'}"
    )
    return 0 if met else 1


async def bench(args: argparse.Namespace, workdir: Path, cached: CachedStore) -> int:
    print(f"machine: {machine()}, SQLite {sqlite3.sqlite_version}")
    print(
        f"store: {args.articles} articles, {cached.published} published ({cached.made}); "
        f"database: {'PostgreSQL' if args.database_url else 'SQLite'}; NEWS_POLL_SECONDS "
        f"unset (default {DEFAULT_POLL_SECONDS:g} s); {args.trials} trials of drop, change, delete"
    )
    trials: list[Trial] = []
    async with (
        rig(
            workdir, channels=1, latency=0.0, poll_seconds=None, database_url=args.database_url
        ) as r,
        Store.open(args.database_url or r.db_path, r.store_dir) as store,  # a reader beside it
    ):
        await asyncio.sleep(2.0)  # let the bot's start-up rescan settle
        for n in range(1, args.trials + 1):
            trials.append(await trial(r, store, n))
            shown = ", ".join(
                f"{a} {x:.2f}/{y:.2f} s" for a, (x, y) in trials[-1].items()
            )  # fmt: skip
            print(f"  trial {n:2d} (applied/at Discord): {shown}")
            await asyncio.sleep(0.5)
    return report(trials)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--articles", type=int, default=100_000, help="generated store size")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--database-url", help="a PostgreSQL database to run on (default SQLite)")
    parser.add_argument("--cache", type=Path, default=default_cache(), help="generated stores")
    args = parser.parse_args(argv)
    cached = cached_store(args.articles, cache=args.cache)
    # in the cache's file system, so the run's store can hard-link the cached files
    with tempfile.TemporaryDirectory(dir=args.cache) as tmp:
        working_copy(cached, Path(tmp))
        return asyncio.run(bench(args, Path(tmp), cached))


if __name__ == "__main__":
    sys.exit(main())
