"""Proves the Discord stand-in against real discord.py: a tiny bot logs in, syncs,
answers interactions and posts messages, and the stand-in enforces Discord's rules."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.support.stand_in import StandIn, running_bot
from tests.support.stand_in.validation import ApiError, validate_message

TOPICS = ["politics", "science", "space", "sports"]
MESSAGES = r"^/channels/\d+/messages$"
LATE_ERRORS: list[discord.NotFound] = []
BotT = TypeVar("BotT", commands.Bot, commands.AutoShardedBot)


class BumpView(discord.ui.View):
    """A button whose callback edits the message it sits on (callback type 7)."""

    def __init__(self) -> None:
        super().__init__(timeout=60)

    @discord.ui.button(label="Bump", custom_id="bump", style=discord.ButtonStyle.primary)
    async def bump(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        await interaction.response.edit_message(content="bumped", view=None)


def make_bot(cls: type[BotT], **options: Any) -> BotT:
    """The test bot: default intents (no privileged ones) and four slash commands."""
    bot = cls(
        command_prefix="!",
        intents=discord.Intents.default(),
        help_command=None,
        guild_ready_timeout=0.1,  # discord.py waits this long after the last GUILD_CREATE
        **options,
    )

    @bot.tree.command(name="ping", description="Answer pong")
    @app_commands.describe(x="What to echo")
    async def ping(interaction: discord.Interaction, x: str) -> None:
        await interaction.response.send_message(f"pong {x}", ephemeral=True)

    @bot.tree.command(name="slow", description="Defer, then follow up")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await asyncio.sleep(0.05)  # work between the deferral and its follow-up
        await interaction.followup.send("done later")

    @bot.tree.command(name="button", description="Post a message with a button")
    async def button(interaction: discord.Interaction) -> None:
        assert isinstance(interaction.channel, discord.TextChannel)
        await interaction.channel.send("press it", view=BumpView())
        await interaction.response.send_message("posted", ephemeral=True)

    @bot.tree.command(name="topic", description="Pick a topic")
    async def topic(interaction: discord.Interaction, name: str) -> None:
        await interaction.response.send_message(f"topic {name}")

    @bot.tree.command(name="late", description="Answer after Discord's 3 s deadline")
    async def late(interaction: discord.Interaction) -> None:
        await asyncio.sleep(3.1)  # past Discord's 3 s deadline
        try:
            await interaction.response.send_message("too late")
        except discord.NotFound as exc:
            LATE_ERRORS.append(exc)

    @topic.autocomplete("name")
    async def topic_names(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=t, value=t) for t in TOPICS if t.startswith(current)]

    return bot


@pytest.fixture
async def stand_in() -> AsyncIterator[StandIn]:
    async with StandIn() as d:
        yield d


@pytest.fixture
def news(stand_in: StandIn) -> int:
    """A channel that exists before the bot connects (so it arrives in GUILD_CREATE)."""
    return stand_in.add_channel("news")


@pytest.fixture
async def bot(stand_in: StandIn, news: int) -> AsyncIterator[commands.Bot]:
    async with running_bot(make_bot(commands.Bot), stand_in) as running:
        guild = discord.Object(stand_in.guild_id)
        running.tree.copy_global_to(guild=guild)
        await running.tree.sync(guild=guild)
        yield running


@pytest.fixture
def alice(stand_in: StandIn) -> int:
    return stand_in.add_member("alice")


def text_channel(bot: commands.Bot, channel_id: int) -> discord.TextChannel:
    channel = bot.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)
    return channel


def statuses(d: StandIn, method: str, pattern: str) -> list[int]:
    import re

    return [r.status for r in d.requests if r.method == method and re.search(pattern, r.path)]


# --- connecting ---


async def test_login_ready_and_guild_with_channels(
    stand_in: StandIn, bot: commands.Bot, news: int
) -> None:
    assert bot.user is not None and bot.user.id == stand_in.bot_user_id
    assert bot.application_id == stand_in.application_id
    guild = bot.get_guild(stand_in.guild_id)
    assert guild is not None and guild.name == "Test Guild"
    assert guild.default_role.id == stand_in.guild_id
    assert [c.id for c in guild.text_channels] == [news]
    perms = text_channel(bot, news).permissions_for(guild.me)
    assert perms.send_messages and perms.embed_links and perms.read_message_history
    identify = [f for f in stand_in.gateway_log if f.get("op") == 2]
    assert len(identify) == 1 and identify[0]["d"]["token"] == "test-token"
    me = [r for r in stand_in.requests if r.path == "/users/@me"]
    assert me[0].headers["Authorization"] == "Bot test-token"


async def test_command_sync_is_recorded_with_descriptions(
    stand_in: StandIn, bot: commands.Bot
) -> None:
    assert stand_in.sync_count == 1
    cmds = {c["name"]: c for c in stand_in.commands(stand_in.guild_id)}
    assert set(cmds) == {"ping", "slow", "button", "topic", "late"}
    assert cmds["ping"]["description"] == "Answer pong"
    assert cmds["ping"]["options"][0]["description"] == "What to echo"
    assert cmds["topic"]["options"][0]["autocomplete"] is True
    assert stand_in.commands() == []  # nothing global was synced


# --- interactions ---


async def test_slash_gets_an_ephemeral_reply(
    stand_in: StandIn, bot: commands.Bot, alice: int, news: int
) -> None:
    result = await stand_in.slash("ping", {"x": "hi"}, user_id=alice)
    assert result.type == 4 and result.ephemeral and not result.deferred
    assert result.data["content"] == "pong hi"
    assert result.original is not None and result.original["content"] == "pong hi"
    assert stand_in.messages(news) == []  # interaction replies are not channel posts


async def test_defer_then_followup(stand_in: StandIn, bot: commands.Bot, alice: int) -> None:
    result = await stand_in.slash("slow", user_id=alice)
    assert result.type == 5 and result.deferred
    assert [f["content"] for f in result.followups] == ["done later"]
    assert result.original is not None and result.original["content"] == "done later"
    assert not result.original["flags"] & 128  # no longer "thinking"


async def test_button_click_edits_the_message(
    stand_in: StandIn, bot: commands.Bot, alice: int, news: int
) -> None:
    posted = await stand_in.slash("button", user_id=alice, channel_id=news)
    assert posted.ephemeral and posted.data["content"] == "posted"
    [message] = stand_in.messages(news)
    assert message["content"] == "press it" and message["components"]
    clicked = await stand_in.click("bump", message=message, user_id=alice)
    assert clicked.type == 7
    [edited] = stand_in.messages(news)
    assert edited["id"] == message["id"]
    assert edited["content"] == "bumped" and edited["components"] == []


async def test_autocomplete_choices(stand_in: StandIn, bot: commands.Bot, alice: int) -> None:
    everything = await stand_in.autocomplete("topic", {}, "name", user_id=alice)
    assert [c["name"] for c in everything] == TOPICS
    some = await stand_in.autocomplete("topic", {"name": "sp"}, "name", user_id=alice)
    assert [c["value"] for c in some] == ["space", "sports"]


async def test_second_callback_is_refused(stand_in: StandIn, bot: commands.Bot, alice: int) -> None:
    result = await stand_in.slash("ping", {"x": "once"}, user_id=alice)
    url = f"{stand_in.api_base}/interactions/{result.id}/{result.token}/callback"
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json={"type": 4, "data": {"content": "again"}}) as resp,
    ):
        assert resp.status == 400
        assert resp.headers["Content-Type"] == "application/json"
        assert (await resp.json())["code"] == 40060


async def test_callback_after_three_seconds_is_unknown_interaction(
    stand_in: StandIn, bot: commands.Bot, alice: int
) -> None:
    LATE_ERRORS.clear()
    result = await stand_in.slash("late", user_id=alice)
    assert not result.acknowledged and result.type is None
    assert [a.status for a in result.attempts] == [404]
    assert [e.code for e in LATE_ERRORS] == [10062]


# --- channel messages ---


async def test_enforce_nonce_returns_the_existing_message(
    stand_in: StandIn, bot: commands.Bot, news: int
) -> None:
    channel = text_channel(bot, news)
    first = await channel.send("hello", nonce="n-1")
    second = await channel.send("hello", nonce="n-1")
    assert first.id == second.id
    assert len(stand_in.messages(news)) == 1
    posts = [r for r in stand_in.requests if r.method == "POST" and r.path.endswith("/messages")]
    assert all(r.json is not None and r.json["enforce_nonce"] is True for r in posts)


async def test_file_upload_is_recorded_from_multipart(
    stand_in: StandIn, bot: commands.Bot, news: int
) -> None:
    file = discord.File(io.BytesIO(b"hello"), filename="note.txt")
    sent = await text_channel(bot, news).send("with a file", file=file)
    assert [(a.filename, a.size) for a in sent.attachments] == [("note.txt", 5)]
    [post] = [r for r in stand_in.requests if r.method == "POST" and r.path.endswith("/messages")]
    assert post.json is not None and post.json["content"] == "with a file"


async def test_injected_404_reads_like_discord(
    stand_in: StandIn, bot: commands.Bot, news: int
) -> None:
    stand_in.fail_next("POST", MESSAGES, 404, code=10003)
    with pytest.raises(discord.NotFound) as caught:
        await text_channel(bot, news).send("nowhere")
    assert caught.value.code == 10003 and caught.value.text == "Unknown Channel"
    assert stand_in.messages(news) == []  # a failed request is not applied


async def test_overlong_embed_title_is_a_400(
    stand_in: StandIn, bot: commands.Bot, news: int
) -> None:
    with pytest.raises(discord.HTTPException) as caught:
        await text_channel(bot, news).send(embed=discord.Embed(title="x" * 257))
    assert caught.value.status == 400 and caught.value.code == 50035
    assert "embeds.0.title" in str(caught.value)
    assert stand_in.messages(news) == []


async def test_429_is_waited_out(stand_in: StandIn, bot: commands.Bot, news: int) -> None:
    stand_in.fail_next("POST", MESSAGES, 429, retry_after=0.3)
    started = time.monotonic()
    await text_channel(bot, news).send("after a 429")
    assert time.monotonic() - started >= 0.3
    assert len(stand_in.messages(news)) == 1
    assert stand_in.rate_limited_count == 1
    assert statuses(stand_in, "POST", MESSAGES) == [429, 200]


async def test_500s_are_retried(stand_in: StandIn, bot: commands.Bot, news: int) -> None:
    stand_in.fail_next("POST", MESSAGES, 500, times=2)
    await text_channel(bot, news).send("after two 500s")  # discord.py sleeps 1 s, then 3 s
    assert statuses(stand_in, "POST", MESSAGES) == [500, 500, 200]
    assert len(stand_in.messages(news)) == 1


async def test_a_burst_refuses_every_matching_request_until_it_ends(
    stand_in: StandIn, bot: commands.Bot, news: int
) -> None:
    stand_in.fail_for(0.5, "POST", MESSAGES, 500)
    await text_channel(bot, news).send("after a burst")  # discord.py retries after 1 s
    assert statuses(stand_in, "POST", MESSAGES) == [500, 200]
    assert len(stand_in.messages(news)) == 1


async def test_dropped_connection_after_commit_and_nonce_retry(
    stand_in: StandIn, bot: commands.Bot, news: int
) -> None:
    stand_in.drop_after_commit("POST", MESSAGES)
    channel = text_channel(bot, news)
    with pytest.raises((aiohttp.ClientError, OSError)):
        await channel.send("maybe", nonce="drop-1")
    [stored] = stand_in.messages(news)  # applied although the bot never heard back
    retried = await channel.send("maybe", nonce="drop-1")
    assert retried.id == int(stored["id"])
    assert len(stand_in.messages(news)) == 1


async def test_deleted_channel_is_404(stand_in: StandIn, bot: commands.Bot, news: int) -> None:
    channel = text_channel(bot, news)
    stand_in.delete_channel(news)
    with pytest.raises(discord.NotFound) as caught:
        await channel.send("into the void")
    assert caught.value.code == 10003
    await stand_in.wait_for(lambda: bot.get_channel(news) is None, timeout=5)


async def test_missing_send_permission_is_403(stand_in: StandIn, bot: commands.Bot) -> None:
    locked = stand_in.add_channel("locked", bot_can_send=False)
    await stand_in.wait_for(lambda: bot.get_channel(locked) is not None, timeout=5)
    channel = text_channel(bot, locked)
    assert not channel.permissions_for(channel.guild.me).send_messages
    with pytest.raises(discord.Forbidden) as caught:
        await channel.send("let me in")
    assert caught.value.code == 50013


async def test_embeds_need_embed_links(stand_in: StandIn, bot: commands.Bot, news: int) -> None:
    stand_in.set_bot_permissions(news, can_embed=False)
    channel = text_channel(bot, news)
    await stand_in.wait_for(lambda: not channel.permissions_for(channel.guild.me).embed_links)
    embed = discord.Embed(title="headline")
    with pytest.raises(discord.Forbidden):
        await channel.send(embed=embed)  # an embed-only message is refused
    sent = await channel.send("with words", embed=embed)
    assert sent.embeds == []  # with content, Discord posts it without the embed
    assert [m["embeds"] for m in stand_in.messages(news)] == [[]]


async def test_post_deleted_by_a_moderator(stand_in: StandIn, bot: commands.Bot, news: int) -> None:
    message = await text_channel(bot, news).send("soon gone")
    stand_in.delete_message(news, message.id)
    with pytest.raises(discord.NotFound) as caught:
        await message.edit(content="edited")
    assert caught.value.code == 10008
    assert stand_in.messages(news) == []


async def test_mentions_follow_allowed_mentions(
    stand_in: StandIn, bot: commands.Bot, news: int
) -> None:
    role = stand_in.add_role("readers")
    channel = text_channel(bot, news)
    await channel.send(f"<@&{role}> @everyone", allowed_mentions=discord.AllowedMentions.none())
    await channel.send(
        f"<@&{role}> @everyone",
        allowed_mentions=discord.AllowedMentions(everyone=False, roles=[discord.Object(role)]),
    )
    await channel.send("@everyone")  # no allowed_mentions at all: everything pings
    quiet, targeted, loud = stand_in.messages(news)
    assert (quiet["mention_roles"], quiet["mention_everyone"]) == ([], False)
    assert (targeted["mention_roles"], targeted["mention_everyone"]) == ([str(role)], False)
    assert loud["mention_everyone"] is True and loud["allowed_mentions"] is None


# --- the wire itself ---


async def test_unknown_route_and_missing_auth(stand_in: StandIn) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{stand_in.api_base}/no/such/route") as resp:
            assert resp.status == 404
            assert resp.headers["Content-Type"] == "application/json"
            assert await resp.json() == {"message": "404: Not Found", "code": 0}
        async with http.get(f"{stand_in.api_base}/users/@me") as resp:
            assert resp.status == 401
    assert [(r.path, r.status) for r in stand_in.requests] == [
        ("/no/such/route", 404),
        ("/users/@me", 401),
    ]


class NoIdentifyPause(commands.Bot):
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py sleeps 5 s before a re-IDENTIFY by default; the stand-in needs no pause."""


