"""The delivery engine's parts that know no post: `classify` and `supervise`.

`classify` is what every delivery step (post, edit, deletion, crosspost, thread, digest)
asks of a failed request; `supervise` keeps every background task alive and counts the
rounds it completes (`bot.rounds`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import discord
import pytest
from prometheus_client import REGISTRY

from bot import answers, posting
from bot.delivery import RESTARTS, Action, HeldBack, Verdict, classify, supervise
from bot.errors import ArticleNotFound, DeskUnavailable
from bot.rounds import Rounds
from bot.store import LeaseLost, Role, Store


def http(exc: type[discord.HTTPException], status: int, code: int = 0, text: str = "no"):
    """The exception discord.py raises for one answer of Discord's."""
    response = SimpleNamespace(status=status, reason="Bad Request", headers={})
    return exc(response, {"code": code, "message": text})


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ArticleNotFound("gone"), Verdict(Action.LOST, "the article no longer exists")),
        (posting.TagRequired(), Verdict(Action.PAUSE, answers.FORUM_NEEDS_A_TAG)),
        (discord.RateLimited(3599.5), Verdict(Action.WAIT, "rate limited for 3600 s", 3599.5)),
        (
            http(discord.NotFound, 404, 10008, "Unknown Message"),
            Verdict(Action.LOST, "message no longer exists"),
        ),
        (
            http(discord.NotFound, 404, 10003, "Unknown Channel"),
            Verdict(Action.PAUSE, "channel not found (deleted, or the bot was removed)"),
        ),
        (
            http(discord.Forbidden, 403, 50013, "Missing Permissions"),
            Verdict(Action.PAUSE, "missing permission (403: Missing Permissions)"),
        ),
        (
            http(discord.HTTPException, 429, 0, "slow down"),
            Verdict(Action.RETRY, "Discord 429: slow down"),
        ),
        (
            http(discord.DiscordServerError, 503, 0, "unavailable"),
            Verdict(Action.RETRY, "Discord 503: unavailable"),
        ),
        (
            http(discord.HTTPException, 400, posting.TAG_REQUIRED, "tag"),
            Verdict(Action.PAUSE, answers.FORUM_NEEDS_A_TAG),
        ),
        (
            http(discord.HTTPException, 400, 50035, "Invalid Form Body"),
            Verdict(
                Action.GIVE_UP,
                "Discord refused it: 400 Bad Request (error code: 50035): Invalid Form Body",
            ),
        ),
        (
            aiohttp.ClientConnectionError("reset"),
            Verdict(Action.RETRY, "connection error: ClientConnectionError('reset')"),
        ),
        (TimeoutError(), Verdict(Action.RETRY, "connection error: TimeoutError()")),
        (
            ConnectionResetError("peer"),
            Verdict(Action.RETRY, "connection error: ConnectionResetError('peer')"),
        ),
        (
            discord.ClientException("channel 5 is no longer a forum"),
            Verdict(Action.GIVE_UP, "channel 5 is no longer a forum"),
        ),
        (DeskUnavailable("down"), None),  # not the step's own outcome: the supervisor's
        (LeaseLost(Role.DELIVERER), None),
        (ValueError("a bug"), None),
    ],
)
def test_classify_says_what_each_failure_means(
    exc: BaseException, expected: Verdict | None
) -> None:
    assert classify(exc) == expected


def test_unknown_channel_in_a_forum_posts_own_thread_is_a_lost_post() -> None:
    """The thread is the post: deleted by hand, that post is lost and the forum goes on;
    the same answer for the forum itself pauses it."""
    gone = http(discord.NotFound, 404, 10003, "Unknown Channel")
    assert classify(gone, in_own_thread=True) == Verdict(Action.LOST, "the post no longer exists")
    assert classify(gone).action == Action.PAUSE  # type: ignore[union-attr]


