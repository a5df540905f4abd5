"""Interactive pieces the cogs share: the one moderator and admin check (commands and
buttons alike), autocomplete choices and the Publish button. List answers and their page
buttons are in `bot.pages`, the reader buttons of a story card in `bot.reader_buttons`."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

import discord
from discord import app_commands

from bot import answers, desk, embeds
from bot.bot import NewsBot, handle_error, reply_privately
from bot.errors import DeskUnavailable
from bot.store import Store

log = logging.getLogger(__name__)

PAGE_LIFETIME = 24 * 3600  # seconds a list answer's page buttons and a Publish button work
PUBLISH_PREFIX = "newsbot:publish:"
CUSTOM_ID_MAX = 100
Command = TypeVar("Command")


# --- who may do what -----------------------------------------------------------------------


def in_newsroom(interaction: discord.Interaction[Any]) -> bool:
    """Was it done in a newsroom server (NEWSROOM_GUILD_IDS)? The store is one editorial
    desk: a moderator of any other server is no editor of it."""
    client: NewsBot = interaction.client
    guild_id = interaction.guild_id
    return guild_id is not None and guild_id in client.settings.newsroom_guild_ids


def is_moderator(interaction: discord.Interaction[Any]) -> bool:
    """In a newsroom server: Manage Messages in this channel, or a role in MODERATOR_ROLE_IDS."""
    if not in_newsroom(interaction):
        return False
    if interaction.guild is None or not isinstance(interaction.user, discord.Member):
        return False
    if interaction.permissions.manage_messages:
        return True
    client: NewsBot = interaction.client
    wanted = client.settings.moderator_role_ids
    return any(role.id in wanted for role in interaction.user.roles)


def actor(interaction: discord.Interaction[Any]) -> str:
    """Who did it, for the audit trail: name and id."""
    return f"{interaction.user} ({interaction.user.id})"


async def ensure_moderator(
    interaction: discord.Interaction[Any], action: str, article_id: str, doing: str
) -> None:
    """The one moderator check, for commands and buttons: a refusal is audited, then raised."""
    if is_moderator(interaction):
        return
    client: NewsBot = interaction.client
    if in_newsroom(interaction):
        why = "not a moderator"
        text = f"Only moderators can {doing} (Manage Messages, or a moderator role)."
    else:
        where = f"server {interaction.guild_id}" if interaction.guild_id else "no server"
        why = f"outside the newsroom ({where})"
        text = f"Only moderators in the newsroom server can {doing}; this server is not it."
    await desk.refuse(client.store, actor(interaction), action, article_id, why)
    raise app_commands.CheckFailure(text)


def reader_command() -> Callable[[Command], Command]:
    """A reader's command (/news, /search, /topics, /article, and a member's own /follow,
    /following, /unfollow): usable wherever a member can
    reach the app, whether a server installed it (integration type 0) or the member did
    (type 1, "user install"): in servers (context 0), in the DM with the bot (1) and in
    group DMs and other DMs (2). Discord honours both lists on global commands only (it
    ignores them on a server's), so `NewsBot.sync_commands` keeps these global. The
    answer's visibility: `answers_privately`."""

    def decorate(command: Command) -> Command:
        command = app_commands.allowed_installs(guilds=True, users=True)(command)
        return app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)(command)

    return decorate


def server_command(command: Command) -> Command:
    """In servers only (context 0) and only where a server installed the app (integration
    type 0): never offered to a member who installed the app to their account alone, nor
    in any DM. What moderators, admins, feeds and digests use."""
    command = app_commands.allowed_installs(guilds=True, users=False)(command)
    return app_commands.guild_only()(command)


def answers_privately(interaction: discord.Interaction[Any]) -> bool:
    """Must an answer that is public elsewhere be ephemeral here?

    Discord's rule (permission USE_EXTERNAL_APPS, 1 << 50: "Allows user-installed apps to
    send public responses. When disabled, users will still be allowed to use their apps
    but the responses will be ephemeral. This only applies to apps not also installed to
    the server."): in a server (the interaction has a guild id) whose owner key "0" of
    `authorizing_integration_owners` is not that server (the app is only installed to the
    member there), a member without Use External Apps in the channel gets an ephemeral
    answer whatever the app asks. The bot asks for it itself there, so what it sends is
    what the member sees (and its page buttons edit an ephemeral message, as they may).
    In DMs with the bot, group DMs and other DMs, and in servers that installed the app,
    answers are public as usual."""
    if interaction.guild_id is None or interaction.is_guild_integration():
        return False
    return not interaction.permissions.use_external_apps


def moderator_command() -> Callable[[Command], Command]:
    """Guild only, guild install only (`server_command`), hidden from non-moderators, and
    checked in code on every call (in a newsroom server, by a moderator); the commands are
    registered in the newsroom alone."""

    async def predicate(interaction: discord.Interaction[Any]) -> bool:
        # "story split" for a subcommand: the refusal names the command as typed
        command = interaction.command.qualified_name if interaction.command else "?"
        article = str(getattr(interaction.namespace, "article", None) or "")
        await ensure_moderator(interaction, command, article, f"use /{command}")
        return True

    def decorate(command: Command) -> Command:
        command = app_commands.check(predicate)(command)
        command = app_commands.default_permissions(manage_messages=True)(command)
        return server_command(command)

    return decorate


