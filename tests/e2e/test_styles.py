"""Each feed's style (card | embed | link), end to end and at the store's level.

A post is what Discord received: the request's JSON (the IS_COMPONENTS_V2 flag, no content
or embeds beside it, the container's accent colour, the timestamp markup, who may be
pinged) and the message the stand-in stored. Every test runs on SQLite and PostgreSQL.

The rules: a new feed (and digest) is a card; one made before cards keeps `embed` after the
upgrade; a post keeps the style it was made in (an edit of a card is a card), and a feed's
new style applies to its new posts (and to a story posted again after its post was gone).
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot import cards, embeds
from bot.articles import parse_article_bytes
from bot.config import Settings
from bot.digest import Every
from bot.store import DeliveryState, DigestState, Store, Style
from tests.support.botenv import (
    NewsEnv,
    content,
    feed_add,
    news_bot,
    populate,
    settings_for,
    settled,
    start_bot,
    two_rounds,
)
from tests.support.helpers import (
    CONTAINER,
    IS_COMPONENTS_V2,
    TEXT_DISPLAY,
    article_text,
    card_container,
    card_headline,
    card_link,
    card_texts,
    card_thumbnails,
    card_title,
    is_card,
    undo_cards_schema,
    write_article,
)
from tests.support.stand_in import Recorded, StandIn

V2, SILENT, CROSSPOSTED = IS_COMPONENTS_V2, 1 << 12, 1 << 0
WHEN = "2024-01-01T12:00:00Z"
UNIX = 1704110400  # WHEN, as Discord's timestamp markup shows it
E2E = pytest.mark.usefixtures("both_backends")


def url_of(name: str) -> str:
    return f"https://example.com/news/{name}"


def requests(d: StandIn, method: str, path: str) -> list[Recorded]:
    """Requests to exactly this path (answered or not)."""
    return [r for r in d.requests if r.method == method and r.path == path]


def body(recorded: Recorded) -> dict[str, Any]:
    assert isinstance(recorded.json, dict)
    return recorded.json


async def feed_list(env: NewsEnv) -> list[str]:
    listed = await env.discord.slash("feed", subcommand="list", user_id=env.guild.admin)
    return str(listed.data["embeds"][0]["description"]).splitlines()


def publish(env: NewsEnv, name: str, **fields: Any) -> Path:
    fields.setdefault("publishedDateTime", WHEN)
    return write_article(env.store_dir, name, published=True, **fields)


def rewrite(env: NewsEnv, name: str, **fields: Any) -> None:
    """The story's file changes (a later mtime the rescan cannot miss)."""
    publish(env, name, mtime=time.time() + 5, **fields)


async def sent(env: NewsEnv, name: str, channel_id: int) -> int:
    """Once the story's post there is recorded as sent: its message id."""

    async def recorded() -> bool:
        posts = await env.store.outbox.posts(url_of(name))
        return posts.get(channel_id, (None, None))[0] == DeliveryState.SENT

    await env.discord.wait_for(recorded, 15)
    message_id = (await env.store.outbox.posts(url_of(name)))[channel_id][1]
    assert message_id is not None
    return message_id


def no_content_nor_embeds(payload: dict[str, Any]) -> bool:
    """With the V2 flag, Discord takes neither: absent (discord.py sends content as null)."""
    return payload.get("content") is None and payload.get("embeds") in (None, [])


# --- each style's post ---------------------------------------------------------------------


