"""The newsroom: the store is one editorial desk, so moderation exists only in
the newsroom server(s), NEWSROOM_GUILD_IDS. A moderator of any other server, where the bot
is installed as well, is a reader and a feed admin there, never an editor.

End to end over the Discord stand-in with a second server whose member has Manage
Messages there. Where Discord itself would not deliver the call (the command is not
registered in that server), the stand-in forges it: the bot must check where it was used,
not trust where its commands are registered.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.desk import ListKind
from bot.pages import PageTarget
from bot.store import DeliveryState
from bot.ui import PUBLISH_PREFIX
from tests.support.botenv import (
    NewsEnv,
    content,
    news_bot,
    settings_for,
    settled,
    start_bot,
    store_with_seed,
    subscribe,
    two_rounds,
)
from tests.support.helpers import SEED_ID, SEED_PATH, card_buttons, card_texts, write_article
from tests.support.stand_in import InteractionResult, Perm, StandIn

MODERATION = {"drafts", "preview", "publish", "unpublish", "status", "story"}
# always global: a member may install them
READERS = {"news", "search", "topics", "article", "story", "follow", "following", "unfollow"}
ADMINS = {"feed", "digest"}  # global, or in DISCORD_GUILD_ID when it is set
EVERYONE_ELSE = READERS | ADMINS
SEED_TITLE = "How Long Will the Open-Source AI Boom Last?"
OUTSIDE = "Only moderators in the newsroom server can"


@dataclass
class OtherServer:
    """A second server the bot is in: not the newsroom."""

    id: int
    moderator: int  # Manage Messages there
    channel: int


def add_other_server(d: StandIn) -> OtherServer:
    guild = d.add_guild("Other Server")
    return OtherServer(
        guild,
        moderator=d.add_member("other-moderator", permissions=Perm.MANAGE_MESSAGES, guild_id=guild),
        channel=d.add_channel("other-news", guild_id=guild),
    )


@contextlib.asynccontextmanager
async def two_servers(tmp_path: Path, **changes: Any) -> AsyncIterator[tuple[NewsEnv, OtherServer]]:
    """The bot in the stand-in's guild (the newsroom unless `changes` say otherwise) and in
    a second server."""
    async with StandIn() as d:
        other = add_other_server(d)
        async with news_bot(tmp_path, stand_in=d, **changes) as env:
            yield env, other


def names(commands: list[dict[str, Any]]) -> set[str]:
    return {c["name"] for c in commands}


def with_button(message: dict[str, Any], custom_id: str) -> dict[str, Any]:
    """A copy of a message carrying one button the bot never sent (an id Discord never gave)."""
    forged = copy.deepcopy(message)
    forged["id"] = "1"
    button = {"type": 2, "style": 3, "label": "Forged", "custom_id": custom_id}
    forged["components"] = [{"type": 1, "components": [button]}]
    return forged


async def refusals(env: NewsEnv) -> list[tuple[str, str, str, str]]:
    """(action, article id, actor, detail) of every refusal in the audit trail, oldest first."""
    trail = await env.store.publishing.audit_trail()
    return [
        (e.action, e.article_id, e.actor, e.detail)
        for e in reversed(trail)
        if e.action.startswith("refused ")
    ]


def assert_refused_outside(result: InteractionResult) -> None:
    """A private refusal that shows nothing of the desk (no draft, no title, no embed)."""
    assert result.type == 4 and result.ephemeral, result.data
    assert content(result).startswith(OUTSIDE), result.data
    assert "this server is not it" in content(result)
    assert not result.data.get("embeds") and not result.data.get("components")
    shown = json.dumps(result.data)
    assert SEED_TITLE not in shown and "Open-Source" not in shown


async def one_poll(env: NewsEnv) -> None:
    """Two delivery rounds: anything a command queued has been sent by now."""
    await two_rounds(env.bot)


# --- where the commands are registered -----------------------------------------------------


async def test_moderation_commands_are_registered_in_the_newsroom_alone(tmp_path: Path) -> None:
    """A public bot: readers' and admins' commands global, moderation in the newsroom only."""
    store_with_seed(tmp_path)
    async with two_servers(tmp_path, guild_id=None) as (env, other):
        d, newsroom = env.discord, env.discord.guild_id
        assert names(d.commands()) == EVERYONE_ELSE  # global: no moderation command
        newsroom_commands = d.commands(newsroom)
        assert names(newsroom_commands) == MODERATION
        assert {c["guild_id"] for c in newsroom_commands} == {str(newsroom)}
        assert d.commands(other.id) == []

        # Discord offers the other server's moderator no /publish at all...
        with pytest.raises(ValueError, match="no slash command /publish"):
            await d.slash(
                "publish", {"article": SEED_ID}, user_id=other.moderator, guild_id=other.id
            )
        # ...while readers there have the global commands, and the newsroom its desk.
        topics = await d.slash("topics", user_id=other.moderator, guild_id=other.id)
        assert topics.acknowledged
        drafts = await d.slash("drafts", user_id=env.guild.moderator)
        assert drafts.ephemeral and card_texts(drafts.data)[0] == "## Drafts awaiting review"


async def test_each_newsroom_is_synced_when_it_changed_and_a_former_one_emptied(
    tmp_path: Path,
) -> None:
    store_with_seed(tmp_path)
    async with StandIn() as d:
        other = add_other_server(d)
        newsroom = d.guild_id
        both = frozenset({newsroom, other.id})
        async with news_bot(tmp_path, stand_in=d, newsroom_guild_ids=both) as env:
            settings = env.settings
            # DISCORD_GUILD_ID (the newsroom too) gets the server commands at once; the
            # second newsroom its desk alone; the reader commands are global (user installs).
            assert names(d.commands(newsroom)) == MODERATION | ADMINS
            assert names(d.commands(other.id)) == MODERATION
            assert names(d.commands()) == READERS
            assert d.sync_count == 3
            published = await d.slash(
                "publish", {"article": SEED_ID}, user_id=other.moderator, guild_id=other.id
            )
            assert content(published).startswith(f"Published **{SEED_TITLE}**")

        async with start_bot(d, settings):
            assert d.sync_count == 3  # nothing changed anywhere: nothing synced

        one = settings_for(d, settings.store_dir, settings.db_path)  # the newsroom alone
        async with start_bot(d, one):
            assert d.sync_count == 4
            assert d.commands(other.id) == []  # a former newsroom keeps no moderation command
            assert names(d.commands(newsroom)) == MODERATION | ADMINS
        async with start_bot(d, one):
            assert d.sync_count == 4


async def test_a_newsroom_the_bot_is_not_in_is_logged_and_the_rest_still_synced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store_with_seed(tmp_path)
    absent = 4242  # a server id the bot was never invited to
    async with StandIn() as d:
        newsroom = frozenset({d.guild_id, absent})
        async with news_bot(tmp_path, stand_in=d, newsroom_guild_ids=newsroom) as env:
            assert names(d.commands(d.guild_id)) == MODERATION | ADMINS
            failed = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
            assert len(failed) == 1 and f"guild {absent}" in failed[0], failed
            assert "applications.commands" in failed[0]
            moderator = env.guild.moderator
            drafts = await d.slash("drafts", user_id=moderator)
            assert drafts.ephemeral
            assert card_texts(drafts.data)[0] == "## Drafts awaiting review"
            settings = env.settings
        puts = [r for r in d.requests if r.method == "PUT" and f"/guilds/{absent}/" in r.path]
        async with start_bot(d, settings):
            again = [r for r in d.requests if r.method == "PUT" and f"/guilds/{absent}/" in r.path]
            assert len(again) == len(puts) + 1  # tried again at the next start
            assert d.sync_count == 2  # global and the newsroom, synced once: not synced again


async def test_without_a_newsroom_moderation_is_registered_nowhere(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = store_with_seed(tmp_path)
    original = (folder / SEED_PATH.name).read_bytes()
    caplog.set_level(logging.INFO)
    async with news_bot(tmp_path, guild_id=None, newsroom_guild_ids=frozenset()) as env:
        d = env.discord
        said = [r.getMessage() for r in caplog.records if "NEWSROOM_GUILD_IDS" in r.getMessage()]
        assert len(said) == 1, said  # one clear line at start-up
        assert "command line and console" in said[0]
        assert "`newsbot publish ID`" in said[0] and "`newsbot console`" in said[0]
        assert names(d.commands()) == EVERYONE_ELSE
        assert d.commands(d.guild_id) == []
        assert env.bot.get_cog("ModerationCommands") is None

        # A Publish button still reaches the bot (an old message, a forged one): refused.
        topics = await d.slash("topics", user_id=env.guild.moderator)
        assert topics.message is not None
        forged = with_button(topics.message, PUBLISH_PREFIX + SEED_ID)
        pressed = await d.click(
            PUBLISH_PREFIX + SEED_ID, message=forged, user_id=env.guild.moderator
        )
        assert_refused_outside(pressed)
        await one_poll(env)
        assert (folder / SEED_PATH.name).read_bytes() == original
        assert not (await env.store.articles.get(SEED_ID, include_hidden=True)).published
        assert await refusals(env) == [
            (
                "refused publish",
                SEED_ID,
                f"moderator ({env.guild.moderator})",
                f"outside the newsroom (server {d.guild_id})",
            )
        ]


# --- another server's moderator --------------------------------------------------------------


async def test_another_servers_moderator_changes_nothing_and_sees_no_draft(tmp_path: Path) -> None:
    folder = store_with_seed(tmp_path)
    write_article(folder, "story", title="A story already out", topics=["AI"])
    async with two_servers(tmp_path) as (env, other):
        d, news, newsroom = env.discord, env.guild.channels["news"], env.discord.guild_id
        await subscribe(env, "news")
        out = await d.slash("publish", {"article": "story"}, user_id=env.guild.moderator)
        assert content(out).startswith("Published")
        await d.wait_for(lambda: len(d.messages(news)) == 1, 5)
        await settled(env)
        files = {p.name: p.read_bytes() for p in folder.iterdir()}
        posts = d.all_posts()
        queue = await env.store.outbox.state_counts()
        assert queue == {DeliveryState.SENT: 1}

        # Every moderation command, forged from the other server by its moderator.
        calls: list[tuple[str, dict[str, Any]]] = [
            ("publish", {"article": SEED_ID}),
            ("unpublish", {"article": "story"}),
            ("drafts", {}),
            ("preview", {"article": SEED_ID}),
            ("status", {}),
        ]
        for name, options in calls:
            result = await d.slash(
                name,
                options,
                user_id=other.moderator,
                guild_id=other.id,
                registered_in=newsroom,
            )
            assert_refused_outside(result)
            assert f"use /{name}" in content(result)

        await one_poll(env)
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == files
        assert not (await env.store.articles.get(SEED_ID, include_hidden=True)).published
        assert (await env.store.articles.get("story")).published
        assert await env.store.outbox.state_counts() == queue
        assert d.all_posts() == posts  # the story's post stands; nothing new anywhere
        assert d.messages(other.channel) == []
        who, where = (
            f"other-moderator ({other.moderator})",
            f"outside the newsroom (server {other.id})",
        )
        assert await refusals(env) == [
            ("refused publish", SEED_ID, who, where),
            ("refused unpublish", "story", who, where),
            ("refused drafts", "", who, where),
            ("refused preview", SEED_ID, who, where),
            ("refused status", "", who, where),
        ]


async def test_another_servers_moderator_pressing_desk_buttons_changes_nothing(
    tmp_path: Path,
) -> None:
    folder = store_with_seed(tmp_path)
    original = (folder / SEED_PATH.name).read_bytes()
    async with two_servers(tmp_path) as (env, other):
        d = env.discord
        await subscribe(env, "news")
        drafts = await d.slash("drafts", user_id=env.guild.moderator)
        assert drafts.message is not None
        [publish_id] = [
            b["custom_id"]
            for b in card_buttons(drafts.message)
            if b["custom_id"].startswith(PUBLISH_PREFIX)
        ]

        # The newsroom's Publish button, pressed in the other server.
        pressed = await d.click(
            publish_id, message=drafts.message, user_id=other.moderator, channel_id=other.channel
        )
        assert_refused_outside(pressed)
        assert "can publish" in content(pressed)

        # A drafts page button made up in the other server, for its own moderator.
        target = PageTarget(ListKind.DRAFTS, other.moderator, 0, int(time.time()), '["", ""]')
        page = with_button(drafts.message, target.custom_id())
        turned = await d.click(
            target.custom_id(), message=page, user_id=other.moderator, channel_id=other.channel
        )
        assert_refused_outside(turned)
        assert "can see drafts" in content(turned)

        await one_poll(env)
        assert (folder / SEED_PATH.name).read_bytes() == original
        assert not (await env.store.articles.get(SEED_ID, include_hidden=True)).published
        assert await env.store.outbox.state_counts() == {}
        assert d.all_posts() == {}
        who, where = (
            f"other-moderator ({other.moderator})",
            f"outside the newsroom (server {other.id})",
        )
        assert await refusals(env) == [
            ("refused publish", SEED_ID, who, where),
            ("refused drafts", "", who, where),
        ]

        # The newsroom's moderator still publishes with that very button.
        ok = await d.click(publish_id, message=drafts.message, user_id=env.guild.moderator)
        assert content(ok).startswith(f"Published **{SEED_TITLE}**")


async def test_no_draft_title_is_offered_outside_the_newsroom(tmp_path: Path) -> None:
    folder = store_with_seed(tmp_path)
    write_article(folder, "live", title="Open-source AI is live", published=True)
    async with two_servers(tmp_path) as (env, other):
        d = env.discord
        for command in ("publish", "preview", "unpublish"):
            choices = await d.autocomplete(
                command,
                {"article": "open"},
                "article",
                user_id=other.moderator,
                guild_id=other.id,
                registered_in=d.guild_id,
            )
            assert choices == [], command
        offered = await d.autocomplete(
            "preview", {"article": "open"}, "article", user_id=env.guild.moderator
        )
        assert [c["value"] for c in offered] == [SEED_ID]