def admin_command() -> Callable[[Command], Command]:
    """Guild only, guild install only (`server_command`), hidden from non-admins, and Manage
    Server checked in code on every call; on a command group (a GroupCog), for each of its
    subcommands (Discord reads contexts and installs on the group alone)."""

    async def predicate(interaction: discord.Interaction[Any]) -> bool:
        # A server that installed the app (Discord offers these commands nowhere else; a
        # forged call from a DM, or from a server the app is only user-installed in, is not
        # its admin's), and Manage Server there.
        in_server = interaction.guild is not None and interaction.is_guild_integration()
        if in_server and interaction.permissions.manage_guild:
            return True
        raise app_commands.CheckFailure("Only server admins (Manage Server) can manage feeds.")

    async def interaction_check(self: object, interaction: discord.Interaction[Any]) -> bool:
        return await predicate(interaction)

    def decorate(command: Command) -> Command:
        if isinstance(command, type):  # a GroupCog: its interaction_check guards every subcommand
            setattr(command, "interaction_check", interaction_check)  # noqa: B010
        else:
            command = app_commands.check(predicate)(command)
        command = app_commands.default_permissions(manage_guild=True)(command)
        return server_command(command)

    return decorate


# --- autocomplete --------------------------------------------------------------------------


async def topic_choices(store: Store, current: str) -> list[app_commands.Choice[str]]:
    """Known topics matching what was typed, with counts; never an error, at most 25."""
    try:
        matches = await store.articles.match_topics(current, limit=25)
    except DeskUnavailable:  # the database away: said once a minute by the backend
        return []
    except Exception:
        log.exception("topic autocomplete failed")
        return []
    return [
        app_commands.Choice(name=embeds.shorten(f"{name} ({count})", 100), value=name[:100])
        for name, count in matches
    ]


async def article_choices(
    store: Store, current: str, *, published: bool
) -> list[app_commands.Choice[str]]:
    """Articles (published, or drafts) whose title matches what was typed; value = article id."""
    try:
        matches = await store.articles.match_titles(current, published=published, limit=25)
    except DeskUnavailable:  # the database away: said once a minute by the backend
        return []
    except Exception:
        log.exception("article autocomplete failed")
        return []
    return [
        app_commands.Choice(name=embeds.shorten(title, 100), value=article_id)
        for title, article_id in matches
        if len(article_id) <= 100
    ]


# --- buttons -------------------------------------------------------------------------------


class PublishButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    # An id is a file name, so it holds no "/": the version before it is unambiguous.
    template=re.compile(
        re.escape(PUBLISH_PREFIX) + r"(?:(?P<made>[0-9a-z]+):(?P<version>[0-9a-f]+)/)?(?P<id>.+)"
    ),
):
    """A Publish button (under /preview, and each draft of /drafts); its custom_id holds
    the article id, the version shown and when it was shown, so it survives restarts,
    publishes nothing newer than was seen, and expires after PAGE_LIFETIME like the page
    buttons. One without a version and a time (made before they were added) is expired."""

    def __init__(self, article_id: str, version: str | None, made: int | None) -> None:
        self.article_id = article_id
        self.version = version
        self.made = made
        super().__init__(
            discord.ui.Button(
                label=embeds.shorten(f"Publish {article_id}", 80),
                style=discord.ButtonStyle.success,
                custom_id=_publish_id(article_id, version, made),
            )
        )

    @staticmethod
    def fits(article_id: str, version: str, made: int) -> bool:
        return len(_publish_id(article_id, version, made)) <= CUSTOM_ID_MAX

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> PublishButton:
        made = int(match["made"], 36) if match["made"] else None
        return cls(match["id"], match["version"], made)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """The same path as /publish: check, publish, answer."""
        bot: NewsBot = interaction.client
        try:
            await ensure_moderator(interaction, "publish", self.article_id, "publish")
            if (
                self.made is None
                or self.version is None
                or bot.store.clock() - self.made > PAGE_LIFETIME
            ):
                await interaction.response.send_message(
                    "This button has expired; look at the draft again with /preview or /drafts.",
                    ephemeral=True,
                )
                return
            if bot.store.publishing.forwards():  # the scanner's process applies it: defer
                await interaction.response.defer(ephemeral=True, thinking=True)
            outcome = await desk.publish(
                bot.store, self.article_id, actor(interaction), version=self.version
            )
            await reply_privately(interaction, answers.published_text(outcome))
        except Exception as exc:
            await handle_error(interaction, exc)


def _publish_id(article_id: str, version: str | None, made: int | None) -> str:
    shown = f"{base36(made)}:{version}/" if version and made is not None else ""
    return PUBLISH_PREFIX + shown + article_id


def base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, digit = divmod(number, 36)
        out = digits[digit] + out
        if not number:
            return out
