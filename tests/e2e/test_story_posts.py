"""A story posts once per channel, then grows in place (`/feed add updates:`), end to end.

Two article files with the same `originalUrl` and different `webUrl`s are one story. The
first is posted as ever; the second, per the feed's `updates`, is edited into the post
("More coverage": nothing new is sent, nobody pinged), replied in the post's thread
(silently, with a nonce), or posted on its own (`new`). What Discord received (requests'
JSON) and what it stores (messages, threads) are what is asserted, on both backends.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from bot.store import DeliveryState
from tests.support.botenv import NewsEnv, content, feed_add, news_bot, settled
from tests.support.helpers import card_headline, card_texts, card_title, write_article
from tests.support.stand_in import Recorded, StandIn

pytestmark = pytest.mark.usefixtures("both_backends")

WIRE = "https://wire.example.org/2024/01/01/flood-barriers-hold"  # both files' originalUrl
FIRST, LATER = "2024-01-01T12:00:00Z", "2024-01-01T15:00:00Z"
SILENT = 1 << 12
MORE = "**More coverage**"


def url_of(name: str) -> str:
    return f"https://example.com/news/{name}"


def publish(env: NewsEnv, name: str, at: str = FIRST, **fields: Any) -> None:
    """One source of the flood story: its own webUrl and provider, the wire's originalUrl."""
    fields.setdefault("title", f"Flood barriers hold, says {name}")
    fields.setdefault("provider", {"name": f"{name.title()} Times", "domain": f"{name}.example"})
    write_article(
        env.store_dir,
        name,
        published=True,
        originalUrl=WIRE,
        publishedDateTime=at,
        topics=["Climate"],
        **fields,
    )


def unpublish(env: NewsEnv, name: str, at: str = FIRST) -> None:
    """The file made a draft again (a later mtime the rescan cannot miss)."""
    write_article(
        env.store_dir,
        name,
        published=False,
        originalUrl=WIRE,
        publishedDateTime=at,
        topics=["Climate"],
        title=f"Flood barriers hold, says {name}",
        mtime=time.time() + 5,
    )


def requests(d: StandIn, method: str, path: str) -> list[Recorded]:
    return [r for r in d.requests if r.method == method and r.path == path and not r.dropped]


def body(recorded: Recorded) -> dict[str, Any]:
    assert isinstance(recorded.json, dict)
    return recorded.json


async def state(
    env: NewsEnv, name: str, channel_id: int
) -> tuple[DeliveryState | None, int | None]:
    posts = await env.store.outbox.posts(url_of(name))
    found: tuple[DeliveryState | None, int | None] = posts.get(channel_id, (None, None))
    return found


async def sent(env: NewsEnv, name: str, channel_id: int) -> int | None:
    """Once the source's row there is settled as sent: its message id (None for a source
    edited into its story's post: it has no message of its own)."""

    async def done() -> bool:
        return (await state(env, name, channel_id))[0] == DeliveryState.SENT

    await env.discord.wait_for(done, 15)
    await settled(env)
    return (await state(env, name, channel_id))[1]


async def gone(env: NewsEnv, name: str, channel_id: int) -> None:
    async def deleted() -> bool:
        return (await state(env, name, channel_id))[0] == DeliveryState.DELETED

    await env.discord.wait_for(deleted, 15)
    await settled(env)


async def why(env: NewsEnv, name: str, channel_id: int) -> str:
    """`/feed why` of the source in the channel, as the admin."""
    result = await env.discord.slash(
        "feed", {"article": name, "channel": channel_id}, subcommand="why", user_id=env.guild.admin
    )
    return content(result)


def more_coverage(message: dict[str, Any]) -> str:
    """The card's "More coverage" text ("" when it has none)."""
    return next((t for t in card_texts(message) if t.startswith(MORE)), "")


# --- edit: one post, edited -----------------------------------------------------------------


