"""Automatic posts end to end: what the following channels receive, exactly once.

The real bot and poller on a real SQLite file against the Discord stand-in, with the
stand-in's faults (429, 5xx, a connection cut after Discord stored the message).
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import pytest

from bot.store import Counts, DeliveryState
from tests.support import helpers
from tests.support.botenv import (
    NewsEnv,
    content,
    news_bot,
    settled,
    start_bot,
    subscribe,
    two_rounds,
)
from tests.support.helpers import card_texts, card_title, is_card, write_article
from tests.support.stand_in import Recorded, StandIn

pytestmark = pytest.mark.usefixtures("both_backends")  # the end-to-end suite, on both backends

MESSAGES = r"^/channels/\d+/messages$"


# --- helpers -------------------------------------------------------------------------------


def store_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "store"
    folder.mkdir(exist_ok=True)
    return folder


def requests_to(d: StandIn, method: str, channel_id: int) -> list[Recorded]:
    prefix = f"/channels/{channel_id}/messages"
    return [r for r in d.requests if r.method == method and r.path.startswith(prefix)]


async def quiet(env: NewsEnv) -> None:
    """Two rescans, then two delivery rounds: anything the bot would still post or retry,
    it has started."""
    await two_rounds(env.bot, "store rescan", "deliveries")


def touch_later(path: Path) -> None:
    """A new mtime the rescan cannot miss, even on a coarse-grained file system."""
    later = time.time() + 5
    os.utime(path, (later, later))


async def drop_and_wait(env: NewsEnv, name: str, channel: str, **fields: Any) -> dict[str, Any]:
    """Drop a published article into the store; return its one post in `channel`."""
    write_article(env.store_dir, name, published=True, **fields)
    channel_id = env.guild.channels[channel]
    await env.discord.wait_for(lambda: len(env.discord.messages(channel_id)) == 1, 5)
    return env.discord.messages(channel_id)[0]


# --- arriving files ------------------------------------------------------------------------


async def test_a_published_file_dropped_into_the_store_is_posted_within_a_poll(
    tmp_path: Path,
) -> None:
    store_folder(tmp_path)
    async with news_bot(tmp_path) as env:
        d, news = env.discord, env.guild.channels["news"]
        await subscribe(env, "news")
        write_article(env.store_dir, "dropped", title="Dropped in", published=True)
        dropped_at = time.monotonic()
        await d.wait_for(lambda: len(d.messages(news)) == 1, 3)
        [post] = requests_to(d, "POST", news)
        assert post.time - dropped_at < 2 * env.settings.poll_seconds + 0.5
        assert card_title(d.messages(news)[0]) == "Dropped in"
        # A draft dropped in is not posted.
        write_article(env.store_dir, "draft", title="Still a draft")
        await settled(env)
        await quiet(env)
        assert len(d.messages(news)) == 1


async def test_a_vanished_store_folder_is_logged_and_the_poller_carries_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store_folder(tmp_path)
    async with news_bot(tmp_path) as env:
        d, news = env.discord, env.guild.channels["news"]
        await subscribe(env, "news")
        moved = tmp_path / "moved-away"
        env.store_dir.rename(moved)
        await d.wait_for(lambda: "store rescan failed" in caplog.text, 5)
        moved.rename(env.store_dir)
        write_article(env.store_dir, "back", title="Back again", published=True)
        await d.wait_for(lambda: len(d.messages(news)) == 1, 5)
        assert card_title(d.messages(news)[0]) == "Back again"


async def test_editing_a_posted_article_edits_its_post(tmp_path: Path) -> None:
    store_folder(tmp_path)
    async with news_bot(tmp_path) as env:
        d, news = env.discord, env.guild.channels["news"]
        await subscribe(env, "news")
        posted = await drop_and_wait(env, "story", "news", excerpt="The first excerpt.")
        assert is_card(posted) and "The first excerpt." in card_texts(posted)

        path = write_article(env.store_dir, "story", published=True, excerpt="A fresh excerpt.")
        touch_later(path)
        await d.wait_for(lambda: bool(requests_to(d, "PATCH", news)), 5)
        await settled(env)
        await quiet(env)
        [edit] = requests_to(d, "PATCH", news)
        assert edit.path == f"/channels/{news}/messages/{posted['id']}" and edit.status == 200
        assert edit.json is not None and is_card(edit.json)
        assert "A fresh excerpt." in card_texts(edit.json)
        assert "The first excerpt." not in card_texts(edit.json)
        [message] = d.messages(news)
        assert message["id"] == posted["id"] and is_card(message)
        assert "A fresh excerpt." in card_texts(message)
        assert message["edited_timestamp"] is not None
        assert len(requests_to(d, "POST", news)) == 1


async def test_unpublish_deletes_the_posts_and_flips_the_file(tmp_path: Path) -> None:
    store_folder(tmp_path)
    async with news_bot(tmp_path) as env:
        d, news, ai = env.discord, env.guild.channels["news"], env.guild.channels["ai"]
        await subscribe(env, "news")
        await subscribe(env, "ai")
        path = env.store_dir / "story.txt"
        await drop_and_wait(env, "story", "news", title="Going away", topics=["AI"])
        await d.wait_for(lambda: len(d.messages(ai)) == 1, 5)
        before = path.read_bytes()

        result = await d.slash("unpublish", {"article": "story"}, user_id=env.guild.moderator)
        assert result.ephemeral and content(result).startswith("Withdrew **Going away**")
        await d.wait_for(lambda: d.all_posts() == {}, 5)
        await settled(env)
        for channel in (news, ai):
            [delete] = requests_to(d, "DELETE", channel)
            assert delete.status == 204
            assert d.messages(channel) == []
        assert path.read_bytes() == before.replace(b"published: true", b"published: false")
        assert (await env.store.articles.get("story", include_hidden=True)).published is False
        assert await env.store.articles.counts() == Counts(articles=1, published=0, drafts=1)
        # Readers no longer find it.
        gone = await d.slash("article", {"article": "story"}, user_id=env.guild.reader)
        assert gone.ephemeral and not gone.data.get("embeds")

        # Published again, it is posted again: a new message under a fresh nonce.
        old_nonces = {r.json["nonce"] for r in requests_to(d, "POST", news) if r.json}
        await d.slash("publish", {"article": "story"}, user_id=env.guild.moderator)
        await d.wait_for(lambda: len(d.messages(news)) == len(d.messages(ai)) == 1, 5)
        await settled(env)
        reposts = requests_to(d, "POST", news)[1:]
        assert [r.status for r in reposts] == [200]
        assert reposts[0].json is not None and reposts[0].json["nonce"] not in old_nonces
        assert path.read_bytes() == before


# --- mentions ------------------------------------------------------------------------------


async def test_a_subscription_role_is_the_only_ping(tmp_path: Path) -> None:
    """An embed feed pings in the message's content (a card feed: tests/e2e/test_styles.py)."""
    store_folder(tmp_path)
    async with StandIn() as d:
        other = d.add_role("Someone else")
        async with news_bot(tmp_path, stand_in=d) as env:
            role = env.guild.mod_role
            await subscribe(env, "news", role=role, style="embed")
            title = f"@everyone @here <@&{other}> <@{env.guild.reader}> look"
            post = await drop_and_wait(env, "loud", "news", title=title)
            [sent] = requests_to(d, "POST", env.guild.channels["news"])
            assert sent.json is not None
            assert sent.json["content"] == f"<@&{role}>"
            assert sent.json["allowed_mentions"] == {"parse": [], "roles": [role]}
            assert post["content"] == f"<@&{role}>"
            assert post["mention_roles"] == [str(role)]
            assert post["mention_everyone"] is False and post["mentions"] == []


