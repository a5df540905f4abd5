"""Delivery kinds end to end: forum posts, announcement crossposts, discussion threads,
`silent` and `max_per_hour`, over the Discord stand-in with the real bot and database.

Each test checks what Discord received (requests, stored threads and messages) and what
the outbox holds. Time is the outbox's injected clock and the stand-in's: an hour passes
with `advance`, not by waiting.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from bot.store import DeliveryState
from tests.support.botenv import NewsEnv, content, news_bot, settled, subscribe, two_rounds
from tests.support.helpers import card_link, card_texts, card_title, is_card, write_article
from tests.support.stand_in import Perm, Recorded, StandIn

pytestmark = pytest.mark.usefixtures("both_backends")

SILENT, CROSSPOSTED = 1 << 12, 1 << 0


class Clock:
    """The outbox's clock in a test: unix seconds that move only when told."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


def advance(env: NewsEnv, clock: Clock, seconds: float) -> None:
    """An hour (or any time) passes for the bot and for Discord alike; the poster wakes."""
    clock.now += seconds
    env.discord.advance(seconds)
    env.bot.deliveries_due.set()


async def wait_for_a_retry(env: NewsEnv, clock: Clock) -> None:
    """Until the poster has written when to try again: advancing the clock before that
    would only push the retry further out."""

    async def written() -> bool:
        due = await env.store.outbox.next_due_at()
        return due is not None and due > clock.now

    await env.discord.wait_for(written, 10)


def requests(d: StandIn, method: str, pattern: str) -> list[Recorded]:
    return [r for r in d.requests if r.method == method and re.search(pattern, r.path)]


def publish_files(env: NewsEnv, count: int, **fields: Any) -> list[str]:
    """`count` published stories, oldest first (one minute apart); their titles."""
    titles = []
    for n in range(count):
        title = f"Story {n + 1} of the day"
        write_article(
            env.store_dir,
            f"story{n + 1}",
            title=title,
            published=True,
            publishedDateTime=f"2024-01-01T12:{n:02d}:00Z",
            **fields,
        )
        titles.append(title)
    return titles


async def feed_add(env: NewsEnv, channel_id: int, **options: Any) -> str:
    result = await env.discord.slash(
        "feed", {"channel": channel_id, **options}, subcommand="add", user_id=env.guild.admin
    )
    return content(result)


def tag_names(d: StandIn, forum: int, ids: list[str]) -> list[str]:
    names = {t["id"]: t["name"] for t in d.forum_tags(forum)}
    return [names[i] for i in ids]


# --- forums --------------------------------------------------------------------------------


async def test_a_forum_gets_one_post_per_story_with_its_tags_edited_then_deleted(
    tmp_path: Path,
) -> None:
    async with StandIn() as d, news_bot(tmp_path, stand_in=d) as env:
        forum = d.add_forum(
            "news-forum",
            tags=["AI", "Space"],
            bot_allow=Perm.MANAGE_CHANNELS | Perm.MANAGE_THREADS,
        )
        answer = await feed_add(env, forum)
        assert "each as its own forum post" in answer
        path = write_article(
            env.store_dir,
            "robots",
            title="Robots @everyone " + "long " * 30,
            published=True,
            topics=["ai", "Robots", "Space"],
            excerpt="First take.",
        )
        await d.wait_for(lambda: len(d.threads(forum)) == 1)
        await settled(env)
        [thread] = d.threads(forum)
        assert len(thread["name"]) <= 100 and thread["name"].startswith("Robots @everyone")
        # "ai" matched the AI tag; "Robots" was created (the bot may manage the forum).
        assert tag_names(d, forum, thread["applied_tags"]) == ["AI", "Robots", "Space"]
        [created] = requests(d, "POST", rf"^/channels/{forum}/threads$")
        assert created.json is not None
        starter = created.json["message"]
        url = "https://example.com/news/robots"
        assert starter["allowed_mentions"] == {"parse": []}
        assert is_card(starter) and "First take." in card_texts(starter)
        assert card_link(starter) == url, "the card's buttons are the first message's too"
        assert thread["message"]["id"] == thread["id"] and is_card(thread["message"])
        assert not thread["message"]["mention_everyone"]
        assert await env.store.outbox.posts(url) == {forum: (DeliveryState.SENT, int(thread["id"]))}

        later = time.time() + 5
        fields: dict[str, Any] = {"title": "Robots", "topics": ["AI"], "mtime": later}
        write_article(env.store_dir, "robots", published=True, excerpt="Second take.", **fields)
        await d.wait_for(lambda: bool(requests(d, "PATCH", r"/messages/")))
        await settled(env)
        [edit] = requests(d, "PATCH", r"/messages/")
        assert edit.path == f"/channels/{thread['id']}/messages/{thread['id']}"
        assert edit.json is not None and is_card(edit.json)
        [still] = d.threads(forum)
        assert is_card(still["message"]) and "Second take." in card_texts(still["message"])

        result = await d.slash("unpublish", {"article": "robots"}, user_id=env.guild.moderator)
        assert content(result).startswith("Withdrew")
        await d.wait_for(lambda: not d.threads(forum))
        assert [r.path for r in requests(d, "DELETE", r"^/channels/\d+$")] == [
            f"/channels/{thread['id']}"
        ]
        await settled(env)
        assert await env.store.outbox.posts(url) == {forum: (DeliveryState.DELETED, None)}
        assert path.exists()


