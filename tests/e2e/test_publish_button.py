"""The Publish buttons of /drafts and /preview: the real bot against the stand-in, on both
backends. A button publishes the version that was shown, or nothing, and only for 24 h
(like the page buttons): an edit made after the list was shown is never published unseen."""

from __future__ import annotations

import asyncio
import copy
import time
from pathlib import Path
from typing import Any

import pytest

from bot.ui import PUBLISH_PREFIX, base36
from tests.support import helpers
from tests.support.botenv import NewsEnv, content, news_bot, store_with_seed, subscribe
from tests.support.helpers import SEED_ID, SEED_PATH, card_title, write_article

pytestmark = pytest.mark.usefixtures("both_backends")

DAY = 24 * 3600
CHANGED = "changed since it was read"
EXPIRED = "This button has expired; look at the draft again with /preview or /drafts."


def publish_buttons(message: dict[str, Any]) -> dict[str, str]:
    """Label -> custom_id of the message's Publish buttons (the card's row, or beside
    each draft)."""
    return {
        b["label"]: b["custom_id"]
        for b in helpers.card_buttons(message)
        if b.get("custom_id", "").startswith(PUBLISH_PREFIX)
    }


def with_button(message: dict[str, Any], custom_id: str) -> dict[str, Any]:
    """A copy of a message carrying one button with `custom_id` (an old or a forged one)."""
    forged = copy.deepcopy(message)
    forged["id"] = "1"
    button = {"type": 2, "style": 3, "label": "Old", "custom_id": custom_id}
    forged["components"] = [{"type": 1, "components": [button]}]
    return forged


async def title_becomes(env: NewsEnv, article_id: str, title: str) -> None:
    """Until the bot's rescan has read the edit."""
    deadline = time.monotonic() + 10
    while (await env.store.articles.get(article_id, include_hidden=True)).title != title:
        assert time.monotonic() < deadline, "the edit was never read"
        await asyncio.sleep(0.1)  # the rescan reads it within a poll


async def test_a_drafts_button_publishes_nothing_the_moderator_did_not_see(
    tmp_path: Path,
) -> None:
    folder = store_with_seed(tmp_path)
    write_article(folder, "draft_b", title="Second draft", publishedDateTime="2024-02-01T00:00:00Z")
    async with news_bot(tmp_path) as env:
        d, news = env.discord, env.guild.channels["news"]
        await subscribe(env, "news")
        drafts = await d.slash("drafts", user_id=env.guild.moderator)
        assert drafts.message is not None
        shown = publish_buttons(drafts.message)
        assert set(shown) == {"Publish draft_b", f"Publish {SEED_ID}"}

        # The file is edited after the list was shown, and the bot reads the edit.
        write_article(
            folder, "draft_b", title="Rewritten unseen", publishedDateTime="2024-02-01T00:00:00Z"
        )
        await title_becomes(env, "draft_b", "Rewritten unseen")
        edited = (folder / "draft_b.txt").read_bytes()
        pressed = await d.click(
            shown["Publish draft_b"], message=drafts.message, user_id=env.guild.moderator
        )
        assert pressed.ephemeral and CHANGED in content(pressed)
        assert (folder / "draft_b.txt").read_bytes() == edited  # still a draft
        assert not (await env.store.articles.get("draft_b", include_hidden=True)).published

        # The other draft, unchanged, is published by its button.
        pressed = await d.click(
            shown[f"Publish {SEED_ID}"], message=drafts.message, user_id=env.guild.moderator
        )
        assert content(pressed).startswith("Published **How Long Will the Open-Source AI")
        await d.wait_for(lambda: len(d.messages(news)) == 1, 5)
        assert card_title(d.messages(news)[0]).startswith("How Long Will")

        # A fresh /drafts shows the edit, and its button publishes it.
        again = await d.slash("drafts", user_id=env.guild.moderator)
        assert again.message is not None
        pressed = await d.click(
            publish_buttons(again.message)["Publish draft_b"],
            message=again.message,
            user_id=env.guild.moderator,
        )
        assert content(pressed).startswith("Published **Rewritten unseen**")


async def test_a_publish_button_older_than_a_day_has_expired(tmp_path: Path) -> None:
    folder = store_with_seed(tmp_path)
    original = (folder / SEED_PATH.name).read_bytes()
    async with news_bot(tmp_path) as env:
        d = env.discord
        await subscribe(env, "news")
        drafts = await d.slash("drafts", user_id=env.guild.moderator)
        assert drafts.message is not None
        version = await env.store.articles.version(SEED_ID)
        old = int(time.time()) - DAY - 60
        for custom_id in (
            f"{PUBLISH_PREFIX}{base36(old)}:{version}/{SEED_ID}",  # shown 24 h and a minute ago
            PUBLISH_PREFIX + SEED_ID,  # made before buttons carried a version: unknown age
            f"{PUBLISH_PREFIX}{version}/{SEED_ID}",  # an old /preview button, likewise
        ):
            pressed = await d.click(
                custom_id,
                message=with_button(drafts.message, custom_id),
                user_id=env.guild.moderator,
            )
            assert pressed.ephemeral and content(pressed) == EXPIRED, custom_id
        assert (folder / SEED_PATH.name).read_bytes() == original
        assert not (await env.store.articles.get(SEED_ID, include_hidden=True)).published
        assert d.all_posts() == {}

        # Made 23 hours ago: still works.
        recent = f"{PUBLISH_PREFIX}{base36(int(time.time()) - DAY + 3600)}:{version}/{SEED_ID}"
        pressed = await d.click(
            recent, message=with_button(drafts.message, recent), user_id=env.guild.moderator
        )
        assert content(pressed).startswith("Published **How Long Will the Open-Source AI")


async def test_a_preview_button_carries_the_version_and_the_time_shown(tmp_path: Path) -> None:
    store_with_seed(tmp_path)
    async with news_bot(tmp_path) as env:
        before = int(time.time())
        preview = await env.discord.slash(
            "preview", {"article": SEED_ID}, user_id=env.guild.moderator
        )
        version = await env.store.articles.version(SEED_ID)
        [custom_id] = publish_buttons(preview.data).values()
        made, rest = custom_id.removeprefix(PUBLISH_PREFIX).split(":", 1)
        assert rest == f"{version}/{SEED_ID}"
        assert before <= int(made, 36) <= time.time()
