"""What only the PostgreSQL backend has: its query dialect, migrations under a lock, the
password kept out of sight, a lost connection answered politely, other processes' writes.

The behaviour both backends share is tested once, on both, by the contract suite
(tests/unit/test_store.py, tests/unit/test_outbox.py, tests/e2e/test_review.py)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest

from bot import answers
from bot.config import Settings, redact
from bot.errors import DatabaseUnavailable, DeskUnavailable
from bot.store import Store, schema
from bot.store.postgres import dollars
from tests.support.cli import newsbot
from tests.support.helpers import card_texts, write_article
from tests.support.postgres import PASSWORD, PostgresServer


def test_placeholders_become_numbered_outside_quoted_text() -> None:
    assert dollars("SELECT ? WHERE a = ? AND b LIKE ? ESCAPE '\\'") == (
        "SELECT $1 WHERE a = $2 AND b LIKE $3 ESCAPE '\\'"
    )
    assert dollars("SELECT '?', ?") == "SELECT '?', $1"


def test_the_password_is_never_in_settings_repr(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    url = f"postgresql://bot:{PASSWORD}@db.example:5433/news"
    settings = Settings.from_env(
        {"NEWS_DATABASE_URL": url, "NEWS_STORE_DIR": str(tmp_path / "seeds")}, dotenv_path=None
    )
    assert settings.database_url == url
    assert PASSWORD not in repr(settings)
    assert settings.database_label == "postgresql://bot:***@db.example:5433/news"
    assert redact("postgresql://bot@host/db") == "postgresql://bot@host/db"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://u:p@h/db", "must start with postgresql://"),
        ("postgresql://u:p@h:port/db", "not a valid URL"),
        ("postgresql://u:p@h:5432", "names no database"),
    ],
)
def test_a_bad_database_url_is_refused_in_one_line(tmp_path: Path, url: str, says: str) -> None:
    from bot.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"NEWS_DATABASE_URL": url}, dotenv_path=None)
    assert str(caught.value).startswith("NEWS_DATABASE_URL: ")
    assert says in str(caught.value) and ":p@" not in str(caught.value)


def test_an_unreachable_database_stops_start_up_with_one_line(
    tmp_path: Path, pg_server: PostgresServer
) -> None:
    (tmp_path / "store").mkdir()
    closed = pg_server.url("nothing").replace(str(pg_server.port), "1")  # nobody listens
    started = time.monotonic()
    result = newsbot(tmp_path, "load", NEWS_DATABASE_URL=closed)
    assert time.monotonic() - started < 20
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert "NEWS_DATABASE_URL" in line and "Traceback" not in line
    assert PASSWORD not in line and "postgres:***@" in line


def test_a_wrong_password_says_so_without_showing_it(
    tmp_path: Path, pg_server: PostgresServer
) -> None:
    (tmp_path / "store").mkdir()
    wrong = pg_server.url("postgres").replace(PASSWORD, "not-the-password")
    result = newsbot(tmp_path, "load", NEWS_DATABASE_URL=wrong)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert "password authentication failed" in line and "not-the-password" not in line


def test_the_command_line_works_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    store = tmp_path / "store"
    store.mkdir()
    write_article(store, "quake", title="Earthquake drill today", published=True)
    loaded = newsbot(tmp_path, "load", NEWS_DATABASE_URL=pg_url, LOG_LEVEL="DEBUG")
    assert loaded.returncode == 0, loaded.stderr
    assert PASSWORD not in loaded.stderr + loaded.stdout
    found = newsbot(tmp_path, "search", "earthquake", NEWS_DATABASE_URL=pg_url)
    assert "Earthquake drill today" in found.stdout


MIGRATE_AT_ONCE = """
import asyncio, sys, time
from pathlib import Path
from bot.store import Store, schema

async def main() -> None:
    time.sleep(max(0.0, float(sys.argv[3]) - time.time()))  # both start together
    async with Store.open(sys.argv[1], Path(sys.argv[2])) as store:
        await store.folder.sync()
        print((await store.articles.counts()).articles)