async def test_a_text_feed_edits_the_second_source_into_the_one_post(tmp_path: Path) -> None:
    async with news_bot(tmp_path) as env:
        news = env.guild.channels["news"]
        await feed_add(env, news)
        publish(env, "wire")
        post = await sent(env, "wire", news)
        publish(env, "daily", LATER)

        assert await sent(env, "daily", news) is None

        assert len(requests(env.discord, "POST", f"/channels/{news}/messages")) == 1
        [edit] = requests(env.discord, "PATCH", f"/channels/{news}/messages/{post}")
        payload = body(edit)
        assert card_headline(payload) == ("Flood barriers hold, says wire", url_of("wire"))
        more = more_coverage(payload)
        assert f"[Flood barriers hold, says daily]({url_of('daily')})" in more
        assert "Daily Times" in more and "<t:1704121200:R>" in more
        assert payload["allowed_mentions"]["parse"] == []  # pings no one
        assert "nonce" not in payload
        [shown] = env.discord.messages(news)
        assert int(shown["id"]) == post and more_coverage(shown) == more
        guild = env.discord.guild_id
        assert await why(env, "daily", news) == (
            f"**Flood barriers hold, says daily** joined its story's post in <#{news}> as more "
            f"coverage (an edit: nothing new was posted): "
            f"https://discord.com/channels/{guild}/{news}/{post}"
        )


async def test_a_later_source_of_higher_quality_leads_the_card(tmp_path: Path) -> None:
    async with news_bot(tmp_path) as env:
        news = env.guild.channels["news"]
        await feed_add(env, news)
        publish(env, "wire", quality=20)
        post = await sent(env, "wire", news)
        publish(env, "daily", LATER, quality=80)
        await sent(env, "daily", news)

        [shown] = env.discord.messages(news)
        assert int(shown["id"]) == post
        assert card_headline(shown) == ("Flood barriers hold, says daily", url_of("daily"))
        assert url_of("wire") in more_coverage(shown)
        assert url_of("daily") not in more_coverage(shown)


async def test_the_embed_and_link_styles_show_the_other_sources_too(tmp_path: Path) -> None:
    async with news_bot(tmp_path) as env:
        news, ai = env.guild.channels["news"], env.guild.channels["ai"]
        await feed_add(env, news, style="embed")
        await feed_add(env, ai, style="link")
        publish(env, "wire")
        await sent(env, "wire", news)
        await sent(env, "wire", ai)
        publish(env, "daily", LATER)
        await sent(env, "daily", news)

        [embedded] = env.discord.messages(news)
        [field] = embedded["embeds"][0]["fields"][-1:]
        assert field["name"] == "More coverage"
        assert f"[Flood barriers hold, says daily]({url_of('daily')})" in field["value"]
        [line] = env.discord.messages(ai)
        first, second = line["content"].split("\n")
        assert first.endswith(f"<{url_of('wire')}>")
        assert second == f"More coverage: Daily Times <{url_of('daily')}>"
        assert len(requests(env.discord, "POST", f"/channels/{ai}/messages")) == 1


# --- thread: a reply in the story's thread --------------------------------------------------


async def test_a_forum_gets_one_post_and_a_silent_reply_in_its_thread(tmp_path: Path) -> None:
    async with StandIn() as d, news_bot(tmp_path, stand_in=d) as env:
        forum = d.add_forum("forum", tags=["Climate"])
        role = d.add_role("Flood watch")
        await feed_add(env, forum, role=role)
        publish(env, "wire")
        thread = await sent(env, "wire", forum)
        publish(env, "daily", LATER)

        reply = await sent(env, "daily", forum)

        assert len(requests(d, "POST", f"/channels/{forum}/threads")) == 1
        [made] = d.threads(forum)
        assert int(made["id"]) == thread
        [request] = requests(d, "POST", f"/channels/{thread}/messages")
        payload = body(request)
        assert payload["nonce"] and payload["enforce_nonce"]
        assert payload["allowed_mentions"]["parse"] == [] and not payload["allowed_mentions"].get(
            "roles"
        )
        assert int(payload["flags"]) & SILENT
        assert f"<@&{role}>" not in " ".join(card_texts(payload))
        starter, answer = d.messages(thread)
        assert int(starter["id"]) == thread and int(answer["id"]) == reply
        assert card_title(answer) == "Flood barriers hold, says daily"
        link = f"https://discord.com/channels/{d.guild_id}/{thread}/{reply}"
        assert (await why(env, "daily", forum)).endswith(
            f"as a reply in its story's thread: {link}"
        )


