"""Shared fixtures: a store folder with the seed, an open synced Store, an article writer."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.store import Store
from tests.support.helpers import SEED_NAME, SEED_PATH, write_article


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    """A fresh store folder holding a copy of the seed article."""
    folder = tmp_path / "store"
    folder.mkdir()
    shutil.copy2(SEED_PATH, folder / SEED_NAME)
    return folder


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "news.db"


@pytest.fixture
async def store(db_path: Path, store_dir: Path) -> AsyncIterator[Store]:
    """An open Store on a real SQLite file, already synced with `store_dir`."""
    async with Store.open(db_path, store_dir) as opened:
        await opened.folder.sync()
        yield opened


@pytest.fixture
def make_article_file() -> Callable[..., Path]:
    """`make_article_file(folder, name, **fields)`: see `tests.support.helpers.write_article`."""
    return write_article