asyncio.run(main())
"""


async def test_two_processes_migrating_a_fresh_database_at_once_both_start(
    pg_server: PostgresServer, store_dir: Path
) -> None:
    await pg_server.admin("CREATE DATABASE fresh_at_once")  # empty: not from the template
    url = pg_server.url("fresh_at_once")
    start = f"{time.time() + 1.5:.3f}"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE_AT_ONCE, url, str(store_dir), start],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [await asyncio.to_thread(p.communicate, timeout=60) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert out.strip() == "1"
    conn = await asyncpg.connect(url)
    try:
        versions = await conn.fetch("SELECT version FROM schema_version ORDER BY version")
        assert versions == [(schema.latest("postgres"),)]  # marked once, at the latest
    finally:
        await conn.close()
    await pg_server.drop_database(url)


async def test_a_lost_database_is_briefly_unavailable_then_back(
    pg_server: PostgresServer, pg_url: str, store_dir: Path
) -> None:
    name = pg_url.rsplit("/", 1)[1]
    async with Store.open(pg_url, store_dir) as store:
        await store.folder.sync()
        await pg_server.admin(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
        await pg_server.admin(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        )
        started = time.monotonic()
        with pytest.raises(DeskUnavailable) as caught:
            await store.articles.latest()
        assert time.monotonic() - started < 2.5  # a command is still answered in time
        assert answers.error_text(caught.value) == (
            "The news desk is briefly unavailable. Please try again in a minute."
        )
        with pytest.raises(DeskUnavailable):
            await store.meta.set("k", "v")
        await pg_server.admin(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        assert (await store.articles.counts()).articles == 1
        await store.meta.set("k", "v")
        assert await store.meta.get("k") == "v"


async def test_another_process_write_is_seen_at_once(pg_url: str, store_dir: Path) -> None:
    async with Store.open(pg_url, store_dir) as first, Store.open(pg_url, store_dir) as second:
        await first.folder.sync()
        woken = asyncio.Event()
        second.outbox.on_work = woken.set
        await asyncio.sleep(0.3)  # the listener is connected
        generation = second.db.generation
        assert await second.articles.topics() == []
        await first.feeds.subscribe(1, "", actor="t")
        await first.publishing.publish("000_b1e94322d9932e65", "mod")
        await asyncio.wait_for(woken.wait(), 2)  # NOTIFY woke the other process's poster
        assert second.db.generation > generation
        assert await second.articles.topics() == [("AI", 1), ("AI Ethics", 1)]


def test_database_unavailable_names_its_variable() -> None:
    error = DatabaseUnavailable("postgresql://u:***@h/db", "refused", "NEWS_DATABASE_URL")
    assert error.variable == "NEWS_DATABASE_URL"


async def test_a_publish_asked_elsewhere_is_applied_by_the_scanner(
    pg_url: str, store_dir: Path
) -> None:
    from bot.errors import AlreadyDone, ArticleNotFound
    from bot.store import Role

    seed = "000_b1e94322d9932e65"
    async with Store.open(pg_url, store_dir) as scanner, Store.open(pg_url, store_dir) as other:
        async with scanner.leases.holding({Role.SCANNER}), other.leases.holding(()):
            await scanner.folder.sync()
            assert other.publishing.forwards() and not scanner.publishing.forwards()

            async def serve() -> None:
                while True:
                    await scanner.requests.asked.wait()
                    scanner.requests.asked.clear()
                    await scanner.requests.serve(scanner.publishing.apply_here)

            server = asyncio.create_task(serve())
            try:
                article = await other.publishing.publish(seed, "mod@elsewhere")
                assert article.published and article.id == seed
                with pytest.raises(AlreadyDone):
                    await other.publishing.publish(seed, "mod@elsewhere")
                with pytest.raises(ArticleNotFound):
                    await other.publishing.unpublish("nope", "mod@elsewhere")
            finally:
                server.cancel()
            audit = await other.publishing.audit_trail()
            assert [(e.actor, e.action) for e in audit] == [("mod@elsewhere", "publish")]
        # nobody serves: the moderator hears the desk is unavailable, and nothing happens later
        async with other.leases.holding(()):
            with pytest.raises(DeskUnavailable):
                await other.publishing.unpublish(seed, "mod@elsewhere")
        assert (await scanner.requests.serve(scanner.publishing.apply_here)) == 0


async def test_a_process_frozen_inside_a_transaction_blocks_the_others_briefly(
    pg_url: str, store_dir: Path
) -> None:
    """Writes are serialised by one lock; a holder that stops (SIGSTOP) inside a transaction
    is cut off by the server, so the others, a standby taking a lease among them, go on."""
    from bot.store.postgres import IDLE_IN_TRANSACTION_MS

    async with Store.open(pg_url, store_dir) as frozen, Store.open(pg_url, store_dir) as other:

        async def stall_inside_a_transaction() -> None:
            async with frozen.db.transaction():
                await frozen.db.execute("INSERT INTO meta (key, value) VALUES ('x', 'y')")
                await asyncio.sleep(IDLE_IN_TRANSACTION_MS / 1000 + 3)  # "frozen"

        stalled = asyncio.create_task(stall_inside_a_transaction())
        await asyncio.sleep(0.3)  # the transaction is open, its row locked
        started = time.monotonic()
        await other.meta.set("k", "v")  # waits for the lock, then gets it
        waited = time.monotonic() - started
        assert waited < IDLE_IN_TRANSACTION_MS / 1000 + 2
        with pytest.raises(DeskUnavailable):
            await stalled  # its session was ended: its write never happened
        assert await other.meta.get("x") is None
        assert await frozen.meta.get("k") == "v"  # and the frozen one works again


def test_postgresql_settings(tmp_path: Path) -> None:
    url = "postgresql://bot@db/news"
    settings = Settings.from_env(
        {"NEWS_DATABASE_URL": url, "NEWS_DB_POOL_SIZE": "4", "SHARD_COUNT": "2", "SHARD_IDS": "1"},
        dotenv_path=None,
        require_store=False,
    )
    assert settings.pool_size == 4
    assert settings.runs_delivery  # every process competes for the deliverer's lease
    assert not Settings.from_env(
        {"NEWS_DATABASE_URL": url, "DELIVERY": "0"}, dotenv_path=None, require_store=False
    ).runs_delivery
    # a host without the store folder still starts: it never scans
    missing = Settings.from_env(
        {"NEWS_DATABASE_URL": url, "NEWS_STORE_DIR": str(tmp_path / "absent")}, dotenv_path=None
    )
    assert not missing.store_dir.is_dir()
    from bot.errors import ConfigError

    with pytest.raises(ConfigError, match="NEWS_DB_POOL_SIZE"):
        Settings.from_env({"NEWS_DB_POOL_SIZE": "0"}, dotenv_path=None, require_store=False)


async def test_commands_answer_briefly_unavailable_while_the_database_is_away(
    tmp_path: Path, pg_server: PostgresServer, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support import botenv

    monkeypatch.setattr(botenv, "DATABASE_URL", pg_url)
    name = pg_url.rsplit("/", 1)[1]
    botenv.store_with_seed(tmp_path)
    async with botenv.news_bot(tmp_path) as env:
        reader = env.guild.reader
        await pg_server.admin(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
        await pg_server.admin(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        )
        away = await env.discord.slash("news", user_id=reader)
        assert away.ephemeral
        assert botenv.content(away) == (
            "The news desk is briefly unavailable. Please try again in a minute."
        )
        await pg_server.admin(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        back = await env.discord.slash("drafts", user_id=env.guild.moderator)
        assert card_texts(back.data)[0] == "## Drafts awaiting review", back.data


async def test_only_transactions_that_wrote_tell_the_other_processes(
    pg_url: str, store_dir: Path
) -> None:
    async with Store.open(pg_url, store_dir) as first, Store.open(pg_url, store_dir) as second:
        await asyncio.sleep(0.3)  # the listener is connected
        before = second.db.generation
        async with first.db.transaction():  # a standby's look at a lease: reads only
            await first.db.fetch("SELECT holder FROM leases")
        await first.meta.set("k", "v")
        await first.meta.set("k", "v")  # the same value is still a write
        await asyncio.sleep(0.5)  # the NOTIFYs reach the other's listener
        assert second.db.generation == before + 2


async def test_a_task_started_inside_a_transaction_may_outlive_it(
    pg_url: str, store_dir: Path
) -> None:
    async with Store.open(pg_url, store_dir) as store:
        go_on = asyncio.Event()

        async def later() -> str | None:
            await go_on.wait()
            await store.meta.set("k2", "w")  # its own transaction, not the finished one
            return await store.meta.get("k")

        async with store.db.transaction():
            await store.db.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')")
            task = asyncio.create_task(later())  # inherits the transaction's context
        go_on.set()
        assert await task == "v"
        assert await store.meta.get("k2") == "w"