async def test_a_text_feed_with_updates_thread_opens_the_posts_thread_first(
    tmp_path: Path,
) -> None:
    async with news_bot(tmp_path) as env:
        news = env.guild.channels["news"]
        answer = await feed_add(env, news, updates="thread")
        assert "a story's later sources as replies in its thread" in answer
        publish(env, "wire")
        post = await sent(env, "wire", news)
        publish(env, "daily", LATER)

        reply = await sent(env, "daily", news)

        opened = requests(env.discord, "POST", f"/channels/{news}/messages/{post}/threads")
        assert [body(r)["name"] for r in opened] == ["Flood barriers hold, says wire"]
        [shown] = env.discord.messages(news)
        assert int(shown["id"]) == post and not more_coverage(shown)
        [in_thread] = env.discord.messages(post)
        assert int(in_thread["id"]) == reply
        assert card_title(in_thread) == "Flood barriers hold, says daily"


async def test_a_lost_answer_to_a_reply_never_makes_two(tmp_path: Path) -> None:
    async with StandIn() as d, news_bot(tmp_path, stand_in=d) as env:
        forum = d.add_forum("forum", tags=["Climate"])
        await feed_add(env, forum)
        publish(env, "wire")
        thread = await sent(env, "wire", forum)
        assert thread is not None
        d.drop_after_commit("POST", rf"^/channels/{thread}/messages$")  # stored, unanswered
        publish(env, "daily", LATER)

        reply = await sent(env, "daily", forum)

        tries = [r for r in d.requests if r.path == f"/channels/{thread}/messages"]
        assert len(tries) >= 2 and len({body(r)["nonce"] for r in tries}) == 1
        assert [int(m["id"]) for m in d.messages(thread)] == [thread, reply]


async def test_a_source_whose_forum_post_was_deleted_by_hand_gets_a_post_of_its_own(
    tmp_path: Path,
) -> None:
    async with StandIn() as d, news_bot(tmp_path, stand_in=d) as env:
        forum = d.add_forum("forum", tags=["Climate"])
        await feed_add(env, forum)
        publish(env, "wire")
        thread = await sent(env, "wire", forum)
        assert thread is not None
        d.delete_thread(thread)  # a moderator deletes the story's post
        publish(env, "daily", LATER)

        second = await sent(env, "daily", forum)

        [made] = d.threads(forum)
        assert int(made["id"]) == second and made["name"] == "Flood barriers hold, says daily"
        assert (await state(env, "wire", forum))[0] == DeliveryState.FAILED  # lost, not paused
        assert await env.store.feeds.paused_reason(forum) is None


# --- new: a post each -----------------------------------------------------------------------


async def test_updates_new_posts_each_source(tmp_path: Path) -> None:
    async with news_bot(tmp_path) as env:
        news = env.guild.channels["news"]
        await feed_add(env, news, updates="new")
        publish(env, "wire")
        first = await sent(env, "wire", news)
        publish(env, "daily", LATER)

        second = await sent(env, "daily", news)

        assert first != second and second is not None
        shown = env.discord.messages(news)
        assert [card_title(m) for m in shown] == [
            "Flood barriers hold, says wire",
            "Flood barriers hold, says daily",
        ]
        assert not any(more_coverage(m) for m in shown)
        assert not requests(env.discord, "PATCH", f"/channels/{news}/messages/{first}")


# --- withdrawals ------------------------------------------------------------------------------


