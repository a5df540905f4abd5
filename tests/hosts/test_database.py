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
from bot.store import Store, schema
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
    line = f"migrated schema 0 → {schema.latest('sqlite')}"
    migrated = sum(err.count(line) for _, err in results)
    assert migrated in (0, 1)  # logged by one process, in one line (INFO if shown)


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


# --- the Database contract, the same on both backends ---------------------------------------


async def test_a_nested_transaction_is_refused_at_once(
    database: Path | str, store_dir: Path
) -> None:
    """Transactions do not nest, on either backend: the inner one raises at once (SQLite
    used to wait for itself for ever; PostgreSQL joined the outer one), and the outer one
    is undone with it when the error goes through."""
    async with Store.open(database, store_dir) as store:

        async def nest() -> None:
            async with store.db.transaction():
                await store.db.execute("INSERT INTO meta (key, value) VALUES ('outer', '1')")
                async with store.db.transaction():
                    await store.db.execute("INSERT INTO meta (key, value) VALUES ('inner', '1')")

        with pytest.raises(RuntimeError, match="do not nest"):
            await asyncio.wait_for(nest(), 5)
        assert await store.meta.get("outer") is None and await store.meta.get("inner") is None
        async with store.db.transaction():  # the database is usable after it
            await store.db.execute("INSERT INTO meta (key, value) VALUES ('after', '1')")
        assert await store.meta.get("after") == "1"


async def test_a_task_started_inside_a_transaction_writes_on_its_own_once_it_ended(
    database: Path | str, store_dir: Path
) -> None:
    """Such a task inherits the transaction's context; once the transaction has ended,
    that is no nesting: its own transaction and its reads are its own."""
    async with Store.open(database, store_dir) as store:
        go = asyncio.Event()

        async def later() -> str | None:
            await go.wait()
            async with store.db.transaction():
                await store.db.execute("INSERT INTO meta (key, value) VALUES ('later', '1')")
            return await store.meta.get("later")

        async with store.db.transaction():
            task = asyncio.create_task(later())
        go.set()
        assert await asyncio.wait_for(task, 5) == "1"


async def test_after_commit_runs_at_once_outside_a_transaction_and_on_commit_inside(
    database: Path | str, store_dir: Path
) -> None:
    async with Store.open(database, store_dir) as store:
        calls: list[str] = []
        store.db.after_commit(lambda: calls.append("outside"))
        assert calls == ["outside"]  # nothing to wait for (SQLite waited for a later commit)

        def inside() -> None:
            calls.append("committed")

        async with store.db.transaction():
            store.db.after_commit(inside)
            store.db.after_commit(inside)  # once, however often it is registered
            await store.db.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')")
            assert calls == ["outside"]
        assert calls == ["outside", "committed"]

        with pytest.raises(ZeroDivisionError):
            async with store.db.transaction():
                store.db.after_commit(lambda: calls.append("rolled back"))
                await store.db.execute("INSERT INTO meta (key, value) VALUES ('k2', 'v')")
                1 / 0  # noqa: B018
        async with store.db.transaction():  # an unrelated commit runs nothing left over
            await store.db.execute("INSERT INTO meta (key, value) VALUES ('k3', 'v')")
        assert calls == ["outside", "committed"]


# --- NEWS_DB_PATH must be a SQLite file or not exist -----------------------------------------


def test_a_db_path_that_is_not_a_database_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    """A text file, a folder, a FIFO: one line, exit 1, mode and contents unchanged (run as
    root, a device file was once made 0600 before anything looked at it)."""
    (tmp_path / "store").mkdir()
    text = tmp_path / "notes.txt"
    text.write_text("my notes\n", encoding="utf-8")
    text.chmod(0o644)
    folder = tmp_path / "a-folder"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    fifo = tmp_path / "a-fifo"
    os.mkfifo(fifo, 0o644)
    fifo.chmod(0o644)
    for path, why in (
        (text, "not a SQLite database file"),
        (folder, "not a regular file"),
        (fifo, "not a regular file"),
    ):
        result = newsbot(tmp_path, "news", NEWS_DB_PATH=str(path), timeout=30)
        assert result.returncode == 1, result.stderr
        [line] = result.stderr.strip().splitlines()
        assert line == f"newsbot: cannot open the database {path} ({why}); check NEWS_DB_PATH"
        expected = 0o755 if path == folder else 0o644
        assert mode(path) == expected, path
    assert text.read_text(encoding="utf-8") == "my notes\n"
    assert list(folder.iterdir()) == []


async def test_an_empty_db_file_is_a_new_database(tmp_path: Path, store_dir: Path) -> None:
    """What a start cut short between creating the file and writing it leaves: used."""
    db_path = tmp_path / "news.db"
    db_path.touch(mode=0o600)
    async with Store.open(db_path, store_dir) as store:
        await store.folder.sync()
        assert (await store.articles.counts()).articles == 1
