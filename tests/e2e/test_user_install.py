"""User install, end to end (the real bot over the stand-in's wire, SQLite): a member who
installed the app to their account uses the reader commands in the DM with the bot, in a
group DM and in a server that did not install the app; the server commands stay where a
server installed the app.

What Discord does here, and the stand-in with it (tests/support/stand_in/installs.py): a
command's `integration_types` and `contexts` count on global commands only; the client
offers a command only where those allow it and an installation authorizes it (else the
stand-in raises ValueError, as it does for a command nobody registered); in a server without
the app's own install, a member without Use External Apps gets every answer ephemeral.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.botenv import content, news_bot
from tests.support.helpers import (
    IS_COMPONENTS_V2,
    ai_store,
    card_buttons,
    card_texts,
    is_card,
    write_article,
)
from tests.support.stand_in import InteractionResult, Perm, StandIn

EPHEMERAL = 1 << 6
READERS = {"news", "search", "topics", "article", "story", "follow", "following", "unfollow"}
SERVER_ONLY = {"feed", "digest", "drafts", "preview", "publish", "unpublish", "status", "story"}
TITLE = "Published story {day}"


def store(folder: Path, count: int = 12) -> None:
    """`count` published AI stories ("Published story N", day N; 12 make two pages of
    /news), no draft."""
    ai_store(folder, published=count, drafts=0)


def a_fan(d: StandIn, *, permissions: int = 0) -> tuple[int, int]:
    """A server that did not install the app, and a member of it (sharing no server with
    the bot) who installed the app to their account: (server id, user id)."""
    outside = d.add_outside_guild()
    d.add_channel("general", guild_id=outside)
    fan = d.add_member("fan", permissions=permissions, guild_id=outside)
    d.install_for_user(fan)
    return outside, fan


def button(message: dict[str, Any], label: str) -> str:
    found = [b for b in card_buttons(message) if b.get("label") == label]
    assert found, (label, card_buttons(message))
    return str(found[0]["custom_id"])


def flags(data: dict[str, Any]) -> int:
    return int(data.get("flags") or 0)


def said(result: InteractionResult) -> str:
    """A deferred answer's text: the follow-up that replaced "thinking…"."""
    original = result.original or {}
    return str(original.get("content") or content(result))


# --- where the commands are registered, and what they declare ---------------------------


async def test_reader_commands_are_user_installable_and_the_rest_server_only(
    tmp_path: Path,
) -> None:
    """With DISCORD_GUILD_ID (the tests' default): the reader commands global with both
    installs and every context; everything else in that server, server install only."""
    async with news_bot(tmp_path) as env:
        d = env.discord
        global_ = {c["name"]: c for c in d.commands()}
        assert set(global_) == READERS
        for command in global_.values():
            assert command["integration_types"] == [0, 1], command["name"]
            assert command["contexts"] == [0, 1, 2], command["name"]
        server = {c["name"]: c for c in d.commands(d.guild_id)}
        assert set(server) == SERVER_ONLY
        for command in server.values():
            assert command["integration_types"] == [0], command["name"]
            assert command["contexts"] == [0], command["name"]
        sent = [r.json for r in d.requests if r.method == "PUT" and "/commands" in r.path]
        declared = {c["name"]: c for body in sent for c in body or []}
        assert declared["feed"]["integration_types"] == [0]  # explicit, not a default
        assert declared["news"]["integration_types"] == [0, 1]


async def test_without_a_guild_id_the_server_commands_are_global_but_not_installable(
    tmp_path: Path,
) -> None:
    """A public bot (no DISCORD_GUILD_ID): /feed and /digest global, yet Discord offers them
    neither in a DM nor in a server that did not install the app."""
    async with news_bot(tmp_path, guild_id=None) as env:
        d = env.discord
        global_ = {c["name"]: c for c in d.commands()}
        assert set(global_) == READERS | {"feed", "digest"}
        for name in ("feed", "digest"):
            assert global_[name]["integration_types"] == [0]
            assert global_[name]["contexts"] == [0]
        outside, fan = a_fan(d)
        with pytest.raises(ValueError, match="not available in the DM with the bot"):
            await d.slash("feed", subcommand="list", user_id=fan, where="dm")
        with pytest.raises(ValueError, match="no installation of the app authorizes it"):
            await d.slash("feed", subcommand="list", user_id=fan, guild_id=outside)
        topics = await d.slash("topics", user_id=fan, where="dm")  # readers: there too
        assert topics.type == 4  # (an empty store: what it says is no matter here)


# --- the stand-in's sync: what Discord accepts and answers ---------------------------


async def put_commands(d: StandIn, body: list[dict[str, Any]]) -> tuple[int, Any]:
    url = f"{d.api_base}/applications/{d.application_id}/commands"
    async with (
        aiohttp.ClientSession() as http,
        http.put(url, json=body, headers={"Authorization": "Bot test-token"}) as answer,
    ):
        return answer.status, await answer.json()


