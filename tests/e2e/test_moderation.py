"""Moderators end to end: the real bot on a real SQLite file against the Discord stand-in.

Each test asserts what a person would see: the answer Discord received, the post in
the channel, what the store says (read through its API), the bytes of the article file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.store import DeliveryState
from bot.ui import PUBLISH_PREFIX
from tests.support import helpers
from tests.support.botenv import (
    NewsEnv,
    content,
    news_bot,
    settled,
    start_bot,
    store_with_seed,
    subscribe,
    two_rounds,
)
from tests.support.helpers import SEED_ID, SEED_PATH, card_title, write_article
from tests.support.stand_in import StandIn

pytestmark = pytest.mark.usefixtures("both_backends")  # the end-to-end suite, on both backends

SEED_URL = (
    "https://www.govtech.com/artificial-intelligence/how-long-will-the-open-source-ai-boom-last"
)
SEED_TITLE = "How Long Will the Open-Source AI Boom Last?"
RELATED_URLS = [
    "https://www.technologyreview.com/2023/05/12/1072950/open-source-ai-google-openai-eleuther-meta/",
    "https://venturebeat.com/ai/open-source-ai-continues-to-celebrate-as-big-tech-mulls-over-moats/",
]
REFUSED = "Only moderators can"


# --- helpers -------------------------------------------------------------------------------


async def published_flag(env: NewsEnv, article_id: str) -> bool:
    """The article's `published:` flag as the database holds it (drafts included)."""
    return (await env.store.articles.get(article_id, include_hidden=True)).published


async def audit(env: NewsEnv) -> list[tuple[str, str, str]]:
    """(action, article id, actor) of every audit entry, oldest first."""
    trail = await env.store.publishing.audit_trail()
    return [(e.action, e.article_id, e.actor) for e in reversed(trail)]


