"""What readers and moderators see as cards, end to end (the real bot over the stand-in's
wire, on both backends): /article, the pages of /news, /search and /drafts, and the
reader buttons, Related and Save.

Save reaches the member's DMs: the stand-in opens a DM channel (`POST /users/@me/
channels`), refuses to deliver into one whose user closed their DMs (403, code 50007),
and shows what a user received (`dms`).
"""

from __future__ import annotations

import asyncio
import copy
import re
import time
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.cards import RELATED_PREFIX, SAVE_PREFIX
from bot.desk import ListKind
from bot.errors import DeskUnavailable
from bot.pages import PageTarget
from tests.support.botenv import NewsEnv, content, news_bot, subscribe
from tests.support.helpers import (
    IS_COMPONENTS_V2,
    SECTION,
    THUMBNAIL,
    ai_store,
    card_buttons,
    card_texts,
    components,
    is_card,
    write_article,
)
from tests.support.stand_in import InteractionResult, StandIn

pytestmark = pytest.mark.usefixtures("both_backends")

PICTURE = "https://pictures.example/open-closed.jpeg?w=3000"
STORY_URL = "https://example.com/news/story"
TITLE = "How Long Will the Open-Source AI Boom Last?"
DESK_AWAY = "The news desk is briefly unavailable. Please try again in a minute."
SAVED = "Saved to your DMs."
ALREADY = "Already in your DMs."
NOT_AVAILABLE = "This story is not available: it was withdrawn, or never published."
DM_POSTS = r"^/channels/\d+/messages$"  # the only channel messages these tests make


# --- the stand-in's DMs ------------------------------------------------------------------


def dm_posts(d: StandIn, user_id: int) -> list[Any]:
    """The message creations the bot asked of its DM channel with the user (answered or
    refused)."""
    channel = d.dm_channel_id(user_id)
    return [
        r
        for r in d.requests
        if channel is not None and r.method == "POST" and r.path == f"/channels/{channel}/messages"
    ]


# --- reading a card back -----------------------------------------------------------------


def card_text(message: dict[str, Any]) -> str:
    """All of the card's text, a display a paragraph."""
    return "\n\n".join(card_texts(message))


def card_button(message: dict[str, Any], label: str) -> dict[str, Any]:
    """The card's one button labelled `label`."""
    [button] = [b for b in card_buttons(message) if b.get("label") == label]
    return button


def card_pictures(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(the section's text, the picture's URL) for each picture: which is shown beside what."""
    pictures = []
    for section in components(message):
        accessory = section.get("accessory") or {}
        if section["type"] == SECTION and accessory.get("type") == THUMBNAIL:
            texts = [str(c.get("content", "")) for c in section.get("components") or []]
            pictures.append(("\n".join(texts), str(accessory["media"]["url"])))
    return pictures


# --- the store --------------------------------------------------------------------------


def seed_like(folder: Path, name: str = "story", **fields: Any) -> Path:
    """A published story shaped like the seed: two related items, the first with a
    picture, the second without."""
    folder.mkdir(exist_ok=True)
    related = [
        {
            "title": "The open-source AI boom is built on Big Tech's handouts",
            "webUrl": "https://www.technologyreview.com/2023/05/12/open-source-ai/",
            "provider": {"name": "MIT Technology Review", "domain": "technologyreview.com"},
            "images": [{"url": PICTURE, "width": 3000, "height": 1688, "isCached": True}],
        },
        {
            "title": "Open source AI continues to celebrate as Big Tech mulls over moats",
            "webUrl": "https://venturebeat.com/ai/open-source-ai-continues-to-celebrate/",
            "provider": {"name": "VentureBeat", "domain": "venturebeat.com"},
        },
    ]
    values: dict[str, Any] = {
        "title": TITLE,
        "published": True,
        "topics": ["AI"],
        "related": related,
    }
    return write_article(folder, name, **(values | fields))


def titles(message: dict[str, Any]) -> list[str]:
    """The linked bold titles of a list page, top to bottom."""
    return re.findall(r"\*\*\[(.+?)\]\(", card_text(message))


def said(result: InteractionResult) -> str:
    """What the answer says: its message's text (a deferred answer's is the follow-up that
    replaced "thinking…"), else the callback's."""
    original = result.original or {}
    return str(original.get("content") or result.data.get("content") or "")