async def test_an_article_that_tries_to_ping_pings_no_one(tmp_path: Path) -> None:
    store_folder(tmp_path)
    async with news_bot(tmp_path) as env:
        await subscribe(env, "news")
        title = "Breaking: @everyone and <@&123> must read"
        post = await drop_and_wait(
            env, "loud", "news", title=title, excerpt="@here too", provider={"name": "@everyone"}
        )
        [sent] = requests_to(env.discord, "POST", env.guild.channels["news"])
        assert sent.json is not None
        assert sent.json["allowed_mentions"] == {"parse": []}
        assert not sent.json.get("content")
        assert post["mention_everyone"] is False
        assert post["mention_roles"] == [] and post["mentions"] == []
        shown = card_title(post)
        assert "everyone" in shown and "123" in shown  # kept as text, not a mention
        for text in card_texts(post):  # the headline, the provider, the excerpt
            assert "@everyone" not in text and "@here" not in text and "<@&123>" not in text


# --- the confidential field ----------------------------------------------------------------


async def test_secured_never_leaves_the_store(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "S3CR3T-do-not-leak-9f41c2e7"
    folder = store_folder(tmp_path)
    write_article(folder, "classified", title="Classified story", topics=["AI"], secured=secret)
    path = folder / "classified.txt"
    async with news_bot(tmp_path) as env:
        d, news, moderator = env.discord, env.guild.channels["news"], env.guild.moderator
        await subscribe(env, "news")
        await d.slash("preview", {"article": "classified"}, user_id=moderator)
        await d.autocomplete("publish", {"article": "Class"}, "article", user_id=moderator)
        await d.slash("publish", {"article": "classified"}, user_id=moderator)
        await d.wait_for(lambda: len(d.messages(news)) == 1, 5)
        path.write_text(path.read_text().replace("Classified story", "Classified, edited"))
        touch_later(path)
        await d.wait_for(lambda: bool(requests_to(d, "PATCH", news)), 5)

        reader = env.guild.reader
        article = await d.slash("article", {"article": "classified"}, user_id=reader)
        assert helpers.card_texts(article.data)[0].startswith("### [Classified, edited](")
        found = await d.slash("search", {"query": "classified"}, user_id=reader)
        assert "[Classified, edited](" in "\n".join(helpers.card_texts(found.data))
        latest = await d.slash("news", {"topic": "AI"}, user_id=reader)
        assert "[Classified, edited](" in "\n".join(helpers.card_texts(latest.data))
        await d.autocomplete("article", {"article": "Class"}, "article", user_id=reader)
        await d.autocomplete("news", {"topic": "A"}, "topic", user_id=reader)
        for word in ("S3CR3T", "9f41c2e7"):  # not searchable either (the whole would be echoed)
            nothing = await d.slash("search", {"query": word}, user_id=reader)
            assert nothing.ephemeral and "Nothing found" in content(nothing)
        status = await d.slash("status", user_id=moderator)
        assert status.data.get("embeds")

        # It is kept: in the file, and in the database as is. The store's API never returns
        # `secured` (that is the point), so only a raw read of the database itself can
        # show it is stored: the one SQL read in the end-to-end tests, on purpose.
        assert f"secured: {secret}".encode() in path.read_bytes()
        stored = await env.store.db.fetch_tuples("SELECT secured FROM articles")
        assert stored == [(secret,)]

    assert len(d.requests) > 15 and caplog.records
    for rec in d.requests:
        assert secret not in json.dumps(rec.json), (rec.method, rec.path)
        assert secret not in rec.path and secret not in json.dumps(rec.query)
    assert secret not in json.dumps(d.gateway_log)
    for line in caplog.records:
        assert secret not in line.getMessage(), line.name
    assert secret not in caplog.text


# --- exactly once ----------------------------------------------------------------------------


async def test_a_restart_reposts_nothing(tmp_path: Path) -> None:
    store_folder(tmp_path)
    async with StandIn() as d:
        async with news_bot(tmp_path, stand_in=d) as env:
            news = env.guild.channels["news"]
            await subscribe(env, "news")
            await drop_and_wait(env, "story", "news")
            write_article(env.store_dir, "other", published=True)
            await d.wait_for(lambda: len(d.messages(news)) == 2, 5)
            await settled(env)
            settings = env.settings
        posts_before = len(requests_to(d, "POST", news))
        async with start_bot(d, settings) as (bot, _):
            await two_rounds(bot, "store rescan", "deliveries")
        async with start_bot(d, settings) as (bot, _):
            await two_rounds(bot, "store rescan", "deliveries")
        assert len(requests_to(d, "POST", news)) == posts_before == 2
        assert len(d.messages(news)) == 2


async def test_a_restart_resumes_a_delivery_that_was_waiting(tmp_path: Path) -> None:
    store_folder(tmp_path)
    async with StandIn() as d:
        async with news_bot(tmp_path, stand_in=d) as env:
            news = env.guild.channels["news"]
            await subscribe(env, "news")
            d.fail_next("POST", MESSAGES, 503)  # discord.py gives up at once; we retry later
            write_article(env.store_dir, "story", published=True)
            await d.wait_for(lambda: [r.status for r in requests_to(d, "POST", news)] == [503], 5)
            settings = env.settings
        assert d.messages(news) == []
        async with start_bot(d, settings) as (bot, _):
            await d.wait_for(lambda: len(d.messages(news)) == 1, 8)
            await two_rounds(bot)
        assert [r.status for r in requests_to(d, "POST", news)] == [503, 200]
        assert len(d.messages(news)) == 1


async def test_a_429_still_gives_one_post(tmp_path: Path) -> None:
    store_folder(tmp_path)
    async with news_bot(tmp_path) as env:
        d, news, ai = env.discord, env.guild.channels["news"], env.guild.channels["ai"]
        await subscribe(env, "news")
        await subscribe(env, "ai")
        d.fail_next("POST", rf"^/channels/{news}/messages$", 429, retry_after=0.3)
        write_article(env.store_dir, "story", published=True)
        await d.wait_for(lambda: len(d.messages(news)) == len(d.messages(ai)) == 1, 5)
        await settled(env)
        await quiet(env)
        assert [r.status for r in requests_to(d, "POST", news)] == [429, 200]
        assert [r.status for r in requests_to(d, "POST", ai)] == [200]
        assert len(d.messages(news)) == len(d.messages(ai)) == 1


async def test_two_500s_still_give_one_post(tmp_path: Path) -> None:
    store_folder(tmp_path)
    async with news_bot(tmp_path) as env:
        d, news, ai = env.discord, env.guild.channels["news"], env.guild.channels["ai"]
        await subscribe(env, "news")
        await subscribe(env, "ai")
        d.fail_next("POST", rf"^/channels/{news}/messages$", 500, times=2)
        write_article(env.store_dir, "story", published=True)
        await d.wait_for(lambda: len(d.messages(ai)) == 1, 5)  # not held up by the other
        await d.wait_for(lambda: len(d.messages(news)) == 1, 10)  # discord.py waits 1 s, 3 s
        await settled(env)
        await quiet(env)
        sent = requests_to(d, "POST", news)
        assert [r.status for r in sent] == [500, 500, 200]
        assert len({r.json["nonce"] for r in sent if r.json}) == 1
        assert [r.status for r in requests_to(d, "POST", ai)] == [200]
        assert len(d.messages(news)) == len(d.messages(ai)) == 1


async def test_a_connection_cut_after_discord_stored_the_post_gives_one_post(
    tmp_path: Path,
) -> None:
    store_folder(tmp_path)
    async with news_bot(tmp_path) as env:
        d, news, ai = env.discord, env.guild.channels["news"], env.guild.channels["ai"]
        await subscribe(env, "news")
        await subscribe(env, "ai")
        d.drop_after_commit("POST", rf"^/channels/{news}/messages$")
        write_article(env.store_dir, "story", published=True)
        await d.wait_for(lambda: len(d.messages(ai)) == 1, 5)
        await d.wait_for(lambda: len(requests_to(d, "POST", news)) == 2, 8)  # retried in 2 s
        await settled(env)
        await quiet(env)
        first, retry = requests_to(d, "POST", news)
        assert first.dropped and not retry.dropped
        assert first.json is not None and retry.json is not None
        assert first.json["nonce"] == retry.json["nonce"] and retry.json["enforce_nonce"]
        [message] = d.messages(news)  # the nonce made Discord return the stored message
        [ai_message] = d.messages(ai)
        url = (await env.store.articles.get("story")).url
        sent = DeliveryState.SENT
        assert await env.store.outbox.posts(url) == {
            news: (sent, int(message["id"])),
            ai: (sent, int(ai_message["id"])),
        }
        assert await env.store.outbox.state_counts() == {sent: 2}  # no other row anywhere