async def test_a_supervised_task_that_raises_is_logged_and_restarted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    runs: list[int] = []
    done = asyncio.Event()

    async def iteration() -> float:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("the first round breaks")
        done.set()
        return 3600.0

    before = RESTARTS["test-task"]
    task = asyncio.create_task(supervise("test-task", iteration, HeldBack(time.time)))
    await asyncio.wait_for(done.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert runs == [0, 1]
    assert RESTARTS["test-task"] == before + 1
    [failed] = [r for r in caplog.records if r.getMessage() == "supervised task test-task failed"]
    assert failed.exc_info is not None and "the first round breaks" in str(failed.exc_info[1])
    assert f"supervised task test-task restarted ({before + 1})" in caplog.messages


async def test_only_a_completed_round_is_counted_and_a_wait_for_two_needs_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A round the database refused is no round; a wait returns once the rounds it asked
    for ended, and Prometheus reads the same count and when the last one ended."""
    monkeypatch.setattr("bot.delivery.HELD_RETRY", 0.01)
    rounds, go, runs = Rounds(), asyncio.Event(), [0]

    async def iteration() -> float:
        runs[0] += 1
        if runs[0] == 1:
            raise DeskUnavailable("connection refused")
        await go.wait()
        go.clear()
        return 0.0

    task = asyncio.create_task(
        supervise("counted-task", iteration, HeldBack(time.time), rounds=rounds)
    )
    two = asyncio.create_task(rounds.wait_past("counted-task", 2))
    while runs[0] < 2:  # the refused round, then the next, waiting for `go`
        await asyncio.sleep(0.01)
    assert rounds.count("counted-task") == 0 and not two.done()
    go.set()
    await asyncio.wait_for(rounds.wait_past("counted-task", 1), 5)
    assert not two.done()
    go.set()
    await asyncio.wait_for(two, 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    labels = {"task": "counted-task"}
    assert REGISTRY.get_sample_value("newsbot_task_rounds_total", labels) == 2.0
    last = REGISTRY.get_sample_value("newsbot_task_last_round_timestamp_seconds", labels)
    assert last is not None and time.time() - last < 5


async def test_a_lost_lease_is_no_failure_the_next_round_runs_at_once() -> None:
    runs: list[int] = []
    again = asyncio.Event()

    async def iteration() -> float:
        runs.append(len(runs))
        if len(runs) == 1:
            raise LeaseLost(Role.DELIVERER)
        again.set()
        return 3600.0

    task = asyncio.create_task(supervise("lease-task", iteration, HeldBack(time.time)))
    await asyncio.wait_for(again.wait(), 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert runs == [0, 1] and RESTARTS["lease-task"] == 0


async def test_a_database_away_holds_a_task_back_and_its_return_releases_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    held = HeldBack(lambda: 1_000_000.0)
    away = [3]
    back = asyncio.Event()

    async def iteration() -> float:
        if away[0]:
            away[0] -= 1
            raise DeskUnavailable("connection refused")
        back.set()
        return 3600.0

    task = asyncio.create_task(supervise("held-task", iteration, held))
    await asyncio.sleep(0.05)  # the first round has met the outage
    assert held.since == 1_000_000.0
    state = held.state()
    assert state is not None and state.reason == "connection refused"
    await asyncio.wait_for(back.wait(), 15)
    await asyncio.sleep(0)  # released as soon as a round succeeds, before its pause
    assert held.since is None
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert held.since is None and held.state() is None
    said = [m for m in caplog.messages if m.startswith("delivery held back since")]
    assert said == [
        "delivery held back since 13:46:40 UTC: the database is unreachable (connection refused)"
    ]  # three failed rounds, said once
    assert RESTARTS["held-task"] == 0


async def test_a_held_task_waiting_for_its_lease_is_still_said_held_back_each_minute(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the outage took its lease, a round waits for it without failing: the log must
    still say, once a minute, that delivery is held back."""
    monkeypatch.setattr("bot.delivery.HELD_LOG_EVERY", 0.3)
    monkeypatch.setattr("bot.delivery.HELD_RETRY", 0.01)
    lease = asyncio.Event()
    rounds: list[int] = []

    async def iteration() -> float:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise DeskUnavailable("connection refused")
        await lease.wait()  # the lease comes back with the database
        return 3600.0

    held = HeldBack(time.time)
    task = asyncio.create_task(supervise("waiting-task", iteration, held))
    await asyncio.sleep(1.0)  # past HELD_LOG_EVERY: the wait is said again
    assert held.since is not None
    lease.set()
    await asyncio.sleep(0.05)  # the round, its lease back, ends
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    said = [m for m in caplog.messages if m.startswith("delivery held back since")]
    assert 3 <= len(said) <= 5, said  # at 0, then every 0.3 s of the 1 s waited
    assert held.since is None


async def test_the_store_clock_on_postgresql_is_the_servers_whatever_the_hosts(
    pg_url: str, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host an hour ahead writes outbox times by the database's clock: measured at open."""
    real = time.time
    monkeypatch.setattr("bot.store.postgres.time.time", lambda: real() + 3600)
    async with Store.open(pg_url, store_dir) as store:
        server = await store.db.clock()
        assert abs(store.clock() - server) < 1.0
        assert abs(store.clock() - real()) < 1.0  # the server runs on this machine's clock
