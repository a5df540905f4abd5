"""Follow story, end to end over the stand-in, on both backends: the button on a story's
card makes a story follow for whoever pressed it (answered to them alone, once however often
pressed, from any article of the story), shown by /following and removed by /unfollow;
a new source joining the story reaches the member as one DM through the alert outbox (no
mentions, nonce enforced), an unrelated story does not; a forged custom_id naming an
unknown article or a draft saves nothing. Story follows of a story quiet for
STORY_FOLLOW_DAYS are dropped."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from bot.cards import FOLLOW_STORY_PREFIX
from bot.reader_buttons import NOT_AVAILABLE
from bot.store import FollowKind, Store
from bot.store.follows import STORY_FOLLOW_DAYS
from tests.support.botenv import NewsEnv, content, news_bot
from tests.support.helpers import card_buttons, card_texts, write_article
from tests.support.stand_in import InteractionResult, StandIn

WIRE = "https://apnews.com/article/quake-coast-0001"
FIRST = "Strong quake hits the coast"
SECOND = "Quake: the coast counts the damage"
NYT = "https://www.nytimes.com/2024/03/01/world/quake.html"


def quake(folder: Path) -> None:
    """The story's first source (published) and a second (a draft until a test publishes
    it), an unrelated draft, and an unrelated published story."""
    folder.mkdir(exist_ok=True)
    write_article(
        folder,
        "quake-ap",
        title=FIRST,
        webUrl=WIRE,
        originalUrl=WIRE,
        publishedDateTime="2024-03-01T08:00:00Z",
        provider={"name": "Associated Press", "domain": "apnews.com"},
        published=True,
    )
    write_article(
        folder,
        "quake-nyt",
        title=SECOND,
        webUrl=NYT,
        originalUrl=WIRE,
        publishedDateTime="2024-03-01T10:00:00Z",
        provider={"name": "The New York Times", "domain": "nytimes.com"},
    )
    write_article(folder, "garden", title="Gardening today", topics=["Gardens"])
    write_article(folder, "other", title="Markets close higher", published=True)


def said(result: InteractionResult) -> str:
    """The answer's text (a deferred answer's is its follow-up)."""
    original = result.original or {}
    return str(original.get("content") or result.data.get("content") or "")


def dm_posts(d: StandIn, user_id: int) -> list[Any]:
    channel = d.dm_channel_id(user_id)
    return [
        r
        for r in d.requests
        if channel is not None and r.method == "POST" and r.path == f"/channels/{channel}/messages"
    ]


async def article_card(env: NewsEnv, article_id: str) -> dict[str, Any]:
    result = await env.discord.slash("article", {"article": article_id}, user_id=env.guild.reader)
    assert result.message is not None and not result.ephemeral
    return result.message


def follow_button(message: dict[str, Any]) -> str:
    [button] = [b for b in card_buttons(message) if b.get("label") == "Follow story"]
    return str(button["custom_id"])


def forged(message: dict[str, Any], custom_id: str) -> dict[str, Any]:
    """A copy of `message` as a crafted interaction would carry it: its Follow story
    button's custom_id replaced (a message Discord does not know)."""
    copied = copy.deepcopy(message)
    copied["id"] = str(int(message["id"]) + 1_000_000)
    for button in card_buttons(copied):
        if str(button.get("custom_id", "")).startswith(FOLLOW_STORY_PREFIX):
            button["custom_id"] = custom_id
    return copied