@E2E
async def test_a_card_is_one_v2_container_with_its_colour_and_time_pinging_only_the_role(
    tmp_path: Path,
) -> None:
    async with news_bot(tmp_path) as env:
        d, news, ai = env.discord, env.guild.channels["news"], env.guild.channels["ai"]
        role = env.guild.mod_role
        assert ", as cards," in await feed_add(env, news, role=role)  # a new feed: cards
        await feed_add(env, ai)
        publish(
            env,
            "robots",
            title="Robots @everyone <@&123>",
            topics=["AI", "Robots"],
            excerpt="First take.",
        )
        await d.wait_for(lambda: len(d.messages(news)) == len(d.messages(ai)) == 1, 10)

        [pinged] = requests(d, "POST", f"/channels/{news}/messages")
        payload = body(pinged)
        assert payload["flags"] == V2  # the flag alone: not silent
        assert no_content_nor_embeds(payload)
        assert payload["allowed_mentions"] == {"parse": [], "roles": [role]}
        ping, container = payload["components"]
        assert ping == {"type": TEXT_DISPLAY, "content": f"<@&{role}>"}  # above the card
        assert container["type"] == CONTAINER
        assert container["accent_color"] == cards.accent(["AI"]).value == cards.accent(["ai"]).value
        assert container["accent_color"] != embeds.BRAND_COLOUR.value
        title, linked = card_headline(payload)
        assert linked == url_of("robots") and card_link(payload) == url_of("robots")
        assert "everyone" in title and "@everyone" not in title and "<@&123>" not in title
        headline = container["components"][0]["content"]
        assert f"<t:{UNIX}:f>" in headline and f"<t:{UNIX}:R>" in headline
        assert "First take." in card_texts(payload)
        assert payload["enforce_nonce"] is True and payload["nonce"]

        [message] = d.messages(news)  # what Discord stored: the card, flag and all
        assert message["flags"] & V2 and is_card(message) and message["content"] == ""
        assert message["components"] == payload["components"] and message["embeds"] == []
        assert message["mention_roles"] == [str(role)] and not message["mention_everyone"]

        # Without a role, nobody: no ping above the card.
        [quiet] = requests(d, "POST", f"/channels/{ai}/messages")
        assert body(quiet)["allowed_mentions"] == {"parse": []}
        assert [c["type"] for c in body(quiet)["components"]] == [CONTAINER]
        assert card_container(body(quiet)) == container
        [unpinged] = d.messages(ai)
        assert unpinged["mention_roles"] == [] and not unpinged["mention_everyone"]


@E2E
async def test_a_cards_picture_is_its_thumbnail(tmp_path: Path) -> None:
    picture = "https://img.example/robots.jpg"
    fields: dict[str, Any] = {"images": [{"url": picture, "width": 800, "height": 600}]}
    if parse_article_bytes(article_text("p", **fields).encode(), "p.txt").image is None:
        pytest.skip("this checkout does not read an article's `images` yet")
    async with news_bot(tmp_path) as env:
        d, news = env.discord, env.guild.channels["news"]
        await feed_add(env, news)
        publish(env, "robots", **fields)
        await d.wait_for(lambda: len(d.messages(news)) == 1, 10)
        [post] = requests(d, "POST", f"/channels/{news}/messages")
        assert card_thumbnails(body(post)) == [picture]


@E2E
async def test_an_embed_feed_posts_exactly_todays_embed_and_buttons(tmp_path: Path) -> None:
    async with news_bot(tmp_path) as env:
        d, news, role = env.discord, env.guild.channels["news"], env.guild.mod_role
        assert ", as embeds," in await feed_add(env, news, role=role, style="embed")
        publish(env, "robots", topics=["AI"])
        await d.wait_for(lambda: len(d.messages(news)) == 1, 10)
        article = await env.store.articles.get("robots")
        [post] = requests(d, "POST", f"/channels/{news}/messages")
        payload = body(post)
        assert not payload.get("flags", 0) & V2
        assert payload["content"] == f"<@&{role}>"
        assert payload["embeds"] == [embeds.article_embed(article).to_dict()]
        assert payload["components"] == embeds.article_view(article).to_components()
        assert payload["allowed_mentions"] == {"parse": [], "roles": [role]}
        [message] = d.messages(news)
        assert message["mention_roles"] == [str(role)] and not message["flags"] & V2