async def test_the_sync_checks_install_types_and_contexts_and_answers_the_defaults() -> None:
    async with StandIn() as d:
        plain = {"name": "plain", "description": "No contexts given", "type": 1}
        status, answer = await put_commands(d, [plain])
        assert status == 200
        assert answer[0]["integration_types"] == [0, 1]  # the app's configured installs
        assert answer[0]["contexts"] is None  # null: a server and the DM with the bot
        bads: list[dict[str, list[int]]] = [
            {"integration_types": [2]},
            {"integration_types": []},
            {"contexts": [0, 3]},
            {"contexts": [1, 1]},
        ]
        for bad in bads:
            status, answer = await put_commands(d, [plain | bad])
            assert status == 400 and answer["code"] == 50035, (bad, answer)
            assert list(bad) == list(answer["errors"]["0"]), answer
    async with StandIn(user_install=False) as d:
        status, answer = await put_commands(d, [plain])
        assert status == 200 and answer[0]["integration_types"] == [0]


# --- the DM with the bot ------------------------------------------------------------------


async def test_news_in_a_dm_answers_the_card_publicly_and_its_pages_turn(
    tmp_path: Path,
) -> None:
    store(tmp_path / "store")
    async with news_bot(tmp_path) as env:
        d = env.discord
        _, fan = a_fan(d)
        first = await d.slash("news", user_id=fan, where="dm")
        # What Discord got: the card, as a normal (not ephemeral) message of the DM.
        assert first.type == 4 and is_card(first.data), first.data
        assert flags(first.data) & IS_COMPONENTS_V2 and not flags(first.data) & EPHEMERAL
        assert card_texts(first.data)[0] == "## Latest news"
        assert TITLE.format(day=12) in "\n".join(card_texts(first.data))
        message = first.message
        assert message is not None and "guild_id" not in message
        assert int(message["channel_id"]) == d.dm_channel_id(fan)
        metadata = message["interaction_metadata"]
        assert metadata["authorizing_integration_owners"] == {"1": str(fan)}

        choices = await d.autocomplete("news", {}, "topic", user_id=fan, where="dm")
        assert [c["value"] for c in choices] == ["AI"]
        turned = await d.click(button(message, "Next"), message=message, user_id=fan)
        assert turned.type == 7, turned.data
        assert TITLE.format(day=7) in "\n".join(card_texts(turned.data))  # page 2


async def test_article_in_a_dm_then_save_sends_one_dm(tmp_path: Path) -> None:
    store(tmp_path / "store", count=2)
    async with news_bot(tmp_path) as env:
        d = env.discord
        _, fan = a_fan(d)
        answer = await d.slash("article", {"article": "pub02"}, user_id=fan, where="dm")
        assert answer.type == 4 and is_card(answer.data) and not answer.ephemeral
        message = answer.message
        assert message is not None

        saved = await d.click(button(message, "Save"), message=message, user_id=fan)
        assert said(saved) == "Saved to your DMs." and saved.ephemeral
        again = await d.click(button(message, "Save"), message=message, user_id=fan)
        assert said(again) == "Already in your DMs."
        dms = d.dms(fan)  # the DM's channel messages: the answer itself is not one
        assert len(dms) == 1 and is_card(dms[0])
        assert TITLE.format(day=2) in "\n".join(card_texts(dms[0]))


async def test_topics_in_a_group_dm_answers_publicly(tmp_path: Path) -> None:
    store(tmp_path / "store", count=1)
    async with news_bot(tmp_path) as env:
        _, fan = a_fan(env.discord)
        topics = await env.discord.slash("topics", user_id=fan, where="private")
        assert topics.type == 4 and not topics.ephemeral
        assert "AI" in topics.data["embeds"][0]["description"]


# --- a server that did not install the app ---------------------------------------------


async def test_search_where_the_app_is_only_user_installed_answers_ephemerally(
    tmp_path: Path,
) -> None:
    store(tmp_path / "store")
    async with news_bot(tmp_path) as env:
        d = env.discord
        outside, fan = a_fan(d)
        found = await d.slash("search", {"query": "published"}, user_id=fan, guild_id=outside)
        # The bot asked for it (what Discord got): ephemeral, and a card.
        assert found.type == 4 and is_card(found.data), found.data
        assert flags(found.data) == EPHEMERAL | IS_COMPONENTS_V2
        assert found.ephemeral
        message = found.message
        assert message is not None
        assert message["interaction_metadata"]["authorizing_integration_owners"] == {"1": str(fan)}
        turned = await d.click(button(message, "Next"), message=message, user_id=fan)
        assert turned.type == 7 and card_texts(turned.data)[0].startswith("## Search")
        assert d.messages(int(message["channel_id"]), include_interactions=True) == []