def channel_posts(d: StandIn, channel_id: int) -> list[dict[str, Any]]:
    """The POST /channels/{id}/messages bodies the bot sent (successful or not)."""
    return [
        r.json
        for r in d.requests
        if r.method == "POST" and r.path == f"/channels/{channel_id}/messages" and r.json
    ]


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every button of a message: in its rows, or anywhere in its card."""
    return helpers.card_buttons(message)


async def one_poll(env: NewsEnv) -> None:
    """Two delivery rounds: anything a command queued has been sent by now."""
    await two_rounds(env.bot)


# --- refusals ------------------------------------------------------------------------------


async def test_a_reader_cannot_publish_and_nothing_changes(tmp_path: Path) -> None:
    folder = store_with_seed(tmp_path)
    original = (folder / SEED_PATH.name).read_bytes()
    async with news_bot(tmp_path) as env:
        await subscribe(env, "news")
        result = await env.discord.slash("publish", {"article": SEED_ID}, user_id=env.guild.reader)
        assert result.type == 4 and result.ephemeral
        assert REFUSED in content(result)
        await one_poll(env)
        assert (folder / SEED_PATH.name).read_bytes() == original
        assert await published_flag(env, SEED_ID) is False
        assert await env.store.outbox.state_counts() == {}
        assert env.discord.all_posts() == {}
        assert channel_posts(env.discord, env.guild.channels["news"]) == []
        assert await audit(env) == [("refused publish", SEED_ID, f"reader ({env.guild.reader})")]


async def test_a_reader_is_refused_every_moderator_command(tmp_path: Path) -> None:
    folder = store_with_seed(tmp_path)
    write_article(folder, "live", published=True, topics=["AI"])
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    async with news_bot(tmp_path) as env:
        await subscribe(env, "news")
        calls: list[tuple[str, dict[str, Any]]] = [
            ("drafts", {}),
            ("preview", {"article": SEED_ID}),
            ("unpublish", {"article": "live"}),
            ("status", {}),
        ]
        for name, options in calls:
            result = await env.discord.slash(name, options, user_id=env.guild.reader)
            assert result.ephemeral and REFUSED in content(result), (name, result.data)
            assert not result.data.get("embeds"), name
        await one_poll(env)
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
        assert await published_flag(env, "live") is True
        assert env.discord.all_posts() == {}


async def test_a_reader_pressing_a_publish_button_changes_nothing(tmp_path: Path) -> None:
    folder = store_with_seed(tmp_path)
    original = (folder / SEED_PATH.name).read_bytes()
    async with news_bot(tmp_path) as env:
        await subscribe(env, "news")
        drafts = await env.discord.slash("drafts", user_id=env.guild.moderator)
        assert drafts.message is not None
        [custom_id] = [b["custom_id"] for b in buttons(drafts.message)]
        assert custom_id.startswith(PUBLISH_PREFIX) and custom_id.endswith(f"/{SEED_ID}")

        pressed = await env.discord.click(
            custom_id, message=drafts.message, user_id=env.guild.reader
        )
        assert pressed.type == 4 and pressed.ephemeral
        assert "Only moderators can publish" in content(pressed)
        await one_poll(env)
        assert (folder / SEED_PATH.name).read_bytes() == original
        assert await published_flag(env, SEED_ID) is False
        assert env.discord.all_posts() == {}
        assert await audit(env) == [("refused publish", SEED_ID, f"reader ({env.guild.reader})")]


async def test_a_moderator_role_makes_a_member_a_moderator(tmp_path: Path) -> None:
    store_with_seed(tmp_path)
    async with StandIn() as d:
        desk = d.add_role("News desk")  # no permissions of its own
        editor = d.add_member("editor", roles=[desk])
        async with news_bot(tmp_path, stand_in=d, moderator_role_ids=frozenset({desk})) as env:
            await subscribe(env, "news")
            # Without the role, no Manage Messages: refused.
            refused = await d.slash("publish", {"article": SEED_ID}, user_id=env.guild.reader)
            assert REFUSED in content(refused)
            drafts = await d.slash("drafts", user_id=editor)
            assert drafts.ephemeral and helpers.is_card(drafts.data)
            assert helpers.card_texts(drafts.data)[0] == "## Drafts awaiting review"
            result = await d.slash("publish", {"article": SEED_ID}, user_id=editor)
            assert result.ephemeral and content(result).startswith("Published **How Long")
            await d.wait_for(lambda: len(d.messages(env.guild.channels["news"])) == 1, 5)
            assert await published_flag(env, SEED_ID) is True


# --- publishing ----------------------------------------------------------------------------


async def test_publishing_the_seed_posts_once_to_every_following_channel(tmp_path: Path) -> None:
    folder = store_with_seed(tmp_path)
    original = (folder / SEED_PATH.name).read_bytes()
    async with news_bot(tmp_path, channels=("news", "ai", "sports")) as env:
        d, channels = env.discord, env.guild.channels
        # Embed feeds: this is the embed's shape (a card feed's post: tests/e2e/test_styles.py).
        await subscribe(env, "news", style="embed")
        await subscribe(env, "ai", topic="AI", style="embed")
        result = await d.slash("publish", {"article": SEED_ID}, user_id=env.guild.moderator)
        assert result.type == 4 and result.ephemeral
        assert content(result) == f"Published **{SEED_TITLE}**: posting it to 2 channel(s)."

        following = [channels["news"], channels["ai"]]
        await d.wait_for(lambda: all(d.messages(c) for c in following), 5)
        await settled(env)
        await one_poll(env)
        assert set(d.all_posts()) == set(following)  # "sports" follows nothing
        nonces = set()
        for channel in following:
            [message] = d.messages(channel)
            [embed] = message["embeds"]
            assert embed["title"] == SEED_TITLE
            assert embed["url"] == SEED_URL
            assert embed["author"]["name"] == "Government Technology"
            assert embed["footer"]["text"] == "AI · AI Ethics"
            [related] = embed["fields"]
            assert related["name"] == "Related coverage"
            assert all(f"]({url})" in related["value"] for url in RELATED_URLS)
            links = buttons(message)
            assert [b["url"] for b in links] == [SEED_URL, *RELATED_URLS]
            assert all(b["style"] == 5 for b in links)  # link buttons, nothing to dispatch
            assert message["mention_everyone"] is False and message["mention_roles"] == []

            [body] = channel_posts(d, channel)  # one request: no retry, no duplicate
            assert body["allowed_mentions"] == {"parse": []}
            assert body["enforce_nonce"] is True
            assert isinstance(body["nonce"], str) and body["nonce"]
            nonces.add(body["nonce"])
        assert len(nonces) == 2  # one per (story, channel)

        new = (folder / SEED_PATH.name).read_bytes()
        assert new != original
        assert original.replace(b"published: false", b"published: true") == new
        assert await published_flag(env, SEED_ID) is True
        sent = DeliveryState.SENT
        assert await env.store.outbox.posts(SEED_URL) == {
            c: (sent, int(d.messages(c)[0]["id"])) for c in following
        }
        assert await env.store.outbox.state_counts() == {sent: 2}  # no other row anywhere
        assert await audit(env) == [("publish", SEED_ID, f"moderator ({env.guild.moderator})")]


async def test_publishing_twice_says_so_and_posts_nothing_more(tmp_path: Path) -> None:
    store_with_seed(tmp_path)
    async with news_bot(tmp_path) as env:
        d, news = env.discord, env.guild.channels["news"]
        await subscribe(env, "news")
        await d.slash("publish", {"article": SEED_ID}, user_id=env.guild.moderator)
        await d.wait_for(lambda: len(d.messages(news)) == 1, 5)
        again = await d.slash("publish", {"article": SEED_ID}, user_id=env.guild.moderator)
        assert again.ephemeral and content(again) == f"`{SEED_ID}` is already published."
        unknown = await d.slash("publish", {"article": "no_such_id"}, user_id=env.guild.moderator)
        assert unknown.ephemeral and "no_such_id" in content(unknown)
        assert "Traceback" not in content(unknown)
        await one_poll(env)
        assert len(d.messages(news)) == 1 and len(channel_posts(d, news)) == 1


async def test_publish_autocomplete_offers_drafts_only(tmp_path: Path) -> None:
    folder = store_with_seed(tmp_path)
    write_article(folder, "live", title="Open-source AI is live", published=True)
    async with news_bot(tmp_path) as env:
        choices = await env.discord.autocomplete(
            "publish", {"article": "open"}, "article", user_id=env.guild.moderator
        )
        assert [c["value"] for c in choices] == [SEED_ID]
        assert choices[0]["name"] == SEED_TITLE


# --- /drafts and its Publish buttons -------------------------------------------------------


async def test_drafts_lists_drafts_with_buttons_that_publish_even_after_a_restart(
    tmp_path: Path,
) -> None:
    folder = store_with_seed(tmp_path)
    write_article(folder, "draft_b", title="Second draft", publishedDateTime="2024-02-01T00:00:00Z")
    write_article(folder, "live", title="Already out", published=True)
    async with StandIn() as d:
        async with news_bot(tmp_path, stand_in=d) as env:
            news = env.guild.channels["news"]
            await subscribe(env, "news")
            drafts = await d.slash("drafts", user_id=env.guild.moderator)
            assert drafts.type == 4 and drafts.ephemeral
            assert helpers.is_card(drafts.data)
            assert helpers.card_texts(drafts.data)[0] == "## Drafts awaiting review"
            text = "\n".join(helpers.card_texts(drafts.data))
            # Newest first; the published article is not a draft.
            assert text.index("Second draft") < text.index("Open-Source AI Boom")
            assert "Already out" not in text
            listed = drafts.message
            assert listed is not None
            ids = {b["label"]: b["custom_id"] for b in buttons(listed)}
            assert list(ids) == ["Publish draft_b", f"Publish {SEED_ID}"]
            assert all(i.startswith(PUBLISH_PREFIX) for i in ids.values())

            pressed = await d.click(
                ids["Publish draft_b"], message=listed, user_id=env.guild.moderator
            )
            assert pressed.type == 4 and pressed.ephemeral
            assert content(pressed) == "Published **Second draft**: posting it to 1 channel(s)."
            await d.wait_for(lambda: len(d.messages(news)) == 1, 5)
            assert card_title(d.messages(news)[0]) == "Second draft"
            assert b"published: true" in (folder / "draft_b.txt").read_bytes()
            settings = env.settings

        # A fresh bot on the same database: the old message's button still works.
        async with start_bot(d, settings) as (_, store):
            again = await d.click(
                ids["Publish draft_b"], message=listed, user_id=env.guild.moderator
            )
            assert again.ephemeral and content(again) == "`draft_b` is already published."
            pressed = await d.click(
                ids[f"Publish {SEED_ID}"], message=listed, user_id=env.guild.moderator
            )
            assert pressed.ephemeral and content(pressed).startswith(f"Published **{SEED_TITLE}**")
            await d.wait_for(lambda: len(d.messages(news)) == 2, 5)
            assert [card_title(m) for m in d.messages(news)] == [
                "Second draft",
                SEED_TITLE,
            ]
            assert (await store.articles.get(SEED_ID)).published
            assert len(channel_posts(d, news)) == 2


async def test_drafts_with_none_left_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    write_article(folder, "live", published=True)
    async with news_bot(tmp_path) as env:
        result = await env.discord.slash("drafts", user_id=env.guild.moderator)
        assert result.ephemeral and content(result) == "No drafts awaiting review."


# --- /preview and /status ------------------------------------------------------------------


async def test_preview_shows_exactly_the_post_to_come(tmp_path: Path) -> None:
    folder = store_with_seed(tmp_path)
    original = (folder / SEED_PATH.name).read_bytes()
    async with news_bot(tmp_path) as env:
        d, news = env.discord, env.guild.channels["news"]
        await subscribe(env, "news", style="card")  # the preview is a card feed's post
        preview = await d.slash("preview", {"article": SEED_ID}, user_id=env.guild.moderator)
        assert preview.type == 4 and preview.ephemeral and helpers.is_card(preview.data)
        # One line above the card says which article it is, and in what state.
        [line, shown] = preview.data["components"]
        assert line["content"].startswith(f"Preview of `{SEED_ID}` (a draft)")
        # Previewing changes nothing.
        assert (folder / SEED_PATH.name).read_bytes() == original
        assert await published_flag(env, SEED_ID) is False
        assert d.all_posts() == {}

        await d.slash("publish", {"article": SEED_ID}, user_id=env.guild.moderator)
        await d.wait_for(lambda: len(d.messages(news)) == 1, 5)
        [post] = d.messages(news)
        # The same card: colour, every text and picture; only its buttons differ.
        [posted] = post["components"]
        assert {k: v for k, v in shown.items() if k != "components"} == {
            k: v for k, v in posted.items() if k != "components"
        }
        assert [c for c in shown["components"] if c["type"] != 1] == [
            c for c in posted["components"] if c["type"] != 1
        ]
        # The post's Read button; not its reader buttons (nobody can save or follow a draft),
        # but a Publish button bound to the version shown.
        read, publish = buttons(preview.data)
        assert [b["label"] for b in buttons(post)] == ["Read", "Save", "Follow story"]
        assert read == buttons(post)[0] and read["url"] == SEED_URL
        assert publish["label"] == f"Publish {SEED_ID}"
        assert publish["custom_id"].startswith(PUBLISH_PREFIX)
        assert publish["custom_id"].endswith(f"/{SEED_ID}")


async def test_status_shows_counts_queue_and_channels(tmp_path: Path) -> None:
    folder = store_with_seed(tmp_path)
    write_article(folder, "live_a", published=True)
    write_article(folder, "live_b", published=True)
    (folder / "broken.txt").write_text("no front matter here\n", encoding="utf-8")
    async with news_bot(tmp_path) as env:
        d, news = env.discord, env.guild.channels["news"]
        await subscribe(env, "news")
        await d.slash("publish", {"article": SEED_ID}, user_id=env.guild.moderator)
        await d.wait_for(lambda: len(d.messages(news)) == 1, 5)
        await settled(env)

        status = await d.slash("status", user_id=env.guild.moderator)
        assert status.type == 4 and status.ephemeral
        [embed] = status.data["embeds"]
        fields = {f["name"]: f["value"] for f in embed["fields"]}
        assert fields["Articles"] == "3 (3 published, 0 drafts)"
        assert fields["Delivery queue"] == "0 waiting, 0 failed"
        assert "4 files" in fields["Last store load"] and "1 bad" in fields["Last store load"]
        assert "broken.txt" in fields["Bad files"]
        assert f"<#{news}>: last post <t:" in fields["Channels"]
        assert f"({SEED_ID})" in fields["Channels"]
        assert "paused" not in fields["Channels"]


async def test_draft_titles_are_not_offered_to_readers(tmp_path: Path) -> None:
    folder = store_with_seed(tmp_path)
    write_article(folder, "live", title="Open-source AI is live", published=True)
    async with news_bot(tmp_path) as env:
        for command in ("publish", "preview", "unpublish"):
            choices = await env.discord.autocomplete(
                command, {"article": "open"}, "article", user_id=env.guild.reader
            )
            assert choices == [], command
        # A moderator does get them.
        drafts = await env.discord.autocomplete(
            "preview", {"article": "open"}, "article", user_id=env.guild.moderator
        )
        assert [c["value"] for c in drafts] == [SEED_ID]
