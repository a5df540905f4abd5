"""What an operator sees of every host: `newsbot status` and `newsbot audit` (real
subprocesses, on both backends), the start-up line, JSON logs, and a start while Discord
cannot be reached."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from subprocess import CompletedProcess

import asyncpg
import pytest

from bot.bot import serving
from bot.config import Settings, redact
from bot.logs import JsonLog
from bot.store import Store, open_store
from tests.support.botenv import news_bot
from tests.support.cli import newsbot
from tests.support.helpers import SEED_ID
from tests.support.postgres import PASSWORD, PostgresServer
from tests.support.run_bot import BotProcess, bot_env
from tests.support.stand_in import StandIn

HOST = socket.gethostname()


def database_env(database: Path | str) -> dict[str, str]:
    """The one setting that points `newsbot` at this database."""
    if isinstance(database, str):
        return {"NEWS_DATABASE_URL": database}
    return {"NEWS_DB_PATH": str(database)}


def settings(database: Path | str, store_dir: Path, shard: int) -> Settings:
    """One of two processes sharing the shards (and, on PostgreSQL, the roles)."""
    url = database if isinstance(database, str) else None
    path = database if isinstance(database, Path) else Path("unused.db")
    return Settings(
        store_dir=store_dir, db_path=path, database_url=url, shard_count=2, shard_ids=(shard,)
    )


async def cli(tmp_path: Path, database: Path | str, *args: str) -> CompletedProcess[str]:
    """`newsbot ARGS` on this database, run in a thread: the test's stores stay live."""
    if isinstance(database, str):
        return await asyncio.to_thread(lambda: newsbot(tmp_path, *args, NEWS_DATABASE_URL=database))
    return await asyncio.to_thread(lambda: newsbot(tmp_path, *args, NEWS_DB_PATH=str(database)))


async def status(tmp_path: Path, database: Path | str) -> str:
    done = await cli(tmp_path, database, "status")
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    return done.stdout


async def test_status_shows_every_live_process_and_who_holds_each_role(
    database: Path | str, store_dir: Path, tmp_path: Path
) -> None:
    (store_dir / "broken.txt").write_text("no front matter here\n", encoding="utf-8")
    async with contextlib.AsyncExitStack() as stack:
        stores: list[Store] = []
        for shard in (0, 1):
            process = settings(database, store_dir, shard)
            store = await stack.enter_async_context(open_store(process))
            await stack.enter_async_context(serving(process, store))
            stores.append(store)
        await stores[0].outbox.pause_channel(77, "channel not found")
        shown = await status(tmp_path, database)

    first, second = (store.leases.holder for store in stores)
    assert first.startswith(f"{HOST}:{os.getpid()}:")
    assert f"database: {redact(database) if isinstance(database, str) else database}" in shown
    if isinstance(database, str):  # roles by lease: the first process took both
        assert f"{first}: shards 0 of 2; roles deliverer, scanner; started 20" in shown
        assert f"{second}: shards 1 of 2; roles deliverer, scanner; started 20" in shown
        for role in ("deliverer", "scanner"):
            assert f"{role}: held by {first}, epoch 1, expires 20" in shown
        assert f"held by {second}" not in shown
    else:  # one host: each process has the roles it is configured for
        assert f"{first}: shards 0 of 2; roles deliverer, scanner; started 20" in shown
        assert f"{second}: shards 1 of 2; roles scanner; started 20" in shown
        assert "roles are not elected on SQLite" in shown
    assert "paused channels: 1\n  77: channel not found" in shown
    assert "outbox: empty" in shown
    assert "last rescan: 20" in shown and "2 files," in shown and " 1 bad" in shown
    assert "bad: broken.txt: line 1: no front matter" in shown

    # Both stopped cleanly: no process is live any more, and no role held.
    after = await status(tmp_path, database)
    assert "no live process" in after and first not in after
    if isinstance(database, str):
        assert "deliverer: free (epoch 1)" in after and "scanner: free (epoch 1)" in after