async def test_gateway_drop_resume_is_refused_and_bot_reidentifies(stand_in: StandIn) -> None:
    channel_id = stand_in.add_channel("news")
    async with running_bot(make_bot(NoIdentifyPause), stand_in) as bot:
        assert await stand_in.drop_gateway() == 1
        await stand_in.wait_for(
            lambda: [f.get("op") for f in stand_in.gateway_log].count(2) == 2, timeout=10
        )
        await stand_in.wait_for(lambda: bot.get_channel(channel_id) is not None, timeout=10)
        await text_channel(bot, channel_id).send("back again")
    ops = [f.get("op") for f in stand_in.gateway_log if f.get("op") != 1]  # minus heartbeats
    assert ops == [2, 6, 2]  # IDENTIFY, RESUME (answered with INVALID_SESSION), IDENTIFY
    assert len(stand_in.messages(channel_id)) == 1


LINK = {"type": 2, "style": 5, "label": "Open", "url": "https://example.com/a"}


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"content": "x" * 2001}, "content"),
        ({"embeds": [{"description": "d"}] * 11}, "embeds"),
        ({"embeds": [{"fields": [{"name": "", "value": "v"}]}]}, "embeds.0.fields.0.name"),
        ({"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]}, "embeds.0.fields.0.value"),
        ({"embeds": [{"footer": {"text": "f" * 2049}}]}, "embeds.0.footer.text"),
        ({"embeds": [{"author": {"name": "a" * 257}}]}, "embeds.0.author.name"),
        ({"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]}, "embeds"),
        ({"embeds": [{"title": "t", "url": "javascript:alert(1)"}]}, "embeds.0.url"),
        (
            {"components": [{"type": 1, "components": [LINK | {"custom_id": "x"}]}]},
            "components.0.components.0.custom_id",
        ),
        (
            {"components": [{"type": 1, "components": [LINK | {"url": "ftp://x"}]}]},
            "components.0.components.0.url",
        ),
        ({"components": [{"type": 1, "components": [LINK] * 6}]}, "components.0.components"),
        ({"components": [{"type": 1, "components": [LINK]}] * 6}, "components"),
        ({"content": "n", "nonce": "n" * 26}, "nonce"),
    ],
)
def test_message_bodies_discord_refuses(body: dict[str, Any], where: str) -> None:
    with pytest.raises(ApiError) as caught:
        validate_message(body, creating=True)
    assert caught.value.status == 400 and caught.value.code == 50035
    node: Any = caught.value.errors
    for part in where.split("."):
        node = node[part]
    assert "_errors" in node


def test_message_body_rules_that_pass_and_empty_messages() -> None:
    fine = {
        "content": "x" * 2000,
        "embeds": [{"title": "t" * 256, "fields": [{"name": "n", "value": "v"}] * 25}],
        "components": [{"type": 1, "components": [LINK] * 5}] * 5,
    }
    validate_message(fine, creating=True)
    with pytest.raises(ApiError) as caught:
        validate_message({"content": ""}, creating=True)
    assert caught.value.code == 50006
    validate_message({"content": ""}, creating=False)  # an edit may clear the content


# --- rate limits and shards ---


@pytest.mark.slow
async def test_rate_limited_burst_is_paced() -> None:
    async with StandIn(rate_limits=True) as d:
        channel_id = d.add_channel("busy")
        async with running_bot(make_bot(commands.Bot), d) as bot:
            channel = text_channel(bot, channel_id)
            started = time.monotonic()
            sent = await asyncio.gather(*(channel.send(f"item {i}") for i in range(12)))
            elapsed = time.monotonic() - started
        assert len({m.id for m in sent}) == 12
        assert len(d.messages(channel_id)) == 12
        assert elapsed >= 4.5 or d.rate_limited_count > 0
        assert d.rate_limited_count <= 2  # discord.py paced itself from the headers
        posts = [r for r in d.requests if r.method == "POST"]
        assert all("X-RateLimit-Bucket" in r.answer_headers for r in posts)
        assert posts[0].answer_headers["X-RateLimit-Limit"] == "5"


class QuickShards(commands.AutoShardedBot):
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py sleeps 5 s between IDENTIFYs by default; the stand-in needs no pause."""


async def test_sharded_bot_gets_interactions_on_the_owning_shard() -> None:
    async with StandIn() as d:
        d.add_channel("news")
        user = d.add_member("bob")
        bot = make_bot(QuickShards, shard_count=2)
        async with running_bot(bot, d) as running:
            guild = discord.Object(d.guild_id)
            running.tree.copy_global_to(guild=guild)
            await running.tree.sync(guild=guild)
            result = await d.slash("ping", {"x": "shards"}, user_id=user)
            owner = running.get_guild(d.guild_id)
            assert owner is not None and owner.shard_id == (d.guild_id >> 22) % 2
        shards = sorted(f["d"]["shard"] for f in d.gateway_log if f.get("op") == 2)
        assert shards == [[0, 2], [1, 2]]
        assert result.data["content"] == "pong shards"
