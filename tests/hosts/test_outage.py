"""The database away for 20 s while the real bot runs: delivery is held back, not stopped.

On PostgreSQL the test's own server is stopped (`pg_ctl stop -m immediate`) and started
again on the same port; on SQLite another process holds the file's write lock
(`BEGIN IMMEDIATE`) for as long. Meanwhile a story is dropped into the store folder, a
reader asks /news and a moderator /status. The story must reach its channel exactly once
within 10 s of the database's return, with nothing restarted by hand. A moderator's
/publish meanwhile must not say it published what it could not record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot import answers
from bot.bot import APOLOGY
from bot.errors import DeskUnavailable
from tests.support import botenv, helpers
from tests.support.botenv import NewsEnv, content, news_bot, subscribe, two_rounds
from tests.support.helpers import card_title, write_article
from tests.support.postgres import PostgresServer, server_binaries
from tests.support.stand_in import InteractionNotAnswered, StandIn

OUTAGE = 20.0
RESUMED_WITHIN = 10.0
BEFORE = "Harbour reopens after the storm"
DURING = "Ferries run again on every route"
DRAFT = "Bridge inspection finds no damage"
HOLD_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()  # until the test closes our stdin (or kills us)
"""


@dataclass
class Outage:
    """Takes the database away and brings it back, as the backend allows."""

    backend: str
    server: PostgresServer | None = None
    db_path: Path | None = None
    holder: subprocess.Popen[str] | None = None

    def begin(self) -> None:
        if self.server is not None:
            self.server.halt()
            return
        self.holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOCK, str(self.db_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.holder.stdout is not None
        assert self.holder.stdout.readline().strip() == "locked"

    def end(self) -> None:
        if self.server is not None:
            self.server.resume()
        elif self.holder is not None:
            self.holder.kill()
            self.holder.wait(10)
            self.holder = None


@pytest.fixture(params=("sqlite", "postgresql"))
def outage(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Outage]:
    """A backend the test may take away: on PostgreSQL a server of its own."""
    if request.param == "sqlite":
        out = Outage("sqlite", db_path=tmp_path / "news.db")
        yield out
        out.end()
        return
    bindir = server_binaries()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found")
    server = PostgresServer(bindir)
    try:
        server.start()
        asyncio.run(server.make_template())
        monkeypatch.setattr(botenv, "DATABASE_URL", asyncio.run(server.new_database()))
        yield Outage("postgresql", server=server)
    finally:
        server.stop()


@contextlib.asynccontextmanager
async def running(tmp_path: Path) -> AsyncIterator[NewsEnv]:
    (tmp_path / "store").mkdir()
    write_article(tmp_path / "store", "draft", title=DRAFT, published=False)
    async with StandIn() as d, news_bot(tmp_path, stand_in=d) as env:
        yield env


def titles(env: NewsEnv) -> list[str]:
    return [card_title(m) for m in env.discord.messages(env.guild.channels["news"])]


def status_fields(result: Any) -> dict[str, str]:
    """The /status embed's fields; none when it answered in words (briefly unavailable)."""
    shown = result.data.get("embeds") or [{}]
    return {f["name"]: f["value"] for f in shown[0].get("fields", [])}


async def test_posting_is_held_back_while_the_database_is_away_and_resumes_once(
    outage: Outage, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running(tmp_path) as env:
        d = env.discord
        await subscribe(env, "news")
        write_article(env.store_dir, "before", title=BEFORE, published=True)
        await d.wait_for(lambda: titles(env) == [BEFORE], 10)

        # off the event loop: the bot may be inside a write transaction the holder waits for
        await asyncio.to_thread(outage.begin)
        began = time.monotonic()
        write_article(env.store_dir, "during", title=DURING, published=True)

        async def held_back() -> bool:
            status = await d.slash("status", user_id=env.guild.moderator)
            return "held back" in status_fields(status).get("Delivery", "")

        # SQLite: a write waits busy_timeout (10 s) for the lock, maybe behind another's
        await d.wait_for(held_back, 25)
        status = await d.slash("status", user_id=env.guild.moderator)
        delivery = status_fields(status)["Delivery"]
        assert delivery.startswith("**held back** since <t:")
        assert "the database is unreachable" in delivery

        news = await d.slash("news", user_id=env.guild.reader)
        if outage.backend == "postgresql":  # nothing can be read: the reader is told so
            assert content(news) == answers.error_text(DeskUnavailable("any"))
            typed = await d.autocomplete(
                "article", {"article": "Bef"}, "article", user_id=env.guild.reader
            )
            assert typed == []  # offered nothing, and no traceback logged for it
        else:  # WAL: readers read beside a held write lock
            assert content(news) != APOLOGY
            assert f"[{BEFORE}](" in "\n".join(helpers.card_texts(news.data))
        try:
            published = await d.slash("publish", {"article": "draft"}, user_id=env.guild.moderator)
            said = content(published)
        except InteractionNotAnswered:  # waiting for the lock outlasted the interaction
            said = ""
        assert "Published" not in said and "posting it" not in said, said

        churn = 0
        while time.monotonic() < began + OUTAGE:  # file events keep coming meanwhile
            churn += 1
            write_article(env.store_dir, "churn", title=f"Churn {churn}", published=False)
            await asyncio.sleep(min(1.0, max(0.0, began + OUTAGE - time.monotonic())))
        assert titles(env) == [BEFORE]  # nothing could be recorded: nothing was sent
        await asyncio.to_thread(outage.end)
        back = time.monotonic()
        await d.wait_for(lambda: DURING in titles(env), RESUMED_WITHIN + 5)
        assert time.monotonic() - back <= RESUMED_WITHIN
        await two_rounds(env.bot, "store rescan", "deliveries")  # anything doubled is here
        # SQLite: the file was flipped before the lock refused the write; it is posted now
        later = [DURING, DRAFT] if outage.backend == "sqlite" else [DURING]
        shown = titles(env)
        assert shown[0] == BEFORE and sorted(shown[1:]) == sorted(later), shown  # each once

        status = await d.slash("status", user_id=env.guild.moderator)
        assert "Delivery" not in status_fields(status)
        held = [r for r in caplog.records if "delivery held back since" in r.getMessage()]
        assert len(held) == 1  # once a minute, not at every retry
        assert any("delivery resumed" in r.getMessage() for r in caplog.records)
        assert not [r for r in caplog.records if "supervised task" in r.getMessage()]
        warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len([m for m in warned if "unreachable:" in m]) <= 1, warned  # not every retry
        assert not [m for m in warned if "could not renew" in m], warned
        assert not [r for r in caplog.records if r.exc_info], "no traceback for an outage"
        assert len([m for m in warned if "store files postponed" in m]) <= 1, warned