async def test_two_bot_processes_on_one_postgresql_and_a_role_handed_over(
    pg_url: str, store_dir: Path, tmp_path: Path
) -> None:
    """Two real `newsbot run` processes, one with the store folder: `newsbot status` shows
    both, and the first holding both roles; stopped, its delivery moves to the second."""
    async with StandIn() as discord:
        processes = {}
        for name, shard, folder in (("a", 0, store_dir), ("b", 1, tmp_path / "none")):
            env = bot_env(
                discord,
                folder,
                tmp_path / "unused.db",
                NEWS_DATABASE_URL=pg_url,
                SHARD_COUNT=2,
                SHARD_IDS=shard,
            )
            processes[name] = BotProcess(env, tmp_path / name / "bot.log")
        try:
            for process in processes.values():
                await process.start()
                await process.wait_ready()
            a, b = (f"{HOST}:{processes[name].pid}:" for name in ("a", "b"))
            shown = await status(tmp_path, pg_url)
            assert f"  {a}" in shown and "shards 0 of 2; roles deliverer, scanner;" in shown
            assert f"  {b}" in shown and "shards 1 of 2; roles deliverer;" in shown
            assert f"deliverer: held by {a}" in shown and f"scanner: held by {a}" in shown

            await processes["a"].stop()
            for _ in range(30):
                shown = await status(tmp_path, pg_url)
                if f"deliverer: held by {b}" in shown:
                    break
                await asyncio.sleep(0.5)  # the lease expires
            assert f"deliverer: held by {b}" in shown and ", epoch 2," in shown
            assert "scanner: free (epoch 1)" in shown  # no other process has the folder
            assert a not in shown
        finally:
            await BotProcess.kill_all(processes.values())


async def test_a_process_that_stopped_beating_is_no_longer_shown(
    database: Path | str, store_dir: Path, tmp_path: Path
) -> None:
    """A killed process leaves its row: its last heartbeat, a minute old, hides it."""
    live = settings(database, store_dir, 0)
    async with (
        Store.open(database, store_dir, clock=lambda: datetime.now(UTC).timestamp() - 60) as dead,
        dead.processes.registered("0 of 2", "scanner"),
        open_store(live) as store,
        serving(live, store),
    ):
        shown = await status(tmp_path, database)
    assert store.leases.holder in shown
    assert dead.leases.holder not in shown


async def test_audit_since_prints_the_trail_from_that_date(
    database: Path | str, store_dir: Path, tmp_path: Path
) -> None:
    now = [datetime(2026, 3, 1, 9, 30, tzinfo=UTC).timestamp()]
    async with Store.open(database, store_dir, clock=lambda: now[0]) as store:
        await store.folder.sync()
        await store.publishing.publish(SEED_ID, "alice")
        now[0] += timedelta(days=2).total_seconds()
        await store.publishing.unpublish(SEED_ID, "bob")
    everything = await cli(tmp_path, database, "audit")
    assert everything.returncode == 0, everything.stderr
    assert everything.stdout.splitlines() == [
        f"2026-03-01 09:30:00 UTC  alice  publish  {SEED_ID}",
        f"2026-03-03 09:30:00 UTC  bob  unpublish  {SEED_ID}",
    ]
    since = await cli(tmp_path, database, "audit", "--since", "2026-03-02")
    assert since.stdout.splitlines() == [f"2026-03-03 09:30:00 UTC  bob  unpublish  {SEED_ID}"]
    later = await cli(tmp_path, database, "audit", "--since", "2026-04-01")
    assert later.stdout.strip() == "no audit entries since 2026-04-01 00:00 UTC"
    typo = await cli(tmp_path, database, "audit", "--since", "yesterday")
    assert typo.returncode == 2 and "not a date: 'yesterday'" in typo.stderr