@E2E
async def test_a_link_feed_posts_one_plain_line_and_edits_it(tmp_path: Path) -> None:
    async with news_bot(tmp_path) as env:
        d, news, role = env.discord, env.guild.channels["news"], env.guild.mod_role
        assert ", as one plain line each," in await feed_add(env, news, role=role, style="link")
        publish(env, "robots", title="Robots *arrive*", topics=["AI"])
        message_id = await sent(env, "robots", news)
        [post] = requests(d, "POST", f"/channels/{news}/messages")
        payload = body(post)
        line = f"<@&{role}> Robots \\*arrive\\* · Example News <{url_of('robots')}>"
        assert payload["content"] == line
        assert not payload.get("embeds") and not payload.get("components")
        assert not payload.get("flags", 0) & V2
        assert payload["allowed_mentions"] == {"parse": [], "roles": [role]}
        [message] = d.messages(news)
        assert message["content"] == line and "\n" not in message["content"]
        assert message["mention_roles"] == [str(role)]

        rewrite(env, "robots", title="Robots leave", topics=["AI"])
        edit_path = f"/channels/{news}/messages/{message_id}"
        await d.wait_for(lambda: bool(requests(d, "PATCH", edit_path)), 10)
        [edit] = requests(d, "PATCH", edit_path)
        edited = f"<@&{role}> Robots leave · Example News <{url_of('robots')}>"
        assert body(edit)["content"] == edited
        assert not body(edit).get("embeds") and not body(edit).get("flags", 0) & V2


# --- a card's life: edit, deletion, forum, crosspost, thread, silent --------------------------


@E2E
async def test_a_card_is_edited_in_place_as_a_card_and_unpublish_deletes_it(
    tmp_path: Path,
) -> None:
    async with news_bot(tmp_path) as env:
        d, news = env.discord, env.guild.channels["news"]
        await feed_add(env, news)
        publish(env, "robots", excerpt="First take.")
        message_id = await sent(env, "robots", news)

        rewrite(env, "robots", excerpt="Second take.")
        edit_path = f"/channels/{news}/messages/{message_id}"
        await d.wait_for(lambda: bool(requests(d, "PATCH", edit_path)), 10)
        await settled(env)
        [edit] = requests(d, "PATCH", edit_path)
        assert body(edit)["flags"] & V2 and no_content_nor_embeds(body(edit))
        assert "Second take." in card_texts(body(edit))
        assert "First take." not in card_texts(body(edit))
        [message] = d.messages(news)
        assert int(message["id"]) == message_id and message["edited_timestamp"]
        assert message["flags"] & V2 and is_card(message)
        assert "Second take." in card_texts(message)
        assert len(requests(d, "POST", f"/channels/{news}/messages")) == 1

        result = await d.slash("unpublish", {"article": "robots"}, user_id=env.guild.moderator)
        assert content(result).startswith("Withdrew")
        await d.wait_for(lambda: d.messages(news) == [], 10)
        await settled(env)
        [delete] = requests(d, "DELETE", edit_path)
        assert delete.status == 204
        posts = await env.store.outbox.posts(url_of("robots"))
        assert posts == {news: (DeliveryState.DELETED, None)}


@E2E
@pytest.mark.parametrize("style", ["card", "link"])
async def test_a_forum_post_in_any_style_is_found_by_its_retry_not_made_twice(
    tmp_path: Path, style: str
) -> None:
    async with StandIn() as d, news_bot(tmp_path, stand_in=d) as env:
        forum = d.add_forum("forum", tags=["Climate"])
        assert "each as its own forum post" in await feed_add(env, forum, style=style)
        threads_path = f"/channels/{forum}/threads"
        d.drop_after_commit("POST", f"^{threads_path}$")  # made, but the answer is lost
        publish(env, "river", title="The river peaks", topics=["Climate"])

        thread_id = await sent(env, "river", forum)

        [thread] = d.threads(forum)
        assert int(thread["id"]) == thread_id, "the retry did not adopt the post it made"
        assert len(requests(d, "POST", threads_path)) == 1, "the post was made again"
        [created] = requests(d, "POST", threads_path)
        first = body(created)["message"]
        starter = thread["message"]
        assert starter is not None and int(starter["id"]) == thread_id
        if style == "card":
            assert first["flags"] & V2 and no_content_nor_embeds(first)
            assert is_card(starter) and card_link(starter) == url_of("river")
            assert card_title(starter) == "The river peaks"
        else:
            line = f"The river peaks · Example News <{url_of('river')}>"
            assert first["content"] == line and starter["content"] == line
            assert not starter["flags"] & V2 and starter["embeds"] == []