async def test_a_forum_that_requires_a_tag_with_none_fitting_is_paused_and_reported(
    tmp_path: Path,
) -> None:
    async with StandIn() as d, news_bot(tmp_path, stand_in=d) as env:
        forum = d.add_forum("strict", tags=["Sport"], require_tag=True)  # no Manage Channels
        await feed_add(env, forum)
        write_article(env.store_dir, "ai", title="AI news", published=True, topics=["AI"])

        async def paused() -> bool:
            return await env.store.feeds.paused_reason(forum) is not None

        await d.wait_for(paused)
        assert not d.threads(forum)
        assert not requests(d, "POST", r"/threads$") and not requests(
            d, "PATCH", r"^/channels/\d+$"
        )
        listing = await d.slash("feed", subcommand="list", user_id=env.guild.admin)
        assert "**paused**: this forum requires a tag" in listing.data["embeds"][0]["description"]
        status = await d.slash("status", user_id=env.guild.moderator)
        fields = {f["name"]: f["value"] for f in status.data["embeds"][0]["fields"]}
        assert f"<#{forum}>" in fields["Channels"] and "requires a tag" in fields["Channels"]


async def test_without_manage_channels_or_threads_no_tag_is_made_nor_thread_deleted(
    tmp_path: Path,
) -> None:
    async with StandIn() as d, news_bot(tmp_path, stand_in=d) as env:
        forum = d.add_forum("loose", tags=["Space"])
        await feed_add(env, forum)
        write_article(env.store_dir, "moon", published=True, topics=["Robots", "SPACE"])
        await d.wait_for(lambda: len(d.threads(forum)) == 1)
        [thread] = d.threads(forum)
        assert tag_names(d, forum, thread["applied_tags"]) == ["Space"]
        assert not requests(d, "PATCH", r"^/channels/\d+$")
        # Without Manage Threads, /unpublish removes the post's first message instead.
        await d.slash("unpublish", {"article": "moon"}, user_id=env.guild.moderator)
        await d.wait_for(lambda: d.threads(forum)[0]["message"] is None)
        assert not requests(d, "DELETE", r"^/channels/\d+$")  # never refused: not tried
        [deleted] = requests(d, "DELETE", r"/messages/")
        assert deleted.path == f"/channels/{thread['id']}/messages/{thread['id']}"


# --- announcement channels ---------------------------------------------------------------


