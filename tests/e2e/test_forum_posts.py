"""Forum posts that are archived, deleted, started by members, or share a headline.

Discord takes no nonce for a forum post, so a retry finds the post an earlier try made
before making one (bot.posting.find_thread): only the bot's own thread whose first message
links this very story, among active threads and then archived ones. A moderator deleting
one post loses that post only; the forum keeps getting the next stories.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from bot.store import DeliveryState
from tests.support.botenv import NewsEnv, content, news_bot, settled
from tests.support.helpers import card_link, is_card, write_article
from tests.support.stand_in import Perm, StandIn

pytestmark = pytest.mark.usefixtures("both_backends")

TITLE = "Same headline: the river peaks overnight"


def url_of(name: str) -> str:
    return f"https://example.com/news/{name}"


def forum_posts(env: NewsEnv, path: str) -> int:
    return len(
        [r for r in env.discord.requests if r.method == "POST" and r.path == path and r.status]
    )


async def follow(env: NewsEnv, forum: int) -> None:
    result = await env.discord.slash(
        "feed", {"channel": forum}, subcommand="add", user_id=env.guild.admin
    )
    assert "forum post" in content(result), result.data


def publish(env: NewsEnv, name: str, **fields: Any) -> None:
    fields.setdefault("title", TITLE)
    write_article(env.store_dir, name, published=True, topics=["Climate"], **fields)


async def sent_to(env: NewsEnv, name: str, forum: int) -> int:
    """Once the story's forum post is recorded as sent: its thread's id."""

    async def sent() -> bool:
        posts = await env.store.outbox.posts(url_of(name))
        return posts.get(forum, (None, None))[0] == DeliveryState.SENT

    await env.discord.wait_for(sent, 15)
    message_id = (await env.store.outbox.posts(url_of(name)))[forum][1]
    assert message_id is not None
    return message_id


def links(thread: dict[str, Any]) -> list[str]:
    """What a post's first message links: an embed's URL, or a card's Read button."""
    message = thread["message"] or {}
    embedded = [str(e.get("url")) for e in message.get("embeds") or []]
    return embedded + ([str(card_link(message))] if is_card(message) else [])


async def test_a_post_archived_before_the_retry_is_adopted_not_made_again(
    tmp_path: Path,
) -> None:
    async with StandIn() as d, news_bot(tmp_path, stand_in=d) as env:
        forum = d.add_forum("forum", tags=["Climate"])
        await follow(env, forum)
        threads_path = f"/channels/{forum}/threads"
        d.drop_after_commit("POST", rf"^{threads_path}$")  # made, but the answer is lost
        publish(env, "river")
        await d.wait_for(lambda: len(d.threads(forum)) == 1)
        [made] = d.threads(forum)
        d.archive_thread(int(made["id"]))  # archived before the bot tries again

        thread_id = await sent_to(env, "river", forum)

        assert thread_id == int(made["id"])
        assert [t["id"] for t in d.threads(forum)] == [made["id"]], "the post was made again"
        assert forum_posts(env, threads_path) == 1
        assert any(r.path.endswith("/threads/archived/public") for r in d.requests)


async def test_a_members_same_name_thread_linking_the_story_is_not_adopted(
    tmp_path: Path,
) -> None:
    async with StandIn() as d, news_bot(tmp_path, stand_in=d) as env:
        forum = d.add_forum("forum", tags=["Climate"])
        await follow(env, forum)
        member_thread = d.member_forum_post(forum, env.guild.reader, TITLE, links=url_of("river"))
        d.fail_next("POST", rf"^/channels/{forum}/threads$", 503)  # refused, never made
        publish(env, "river")

        thread_id = await sent_to(env, "river", forum)

        assert thread_id != member_thread
        threads = {int(t["id"]): t for t in d.threads(forum)}
        assert set(threads) == {member_thread, thread_id}
        assert int(threads[thread_id]["owner_id"]) == d.bot_user_id
        assert links(threads[thread_id]) == [url_of("river")]


async def test_two_stories_with_the_same_headline_get_a_post_each(tmp_path: Path) -> None:
    async with StandIn() as d, news_bot(tmp_path, stand_in=d) as env:
        forum = d.add_forum("forum", tags=["Climate"])
        await follow(env, forum)
        publish(env, "first")
        first = await sent_to(env, "first", forum)
        d.fail_next("POST", rf"^/channels/{forum}/threads$", 503)  # refused, never made
        publish(env, "second", publishedDateTime="2024-01-02T12:00:00Z")

        second = await sent_to(env, "second", forum)

        assert second != first, "the second story adopted the first story's post"
        threads = {int(t["id"]): links(t) for t in d.threads(forum)}
        assert threads == {first: [url_of("first")], second: [url_of("second")]}


async def test_a_deleted_forum_post_is_lost_and_the_forum_gets_the_next_story(
    tmp_path: Path,
) -> None:
    async with StandIn() as d, news_bot(tmp_path, stand_in=d) as env:
        forum = d.add_forum("forum", tags=["Climate"], bot_allow=Perm.MANAGE_THREADS)
        await follow(env, forum)
        publish(env, "river", title="The river peaks")
        thread_id = await sent_to(env, "river", forum)
        d.delete_thread(thread_id)  # a moderator deletes the post
        publish(env, "river", title="The river peaks: edited", mtime=time.time() + 5)

        async def lost() -> bool:
            posts = await env.store.outbox.posts(url_of("river"))
            return posts[forum][0] == DeliveryState.FAILED

        await d.wait_for(lost, 15)
        publish(env, "bridge", title="The bridge reopens", publishedDateTime="2024-01-02T00:00:00Z")

        await sent_to(env, "bridge", forum)
        [thread] = d.threads(forum)
        assert thread["name"] == "The bridge reopens"
        assert links(thread) == [url_of("bridge")]
        await settled(env)
        health = await env.store.outbox.health()
        [channel] = [c for c in health.channels if c.channel_id == forum]
        assert channel.paused_reason is None