@E2E
@pytest.mark.parametrize("style", ["card", "embed"])
async def test_another_storys_forum_post_citing_the_story_is_not_taken_for_its_post(
    tmp_path: Path, style: str
) -> None:
    async with StandIn() as d, news_bot(tmp_path, stand_in=d) as env:
        forum = d.add_forum("forum", tags=["Climate"])
        # Citing it makes them one story: `updates:new` gives each its own forum post.
        await feed_add(env, forum, style=style, updates="new")
        cites = [{"title": "The first report", "webUrl": url_of("first")}]
        publish(env, "second", title="The river peaks", topics=["Climate"], related=cites)
        second = await sent(env, "second", forum)
        d.fail_next("POST", f"^/channels/{forum}/threads$", 503)  # refused: never made
        later = "2024-01-02T12:00:00Z"
        publish(env, "first", title="The river peaks", topics=["Climate"], publishedDateTime=later)

        first = await sent(env, "first", forum)

        assert first != second, "the retry took the post citing the story for its own"
        assert sorted(int(t["id"]) for t in d.threads(forum)) == sorted([first, second])


@E2E
async def test_a_card_in_an_announcement_channel_is_crossposted(tmp_path: Path) -> None:
    async with StandIn() as d, news_bot(tmp_path, stand_in=d) as env:
        desk = d.add_announcement("desk")
        assert "crossposted" in await feed_add(env, desk)
        publish(env, "robots")
        message_id = await sent(env, "robots", desk)
        await settled(env)
        [crosspost] = requests(d, "POST", f"/channels/{desk}/messages/{message_id}/crosspost")
        assert crosspost.status == 200
        [message] = d.messages(desk)
        assert message["flags"] & CROSSPOSTED and message["flags"] & V2 and is_card(message)
        assert card_title(message) == "Title of robots"


@E2E
async def test_a_threads_feed_opens_a_discussion_thread_on_each_card(tmp_path: Path) -> None:
    async with news_bot(tmp_path) as env:
        d, news = env.discord, env.guild.channels["news"]
        assert "discussion thread" in await feed_add(env, news, threads=True)
        publish(env, "robots", title="Robots arrive")
        await d.wait_for(lambda: len(d.threads(news)) == 1, 10)
        await settled(env)
        [message] = d.messages(news)
        [thread] = d.threads(news)
        assert thread["id"] == message["id"] and thread["name"] == "Robots arrive"
        assert is_card(message) and card_title(message) == "Robots arrive"
        assert requests(d, "POST", f"/channels/{news}/messages/{message['id']}/threads")


@E2E
async def test_a_silent_card_carries_both_flags(tmp_path: Path) -> None:
    async with news_bot(tmp_path) as env:
        d, news = env.discord, env.guild.channels["news"]
        assert "silently" in await feed_add(env, news, silent=True)
        publish(env, "robots")
        await d.wait_for(lambda: len(d.messages(news)) == 1, 10)
        [post] = requests(d, "POST", f"/channels/{news}/messages")
        assert body(post)["flags"] == V2 | SILENT
        assert d.messages(news)[0]["flags"] & (V2 | SILENT) == V2 | SILENT


# --- changing a feed's style -------------------------------------------------------------