async def test_announcements_are_crossposted_once_and_the_eleventh_waits_alone(
    tmp_path: Path,
) -> None:
    clock = Clock()
    async with StandIn() as d, news_bot(tmp_path, stand_in=d, clock=clock) as env:
        news = env.guild.channels["news"]
        desk = d.add_announcement("desk")
        assert "crossposted" in await feed_add(env, desk)
        await subscribe(env, "news")
        publish_files(env, 11)
        await d.wait_for(lambda: len(requests(d, "POST", r"/crosspost$")) == 11)
        await d.wait_for(lambda: len(d.messages(news)) == 11)  # the text channel never waited
        crossposts = requests(d, "POST", r"/crosspost$")
        assert [r.status for r in crossposts] == [200] * 10 + [429]
        shown = d.messages(desk)
        assert len(shown) == 11
        assert [bool(m["flags"] & CROSSPOSTED) for m in shown] == [True] * 10 + [False]
        assert (await env.store.outbox.health()).waiting == 1  # the 11th's crosspost, owed

        await wait_for_a_retry(env, clock)
        advance(env, clock, 3600)
        await d.wait_for(lambda: all(m["flags"] & CROSSPOSTED for m in d.messages(desk)))
        await settled(env)
        paths = [r.path for r in requests(d, "POST", r"/crosspost$") if r.status == 200]
        assert len(paths) == len(set(paths)) == 11  # each message crossposted once


async def test_an_already_crossposted_message_counts_as_done(tmp_path: Path) -> None:
    clock = Clock()
    async with StandIn() as d, news_bot(tmp_path, stand_in=d, clock=clock) as env:
        desk = d.add_announcement("desk")
        await feed_add(env, desk)
        d.drop_after_commit("POST", r"/crosspost$")  # done by Discord, answer lost
        publish_files(env, 1)
        await d.wait_for(lambda: any(r.dropped for r in requests(d, "POST", r"/crosspost$")))
        await wait_for_a_retry(env, clock)
        advance(env, clock, 60)  # the retry falls due
        await d.wait_for(lambda: len(requests(d, "POST", r"/crosspost$")) == 2)
        await settled(env)
        assert [r.status for r in requests(d, "POST", r"/crosspost$")] == [200, 400]
        assert d.messages(desk)[0]["flags"] & CROSSPOSTED


# --- silent, max_per_hour, threads --------------------------------------------------------


async def test_silent_posts_carry_the_suppress_notifications_flag(tmp_path: Path) -> None:
    async with news_bot(tmp_path) as env:
        d, news, ai = env.discord, env.guild.channels["news"], env.guild.channels["ai"]
        assert "silently" in await feed_add(env, news, silent=True)
        await subscribe(env, "ai")
        publish_files(env, 1)
        await d.wait_for(lambda: len(d.messages(news)) == 1 and len(d.messages(ai)) == 1)
        [quiet] = requests(d, "POST", rf"^/channels/{news}/messages$")
        [loud] = requests(d, "POST", rf"^/channels/{ai}/messages$")
        assert quiet.json is not None and loud.json is not None
        assert quiet.json["flags"] & SILENT and d.messages(news)[0]["flags"] & SILENT
        assert not loud.json.get("flags", 0) & SILENT


async def test_max_per_hour_spreads_five_stories_over_three_hours_none_dropped(
    tmp_path: Path,
) -> None:
    clock = Clock()
    async with news_bot(tmp_path, clock=clock) as env:
        d, news = env.discord, env.guild.channels["news"]
        assert "at most 2 an hour" in await feed_add(env, news, max_per_hour=2)
        titles = publish_files(env, 5)

        def shown() -> list[str]:
            return [card_title(m) for m in d.messages(news)]

        for hour, expected in enumerate((2, 4, 5)):
            if hour:
                advance(env, clock, 3600)
            await d.wait_for(lambda n=expected: len(shown()) == n)  # type: ignore[misc]
            await two_rounds(env.bot)  # and no more this hour
            assert len(shown()) == expected
        assert shown() == titles  # oldest first, every one
        await settled(env)
        states = await env.store.outbox.state_counts()
        assert states == {DeliveryState.SENT: 5}


async def test_threads_opens_a_discussion_thread_on_each_text_post(tmp_path: Path) -> None:
    async with news_bot(tmp_path) as env:
        d, news = env.discord, env.guild.channels["news"]
        assert "discussion thread" in await feed_add(env, news, threads=True)
        [title] = publish_files(env, 1)
        await d.wait_for(lambda: len(d.threads(news)) == 1)
        [message] = d.messages(news)
        [thread] = d.threads(news)
        assert thread["id"] == message["id"] and thread["name"] == title
        [opened] = requests(d, "POST", r"/threads$")
        assert opened.path == f"/channels/{news}/messages/{message['id']}/threads"
        await settled(env)
        assert (await env.store.outbox.health()).waiting == 0
