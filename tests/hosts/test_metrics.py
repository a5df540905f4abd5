"""Metrics and health: a real `newsbot run` process with METRICS_PORT, scraped over HTTP.

What an operator's tooling sees: /readyz says 503 (and why) until the bot is logged in,
/healthz says the process lives, and /metrics, read by prometheus_client's own parser,
counts the post delivered, times the /news asked, shows the leases this process holds
and the outbox waiting while a post is in flight. On both backends.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot import health
from bot.config import Settings
from bot.errors import ConfigError
from bot.store import Store
from tests.support import botenv
from tests.support.botenv import news_bot, subscribe
from tests.support.helpers import card_title, write_article
from tests.support.postgres import PostgresServer, server_binaries, throwaway_server
from tests.support.run_bot import BotProcess, bot_env, follow_everything
from tests.support.stand_in import StandIn
from tests.support.stand_in.records import Hold

SERVED = re.compile(r"metrics on (http://\S+)/metrics")
POST = r"^/channels/\d+/messages$"


@dataclass
class Scraped:
    """One scrape of /metrics: each sample's value by its name and labels."""

    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]

    def get(self, name: str, **labels: str) -> float | None:
        return self.samples.get((name, frozenset(labels.items())))

    def total(self, name: str) -> float:
        """The sum of a metric's samples over all their labels."""
        return sum(value for (named, _), value in self.samples.items() if named == name)