@E2E
async def test_a_new_style_is_for_new_posts_the_old_post_is_edited_in_its_own(
    tmp_path: Path,
) -> None:
    async with news_bot(tmp_path) as env:
        d, news = env.discord, env.guild.channels["news"]
        assert (await feed_add(env, news)).endswith(", as cards, from now on.")
        publish(env, "first", title="First story", excerpt="First take.")
        first_id = await sent(env, "first", news)

        assert (await feed_add(env, news, style="link")).endswith(
            ", as one plain line each, from now on. Posts already made keep their style."
        )
        # Another option changed, style not given: the feed keeps its style.
        kept = await feed_add(env, news, min_quality=0)
        assert kept.endswith(", as one plain line each, from now on.")
        assert await feed_list(env) == [f"<#{news}>: all topics · as one plain line each"]

        rewrite(env, "first", title="First story", excerpt="Second take.")
        edit_path = f"/channels/{news}/messages/{first_id}"
        await d.wait_for(lambda: bool(requests(d, "PATCH", edit_path)), 10)
        [edit] = requests(d, "PATCH", edit_path)
        assert body(edit)["flags"] & V2 and no_content_nor_embeds(body(edit))
        assert "Second take." in card_texts(body(edit))

        publish(env, "second", title="Second story", publishedDateTime="2024-01-02T12:00:00Z")
        await sent(env, "second", news)
        old, new = d.messages(news)
        assert is_card(old) and card_title(old) == "First story"
        assert new["content"] == f"Second story · Example News <{url_of('second')}>"
        assert not new["flags"] & V2 and not new["components"]

        # Withdrawn, its card deleted, then published again: a new post, in the new style.
        await d.slash("unpublish", {"article": "first"}, user_id=env.guild.moderator)
        await d.wait_for(lambda: len(d.messages(news)) == 1, 10)
        await settled(env)
        await d.slash("publish", {"article": "first"}, user_id=env.guild.moderator)
        await d.wait_for(lambda: len(d.messages(news)) == 2, 10)
        reposted = d.messages(news)[-1]
        assert reposted["content"] == f"First story · Example News <{url_of('first')}>"


async def test_the_store_gives_new_feeds_cards_and_keeps_a_style_not_given(
    store: Store,
) -> None:
    assert (await store.feeds.subscribe(1, "", actor="t")).style == Style.CARD
    again = await store.feeds.subscribe(1, "", actor="t", min_quality=5)
    assert (again.style, again.min_quality) == (Style.CARD, 5)
    assert (await store.feeds.subscribe(1, "", actor="t", style=Style.LINK)).style == Style.LINK
    assert (await store.feeds.subscribe(1, "", actor="t", silent=True)).style == Style.LINK
    kept = await store.feeds.subscribe(1, "", actor="t", style=Style.EMBED, replace=False)
    assert kept.style == Style.LINK  # an existing subscription wins without `replace`
    created = await store.feeds.subscribe(2, "", actor="t", style=Style.EMBED, replace=False)
    assert created.style == Style.EMBED
    assert [s.style for s in await store.feeds.subscriptions()] == [Style.LINK, Style.EMBED]


async def test_a_post_keeps_its_style_and_a_post_made_anew_takes_the_feeds(
    store: Store, store_dir: Path
) -> None:
    await store.feeds.subscribe(1, "", actor="t", style=Style.EMBED)
    write_article(store_dir, "story", published=True)
    await store.folder.sync()
    [row] = await store.outbox.due()
    assert row.style == Style.EMBED
    await store.outbox.done(row, 1001)

    await store.feeds.subscribe(1, "", actor="t", style=Style.CARD)
    write_article(store_dir, "story", published=True, excerpt="Changed.", mtime=time.time() + 5)
    await store.folder.sync()
    [edit] = await store.outbox.due()
    assert (edit.state, edit.message_id, edit.style) == (DeliveryState.EDIT, 1001, Style.EMBED)
    await store.outbox.done(edit, 1001)

    # Withdrawn and published again before its deletion was made: the post is edited back.
    await store.publishing.unpublish("story", "mod")
    await store.publishing.publish("story", "mod")
    [back] = await store.outbox.due()
    assert (back.state, back.message_id, back.style) == (DeliveryState.EDIT, 1001, Style.EMBED)
    await store.outbox.done(back, 1001)

    await store.publishing.unpublish("story", "mod")
    [delete] = await store.outbox.due()
    assert delete.style == Style.EMBED
    await store.outbox.done(delete, None)
    await store.publishing.publish("story", "mod")
    [again] = await store.outbox.due()
    assert (again.state, again.message_id, again.style) == (
        DeliveryState.PENDING,
        None,
        Style.CARD,
    )