def footer(message: dict[str, Any]) -> str:
    return next(t for t in reversed(card_texts(message)) if t.startswith("-# Page"))


def stored(d: StandIn, result: InteractionResult) -> dict[str, Any]:
    """The answer's message as Discord keeps it now (after any edit)."""
    assert result.message is not None, result
    message = d._message_data(int(result.message["id"]))
    assert message is not None
    return message


async def article(env: NewsEnv, article_id: str = "story") -> dict[str, Any]:
    """/article as the reader; its (public) card."""
    result = await env.discord.slash("article", {"article": article_id}, user_id=env.guild.reader)
    assert result.type == 4 and not result.ephemeral, result.data
    assert result.message is not None
    return result.message


async def press(
    env: NewsEnv, message: dict[str, Any], label: str, user_id: int
) -> InteractionResult:
    """Press the card's button labelled `label` as `user_id`."""
    custom_id = card_button(message, label)["custom_id"]
    return await env.discord.click(custom_id, message=message, user_id=user_id)


def forged(message: dict[str, Any], custom_id: str) -> dict[str, Any]:
    """A copy of `message` as a crafted interaction would carry it: its Save button's
    custom_id replaced (a message Discord does not know, so its components are as given)."""
    copied = copy.deepcopy(message)
    copied["id"] = str(int(message["id"]) + 1_000_000)
    for button in card_buttons(copied):
        if str(button.get("custom_id", "")).startswith(SAVE_PREFIX):
            button["custom_id"] = custom_id
    return copied


# --- /article -----------------------------------------------------------------------------


async def test_article_is_a_card_with_each_related_item_and_only_its_own_picture(
    tmp_path: Path,
) -> None:
    seed_like(tmp_path / "store")
    async with news_bot(tmp_path) as env:
        result = await env.discord.slash("article", {"article": "story"}, user_id=env.guild.reader)
        assert result.type == 4 and not result.ephemeral
        data = result.data
        assert int(data["flags"]) & IS_COMPONENTS_V2
        assert is_card(data) and not data.get("content") and not data.get("embeds")
        [container] = data["components"]
        assert container["type"] == 17 and isinstance(container.get("accent_color"), int)
        texts = card_texts(data)
        assert texts[0].startswith(f"### [{TITLE}]({STORY_URL})")
        assert re.search(r"<t:\d+:f> \(<t:\d+:R>\)", texts[0])  # each reader's own time
        text = card_text(data)
        assert "**Related coverage**" in text
        first = "[The open-source AI boom is built on Big Tech's handouts]("
        second = "[Open source AI continues to celebrate as Big Tech mulls over moats]("
        assert first in text and second in text
        assert "-# MIT Technology Review" in text and "-# VentureBeat" in text
        # The picture is the first related item's, beside it alone; the story has none.
        [(beside, url)] = card_pictures(data)
        assert url == PICTURE
        assert first in beside and second not in beside
        buttons = {b["label"]: b for b in card_buttons(data)}
        assert set(buttons) == {"Read", "Save", "Follow story"}  # all related fits: no Related
        assert buttons["Read"]["style"] == 5 and buttons["Read"]["url"] == STORY_URL
        assert buttons["Save"]["custom_id"] == SAVE_PREFIX + "story"
        assert data["allowed_mentions"] == {"parse": []}


async def test_a_picture_only_beside_the_item_it_belongs_to_when_the_story_has_one(
    tmp_path: Path,
) -> None:
    own = "https://pictures.example/the-story.png"
    seed_like(tmp_path / "store", images=[{"url": own, "width": 800, "height": 600}])
    async with news_bot(tmp_path) as env:
        card = await article(env)
        pictures = card_pictures(card)
        assert [url for _, url in pictures] == [own, PICTURE]
        story, related = pictures
        assert story[0].startswith(f"### [{TITLE}]")
        assert "[The open-source AI boom" in related[0]
        assert "Open source AI continues" not in related[0]


# --- list pages ---------------------------------------------------------------------------