async def test_a_withdrawn_source_leaves_the_post_and_the_rest_takes_it_over(
    tmp_path: Path,
) -> None:
    async with news_bot(tmp_path) as env:
        news = env.guild.channels["news"]
        await feed_add(env, news)
        publish(env, "wire")
        post = await sent(env, "wire", news)
        publish(env, "daily", LATER)
        await sent(env, "daily", news)
        publish(env, "gazette", "2024-01-01T18:00:00Z")
        await sent(env, "gazette", news)

        unpublish(env, "daily", LATER)  # a follow-up withdrawn: the post drops it
        await gone(env, "daily", news)
        [shown] = env.discord.messages(news)
        assert url_of("daily") not in more_coverage(shown)
        assert url_of("gazette") in more_coverage(shown)

        unpublish(env, "wire")  # the lead withdrawn: the best remaining source leads

        def taken_over() -> bool:
            [shown] = env.discord.messages(news)
            return card_title(shown) == "Flood barriers hold, says gazette"

        await env.discord.wait_for(taken_over, 15)
        await settled(env)
        [shown] = env.discord.messages(news)
        assert int(shown["id"]) == post
        assert card_headline(shown) == ("Flood barriers hold, says gazette", url_of("gazette"))
        assert not more_coverage(shown)
        assert not requests(env.discord, "DELETE", f"/channels/{news}/messages/{post}")
        assert "now shows the story's other sources" in await why(env, "wire", news)

        unpublish(env, "gazette", "2024-01-01T18:00:00Z")  # nothing left: the post goes
        await gone(env, "wire", news)
        assert env.discord.messages(news) == []
        assert len(requests(env.discord, "POST", f"/channels/{news}/messages")) == 1


async def test_withdrawals_in_a_thread_delete_the_reply_or_the_post_and_its_replies(
    tmp_path: Path,
) -> None:
    async with news_bot(tmp_path) as env:
        news = env.guild.channels["news"]
        answer = await feed_add(env, news, threads=True)
        assert "each with a discussion thread" in answer
        publish(env, "wire")
        post = await sent(env, "wire", news)
        assert post is not None
        publish(env, "daily", LATER)
        await sent(env, "daily", news)
        publish(env, "gazette", "2024-01-01T18:00:00Z")
        gazette = await sent(env, "gazette", news)
        assert len(env.discord.messages(post)) == 2

        unpublish(env, "daily", LATER)  # a reply withdrawn: deleted
        await gone(env, "daily", news)
        assert [int(m["id"]) for m in env.discord.messages(post)] == [gazette]
        assert [int(m["id"]) for m in env.discord.messages(news)] == [post]

        unpublish(env, "wire")  # the story's post withdrawn: it goes, its replies with it
        await gone(env, "wire", news)
        await gone(env, "gazette", news)
        assert env.discord.messages(news) == []
        assert env.discord.messages(post) == []


# --- /feed add updates: and /feed list --------------------------------------------------------


async def test_feed_add_offers_the_three_modes_and_feed_list_shows_the_chosen_one(
    tmp_path: Path,
) -> None:
    async with news_bot(tmp_path) as env:
        news, ai = env.guild.channels["news"], env.guild.channels["ai"]
        [feed] = [c for c in env.discord.commands(env.discord.guild_id) if c["name"] == "feed"]
        [add] = [o for o in feed["options"] if o["name"] == "add"]
        [updates] = [o for o in add["options"] if o["name"] == "updates"]
        assert [c["value"] for c in updates["choices"]] == ["thread", "edit", "new"]

        await feed_add(env, news, updates="new")
        await feed_add(env, ai)
        listed = await env.discord.slash("feed", subcommand="list", user_id=env.guild.admin)
        lines = str(listed.data["embeds"][0]["description"]).splitlines()
        assert (
            f"<#{news}>: all topics · as cards · a story's later sources as posts of their own"
            in lines
        )
        assert f"<#{ai}>: all topics · as cards" in lines  # the channel's default goes unsaid

        await feed_add(env, news)  # a new /feed add without it: back to the default
        [sub] = await env.store.feeds.subscriptions(channel_id=news)
        assert sub.updates is None