def test_status_of_a_database_that_does_not_exist_creates_none(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    missing = newsbot(tmp_path, "status")
    assert missing.returncode == 2
    assert "does not exist: no bot ran here" in missing.stderr
    assert not (tmp_path / "db.sqlite").exists()


@pytest.mark.usefixtures("both_backends")
async def test_slash_status_shows_the_live_process_its_roles_and_the_outbox(
    tmp_path: Path,
) -> None:
    async with news_bot(tmp_path) as env:
        await env.store.outbox.pause_channel(env.guild.channels["ai"], "channel not found")
        status = await env.discord.slash("status", user_id=env.guild.moderator)
    assert status.ephemeral
    [embed] = status.data["embeds"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    holder = env.store.leases.holder
    assert fields["Processes"].startswith(f"{holder}: shards all; roles deliverer, scanner; ")
    assert "started <t:" in fields["Processes"]
    if env.store.leases.elected:
        assert f"deliverer: held by {holder}, epoch 1, expires <t:" in fields["Roles"]
        assert f"scanner: held by {holder}, epoch 1, expires <t:" in fields["Roles"]
    else:
        assert fields["Roles"] == "roles are not elected on SQLite: each process acts as configured"
    assert fields["Outbox"] == "empty"
    assert "**paused**: channel not found" in fields["Channels"]


def log_entries(process: BotProcess) -> list[dict[str, str]]:
    """The process's log, each line parsed as JSON (the launcher's own marks left out)."""
    lines = [line for line in process.log().splitlines() if not line.startswith("--- start")]
    return [json.loads(line) for line in lines if line]


async def test_a_start_while_discord_is_unreachable_retries_until_it_answers(
    database: Path | str, store_dir: Path, tmp_path: Path
) -> None:
    """The stand-in listens only after the bot's first tries: the bot waits, then serves.
    Its log is JSON (LOG_FORMAT=json), one object a line, with no password in it."""
    discord = StandIn()
    with socket.socket() as sock:  # a port where nothing listens yet
        sock.bind(("127.0.0.1", 0))
        discord.port = int(sock.getsockname()[1])
    env = bot_env(
        discord, store_dir, tmp_path / "unused.db", LOG_FORMAT="json", **database_env(database)
    )
    process = BotProcess(env, tmp_path / "bot" / "bot.log")
    await process.start()
    try:
        await process.wait_for_log("cannot reach Discord", count=2, timeout=60)
        async with discord:
            await process.wait_for_log('"message": "ready:', timeout=60)
    finally:
        await BotProcess.kill_all([process])

    entries = log_entries(process)
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
    messages = [entry["message"] for entry in entries]
    where = redact(database) if isinstance(database, str) else str(database)
    assert f"store folder {store_dir}; database {where}" in messages
    retries = [e for e in entries if e["message"].startswith("cannot reach Discord")]
    assert retries[0]["level"] == "WARNING" and retries[0]["logger"] == "bot.bot"
    assert "trying again in 1 s" in retries[0]["message"]
    assert "trying again in 2 s" in retries[1]["message"]
    assert "loading 1/1 files" in messages  # the load's progress
    assert PASSWORD not in process.log()


def test_a_json_log_line_carries_the_traceback_and_no_secret() -> None:
    formatter = JsonLog("%(message)s", ["tok-123", PASSWORD])
    try:
        raise RuntimeError(f"connect to postgresql://u:{PASSWORD}@db failed")
    except RuntimeError:
        record = logging.LogRecord(
            "bot.delivery", logging.ERROR, __file__, 1, "send with %s", ("tok-123",), sys.exc_info()
        )
    line = formatter.format(record)
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and entry["logger"] == "bot.delivery"
    assert entry["message"] == "send with ***"
    assert "RuntimeError: connect to postgresql://u:***@db failed" in entry["exc_info"]
    assert datetime.fromisoformat(entry["time"]).tzinfo is not None
    hostile = logging.LogRecord("bot.sync", logging.WARNING, __file__, 1, "\x1b[2J\x9b1m", (), None)
    shown = formatter.format(hostile)
    assert json.loads(shown)["message"] == "\x1b[2J\x9b1m"  # kept, but escaped on the line
    assert "\x1b" not in shown and "\x9b" not in shown


async def test_a_role_without_the_schema_is_told_how_to_grant_it(
    pg_server: PostgresServer, store_dir: Path, tmp_path: Path
) -> None:
    """Since PostgreSQL 15, `GRANT ALL ON DATABASE` alone cannot create a table: the error
    says what to run; after the docs' `ALTER SCHEMA public OWNER TO`, the bot starts."""
    await pg_server.admin("CREATE ROLE limited LOGIN PASSWORD 'limited-pw'")
    await pg_server.admin("CREATE DATABASE granted")
    await pg_server.admin("GRANT ALL ON DATABASE granted TO limited")
    url = pg_server.url("granted").replace(f"postgres:{PASSWORD}@", "limited:limited-pw@")
    try:
        refused = await asyncio.to_thread(newsbot, tmp_path, "status", NEWS_DATABASE_URL=url)
        assert refused.returncode == 1
        assert "permission denied for schema public" in refused.stderr
        assert "ALTER SCHEMA public OWNER TO" in refused.stderr
        assert "limited-pw" not in refused.stderr
        owner = await asyncpg.connect(pg_server.url("granted"))
        try:
            await owner.execute("ALTER SCHEMA public OWNER TO limited")
        finally:
            await owner.close()
        assert "no live process" in await status(tmp_path, url)
    finally:
        await pg_server.admin("DROP DATABASE granted")
        await pg_server.admin("DROP ROLE limited")
