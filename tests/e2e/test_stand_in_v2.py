"""Proves the stand-in's Components V2 rules and DMs: what real discord.py 2.7 builds is
stored exactly as sent, and what Discord refuses comes back as its 400/50035 at the path of
the offending field (or 403/50007 for a user whose DMs are closed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
from discord.ext import commands

from tests.support.stand_in import StandIn, running_bot

V2 = 1 << 15
ERRORS: list[discord.HTTPException] = []  # what the bot's callbacks were refused
TEXT = {"type": 10, "content": "words"}
PICTURE = "https://img.example/lead.png"


# --- a card built with discord.py -------------------------------------------------------------


class Card(discord.ui.LayoutView):
    """Every V2 component discord.py has, in a container, with buttons that call back."""

    def __init__(self, headline: str) -> None:
        super().__init__(timeout=60)
        self.add_item(
            discord.ui.Container(
                discord.ui.Section(
                    discord.ui.TextDisplay(f"## {headline}"),
                    discord.ui.TextDisplay("Provider · <t:1700000000:R>"),
                    accessory=discord.ui.Thumbnail(PICTURE, description="The lead picture"),
                ),
                discord.ui.Section(
                    discord.ui.TextDisplay("Related coverage"),
                    accessory=UpdateButton(label="Related", custom_id="related"),
                ),
                discord.ui.TextDisplay("The excerpt."),
                discord.ui.MediaGallery(
                    discord.MediaGalleryItem("https://img.example/g.png", description="Gallery")
                ),
                discord.ui.Separator(),
                discord.ui.ActionRow(
                    discord.ui.Button(label="Read", url="https://news.example/story"),
                    SaveButton(label="Save", custom_id="save"),
                    PlainButton(label="Plain", custom_id="plain"),
                ),
                accent_colour=discord.Colour(0x1F8B4C),
            )
        )


def card_json(headline: str) -> list[dict[str, Any]]:
    """What discord.py 2.7 sends for ``Card(headline)``, written out by hand."""

    def button(label: str, custom_id: str) -> dict[str, Any]:
        return {"type": 2, "style": 2, "disabled": False, "label": label, "custom_id": custom_id}

    return [
        {
            "type": 17,
            "accent_color": 0x1F8B4C,
            "spoiler": False,
            "components": [
                {
                    "type": 9,
                    "components": [
                        {"type": 10, "content": f"## {headline}"},
                        {"type": 10, "content": "Provider · <t:1700000000:R>"},
                    ],
                    "accessory": {
                        "type": 11,
                        "spoiler": False,
                        "media": {"url": PICTURE},
                        "description": "The lead picture",
                    },
                },
                {
                    "type": 9,
                    "components": [{"type": 10, "content": "Related coverage"}],
                    "accessory": button("Related", "related"),
                },
                {"type": 10, "content": "The excerpt."},
                {
                    "type": 12,
                    "items": [
                        {
                            "media": {"url": "https://img.example/g.png"},
                            "spoiler": False,
                            "description": "Gallery",
                        }
                    ],
                },
                {"type": 14, "divider": True, "spacing": 1},
                {
                    "type": 1,
                    "components": [
                        {
                            "type": 2,
                            "style": 5,
                            "disabled": False,
                            "label": "Read",
                            "url": "https://news.example/story",
                        },
                        button("Save", "save"),
                        button("Plain", "plain"),
                    ],
                },
            ],
        }
    ]


class UpdateButton(discord.ui.Button[Card]):
    """Updates the card in place (callback type 7), still as a card."""

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.edit_message(view=Card("Updated"))


class PlainButton(discord.ui.Button[Card]):
    """Tries to turn the card into plain content: Discord refuses it."""

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await interaction.response.edit_message(content="plain words")
        except discord.HTTPException as exc:
            ERRORS.append(exc)


class SaveButton(discord.ui.Button[Card]):
    """Sends the card to the member's DMs and says so; closed DMs are told ephemerally."""

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await interaction.user.send(view=Card("Saved"))
        except discord.Forbidden as exc:
            ERRORS.append(exc)
            await interaction.response.send_message("Your DMs are closed", ephemeral=True)
            return
        await interaction.response.send_message("Saved to your DMs", ephemeral=True)


