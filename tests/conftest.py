"""Shared fixtures: a store folder with the seed, an open synced Store, an article writer.

`database` is a SQLite file or a fresh PostgreSQL database (on a throwaway server the
session starts): every test that opens the store through it runs on both backends, with
the same expectations. A test about SQLite's file itself is marked `sqlite_only`. Every
test that needs the PostgreSQL server is marked `postgres` here, so `-m "not postgres"`
runs the SQLite half alone (`make test-fast`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from bot.store import Store
from tests.support import botenv
from tests.support.helpers import SEED_NAME, SEED_PATH, write_article
from tests.support.postgres import PostgresServer, server_binaries, throwaway_server

BACKENDS = ("sqlite", "postgresql")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: about SQLite's file; not run on PostgreSQL")
    config.addinivalue_line("markers", "postgres: needs the throwaway PostgreSQL server (set here)")


def on_postgres(item: pytest.Item) -> bool:
    """The test runs on PostgreSQL: the `postgresql` case of a backend parameter (`database`,
    `both_backends`, a module's own), or a test that asks for the server itself."""
    params = getattr(item, "callspec", None)
    if params is not None and any(value == "postgresql" for value in params.params.values()):
        return True
    return bool({"pg_url", "pg_server"} & set(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A `sqlite_only` test runs once, on SQLite; every PostgreSQL test is marked `postgres`."""
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        on_pg = on_postgres(item)
        if on_pg:
            item.add_marker(pytest.mark.postgres)
        (dropped if on_pg and item.get_closest_marker("sqlite_only") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server for the whole session (skipped without the binaries,
    except under CI, where their absence is a failure)."""
    bindir = server_binaries()
    if bindir is None:
        reason = "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI must run the PostgreSQL tests")
        pytest.skip(reason)
    with throwaway_server(bindir) as server:
        yield server


@pytest.fixture
async def pg_url(pg_server: PostgresServer) -> AsyncIterator[str]:
    """A fresh, migrated PostgreSQL database of its own; dropped afterwards."""
    url = await pg_server.new_database()
    yield url
    await pg_server.drop_database(url)


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """What `Store.open` is given: a SQLite file path, or a PostgreSQL URL."""
    if request.param == "sqlite":
        return tmp_path / "data" / "news.db"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture(params=BACKENDS)
def both_backends(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """For an end-to-end module run on both backends (`pytestmark = pytest.mark.usefixtures
    ("both_backends")`): the bots `tests.support.botenv` starts use this backend."""
    if request.param == "postgresql":
        monkeypatch.setattr(botenv, "DATABASE_URL", request.getfixturevalue("pg_url"))
    return str(request.param)


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    """A fresh store folder holding a copy of the seed article."""
    folder = tmp_path / "store"
    folder.mkdir()
    shutil.copy2(SEED_PATH, folder / SEED_NAME)
    return folder


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A SQLite file (tests about SQLite itself)."""
    return tmp_path / "data" / "news.db"


@pytest.fixture
async def store(database: Path | str, store_dir: Path) -> AsyncIterator[Store]:
    """An open Store on a real database (each backend in turn), already synced."""
    async with Store.open(database, store_dir) as opened:
        await opened.folder.sync()
        yield opened


@pytest.fixture
def make_article_file() -> Callable[..., Path]:
    """`make_article_file(folder, name, **fields)`: see `tests.support.helpers.write_article`."""
    return write_article