async def test_a_topics_own_feed_decides_a_posts_style_over_the_all_topics_feed(
    store: Store, store_dir: Path
) -> None:
    await store.feeds.subscribe(1, "", actor="t", style=Style.CARD)
    await store.feeds.subscribe(1, "World", actor="t", style=Style.LINK)
    await store.feeds.subscribe(2, "World", actor="t", style=Style.LINK)
    await store.feeds.subscribe(2, "Europe", actor="t", style=Style.EMBED)
    write_article(store_dir, "story", published=True, topics=["World", "Europe"])
    write_article(store_dir, "other", published=True, topics=["Sport"])
    await store.folder.sync()
    due = await store.outbox.due()
    assert {(d.article_id, d.channel_id, d.style) for d in due} == {
        ("story", 1, Style.LINK),  # the topic's own feed, not the channel's every-topic one
        ("story", 2, Style.EMBED),  # two topic feeds: embed before link
        ("other", 1, Style.CARD),
    }


# --- an upgraded database --------------------------------------------------------------------


async def rewind_before_cards(settings: Settings) -> None:
    """The database as the bot before cards left it: the cards' schema change undone."""
    if settings.database_url is None:
        conn = sqlite3.connect(settings.db_path)
        try:
            conn.executescript(undo_cards_schema("sqlite"))
        finally:
            conn.close()
        return
    pg = await asyncpg.connect(settings.database_url)
    try:
        await pg.execute(undo_cards_schema("postgresql"))
    finally:
        await pg.close()


@E2E
async def test_an_upgraded_database_keeps_embeds_for_its_feeds_posts_and_digests(
    tmp_path: Path,
) -> None:
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    async with StandIn() as d:
        guild = populate(d)
        news, ai = guild.channels["news"], guild.channels["ai"]
        settings = settings_for(d, store_dir, tmp_path / "news.db")
        async with start_bot(d, settings) as (bot, store):
            env = NewsEnv(d, bot, store, store_dir, settings, guild)
            # What the bot before cards made: an embed feed, its post, a digest.
            await feed_add(env, news, style="embed")
            await d.slash(
                "digest",
                {"channel": news, "every": "daily", "style": "embed"},
                subcommand="add",
                user_id=guild.admin,
            )
            publish(env, "old", title="Old story", excerpt="Before the upgrade.")
            old_id = await sent(env, "old", news)
            await settled(env)
        await rewind_before_cards(settings)

        async with start_bot(d, settings) as (bot, store):
            env = NewsEnv(d, bot, store, store_dir, settings, guild)
            assert [s.style for s in await store.feeds.subscriptions()] == [Style.EMBED]
            assert [g.style for g in await store.digests.subscriptions()] == [Style.EMBED]
            listed = await feed_list(env)
            assert listed[0] == f"<#{news}>: all topics · as embeds"
            assert listed[1].endswith(" · top 5 · as an embed")

            rewrite(env, "old", title="Old story", excerpt="After the upgrade.")
            edit_path = f"/channels/{news}/messages/{old_id}"
            await d.wait_for(lambda: bool(requests(d, "PATCH", edit_path)), 10)
            [edit] = requests(d, "PATCH", edit_path)
            assert not body(edit).get("flags", 0) & V2
            assert body(edit)["embeds"][0]["description"] == "After the upgrade."

            publish(env, "new", title="New story", publishedDateTime="2024-01-02T12:00:00Z")
            await sent(env, "new", news)
            _, new = d.messages(news)
            assert not new["flags"] & V2 and new["embeds"][0]["title"] == "New story"

            # A feed added after the upgrade is a card.
            assert ", as cards," in await feed_add(env, ai)
            publish(env, "newer", title="Newer story", publishedDateTime="2024-01-03T12:00:00Z")
            await sent(env, "newer", ai)
            assert is_card(d.messages(ai)[0]) and card_title(d.messages(ai)[0]) == "Newer story"