async def test_news_pages_are_cards_and_turning_them_keeps_the_card(tmp_path: Path) -> None:
    ai_store(tmp_path / "store", drafts=2)
    async with news_bot(tmp_path) as env:
        d, reader = env.discord, env.guild.reader
        first = await d.slash("news", {"topic": "ai"}, user_id=reader)
        assert first.type == 4 and not first.ephemeral and is_card(first.data)
        assert card_texts(first.data)[0] == "## Latest in AI"
        assert titles(first.data) == [f"Published story {n}" for n in (12, 11, 10, 9, 8)]
        assert "Secret draft" not in card_text(first.data)
        assert footer(first.data) == "-# Page 1 · more on the next page"
        assert card_button(first.data, "Previous")["disabled"]
        assert not card_button(first.data, "Next")["disabled"]

        turned = await d.click(
            card_button(first.data, "Next")["custom_id"], message=stored(d, first), user_id=reader
        )
        assert turned.type == 7  # the same message, edited
        assert first.data["allowed_mentions"] == turned.data["allowed_mentions"] == {"parse": []}
        now = stored(d, first)
        assert is_card(now) and int(now["flags"]) & IS_COMPONENTS_V2
        assert titles(now) == [f"Published story {n}" for n in (7, 6, 5, 4, 3)]
        assert footer(now) == "-# Page 2 · more on the next page"
        last = await d.click(card_button(now, "Next")["custom_id"], message=now, user_id=reader)
        assert last.type == 7
        now = stored(d, first)
        assert titles(now) == ["Published story 2", "Published story 1"]
        assert footer(now) == "-# Page 3" and card_button(now, "Next")["disabled"]
        back = await d.click(card_button(now, "Previous")["custom_id"], message=now, user_id=reader)
        assert back.type == 7
        now = stored(d, first)
        assert is_card(now) and titles(now) == [f"Published story {n}" for n in (7, 6, 5, 4, 3)]


async def test_a_list_sent_as_an_embed_before_cards_turns_into_a_card(tmp_path: Path) -> None:
    """Page buttons live a day: a list answered as an embed by the bot before cards is
    turned into a card, its embed cleared (the V2 flag allows no embed beside it)."""
    ai_store(tmp_path / "store", drafts=0)
    async with news_bot(tmp_path) as env:
        d, reader = env.discord, env.guild.reader
        target = PageTarget(ListKind.LATEST, reader, 1, int(time.time()), '["", ""]')
        legacy = discord.ui.View(timeout=None)
        legacy.add_item(discord.ui.Button(label="Next", custom_id=target.custom_id()))
        channel = env.bot.get_partial_messageable(env.guild.channels["news"])
        sent = await channel.send(embed=discord.Embed(title="Latest news"), view=legacy)
        old = d._message_data(sent.id)
        assert old is not None and old["embeds"] and not int(old["flags"]) & IS_COMPONENTS_V2

        turned = await d.click(target.custom_id(), message=old, user_id=reader)
        assert turned.type == 7
        now = d._message_data(sent.id)
        assert now is not None and is_card(now)
        assert not now["embeds"] and not now["content"]
        assert titles(now) == [f"Published story {n}" for n in (7, 6, 5, 4, 3)]


async def test_search_pages_are_cards_and_turning_them_keeps_the_card(tmp_path: Path) -> None:
    ai_store(tmp_path / "store", drafts=0)
    async with news_bot(tmp_path) as env:
        d, reader = env.discord, env.guild.reader
        first = await d.slash("search", {"query": "published story"}, user_id=reader)
        assert is_card(first.data) and not first.ephemeral
        assert card_texts(first.data)[0] == "## Search: published story"
        assert len(titles(first.data)) == 5
        turned = await d.click(
            card_button(first.data, "Next")["custom_id"], message=stored(d, first), user_id=reader
        )
        assert turned.type == 7
        now = stored(d, first)
        assert is_card(now) and len(titles(now)) == 5
        assert not set(titles(now)) & set(titles(first.data))  # another five
        assert footer(now).startswith("-# Page 2")


