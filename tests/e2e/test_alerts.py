"""Alerts by DM, end to end over the stand-in, on both backends: a member's follow, a story
published, one DM with its card (nonce enforced), edited and deleted with the story; a
crash between the send and its record; the hourly pacing and its "N more stories"; closed
DMs pausing the follows until /follow again."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.store import AlertState
from tests.support.botenv import NewsEnv, content, news_bot
from tests.support.helpers import write_article
from tests.support.stand_in import StandIn

pytestmark = pytest.mark.usefixtures("both_backends")

HOUR = 3600


def dm_posts(d: StandIn, user_id: int) -> list[Any]:
    """The message creations the bot asked of its DM channel with the user."""
    channel = d.dm_channel_id(user_id)
    return [
        r
        for r in d.requests
        if channel is not None and r.method == "POST" and r.path == f"/channels/{channel}/messages"
    ]


def dm_requests(d: StandIn, user_id: int, method: str) -> list[Any]:
    channel = d.dm_channel_id(user_id)
    return [
        r
        for r in d.requests
        if channel is not None
        and r.method == method
        and r.path.startswith(f"/channels/{channel}/messages/")
    ]


def texts(message: dict[str, Any]) -> str:
    """Every text display of a card, joined."""
    found: list[str] = []

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            if item.get("type") == 10:
                found.append(str(item.get("content", "")))
            walk(item.get("components") or [])

    walk(message.get("components") or [])
    return "\n".join(found)


def drafts(folder: Path, count: int, **fields: Any) -> None:
    """Stories s1..sN about AI, drafts until a test publishes them."""
    folder.mkdir(exist_ok=True)
    for n in range(1, count + 1):
        values: dict[str, Any] = {
            "title": f"AI story number {n}",
            "excerpt": f"The excerpt of story {n}.",
            "topics": ["AI"],
        }
        write_article(folder, f"s{n}", **(values | fields))
    write_article(folder, "other", title="Gardening today", topics=["Gardens"], published=True)


async def follow(env: NewsEnv, user: int, **options: str) -> str:
    result = await env.discord.slash("follow", options, user_id=user)
    assert result.ephemeral, result.data
    return content(result)


async def test_a_follow_gets_one_dm_edited_then_deleted_with_the_story(tmp_path: Path) -> None:
    drafts(tmp_path / "store", 1, excerpt="The first excerpt.")
    async with news_bot(tmp_path) as env:
        d, reader, moderator = env.discord, env.guild.reader, env.guild.moderator
        said = await follow(env, reader, query='"story number" ai -gardening')
        assert "You now follow the search `ai story-number -gardening`" in said
        await env.store.publishing.publish("s1", "test")
        await d.wait_for(lambda: len(d.dms(reader)) == 1, 10)
        [dm] = d.dms(reader)
        assert "AI story number 1" in texts(dm) and "The first excerpt." in texts(dm)
        [post] = dm_posts(d, reader)
        assert post.json["nonce"] and post.json["enforce_nonce"] is True
        assert post.json["allowed_mentions"] == {"parse": []}
        assert d.dms(moderator) == []  # who follows nothing gets nothing

        # Edited: the DM is edited in place.
        path = write_article(
            env.store_dir,
            "s1",
            title="AI story number 1",
            topics=["AI"],
            excerpt="A fresh excerpt.",
            published=True,
        )
        later = time.time() + 5
        os.utime(path, (later, later))
        await d.wait_for(lambda: bool(dm_requests(d, reader, "PATCH")), 10)
        await d.wait_for(lambda: "A fresh excerpt." in texts(d.dms(reader)[0]), 10)
        [again] = d.dms(reader)
        assert again["id"] == dm["id"] and len(dm_posts(d, reader)) == 1

        # Unpublished: the DM is deleted.
        await env.store.publishing.unpublish("s1", "test")
        await d.wait_for(lambda: d.dms(reader) == [], 10)
        alerts = await env.store.alerts.of(reader)
        assert [state for state, _ in alerts.values()] == [AlertState.DELETED]


async def test_a_crash_between_the_dm_and_its_record_still_makes_one_dm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drafts(tmp_path / "store", 1)
    write_article(tmp_path / "store", "seed-ai", title="AI seed", topics=["AI"], published=True)
    async with news_bot(tmp_path) as env:
        d, reader = env.discord, env.guild.reader
        assert "You now follow the topic **AI**" in await follow(env, reader, topic="AI")
        real_done = env.store.alerts.done
        crashes: list[int] = []

        async def crash_once(alerts: Any, message_id: int | None) -> None:
            if not crashes:
                crashes.append(1)
                raise RuntimeError("the process died right after Discord answered")
            await real_done(alerts, message_id)

        monkeypatch.setattr(env.store.alerts, "done", crash_once)
        await env.store.publishing.publish("s1", "test")
        await d.wait_for(lambda: len(dm_posts(d, reader)) == 2, 15)
        await d.wait_for(lambda: _sent(env, reader, "s1"), 10)
        posts = dm_posts(d, reader)
        assert len({p.json["nonce"] for p in posts}) == 1  # the same nonce, enforced
        assert len(d.dms(reader)) == 1


async def _sent(env: NewsEnv, reader: int, name: str) -> bool:
    alerts = await env.store.alerts.of(reader)
    state = alerts.get(f"https://example.com/news/{name}")
    return state is not None and state[0] == AlertState.SENT


def sent_cards(d: StandIn, user: int, count: int) -> Callable[[], bool]:
    return lambda: len(d.dms(user)) == len(dm_posts(d, user)) == count


def recorded(env: NewsEnv, user: int, name: str) -> Callable[[], Awaitable[bool]]:
    return lambda: _sent(env, user, name)


async def test_the_sixth_alert_in_an_hour_waits_and_arrives_batched(tmp_path: Path) -> None:
    drafts(tmp_path / "store", 7)
    write_article(tmp_path / "store", "seed-ai", title="Seed", topics=["AI"], published=True)
    now = [1_800_000_000.0]
    async with news_bot(tmp_path, clock=lambda: now[0]) as env:
        d, reader = env.discord, env.guild.reader
        await follow(env, reader, topic="AI")
        for n in range(1, 6):
            await env.store.publishing.publish(f"s{n}", "test")
            await d.wait_for(sent_cards(d, reader, n), 10)
            await d.wait_for(recorded(env, reader, f"s{n}"), 10)  # its slot is counted
            now[0] += 60
        await env.store.publishing.publish("s6", "test")
        await env.store.publishing.publish("s7", "test")

        async def both_wait() -> bool:
            """Both queued, and both waiting their turn (nothing due before the hour)."""
            alerts = await env.store.alerts.of(reader)
            states = [alerts.get(f"https://example.com/news/s{n}") for n in (6, 7)]
            due = await env.store.alerts.next_due_at()
            queued = all(s is not None and s[0] == AlertState.PENDING for s in states)
            return queued and due is not None and due > now[0]

        await d.wait_for(both_wait, 10)
        await d.wait_for(lambda: len(dm_posts(d, reader)) == 5, 2)
        assert len(d.dms(reader)) == 5  # nothing more this hour

        now[0] += HOUR  # the first DM of the hour is an hour old: a slot is free
        env.store.alerts.on_work()
        await d.wait_for(lambda: len(d.dms(reader)) == 6, 10)
        batch = d.dms(reader)[-1]
        assert "2 more stories for your follows" in texts(batch)
        assert "AI story number 6" in texts(batch) and "AI story number 7" in texts(batch)
        alerts = await env.store.alerts.of(reader)
        assert {alerts[f"https://example.com/news/s{n}"][0] for n in range(1, 8)} == {
            AlertState.SENT
        }
        assert len(dm_posts(d, reader)) == 6

        # A story of the batch withdrawn: the batch is redrawn without it; the last one
        # withdrawn: the batch's message is deleted.
        await env.store.publishing.unpublish("s6", "test")
        await d.wait_for(lambda: "AI story number 6" not in texts(d.dms(reader)[-1]), 10)
        assert "1 more story for your follows" in texts(d.dms(reader)[-1])
        assert "AI story number 7" in texts(d.dms(reader)[-1])
        await env.store.publishing.unpublish("s7", "test")
        await d.wait_for(lambda: len(d.dms(reader)) == 5, 10)
        assert len(dm_posts(d, reader)) == 6  # nothing was sent again


async def test_closed_dms_pause_the_follows_until_follow_again(tmp_path: Path) -> None:
    drafts(tmp_path / "store", 2)
    write_article(tmp_path / "store", "seed-ai", title="Seed", topics=["AI"], published=True)
    async with news_bot(tmp_path) as env:
        d, reader = env.discord, env.guild.reader
        await follow(env, reader, topic="AI")
        d.close_dms(reader)
        await env.store.publishing.publish("s1", "test")
        await d.wait_for(lambda: [p.status for p in dm_posts(d, reader)] == [403], 10)

        async def paused() -> bool:
            return all(f.paused_reason for f in await env.store.follows.of(reader))

        await d.wait_for(paused, 10)
        assert await env.store.alerts.of(reader) == {}  # its pending alert was dropped
        listing = await d.slash("following", user_id=reader)
        assert listing.ephemeral and "Paused" in content(listing)
        assert "DMs are closed" in content(listing)

        d.open_dms(reader)
        said = await follow(env, reader, topic="AI")
        assert "already follow" in said and "resumed" in said
        assert not any(f.paused_reason for f in await env.store.follows.of(reader))
        await env.store.publishing.publish("s2", "test")
        await d.wait_for(lambda: len(d.dms(reader)) == 1, 10)
        assert "AI story number 2" in texts(d.dms(reader)[0])


async def test_a_title_with_mentions_and_markdown_is_matched_as_text_and_pings_no_one(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    title = "@everyone **Chips** <@123> ship"
    write_article(folder, "loud", title=title, topics=["Hardware"])
    async with news_bot(tmp_path) as env:
        d, reader = env.discord, env.guild.reader
        said = await follow(env, reader, query="everyone chips -crypto")
        assert "`chips everyone -crypto`" in said
        await env.store.publishing.publish("loud", "test")
        await d.wait_for(lambda: len(d.dms(reader)) == 1, 10)
        [post] = dm_posts(d, reader)
        assert post.json["allowed_mentions"] == {"parse": []}
        shown = texts(d.dms(reader)[0])
        assert "@everyone" not in shown.replace("@\u200beveryone", "")  # neutralised
        assert "**Chips**" not in shown  # escaped, shown as typed
