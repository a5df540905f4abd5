"""The SQLite file itself: private at rest, safe when two processes create it at once,
and a damaged file stops start-up with one line that says how to rebuild."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.errors import DatabaseDamaged
from bot.store import Store
from bot.store.sqlite import MIGRATIONS
from tests.support.cli import newsbot
from tests.support.helpers import write_article

OPEN_AT_ONCE = """
import asyncio, sys, time
from pathlib import Path
from bot.store import Store

async def main() -> None:
    time.sleep(max(0.0, float(sys.argv[3]) - time.time()))  # both start together
    async with Store.open(Path(sys.argv[1]), Path(sys.argv[2])) as store:
        await store.folder.sync()
        print((await store.articles.counts()).articles)

asyncio.run(main())
"""


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_database_is_private_at_rest(tmp_path: Path, store_dir: Path) -> None:
    db_path = tmp_path / "private" / "news.db"
    async with Store.open(db_path, store_dir) as store:
        await store.folder.sync()  # `secured` is in there now
        assert mode(db_path.parent) == 0o700
        assert mode(db_path) == 0o600
        assert mode(db_path.with_name("news.db-wal")) == 0o600


async def test_an_existing_readable_database_is_made_private(
    tmp_path: Path, store_dir: Path
) -> None:
    db_path = tmp_path / "news.db"
    async with Store.open(db_path, store_dir) as store:
        await store.folder.sync()
    db_path.chmod(0o644)
    async with Store.open(db_path, store_dir):
        assert mode(db_path) == 0o600


def test_two_processes_creating_the_database_at_once_both_start(
    tmp_path: Path, store_dir: Path
) -> None:
    db_path = tmp_path / "fresh" / "news.db"
    start = f"{time.time() + 1.5:.3f}"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AT_ONCE, str(db_path), str(store_dir), start],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=60) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert out.strip() == "1"
    migrated = sum(err.count("migrated to schema version") for _, err in results)
    assert migrated in (0, len(MIGRATIONS))  # logged by one process, once each (INFO if shown)


async def test_a_damaged_database_stops_start_up_with_one_line(
    tmp_path: Path, store_dir: Path
) -> None:
    for n in range(300):
        write_article(store_dir, f"story_{n:03}", title=f"Story {n} " + "words " * 40)
    db_path = tmp_path / "db.sqlite"
    async with Store.open(db_path, store_dir) as store:
        await store.folder.sync()
    assert not db_path.with_name("db.sqlite-wal").exists()  # checkpointed on close
    with db_path.open("r+b") as handle:  # scribble over a few pages in the middle
        handle.seek(os.path.getsize(db_path) // 2 // 4096 * 4096)
        handle.write(os.urandom(3 * 4096))
    with pytest.raises(DatabaseDamaged):
        async with Store.open(db_path, store_dir):
            pass
    result = newsbot(tmp_path, "load", NEWS_DB_PATH=str(db_path))
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert "is damaged" in line and "newsbot load" in line and "Traceback" not in line


async def test_a_read_after_a_commit_sees_it_while_other_reads_are_mid_result(
    tmp_path: Path, store_dir: Path
) -> None:
    """Reads share connections with reads of many rows: a read made after a commit must
    never join such a read's older snapshot (a `/feed add` once answered "something went
    wrong" that way, not finding the row it had just written)."""
    many_rows = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) "
        "SELECT i FROM n, (SELECT count(*) FROM meta)"
    )
    async with Store.open(tmp_path / "news.db", store_dir) as store:

        async def write_then_read(n: int) -> str | None:
            async with store.db.transaction():
                await store.db.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?)", (f"k{n}", str(n))
                )
            return await store.meta.get(f"k{n}")

        for round_ in range(30):
            results = await asyncio.gather(
                *(store.db.fetch(many_rows) for _ in range(4)),
                *(write_then_read(round_ * 10 + n) for n in range(10)),
            )
            reads = results[4:]
            assert reads == [str(round_ * 10 + n) for n in range(10)]