async def test_a_drafts_page_has_a_publish_button_beside_each_draft(tmp_path: Path) -> None:
    ai_store(tmp_path / "store", published=2, drafts=7)
    async with news_bot(tmp_path) as env:
        d, moderator = env.discord, env.guild.moderator
        drafts = await d.slash("drafts", user_id=moderator)
        assert drafts.ephemeral and is_card(drafts.data)
        assert card_texts(drafts.data)[0] == "## Drafts awaiting review"
        sections = [c for c in drafts.data["components"][0]["components"] if c["type"] == 9]
        shown = [(s["components"][0]["content"], s["accessory"]) for s in sections]
        assert len(shown) == 5
        for text, accessory in shown:
            [number] = re.findall(r"Secret draft (\d)", text)
            assert accessory["type"] == 2 and accessory["label"] == f"Publish draft{number}"
        assert "Published story" not in card_text(drafts.data)

        # The second page's drafts have theirs too; the message stays a card.
        turned = await d.click(
            card_button(drafts.data, "Next")["custom_id"],
            message=stored(d, drafts),
            user_id=moderator,
        )
        assert turned.type == 7
        now = stored(d, drafts)
        assert is_card(now) and int(now["flags"]) & IS_COMPONENTS_V2
        labels = [b["label"] for b in card_buttons(now) if b["label"].startswith("Publish")]
        assert sorted(labels) == ["Publish draft0", "Publish draft1"]

        # A press publishes the draft beside it.
        button = card_button(now, "Publish draft0")
        pressed = await d.click(button["custom_id"], message=now, user_id=moderator)
        assert pressed.ephemeral and "Published **Secret draft 0**" in content(pressed)
        assert (await env.store.articles.get("draft0")).published


# --- /preview -----------------------------------------------------------------------------


async def test_a_preview_of_any_draft_is_a_card_within_discords_limits(tmp_path: Path) -> None:
    """The longest id a file name gives, and a story that fills every budget: the preview
    is still one card Discord accepts (the stand-in checks every limit), its note cut."""
    long_id = "d" * 90
    seed_like(
        tmp_path / "store",
        long_id,
        published=False,
        title="Huge " * 100,
        excerpt="lorem ipsum " * 2000,
        related=many_related(60),
        topics=[f"Topic {n}" for n in range(20)],
    )
    async with news_bot(tmp_path) as env:
        preview = await env.discord.slash(
            "preview", {"article": long_id}, user_id=env.guild.moderator
        )
        assert preview.type == 4 and preview.ephemeral and is_card(preview.data)
        note, *_ = card_texts(preview.data)
        assert re.fullmatch(r"Preview of `d+…` \(a draft\); this is exactly .+:", note), note
        assert len(note) <= 100
        assert card_texts(preview.data)[1].startswith("### [Huge Huge")
        # Read only: no reader buttons on a draft, and no Publish button: its custom_id
        # would not hold this id (publish it with /publish).
        assert [b["label"] for b in card_buttons(preview.data)] == ["Read"]


async def test_a_page_of_hostile_drafts_is_one_card_discord_accepts(tmp_path: Path) -> None:
    """The longest titles and excerpts, ids too long for a Publish button, mentions and
    masked links: the page is still a card within every limit (the stand-in checks them),
    and pings no one."""
    folder = tmp_path / "store"
    folder.mkdir()
    for n in range(6):
        write_article(
            folder,
            f"{n}" + "x" * 80,
            title=f"@everyone <@&1> [click](https://evil.example) {n} " + "headline " * 40,
            excerpt="**loud** " * 500,
            publishedDateTime=f"2024-02-{n + 1:02d}T10:00:00Z",
        )
    async with news_bot(tmp_path) as env:
        drafts = await env.discord.slash("drafts", user_id=env.guild.moderator)
        assert drafts.ephemeral and is_card(drafts.data)
        assert sum(len(t) for t in card_texts(drafts.data)) <= 4000
        assert "[click](https://evil.example)" not in card_text(drafts.data)
        labels = [b["label"] for b in card_buttons(drafts.data)]
        assert labels == ["Previous", "Next"]  # no Publish button could hold these ids
        message = stored(env.discord, drafts)
        assert message["mention_everyone"] is False and message["mention_roles"] == []


# --- Related ------------------------------------------------------------------------------


def many_related(count: int) -> list[dict[str, Any]]:
    return [
        {
            # 75 characters: 30 of them fill more than a story card's room, not a card's
            "title": f"Related story {n:02d} on the open-source boom, and what may come after"
            + " it all",
            "webUrl": f"https://outlet{n}.example/story",
            "provider": {"name": f"Outlet {n}"},
        }
        for n in range(count)
    ]


