"""The first load of a big store into an empty database decides every story at its end
(bot/store/first_load.py): the database it leaves is the one the batch-by-batch path
leaves, on both backends, so readers find the same articles in the same stories."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.store import Store
from bot.store.first_load import FirstLoad
from bot.store.folder import PARALLEL_THRESHOLD
from tests.support.corpus import write_corpus
from tests.support.postgres import PostgresServer

FILES = PARALLEL_THRESHOLD + 200  # a big load: parsed in worker processes, in two batches
NOW = 1_800_000_000.0  # one clock for both loads: `visible_since` is stamped from it
Rows = list[tuple[Any, ...]]
TABLES = {  # what a load writes, each read in a stable order
    "files": "SELECT name, mtime_ns, size, error FROM files",
    "articles": "SELECT * FROM articles",
    "topics": "SELECT key, name FROM topics",
    "article_topics": "SELECT topic_key, published_at, article_rowid FROM article_topics",
    "related": "SELECT * FROM related",
    "story_keys": "SELECT key, published_at, article_rowid FROM story_keys",
    "meta": "SELECT key, value FROM meta WHERE key = 'stories'",
    "joined": "SELECT id, story FROM articles WHERE story <> id",  # in another's story
    "stories": "SELECT id, story FROM articles",
}


@pytest.fixture
async def other_database(
    database: Path | str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Path | str]:
    """A second empty database on the same backend as `database`."""
    if isinstance(database, Path):
        yield tmp_path / "data" / "batch_by_batch.db"
        return
    server: PostgresServer = request.getfixturevalue("pg_server")
    url = await server.new_database()
    yield url
    await server.drop_database(url)


async def load(database: Path | str, store_dir: Path, *, new: int = FILES) -> dict[str, Rows]:
    """Open and sync (`new`: how many files it finds to read), then read every table."""
    async with Store.open(database, store_dir, clock=lambda: NOW) as store:
        report = await store.folder.sync()
        assert report.new == new - len(report.errors)
        db = store.folder.writer.db
        tables = {name: await db.fetch_tuples(sql) for name, sql in TABLES.items()}
        return {name: sorted(map(tuple, rows)) for name, rows in tables.items()}


async def load_batch_by_batch(
    database: Path | str, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Rows]:
    """The same load with the first-load path turned off."""
    with monkeypatch.context() as patch:

        async def never(db: object) -> bool:
            return False

        patch.setattr(FirstLoad, "applies", staticmethod(never))
        return await load(database, store_dir)


@pytest.mark.slow  # 2,200 files, parsed in worker processes
async def test_a_first_load_leaves_the_database_batch_by_batch_loading_does(
    database: Path | str,
    other_database: Path | str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store_dir = tmp_path / "store"
    write_corpus(store_dir, FILES, seed=3, stories=True)

    first = await load(database, store_dir)
    batch_by_batch = await load_batch_by_batch(other_database, store_dir, monkeypatch)

    assert first == batch_by_batch
    assert len(first["joined"]) > FILES // 20  # the planted stories were found
    assert len(first["story_keys"]) > 10 * FILES  # every article's URLs and bands
    assert first["meta"] == batch_by_batch["meta"] != []


@pytest.mark.slow  # 2,200 files, parsed in worker processes
async def test_a_first_load_cut_short_is_clustered_at_the_next_start(
    database: Path | str,
    other_database: Path | str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its articles were written without stories: the next start decides them all."""
    store_dir = tmp_path / "store"
    write_corpus(store_dir, FILES, seed=5, stories=True)
    with monkeypatch.context() as patch:

        async def power_cut(self: FirstLoad) -> None:
            raise RuntimeError("power cut")

        patch.setattr(FirstLoad, "finish", power_cut)
        with pytest.raises(RuntimeError, match="power cut"):
            await load(database, store_dir)

    restarted = await load(database, store_dir, new=0)
    batch_by_batch = await load_batch_by_batch(other_database, store_dir, monkeypatch)
    for table in ("stories", "joined", "story_keys", "meta"):
        assert restarted[table] == batch_by_batch[table], table
    assert restarted["joined"]
