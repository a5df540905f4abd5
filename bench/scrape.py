"""What one metrics scrape costs the database, on both backends, with a long delivery log.

    python -m bench.scrape [--rows 500000] [--waiting 1000] [--reads 30]

Fills the outbox with ROWS rows (WAITING of them pending, the rest sent), then times
`store.gauges.read()`, what each /metrics scrape runs (bot.health): the median and the
longest of READS reads, on SQLite and on a throwaway PostgreSQL server it starts itself.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bench.fanout import machine
from bot.store import Store
from tests.support.postgres import server_binaries, throwaway_server

BATCH = 10_000


async def measure(database: Path | str, rows: int, waiting: int, reads: int) -> str:
    folder = Path(tempfile.mkdtemp(prefix="scrape-"))
    async with Store.open(database, folder) as store:
        async with store.db.transaction():
            for start in range(0, rows, BATCH):
                await store.db.executemany(
                    "INSERT INTO outbox (url, article_id, channel_id, state, message_id, "
                    "created_at, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            f"https://example.com/{n}",
                            f"a{n % 5000}",
                            1000 + n % 2000,
                            "pending" if n < waiting else "sent",
                            n,
                            1_700_000_000,
                            1_700_000_000,
                        )
                        for n in range(start, min(rows, start + BATCH))
                    ],
                )
        took = []
        for _ in range(reads):
            began = time.perf_counter()
            readings = await store.gauges.read()
            took.append(time.perf_counter() - began)
        assert readings.outbox["pending"] == waiting
        return (
            f"{store.db.kind:>10}: median {statistics.median(took) * 1000:.2f} ms, "
            f"longest {max(took) * 1000:.2f} ms ({reads} reads, {rows:,} outbox rows)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--waiting", type=int, default=1_000)
    parser.add_argument("--reads", type=int, default=30)
    args = parser.parse_args()
    print(machine())
    sqlite = Path(tempfile.mkdtemp(prefix="scrape-")) / "news.db"
    print(asyncio.run(measure(sqlite, args.rows, args.waiting, args.reads)))
    bindir = server_binaries()
    if bindir is None:
        print("PostgreSQL: server binaries not found, skipped")
        return
    with throwaway_server(bindir) as server:
        url = asyncio.run(server.new_database())
        print(asyncio.run(measure(url, args.rows, args.waiting, args.reads)))


if __name__ == "__main__":
    main()