async def test_related_shows_all_the_related_coverage_the_card_had_no_room_for(
    tmp_path: Path,
) -> None:
    seed_like(tmp_path / "store", related=many_related(30), excerpt="An excerpt. " * 100)
    async with news_bot(tmp_path) as env:
        card = await article(env)
        on_card = re.findall(r"\[Related story (\d\d) ", card_text(card))
        assert 0 < len(on_card) < 30
        assert f"…and {30 - len(on_card)} more" in card_text(card)
        related_button = card_button(card, "Related")
        assert related_button["custom_id"] == RELATED_PREFIX + "story"

        # Anyone may press it (here, a moderator on the reader's answer): the answer is theirs.
        shown = await env.discord.click(
            related_button["custom_id"], message=card, user_id=env.guild.moderator
        )
        assert shown.type == 4 and shown.ephemeral and is_card(shown.data)
        text = card_text(shown.data)
        assert card_texts(shown.data)[0].startswith("**Related coverage** of How Long Will")
        # All thirty, in order: the ones the card had no room for too, and no "…and N more".
        assert re.findall(r"\[Related story (\d\d) ", text) == [f"{n:02d}" for n in range(30)]
        assert "more" not in card_texts(shown.data)[-1]
        assert shown.data["allowed_mentions"] == {"parse": []}


async def test_related_of_a_withdrawn_story_says_so(tmp_path: Path) -> None:
    seed_like(tmp_path / "store", related=many_related(30))
    async with news_bot(tmp_path) as env:
        card = await article(env)
        await env.store.publishing.unpublish("story", "test")
        shown = await env.discord.click(
            card_button(card, "Related")["custom_id"], message=card, user_id=env.guild.reader
        )
        assert shown.ephemeral and said(shown) == NOT_AVAILABLE
        assert not is_card(shown.data) and "Related story" not in str(shown.data)


# --- Save ---------------------------------------------------------------------------------


async def test_save_sends_the_card_to_the_members_dms_once_however_often_pressed(
    tmp_path: Path,
) -> None:
    seed_like(tmp_path / "store")
    async with news_bot(tmp_path) as env:
        d, reader = env.discord, env.guild.reader
        card = await article(env)
        save = card_button(card, "Save")["custom_id"]

        # Two presses racing: the first one's DM is made but its answer is still on the way
        # when the second press checks, finds nothing recorded, and sends too.
        in_flight = d.hold_answer("POST", DM_POSTS)
        first = asyncio.create_task(d.click(save, message=card, user_id=reader))
        await asyncio.wait_for(in_flight.arrived.wait(), 10)
        second = asyncio.create_task(d.click(save, message=card, user_id=reader))
        await asyncio.sleep(0.5)  # the second press is past its check, its send queued
        in_flight.release()
        pressed = await asyncio.gather(first, second)
        assert sorted(said(p) for p in pressed) == sorted([SAVED, ALREADY])
        assert all(p.ephemeral for p in pressed)
        # Both sends carried the same nonce (member and story), which Discord enforces.
        posts = dm_posts(d, reader)
        assert len(posts) == 2
        assert len({p.json["nonce"] for p in posts}) == 1 and all(
            p.json["enforce_nonce"] for p in posts
        )

        # A third press, later: nothing more is sent.
        third = await d.click(save, message=card, user_id=reader)
        assert third.ephemeral and said(third) == ALREADY
        [dm] = d.dms(reader)
        assert len(dm_posts(d, reader)) == 2

        # What the member received: the story's card, without a Save button of its own.
        assert is_card(dm)
        assert card_texts(dm)[0].startswith(f"### [{TITLE}]")
        assert [url for _, url in card_pictures(dm)] == [PICTURE]
        assert {b["label"] for b in card_buttons(dm)} == {"Read"}
        assert dm["allowed_mentions"] == {"parse": []}
        assert await env.store.saves.has(reader, STORY_URL)

        # Once per member: another member's press sends them their own copy.
        other = await d.click(save, message=card, user_id=env.guild.moderator)
        assert said(other) == SAVED
        assert len(d.dms(env.guild.moderator)) == 1 and len(d.dms(reader)) == 1


async def test_the_dm_copy_keeps_related_when_the_card_had_no_room(tmp_path: Path) -> None:
    seed_like(tmp_path / "store", related=many_related(30))
    async with news_bot(tmp_path) as env:
        card = await article(env)
        pressed = await env.discord.click(
            card_button(card, "Save")["custom_id"], message=card, user_id=env.guild.reader
        )
        assert said(pressed) == SAVED
        [dm] = env.discord.dms(env.guild.reader)
        labels = [b["label"] for b in card_buttons(dm)]
        assert labels == ["Read", "Related"]