@pytest.mark.usefixtures("both_backends")
async def test_follow_story_then_a_new_source_is_one_dm_to_that_member(tmp_path: Path) -> None:
    quake(tmp_path / "store")
    async with news_bot(tmp_path) as env:
        d, reader, moderator = env.discord, env.guild.reader, env.guild.moderator
        card = await article_card(env, "quake-ap")
        button = follow_button(card)
        assert button == FOLLOW_STORY_PREFIX + "quake-ap"
        [read, save, follow] = card_buttons(card)
        assert (read["label"], save["label"], follow["label"]) == ("Read", "Save", "Follow story")

        pressed = await d.click(button, message=card, user_id=reader)
        assert pressed.ephemeral and said(pressed).startswith(
            f"You now follow the story **{FIRST}**: each new source that joins it comes to your DMs"
        )
        [made] = await env.store.follows.of(reader)
        assert (made.kind, made.text, made.typed) == (FollowKind.STORY, "quake-ap", FIRST)
        again = await d.click(button, message=card, user_id=reader)
        assert said(again) == f"You already follow the story **{FIRST}**."
        listing = await d.slash("following", user_id=reader)
        assert f"1. story **{FIRST}**" in content(listing)

        # An unrelated story published: nothing for the member.
        await env.store.publishing.publish("garden", "test")
        assert await env.store.alerts.of(reader) == {}

        # A new source joins the story: one DM, its card, no mentions, a nonce enforced.
        await env.store.publishing.publish("quake-nyt", "test")
        await d.wait_for(lambda: len(d.dms(reader)) == 1, 10)
        [dm] = d.dms(reader)
        shown = "\n".join(card_texts(dm))
        assert f"### [{SECOND}]({NYT})" in shown and "The New York Times" in shown
        [post] = dm_posts(d, reader)
        assert post.json["allowed_mentions"] == {"parse": []}
        assert post.json["nonce"] and post.json["enforce_nonce"] is True
        assert d.dms(moderator) == []
        assert list(await env.store.alerts.of(reader)) == [NYT]

        # Pressed on another article of the story, it is the same follow.
        nyt_card = await article_card(env, "quake-nyt")
        same = await d.click(follow_button(nyt_card), message=nyt_card, user_id=reader)
        assert said(same) == f"You already follow the story **{SECOND}**."
        assert len(await env.store.follows.of(reader)) == 1

        removed = await d.slash("unfollow", {"follow": str(made.id)}, user_id=reader)
        assert content(removed) == "Removed that follow."
        assert await env.store.follows.of(reader) == []


@pytest.mark.usefixtures("both_backends")
async def test_a_forged_follow_story_for_an_unknown_or_hidden_article_saves_nothing(
    tmp_path: Path,
) -> None:
    quake(tmp_path / "store")
    async with news_bot(tmp_path) as env:
        d, reader = env.discord, env.guild.reader
        card = await article_card(env, "quake-ap")
        for target in ("quake-nyt", "no-such-article", "garden"):  # drafts, and no article
            custom_id = FOLLOW_STORY_PREFIX + target
            result = await d.click(custom_id, message=forged(card, custom_id), user_id=reader)
            assert result.ephemeral and said(result) == NOT_AVAILABLE
            assert "Gardening" not in str(result.data) and SECOND not in str(result.data)
        assert await env.store.follows.of(reader) == []
        await env.store.publishing.unpublish("quake-ap", "test")  # withdrawn since shown
        withdrawn = await d.click(follow_button(card), message=card, user_id=reader)
        assert said(withdrawn) == NOT_AVAILABLE
        assert await env.store.follows.of(reader) == []


DAY = 86400


async def test_a_story_follow_is_dropped_once_its_story_is_quiet_for_long(
    database: Path | str, store_dir: Path
) -> None:
    quake(store_dir)
    write_article(store_dir, "late", title="Later news", published=False)
    now = [1_800_000_000.0]
    async with Store.open(database, store_dir, clock=lambda: now[0]) as store:
        await store.folder.sync()
        await store.follows.add(1, FollowKind.STORY, "quake-ap", FIRST)
        await store.follows.add(2, FollowKind.STORY, "other", "Markets close higher")
        now[0] += 20 * DAY
        await store.publishing.publish("quake-nyt", "test")  # joins quake-ap's story
        assert list(await store.alerts.of(1)) == [NYT] and await store.alerts.of(2) == {}
        now[0] += (STORY_FOLLOW_DAYS - 10) * DAY
        await store.publishing.publish("late", "test")
        # 2's story had nothing new for 30 days: dropped; 1's had, 10 days ago: kept.
        assert [f.text for f in await store.follows.of(1)] == ["quake-ap"]
        assert await store.follows.of(2) == []