def make_bot() -> commands.Bot:
    bot = commands.Bot(
        command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.1
    )

    @bot.tree.command(name="card", description="Answer with a card")
    async def card(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(view=Card("Interaction"))

    @bot.tree.command(name="badcard", description="Answer with a card and content")
    async def badcard(interaction: discord.Interaction) -> None:
        try:
            # discord.py's types forbid content beside a LayoutView; at runtime it sends both
            await interaction.response.send_message("words", view=Card("Bad"))  # type: ignore[call-overload]
        except discord.HTTPException as exc:
            ERRORS.append(exc)

    @bot.tree.command(name="later", description="Defer, then follow up with cards")
    async def later(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send(view=Card("Later"))
        await interaction.followup.send(view=Card("Second"))
        await interaction.edit_original_response(view=Card("Edited"))
        try:
            embed = discord.Embed(title="t")
            await interaction.followup.send(embed=embed, view=Card("Bad"))  # type: ignore[call-overload]
        except discord.HTTPException as exc:
            ERRORS.append(exc)

    return bot


@pytest.fixture(autouse=True)
def no_errors_yet() -> None:
    ERRORS.clear()


@pytest.fixture
async def stand_in() -> AsyncIterator[StandIn]:
    async with StandIn() as d:
        yield d


@pytest.fixture
def news(stand_in: StandIn) -> int:
    return stand_in.add_channel("news")


@pytest.fixture
async def bot(stand_in: StandIn, news: int) -> AsyncIterator[commands.Bot]:
    async with running_bot(make_bot(), stand_in) as running:
        guild = discord.Object(stand_in.guild_id)
        running.tree.copy_global_to(guild=guild)
        await running.tree.sync(guild=guild)
        yield running


def text_channel(bot: commands.Bot, channel_id: int) -> discord.TextChannel:
    channel = bot.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)
    return channel


def refused_at(exc: discord.HTTPException, path: str) -> None:
    """A 400/50035 whose errors name ``path`` (discord.py flattens them into its text)."""
    assert (exc.status, exc.code) == (400, 50035)
    assert f"In {path}: " in exc.text, exc.text


async def call(d: StandIn, method: str, path: str, body: Any) -> tuple[int, Any]:
    """One REST request as a bot makes it: the status and the JSON answer (None: no body)."""
    async with (
        aiohttp.ClientSession() as http,
        http.request(
            method, f"{d.api_base}{path}", json=body, headers={"Authorization": "Bot t"}
        ) as resp,
    ):
        return resp.status, await resp.json() if resp.content_length else None


def error_codes(answer: Any, path: str) -> list[str]:
    """The 50035 answer's error codes at ``path`` (dotted), which must be there."""
    assert answer["code"] == 50035 and answer["message"] == "Invalid Form Body"
    node = answer["errors"]
    for part in path.split("."):
        assert part in node, f"{path}: no {part!r} in {node}"
        node = node[part]
    return [e["code"] for e in node["_errors"]]


# --- round trips through real discord.py --------------------------------------------------------


async def test_a_card_is_stored_exactly_as_discord_py_sent_it_and_edited_as_a_card(
    stand_in: StandIn, bot: commands.Bot, news: int
) -> None:
    channel = text_channel(bot, news)
    sent = await channel.send(view=Card("Headline"))
    [stored] = stand_in.messages(news)
    assert stored["components"] == card_json("Headline")
    assert (stored["flags"], stored["content"], stored["embeds"]) == (V2, "", [])
    fetched = await channel.fetch_message(sent.id)
    assert fetched.flags.components_v2
    [container] = fetched.components
    assert isinstance(container, discord.components.Container)
    assert container.accent_colour == discord.Colour(0x1F8B4C)

    await sent.edit(view=Card("Edited"))
    [edited] = stand_in.messages(news)
    assert edited["components"] == card_json("Edited") and edited["flags"] == V2
    with pytest.raises(discord.HTTPException) as caught:
        await sent.edit(content="plain words")
    refused_at(caught.value, "content")
    assert stand_in.messages(news) == [edited]


async def test_a_forum_post_whose_first_message_is_a_card(
    stand_in: StandIn, bot: commands.Bot
) -> None:
    forum_id = stand_in.add_forum("forum")
    await stand_in.wait_for(lambda: bot.get_channel(forum_id) is not None)
    forum = bot.get_channel(forum_id)
    assert isinstance(forum, discord.ForumChannel)
    made = await forum.create_thread(name="Headline", view=Card("Forum"))
    assert made.message.flags.components_v2
    [thread] = stand_in.threads(forum_id)
    assert thread["message"]["components"] == card_json("Forum")
    assert thread["message"]["flags"] == V2
    with pytest.raises(discord.HTTPException) as caught:
        await forum.create_thread(name="Bad", content="words", view=Card("Bad"))  # type: ignore[call-overload]
    refused_at(caught.value, "message.content")
    assert len(stand_in.threads(forum_id)) == 1


async def test_an_interaction_answers_and_updates_with_cards(
    stand_in: StandIn, bot: commands.Bot, news: int
) -> None:
    alice = stand_in.add_member("alice")
    answered = await stand_in.slash("card", user_id=alice, channel_id=news)
    assert answered.type == 4 and answered.data["flags"] == V2
    assert answered.original is not None
    assert answered.original["components"] == card_json("Interaction")

    updated = await stand_in.click("related", message=answered.original, user_id=alice)
    assert updated.type == 7
    assert updated.original is not None and updated.original["id"] == answered.original["id"]
    assert updated.original["components"] == card_json("Updated")
    assert updated.original["flags"] == V2

    plain = await stand_in.click("plain", message=updated.original, user_id=alice)
    assert not plain.acknowledged and [a.status for a in plain.attempts] == [400]
    [error] = ERRORS
    refused_at(error, "data.content")
    assert answered.original["components"] == card_json("Updated")  # unchanged

    ERRORS.clear()
    bad = await stand_in.slash("badcard", user_id=alice, channel_id=news)
    assert not bad.acknowledged
    [error] = ERRORS
    refused_at(error, "data.content")


async def test_follow_ups_and_their_edits_are_cards(
    stand_in: StandIn, bot: commands.Bot, news: int
) -> None:
    alice = stand_in.add_member("alice")
    result = await stand_in.slash("later", user_id=alice, channel_id=news)
    assert result.type == 5
    assert [f["components"] for f in result.followups] == [
        card_json("Edited"),  # the first follow-up replaced "thinking", then was edited
        card_json("Second"),
    ]
    assert all(f["flags"] == V2 for f in result.followups)
    [error] = ERRORS
    refused_at(error, "embeds")


# --- mentions in text displays ------------------------------------------------------------------


def pinging(content: str) -> discord.ui.LayoutView:
    """A text display nested as deep as a card nests its headline."""
    view = discord.ui.LayoutView()
    view.add_item(
        discord.ui.Container(
            discord.ui.Section(
                discord.ui.TextDisplay(content),
                accessory=discord.ui.Thumbnail(PICTURE),
            )
        )
    )
    return view


async def test_allowed_mentions_apply_to_text_displays(
    stand_in: StandIn, bot: commands.Bot, news: int
) -> None:
    feed_role, other_role = stand_in.add_role("feed"), stand_in.add_role("other")
    alice = stand_in.add_member("alice")
    channel = text_channel(bot, news)
    pings = f"<@&{feed_role}> <@&{other_role}> <@{alice}> @everyone"
    only_the_feed = discord.AllowedMentions(
        everyone=False, users=False, roles=[discord.Object(feed_role)]
    )
    await channel.send(view=pinging(pings), allowed_mentions=only_the_feed)
    quiet = await channel.send(view=pinging(pings), allowed_mentions=discord.AllowedMentions.none())
    await channel.send(view=pinging(f"<@{alice}> @everyone"))  # no allowed_mentions: all ping
    targeted, silent, loud = stand_in.messages(news)
    assert (targeted["mention_roles"], targeted["mentions"]) == ([str(feed_role)], [])
    assert targeted["mention_everyone"] is False
    assert (silent["mention_roles"], silent["mentions"], silent["mention_everyone"]) == (
        [],
        [],
        False,
    )
    assert loud["mention_everyone"] is True
    assert [u["id"] for u in loud["mentions"]] == [str(alice)]
    await quiet.edit(view=pinging(pings), allowed_mentions=only_the_feed)  # an edit re-reads
    assert stand_in.messages(news)[1]["mention_roles"] == [str(feed_role)]


# --- DMs ------------------------------------------------------------------------------------------


async def test_a_dm_is_opened_once_sent_and_read_back(stand_in: StandIn, bot: commands.Bot) -> None:
    alice = stand_in.add_member("alice")
    dm = await bot.create_dm(discord.Object(alice))
    assert dm.id == stand_in.dm_channel_id(alice)
    assert dm.recipient is not None and dm.recipient.id == alice
    heard = asyncio.create_task(bot.wait_for("message", check=lambda m: m.channel.id == dm.id))
    first = await dm.send(view=Card("Saved"), nonce="save-1")
    again = await dm.send(view=Card("Saved"), nonce="save-1")  # a retry: the same message
    assert again.id == first.id and first.guild is None
    event = await asyncio.wait_for(heard, 5)  # MESSAGE_CREATE reached the bot, as a DM
    assert event.id == first.id and isinstance(event.channel, discord.DMChannel)
    [stored] = stand_in.dms(alice)
    assert stored["components"] == card_json("Saved") and stored["flags"] == V2
    assert "guild_id" not in stored
    status, reopened = await call(stand_in, "POST", "/users/@me/channels", {"recipient_id": alice})
    assert (status, reopened["id"], reopened["type"]) == (200, str(dm.id), 1)
    assert [u["id"] for u in reopened["recipients"]] == [str(alice)]
    assert stand_in.all_posts() == {}  # DMs are not channel posts
    status, answer = await call(stand_in, "POST", "/users/@me/channels", {"recipient_id": 1})
    assert (status, answer["code"]) == (400, 50033)


async def test_closed_dms_are_forbidden_50007(stand_in: StandIn, bot: commands.Bot) -> None:
    bob = stand_in.add_member("bob")
    stand_in.world.close_dms(bob)
    dm = await bot.create_dm(discord.Object(bob))  # opening works; sending does not
    with pytest.raises(discord.Forbidden) as caught:
        await dm.send("hello")
    assert (caught.value.status, caught.value.code) == (403, 50007)
    assert caught.value.text == "Cannot send messages to this user"
    stand_in.open_dms(bob)
    await dm.send("hello again")
    assert [m["content"] for m in stand_in.dms(bob)] == ["hello again"]


async def test_save_sends_the_card_to_dms_or_says_they_are_closed(
    stand_in: StandIn, bot: commands.Bot, news: int
) -> None:
    alice, bob = stand_in.add_member("alice"), stand_in.add_member("bob")
    await text_channel(bot, news).send(view=Card("Story"))
    [card] = stand_in.messages(news)
    saved = await stand_in.click("save", message=card, user_id=alice)
    assert saved.ephemeral and saved.data["content"] == "Saved to your DMs"
    assert [m["components"] for m in stand_in.dms(alice)] == [card_json("Saved")]
    stand_in.close_dms(bob)
    closed = await stand_in.click("save", message=card, user_id=bob)
    assert closed.ephemeral and closed.data["content"] == "Your DMs are closed"
    assert [e.code for e in ERRORS] == [50007] and stand_in.dms(bob) == []


# --- what Discord refuses, body by body -----------------------------------------------------------


def v2(*components: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"flags": V2, "components": list(components), **fields}


def container(*children: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"type": 17, "components": list(children), **fields}


def section(*texts: dict[str, Any], accessory: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": 9, "components": list(texts)}
    if accessory is not None:
        out["accessory"] = accessory
    return out


def thumbnail(url: str, **fields: Any) -> dict[str, Any]:
    return {"type": 11, "media": {"url": url}, **fields}


def gallery(*urls: str, description: str | None = None) -> dict[str, Any]:
    return {"type": 12, "items": [{"media": {"url": u}, "description": description} for u in urls]}


def button(**fields: Any) -> dict[str, Any]:
    return {"type": 2, "style": 1, "label": "Go", "custom_id": "go", **fields}


def texts(n: int, each: str = "t") -> list[dict[str, Any]]:
    return [{"type": 10, "content": each}] * n


def row(*items: dict[str, Any]) -> dict[str, Any]:
    return {"type": 1, "components": list(items)}


LEGACY = "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2"
TOO_LONG, BAD_LENGTH = "BASE_TYPE_MAX_LENGTH", "BASE_TYPE_BAD_LENGTH"
WRONG_TYPE, BAD_URL = "UNION_TYPE_CHOICES", "URL_TYPE_INVALID_URL"
SELECT = {"type": 3, "custom_id": "pick", "options": [{"label": "a", "value": "a"}]}
EIGHT_SECTIONS = [section(*texts(3), accessory=button(custom_id=f"b{i}")) for i in range(8)]


@pytest.mark.parametrize(
    ("body", "path", "code"),
    [
        (v2(TEXT, content="words"), "content", LEGACY),
        (v2(TEXT, embeds=[{"title": "t"}]), "embeds", LEGACY),
        (v2(TEXT, poll={"question": {"text": "q"}}), "poll", LEGACY),
        (v2(TEXT, sticker_ids=["1"]), "sticker_ids", LEGACY),
        (v2(container(*texts(40))), "components", TOO_LONG),  # 41 with the container
        (v2(*EIGHT_SECTIONS, TEXT), "components", TOO_LONG),  # accessories count: 41
        (v2(*texts(2, "x" * 2000), {"type": 10, "content": "y"}), "components", TOO_LONG),
        (v2({"type": 10, "content": ""}), "components.0.content", BAD_LENGTH),
        (
            v2(section(*texts(4), accessory=thumbnail(PICTURE))),
            "components.0.components",
            BAD_LENGTH,
        ),
        (v2(section(TEXT)), "components.0.accessory", "BASE_TYPE_REQUIRED"),
        (v2(section(accessory=thumbnail(PICTURE))), "components.0.components", BAD_LENGTH),
        (v2(section(TEXT, accessory=TEXT)), "components.0.accessory.type", WRONG_TYPE),
        (
            v2(section(row(button()), accessory=button())),
            "components.0.components.0.type",
            WRONG_TYPE,
        ),
        (
            v2(section(TEXT, accessory=thumbnail("javascript:alert(1)"))),
            "components.0.accessory.media.url",
            BAD_URL,
        ),
        (
            v2(section(TEXT, accessory=thumbnail("data:image/png;base64,AAAA"))),
            "components.0.accessory.media.url",
            BAD_URL,
        ),
        (
            v2(section(TEXT, accessory=thumbnail("https://i.example/" + "a" * 2040))),
            "components.0.accessory.media.url",
            TOO_LONG,
        ),
        (
            v2(section(TEXT, accessory=thumbnail(PICTURE, description="d" * 1025))),
            "components.0.accessory.description",
            TOO_LONG,
        ),
        (v2({"type": 12, "items": []}), "components.0.items", BAD_LENGTH),
        (v2(gallery(*[PICTURE] * 11)), "components.0.items", BAD_LENGTH),
        (
            v2(gallery(PICTURE, description="d" * 1025)),
            "components.0.items.0.description",
            TOO_LONG,
        ),
        (v2(gallery("ftp://img.example/a.png")), "components.0.items.0.media.url", BAD_URL),
        (v2({"type": 13, "file": {"url": PICTURE}}), "components.0.file.url", BAD_URL),
        (v2({"type": 14, "spacing": 3}), "components.0.spacing", "BASE_TYPE_CHOICES"),
        (
            v2(container(TEXT, accent_color=0x1000000)),
            "components.0.accent_color",
            "NUMBER_TYPE_MAX",
        ),
        (v2(container(TEXT, accent_color=-1)), "components.0.accent_color", "NUMBER_TYPE_MAX"),
        (v2(container()), "components.0.components", BAD_LENGTH),
        (v2(container(container(TEXT))), "components.0.components.0.type", WRONG_TYPE),
        (v2(thumbnail(PICTURE)), "components.0.type", WRONG_TYPE),
        (v2(button()), "components.0.type", WRONG_TYPE),
        (v2({"type": 99}), "components.0.type", WRONG_TYPE),
        (
            v2(container(row(button(label="l" * 81)))),
            "components.0.components.0.components.0.label",
            TOO_LONG,
        ),
        (
            v2(row(button(style=5, custom_id=None, url="https://e.example/" + "u" * 500))),
            "components.0.components.0.url",
            TOO_LONG,
        ),
        (
            v2(row(button(style=5, custom_id=None, url="javascript:alert(1)"))),
            "components.0.components.0.url",
            BAD_URL,
        ),
        (v2(row()), "components.0.components", BAD_LENGTH),
        (
            v2(row(*[button(custom_id=f"b{i}") for i in range(6)])),
            "components.0.components",
            BAD_LENGTH,
        ),
        (v2(row(SELECT, button())), "components.0.components", "COMPONENT_LAYOUT_WIDTH_EXCEEDED"),
        (v2(row(TEXT)), "components.0.components.0.type", WRONG_TYPE),
        ({"components": [TEXT]}, "components.0.type", WRONG_TYPE),  # no flag
        ({"components": [container(TEXT)]}, "components.0.type", WRONG_TYPE),
        ({"components": [row(TEXT)]}, "components.0.components.0.type", WRONG_TYPE),
    ],
)
async def test_message_bodies_discord_refuses(
    stand_in: StandIn, news: int, body: dict[str, Any], path: str, code: str
) -> None:
    status, answer = await call(stand_in, "POST", f"/channels/{news}/messages", body)
    assert status == 400
    assert code in error_codes(answer, path)
    assert stand_in.messages(news) == []


@pytest.mark.parametrize(
    "body",
    [
        v2(container(*texts(39))),  # 40 components, the container included
        v2(*EIGHT_SECTIONS),  # 40 with the accessories
        v2(*texts(2, "x" * 2000)),  # 4,000 characters
        v2(section(TEXT, accessory=thumbnail("http://img.example/a.png"))),  # http is Discord's
        v2(section(TEXT, accessory=thumbnail("attachment://lead.png", description="d" * 1024))),
        v2(gallery(*[PICTURE] * 10, description="d" * 1024)),
        v2({"type": 13, "file": {"url": "attachment://report.pdf"}}),
        v2(container(TEXT, accent_color=0xFFFFFF), {"type": 14, "spacing": 2, "divider": False}),
        v2(row(SELECT), container(row(*[button(custom_id=f"b{i}") for i in range(5)]))),
        v2(TEXT, content="", embeds=[]),  # empty legacy fields are no content
    ],
)
async def test_v2_bodies_discord_accepts_are_stored_as_sent(
    stand_in: StandIn, news: int, body: dict[str, Any]
) -> None:
    status, answer = await call(stand_in, "POST", f"/channels/{news}/messages", body)
    assert status == 200, answer
    [stored] = stand_in.messages(news)
    assert (stored["components"], stored["flags"]) == (body["components"], V2)
    status, got = await call(stand_in, "GET", f"/channels/{news}/messages/{answer['id']}", None)
    assert (status, got["components"], got["flags"]) == (200, body["components"], V2)


async def test_an_edit_keeps_the_flag_and_the_card_free_of_content(
    stand_in: StandIn, news: int
) -> None:
    _, card = await call(stand_in, "POST", f"/channels/{news}/messages", v2(TEXT))
    at = f"/channels/{news}/messages/{card['id']}"
    for body, path in [
        ({"flags": 0, "components": [row(button())]}, "flags"),
        ({"flags": 1 << 2}, "flags"),  # SUPPRESS_EMBEDS without the V2 bit
        ({"content": "words"}, "content"),  # no flags sent: the stored flag still holds
        ({"embeds": [{"title": "t"}]}, "embeds"),
        ({"components": [container()]}, "components.0.components"),
    ]:
        status, answer = await call(stand_in, "PATCH", at, body)
        assert status == 400 and error_codes(answer, path), body
    assert stand_in.messages(news) == [card]
    status, edited = await call(stand_in, "PATCH", at, {"components": [container(TEXT)]})
    assert status == 200 and edited["flags"] == V2  # no flags in the edit: the message keeps V2
    assert edited["components"] == [container(TEXT)]


async def test_a_plain_message_becomes_a_card_only_with_its_content_cleared(
    stand_in: StandIn, news: int
) -> None:
    _, plain = await call(stand_in, "POST", f"/channels/{news}/messages", {"content": "words"})
    at = f"/channels/{news}/messages/{plain['id']}"
    status, answer = await call(stand_in, "PATCH", at, v2(TEXT))
    assert status == 400 and error_codes(answer, "content")
    status, card = await call(stand_in, "PATCH", at, v2(TEXT, content=None))
    assert status == 200
    assert (card["flags"], card["content"], card["components"]) == (V2, "", [TEXT])


async def test_webhook_edits_of_an_interaction_card_keep_the_flag(
    stand_in: StandIn, bot: commands.Bot, news: int
) -> None:
    alice = stand_in.add_member("alice")
    result = await stand_in.slash("card", user_id=alice, channel_id=news)
    original = f"/webhooks/{stand_in.application_id}/{result.token}/messages/@original"
    status, answer = await call(stand_in, "PATCH", original, {"flags": 0})
    assert status == 400 and error_codes(answer, "flags")
    status, answer = await call(stand_in, "PATCH", original, {"components": [section(TEXT)]})
    assert status == 400 and error_codes(answer, "components.0.accessory")
    followup = f"/webhooks/{stand_in.application_id}/{result.token}?wait=true"
    status, answer = await call(stand_in, "POST", followup, v2(TEXT, content="words"))
    assert status == 400 and error_codes(answer, "content")
    assert result.original is not None and result.original["components"] == card_json("Interaction")
    assert result.followups == []