async def test_closed_dms_are_said_privately_and_nothing_is_recorded(tmp_path: Path) -> None:
    seed_like(tmp_path / "store")
    async with news_bot(tmp_path) as env:
        d, reader = env.discord, env.guild.reader
        card = await article(env)
        d.close_dms(reader)
        pressed = await press(env, card, "Save", reader)
        assert pressed.ephemeral
        assert said(pressed).startswith("I can't DM you: your DMs are closed for this server")
        assert d.dms(reader) == []
        assert [p.status for p in dm_posts(d, reader)] == [403]
        assert not await env.store.saves.has(reader, STORY_URL)
        assert await env.store.saves.count(reader) == 0

        # Pressed again, it tries again (nothing was recorded), and says so again.
        again = await press(env, card, "Save", reader)
        assert said(again).startswith("I can't DM you")
        assert [p.status for p in dm_posts(d, reader)] == [403, 403]


async def test_the_buttons_of_a_feeds_post_work_for_its_readers(tmp_path: Path) -> None:
    """A card feed's post carries Related and Save into the channel: any member presses
    them there, and the same story saved from /article is already in their DMs."""
    seed_like(tmp_path / "store", related=many_related(30), published=False)
    async with news_bot(tmp_path) as env:
        d, reader, news = env.discord, env.guild.reader, env.guild.channels["news"]
        await subscribe(env, "news", style="card")
        await d.slash("publish", {"article": "story"}, user_id=env.guild.moderator)
        await d.wait_for(lambda: len(d.messages(news)) == 1, 10)
        [post] = d.messages(news)
        labels = [b["label"] for b in card_buttons(post)]
        assert labels == ["Read", "Related", "Save", "Follow story"]

        related = await press(env, post, "Related", reader)
        assert related.ephemeral and is_card(related.data)
        assert len(re.findall(r"\[Related story \d\d ", card_text(related.data))) == 30

        saved = await press(env, post, "Save", reader)
        assert said(saved) == SAVED
        [dm] = d.dms(reader)
        assert card_texts(dm)[0].startswith(f"### [{TITLE}]({STORY_URL})")
        again = await press(env, await article(env), "Save", reader)  # the same story
        assert said(again) == ALREADY and len(d.dms(reader)) == 1


async def test_save_of_a_withdrawn_story_says_so_and_sends_nothing(tmp_path: Path) -> None:
    seed_like(tmp_path / "store")
    async with news_bot(tmp_path) as env:
        d, reader = env.discord, env.guild.reader
        card = await article(env)
        await env.store.publishing.unpublish("story", "test")
        pressed = await press(env, card, "Save", reader)
        assert pressed.ephemeral and said(pressed) == NOT_AVAILABLE
        assert d.dms(reader) == [] and dm_posts(d, reader) == []
        assert not await env.store.saves.has(reader, STORY_URL)


async def test_save_with_the_database_away_says_so_and_sends_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_like(tmp_path / "store")
    async with news_bot(tmp_path) as env:
        d, reader = env.discord, env.guild.reader
        card = await article(env)

        async def away(user_id: int, url: str) -> bool:
            raise DeskUnavailable("connection refused")

        monkeypatch.setattr(env.store.saves, "has", away)
        pressed = await press(env, card, "Save", reader)
        assert pressed.ephemeral
        assert said(pressed) == DESK_AWAY
        assert d.dms(reader) == [] and dm_posts(d, reader) == []


@pytest.mark.parametrize("kind", ["unknown", "draft", "too long"])
async def test_a_forged_save_or_related_is_refused_and_reveals_no_draft(
    tmp_path: Path, kind: str
) -> None:
    seed_like(tmp_path / "store")
    write_article(
        tmp_path / "store", "scoop", title="Embargoed scoop", excerpt="Nobody may read this yet."
    )
    article_id = {"unknown": "no-such-story", "draft": "scoop", "too long": "x" * 200}[kind]
    async with news_bot(tmp_path) as env:
        d, reader = env.discord, env.guild.reader
        card = await article(env)
        for prefix in (SAVE_PREFIX, RELATED_PREFIX):
            custom_id = prefix + article_id
            pressed = await d.click(custom_id, message=forged(card, custom_id), user_id=reader)
            assert pressed.ephemeral and said(pressed) == NOT_AVAILABLE, (prefix, pressed.data)
            assert "Embargoed" not in str(pressed.data) and "Nobody may" not in str(pressed.data)
        assert d.dms(reader) == [] and dm_posts(d, reader) == []
        assert await env.store.saves.count(reader) == 0