@dataclass
class Endpoints:
    """One process's /metrics, /healthz and /readyz, asked over HTTP."""

    url: str
    http: aiohttp.ClientSession

    async def fetch(self, path: str) -> tuple[int, str]:
        async with self.http.get(self.url + path) as answer:
            return answer.status, await answer.text()

    async def scrape(self) -> Scraped:
        status, text = await self.fetch("/metrics")
        assert status == 200, text
        samples = {
            (s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }
        return Scraped(samples)

    async def scrape_until(
        self, name: str, wanted: float, *, at_least: bool = False, **labels: str
    ) -> Scraped:
        """Scrapes until the sample reads `wanted` (or more): the bot counts once Discord
        answered, a little after the stand-in shows the message."""
        deadline = time.monotonic() + 15
        while True:
            scraped = await self.scrape()
            value = scraped.get(name, **labels)
            if value is not None and (value >= wanted if at_least else value == wanted):
                return scraped
            if time.monotonic() > deadline:
                return scraped
            await asyncio.sleep(0.1)  # the next scrape


@dataclass
class Running(Endpoints):
    discord: StandIn
    bot: BotProcess
    store_dir: Path
    channel: int
    reader: int
    login: Hold

    async def log_in(self) -> None:
        """The stand-in answers the held login: the bot connects."""
        self.login.release()
        await self.bot.wait_ready()


@pytest.fixture
async def running(tmp_path: Path, database: Path | str) -> AsyncIterator[Running]:
    """The bot process, its store loaded, its login held by the stand-in (`log_in`)."""
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    async with StandIn() as discord, aiohttp.ClientSession() as http:
        channel = discord.add_channel("news")
        reader = discord.add_member("reader")
        await follow_everything(database, store_dir, {channel: discord.guild_id}, actor="test")
        where = (
            {"NEWS_DATABASE_URL": database}
            if isinstance(database, str)
            else {"NEWS_DB_PATH": str(database)}
        )
        env = bot_env(
            discord,
            store_dir,
            tmp_path / "news.db",
            DISCORD_GUILD_ID=discord.guild_id,
            NEWS_POLL_SECONDS=1,
            METRICS_PORT=0,
            **where,
        )
        bot = BotProcess(env, tmp_path / "bot.log")
        login = discord.hold_answer("GET", r"^/users/@me$")
        await bot.start()
        try:
            await asyncio.wait_for(login.arrived.wait(), 30)
            served = SERVED.search(bot.log())
            assert served, bot.tail()
            yield Running(served.group(1), http, discord, bot, store_dir, channel, reader, login)
        finally:
            await BotProcess.kill_all([bot])


async def test_a_process_is_ready_once_logged_in_and_counts_what_it_does(
    running: Running, database: Path | str
) -> None:
    assert await running.fetch("/readyz") == (
        503,
        "store: loaded\ndatabase: reachable\ndiscord: not logged in\n",
    )
    assert await running.fetch("/healthz") == (200, "ok\n")  # alive, logging in
    await running.log_in()
    assert await running.fetch("/readyz") == (
        200,
        "store: loaded\ndatabase: reachable\ndiscord: logged in\n",
    )
    assert await running.fetch("/healthz") == (200, "ok\n")
    assert (await running.fetch("/nothing"))[0] == 404

    news = await running.discord.slash("news", user_id=running.reader, channel_id=running.channel)
    assert news.message is not None  # the reader got an answer

    write_article(
        running.store_dir, "quake", title="Quake shakes the coast", published=True, topics=["A"]
    )
    await running.discord.wait_for(lambda: bool(running.discord.messages(running.channel)), 15)
    assert card_title(running.discord.messages(running.channel)[0]) == "Quake shakes the coast"
    scraped = await running.scrape_until(
        "newsbot_deliveries_total", 1.0, kind="post", outcome="done"
    )

    assert scraped.get("newsbot_deliveries_total", kind="post", outcome="done") == 1.0
    assert scraped.get("newsbot_interaction_seconds_count", command="news") == 1.0
    took = scraped.get("newsbot_interaction_seconds_sum", command="news")
    assert took is not None and 0 < took < 3
    elected = isinstance(database, str)  # PostgreSQL: roles by lease, epoch 1 and up
    for role in ("scanner", "deliverer"):
        assert scraped.get("newsbot_lease_held", role=role) == 1.0
        epoch = scraped.get("newsbot_lease_epoch", role=role)
        assert epoch is not None and (epoch >= 1 if elected else epoch == 0)
    assert scraped.get("newsbot_outbox_rows", state="pending") == 0.0
    assert scraped.get("newsbot_outbox_oldest_due_seconds") == 0.0
    assert scraped.get("newsbot_follows") == 0.0
    assert scraped.get("newsbot_ready") == 1.0
    assert (scraped.get("newsbot_event_loop_blocked_seconds") or 0) < 1  # it runs
    assert (scraped.get("newsbot_search_index_generation") or 0) > 0
    assert (scraped.get("newsbot_search_index_rebuilds_total") or 0) >= 1
    assert (scraped.get("newsbot_event_loop_lag_seconds_count") or 0) > 0
    assert (scraped.get("newsbot_store_rescans_total") or 0) >= 1
    assert (scraped.get("newsbot_task_rounds_total", task="deliveries") or 0) >= 1  # the post's
    last_round = scraped.get("newsbot_task_last_round_timestamp_seconds", task="deliveries")
    assert last_round is not None and time.time() - last_round < 15
    assert scraped.get("newsbot_store_bad_files_total") == 0.0
    assert scraped.get("process_resident_memory_bytes")  # prometheus_client's own


async def test_a_post_in_flight_shows_in_the_outbox_gauges(running: Running) -> None:
    await running.log_in()
    held = running.discord.hold_answer("POST", POST)
    write_article(
        running.store_dir, "flood", title="Flood waters recede", published=True, topics=["A"]
    )
    await asyncio.wait_for(held.arrived.wait(), 15)
    waiting = await running.scrape()
    assert waiting.get("newsbot_outbox_rows", state="pending") == 1.0
    deadline = time.monotonic() + 10
    while (waiting.get("newsbot_outbox_oldest_due_seconds") or 0) < 1:
        assert time.monotonic() < deadline, "the waiting post's age never grew"
        await asyncio.sleep(0.2)  # the post ages
        waiting = await running.scrape()
    assert waiting.get("newsbot_deliveries_total", kind="post", outcome="done") is None

    held.release()
    done = await running.scrape_until("newsbot_deliveries_total", 1.0, kind="post", outcome="done")
    assert done.get("newsbot_deliveries_total", kind="post", outcome="done") == 1.0
    assert done.get("newsbot_outbox_rows", state="pending") == 0.0
    assert done.get("newsbot_outbox_oldest_due_seconds") == 0.0


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


async def test_healthz_says_when_the_event_loop_is_stuck(tmp_path: Path) -> None:
    """Answered from the server's own thread while the loop is blocked, then 200 again."""
    settings = Settings(store_dir=tmp_path, metrics_port=0)
    async with health.serving(settings, stalled_after=0.3) as watch:
        assert watch.url is not None
        url = watch.url
        assert await asyncio.to_thread(_get, url + "/healthz") == (200, "ok\n")
        seen: list[tuple[int, str]] = []

        def probe_later() -> None:
            time.sleep(0.8)  # the probe comes while the loop is stuck
            seen.append(_get(url + "/healthz"))

        probe = threading.Thread(target=probe_later)
        probe.start()
        time.sleep(1.2)  # the loop is stuck (a blocking call in a coroutine)
        probe.join()
        status, text = seen[0]
        assert status == 503 and text.startswith("event loop stalled for "), seen
        await asyncio.sleep(0.25)  # the loop runs again
        assert await asyncio.to_thread(_get, url + "/healthz") == (200, "ok\n")
        status, text = await asyncio.to_thread(_get, url + "/readyz")
        assert status == 503 and "store: not loaded yet" in text


@pytest.fixture
def own_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[PostgresServer]:
    """A PostgreSQL server of the test's own, which it may take away; the bots use it."""
    bindir = server_binaries()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found")
    with throwaway_server(bindir) as server:
        monkeypatch.setattr(botenv, "DATABASE_URL", asyncio.run(server.new_database()))
        yield server


async def test_a_database_outage_is_counted_and_timed(
    tmp_path: Path, own_server: PostgresServer
) -> None:
    """PostgreSQL only: SQLite's outage is a write lock held past its 10 s busy timeout,
    which the same supervisor (bot.delivery) counts the same way, only slower to test."""
    async with (
        StandIn() as discord,
        news_bot(tmp_path, stand_in=discord) as env,
        health.serving(dataclasses.replace(env.settings, metrics_port=0)) as watch,
        aiohttp.ClientSession() as http,
    ):
        watch.attach(env.store, env.bot)
        assert watch.url is not None
        endpoints = Endpoints(watch.url, http)
        await subscribe(env, "news")
        before = await endpoints.scrape_until("newsbot_ready", 1.0)
        errors_before = before.total("newsbot_database_errors_total")
        outage_before = before.get("newsbot_database_outage_seconds_total") or 0

        own_server.halt()
        away = await endpoints.scrape_until(
            "newsbot_database_held_back_seconds", 2.0, at_least=True
        )
        assert (away.get("newsbot_database_held_back_seconds") or 0) >= 2, away
        assert away.total("newsbot_database_errors_total") > errors_before, away
        assert away.get("newsbot_ready") == 0.0, away
        assert away.get("newsbot_outbox_rows", state="pending") is None  # not read: away
        status, text = await endpoints.fetch("/readyz")
        assert status == 503 and "database: not answering" in text, text

        own_server.resume()
        back = await endpoints.scrape_until("newsbot_database_held_back_seconds", 0.0)
        assert back.get("newsbot_database_held_back_seconds") == 0.0, back
        # The next scrape: counters are read before the gauges, and the release may have
        # fallen between the two reads of the last one.
        after = await endpoints.scrape()
        waited = (after.get("newsbot_database_outage_seconds_total") or 0) - outage_before
        assert waited >= 2, after
        assert await endpoints.fetch("/readyz") == (
            200,
            "store: loaded\ndatabase: reachable\ndiscord: logged in\n",
        )


async def test_a_port_in_use_stops_start_up_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = Settings(store_dir=tmp_path, metrics_port=port)
        with pytest.raises(ConfigError) as refused:
            async with health.serving(settings):
                pass
    assert str(refused.value).startswith(f"METRICS_PORT: cannot listen on 127.0.0.1:{port} (")


async def test_a_host_without_the_store_is_ready_once_the_scanner_loaded_it(
    tmp_path: Path, pg_url: str
) -> None:
    """PostgreSQL: a process on a host without the store folder, started before any
    scanner loaded the store, is logged in but not ready until the store is loaded."""
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    write_article(store_dir, "tide", title="High tide expected", published=True)
    async with StandIn() as discord, aiohttp.ClientSession() as http:
        env = bot_env(
            discord,
            tmp_path / "not-here",  # no store folder on this host
            tmp_path / "unused.db",
            NEWS_DATABASE_URL=pg_url,
            DISCORD_GUILD_ID=discord.guild_id,
            METRICS_PORT=0,
        )
        bot = BotProcess(env, tmp_path / "bot.log")
        await bot.start()
        try:
            await bot.wait_ready()
            served = SERVED.search(bot.log())
            assert served, bot.tail()
            endpoints = Endpoints(served.group(1), http)
            assert await endpoints.fetch("/readyz") == (
                503,
                "store: not loaded yet\ndatabase: reachable\ndiscord: logged in\n",
            )
            async with Store.open(pg_url, store_dir) as scanner:
                await scanner.folder.sync()  # what the scanner's process does at its start
            assert await endpoints.fetch("/readyz") == (
                200,
                "store: loaded\ndatabase: reachable\ndiscord: logged in\n",
            )
            scraped = await endpoints.scrape()
            assert scraped.get("newsbot_lease_held", role="scanner") == 0.0
            assert scraped.get("newsbot_lease_epoch", role="scanner") is None
        finally:
            await BotProcess.kill_all([bot])