async def test_a_member_with_use_external_apps_gets_a_public_answer(tmp_path: Path) -> None:
    store(tmp_path / "store", count=1)
    async with news_bot(tmp_path) as env:
        d = env.discord
        outside, fan = a_fan(d, permissions=Perm.USE_EXTERNAL_APPS)
        found = await d.slash("news", user_id=fan, guild_id=outside)
        assert found.type == 4 and is_card(found.data)
        assert flags(found.data) == IS_COMPONENTS_V2 and not found.ephemeral


async def test_in_a_server_that_installed_the_app_answers_stay_public(tmp_path: Path) -> None:
    """A reader who also installed the app: the server's install authorizes it too."""
    store(tmp_path / "store", count=1)
    async with news_bot(tmp_path) as env:
        d, reader = env.discord, env.guild.reader
        d.install_for_user(reader)
        found = await d.slash("news", user_id=reader)
        assert found.type == 4 and not found.ephemeral and found.message is not None
        owners = found.message["interaction_metadata"]["authorizing_integration_owners"]
        assert owners == {"0": str(d.guild_id), "1": str(reader)}


# --- the server commands from a DM -----------------------------------------------------


async def test_feed_add_cannot_be_used_from_a_dm(tmp_path: Path) -> None:
    """Discord offers no /feed in a DM (a server's command there); a forged one is refused
    by the bot itself, privately, before anything is read or changed."""
    async with news_bot(tmp_path) as env:
        d = env.discord
        admin, news = env.guild.admin, env.guild.channels["news"]
        with pytest.raises(ValueError, match="no slash command /feed"):
            await d.slash("feed", {"channel": news}, subcommand="add", user_id=admin, where="dm")
        forged = await d.slash(
            "feed",
            {"channel": news},
            subcommand="add",
            user_id=admin,
            where="dm",
            registered_in=d.guild_id,
        )
        assert forged.ephemeral
        assert content(forged) == "Only server admins (Manage Server) can manage feeds."
        assert await env.store.feeds.subscriptions(guild_id=d.guild_id) == []


async def test_related_and_save_work_from_an_ephemeral_article(tmp_path: Path) -> None:
    """/article where the app is only user-installed: an ephemeral card whose Related and
    Save buttons still answer (Related ephemerally; Save in the member's DMs)."""
    related = [
        {
            # 75 characters each: 30 are more than a card has room for
            "title": f"Related story {n:02d} on the open-source boom, and what may come after"
            + " it all",
            "webUrl": f"https://outlet{n}.example/story",
            "provider": {"name": f"Outlet {n}"},
        }
        for n in range(30)
    ]
    (tmp_path / "store").mkdir()
    write_article(
        tmp_path / "store", "story", published=True, related=related, excerpt="An excerpt. " * 100
    )
    async with news_bot(tmp_path) as env:
        d = env.discord
        outside, fan = a_fan(d)
        answer = await d.slash("article", {"article": "story"}, user_id=fan, guild_id=outside)
        assert flags(answer.data) == EPHEMERAL | IS_COMPONENTS_V2 and answer.message is not None
        message = answer.message
        more = await d.click(button(message, "Related"), message=message, user_id=fan)
        assert more.type == 4 and more.ephemeral and is_card(more.data)
        assert "Related story 29" in "\n".join(card_texts(more.data))
        saved = await d.click(button(message, "Save"), message=message, user_id=fan)
        assert said(saved) == "Saved to your DMs." and len(d.dms(fan)) == 1


async def test_a_forged_feed_list_from_a_server_without_the_app_is_refused(
    tmp_path: Path,
) -> None:
    """Manage Server in a server that never installed the app makes no feed admin."""
    async with news_bot(tmp_path, guild_id=None) as env:
        d = env.discord
        outside, fan = a_fan(d, permissions=Perm.MANAGE_GUILD)
        forged = await d.slash(
            "feed", subcommand="list", user_id=fan, guild_id=outside, forged=True
        )
        assert forged.ephemeral
        assert content(forged) == "Only server admins (Manage Server) can manage feeds."


async def test_a_fan_follows_from_the_dm_and_gets_the_story_there(tmp_path: Path) -> None:
    """Personal news needs no shared server: /follow in the DM with the bot, then a story
    published on that topic comes to that DM as its card, once."""
    (tmp_path / "store").mkdir()
    write_article(
        tmp_path / "store",
        "fresh",
        published=False,
        topics=["AI"],
        title="A fresh AI story",
        publishedDateTime="2024-03-01T10:00:00Z",
    )
    async with news_bot(tmp_path) as env:
        d = env.discord
        _, fan = a_fan(d)
        followed = await d.slash("follow", {"query": "fresh ai"}, user_id=fan, where="dm")
        assert followed.ephemeral and "You now follow the search" in content(followed)
        await env.store.publishing.publish("fresh", "test")
        await d.wait_for(lambda: len(d.dms(fan)) == 1, 10)
        [alert] = d.dms(fan)
        assert is_card(alert) and flags(alert) & IS_COMPONENTS_V2
        assert any("A fresh AI story" in text for text in card_texts(alert))