# --- digests -------------------------------------------------------------------------------


class Clock:
    """Seconds since the epoch from `start`, running on as real time does; `set` jumps."""

    def __init__(self) -> None:
        self.set(time.time())

    def set(self, start: float) -> None:
        self.start, self.began = start, time.monotonic()

    def __call__(self) -> float:
        return self.start + (time.monotonic() - self.began)


def two_stories(folder: Path) -> None:
    now = datetime.now(UTC)
    for name, hours in (("hot", 1), ("warm", 2)):
        write_article(
            folder,
            name,
            title=f"The {name} story",
            published=True,
            heat=90 - hours,
            publishedDateTime=(now - timedelta(hours=hours)).isoformat(),
        )


@E2E
async def test_a_digest_is_a_card_an_embed_or_plain_lines_by_its_style(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    two_stories(tmp_path / "store")
    async with news_bot(tmp_path) as env:
        d, news = env.discord, env.guild.channels["news"]
        path = f"/channels/{news}/messages"
        for style in ("card", "embed", "link"):
            result = await d.slash(
                "digest",
                {"channel": news, "style": style},
                subcommand="now",
                user_id=env.guild.admin,
            )
            assert result.deferred and "Posted the daily digest (2 stories)" in str(
                result.followups[-1]["content"]
            )
        card, embed, line = (body(r) for r in requests(d, "POST", path))
        for payload in (card, embed, line):
            assert payload["allowed_mentions"] == {"parse": []}
            assert payload["enforce_nonce"] and payload["nonce"]
        assert card["flags"] & V2 and no_content_nor_embeds(card)
        assert any("The hot story" in t for t in card_texts(card))
        assert any("The warm story" in t for t in card_texts(card))
        assert not embed.get("flags", 0) & V2 and embed["embeds"][0]["title"] == "Daily digest"
        assert not line.get("flags", 0) & V2 and not line.get("embeds")
        assert "The hot story" in line["content"] and "The warm story" in line["content"]
        assert [is_card(m) for m in d.messages(news)] == [True, False, False]


@E2E
async def test_a_new_digest_is_a_card_at_its_hour(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    two_stories(tmp_path / "store")
    clock = Clock()
    due = (datetime.now(UTC) + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    async with news_bot(tmp_path, clock=clock) as env:
        d, news = env.discord, env.guild.channels["news"]
        added = await d.slash(
            "digest",
            {"channel": news, "every": "daily", "hour": due.hour},
            subcommand="add",
            user_id=env.guild.admin,
        )
        assert " · top 5 · as a card; the first one " in content(added)
        await two_rounds(env.bot, "digests")
        assert d.messages(news) == []  # not yet its hour
        clock.set(due.timestamp() + 30)

        async def settled_as_sent() -> bool:
            return [r.state for r in await env.store.digests.log(news)] == [DigestState.SENT]

        await d.wait_for(settled_as_sent, 10)
        [post] = requests(d, "POST", f"/channels/{news}/messages")
        assert body(post)["flags"] & V2 and no_content_nor_embeds(body(post))
        assert body(post)["allowed_mentions"] == {"parse": []}
        [message] = d.messages(news)
        assert is_card(message) and any("The hot story" in t for t in card_texts(message))
        [run] = await env.store.digests.log(news)
        assert (run.style, run.message_id) == (Style.CARD, int(message["id"]))


async def test_the_store_gives_new_digests_cards_and_keeps_a_style_not_given(
    store: Store,
) -> None:
    def add(**options: Any) -> Any:
        return store.digests.add(
            7, "", every=Every.DAILY, hour=8, size=5, guild_id=1, actor="a", now=0, **options
        )

    assert (await add()).style == Style.CARD
    assert (await add(style=Style.LINK)).style == Style.LINK
    assert (await add()).style == Style.LINK  # `/digest add` again, style not given
    assert [s.style for s in await store.digests.subscriptions()] == [Style.LINK]
