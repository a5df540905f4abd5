"""Interactive pieces the cogs share: the one moderator and admin check (commands and
buttons alike), autocomplete choices, the page turner and the Publish button."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import discord
from discord import app_commands

from bot import answers, desk, embeds
from bot.bot import NewsBot, handle_error
from bot.desk import Listing
from bot.store import Store

log = logging.getLogger(__name__)

PAGE_TIMEOUT = 300.0
PUBLISH_PREFIX = "newsbot:publish:"
CUSTOM_ID_MAX = 100
FetchListing = Callable[[int], Awaitable[Listing]]
Command = TypeVar("Command")


# --- who may do what -----------------------------------------------------------------------


def is_moderator(interaction: discord.Interaction[Any]) -> bool:
    """Manage Messages in this channel, or a role listed in MODERATOR_ROLE_IDS."""
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
    await desk.refuse(client.store, actor(interaction), action, article_id, "not a moderator")
    raise app_commands.CheckFailure(
        f"Only moderators can {doing} (Manage Messages, or a moderator role)."
    )


def moderator_command() -> Callable[[Command], Command]:
    """Guild only, hidden from non-moderators, and checked in code on every call."""

    async def predicate(interaction: discord.Interaction[Any]) -> bool:
        command = interaction.command.name if interaction.command else "?"
        article = str(getattr(interaction.namespace, "article", None) or "")
        await ensure_moderator(interaction, command, article, f"use /{command}")
        return True

    def decorate(command: Command) -> Command:
        command = app_commands.check(predicate)(command)
        command = app_commands.default_permissions(manage_messages=True)(command)
        return app_commands.guild_only()(command)

    return decorate


def admin_command() -> Callable[[Command], Command]:
    """Guild only, hidden from non-admins, and Manage Server checked in code on every call;
    on a command group (a GroupCog), for each of its subcommands."""

    async def predicate(interaction: discord.Interaction[Any]) -> bool:
        if interaction.guild is not None and interaction.permissions.manage_guild:
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
        return app_commands.guild_only()(command)

    return decorate


# --- autocomplete --------------------------------------------------------------------------


async def topic_choices(store: Store, current: str) -> list[app_commands.Choice[str]]:
    """Known topics matching what was typed, with counts; never an error, at most 25."""
    try:
        matches = await store.articles.match_topics(current, limit=25)
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
    template=re.compile(re.escape(PUBLISH_PREFIX) + r"(?P<id>.+)"),
):
    """A Publish button per draft; the custom_id holds the article id, so it survives restarts."""

    def __init__(self, article_id: str) -> None:
        self.article_id = article_id
        super().__init__(
            discord.ui.Button(
                label=embeds.shorten(f"Publish {article_id}", 80),
                style=discord.ButtonStyle.success,
                custom_id=PUBLISH_PREFIX + article_id,
            )
        )

    @staticmethod
    def fits(article_id: str) -> bool:
        return len(PUBLISH_PREFIX) + len(article_id) <= CUSTOM_ID_MAX

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> PublishButton:
        return cls(match["id"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """The same path as /publish: check, publish, answer."""
        bot: NewsBot = interaction.client
        try:
            await ensure_moderator(interaction, "publish", self.article_id, "publish")
            outcome = await desk.publish(bot.store, self.article_id, actor(interaction))
            await interaction.response.send_message(
                answers.published_text(outcome), ephemeral=True
            )
        except Exception as exc:
            await handle_error(interaction, exc)


class Pager(discord.ui.View):
    """Previous/Next over a list answer: only the invoker may turn pages; expires, then disables."""

    def __init__(
        self,
        owner_id: int,
        fetch: FetchListing,
        listing: Listing,
        *,
        extras: Callable[[Listing], list[discord.ui.Item[Any]]] | None = None,
    ) -> None:
        super().__init__(timeout=PAGE_TIMEOUT)  # read now, so a test can shorten it
        self.owner_id = owner_id
        self.fetch = fetch
        self.extras = extras
        self.number = 0
        self.has_next = False
        self.interaction: discord.Interaction[Any] | None = None
        self._first: discord.Embed | None = self._show(listing)

    def _show(self, listing: Listing) -> discord.Embed:
        """Set the buttons for this page and render it. Only its position is kept: a live
        pager (PAGE_TIMEOUT, thousands at once on a busy bot) need not hold its articles."""
        self.number, self.has_next = listing.page.page, listing.page.has_next
        self.previous.disabled = self.number == 0
        self.next.disabled = not self.has_next
        if self.extras is not None:  # the page's own buttons (e.g. Publish per draft)
            for item in self.children:
                if item not in (self.previous, self.next):
                    self.remove_item(item)
            for item in self.extras(listing):
                self.add_item(item)
        return answers.listing_embed(listing)

    @property
    def single_page(self) -> bool:
        return not self.has_next and self.number == 0

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "Only the person who asked can turn these pages; run the command yourself.",
            ephemeral=True,
        )
        return False

    async def _turn(self, interaction: discord.Interaction[Any], number: int) -> None:
        embed = self._show(await self.fetch(max(number, 0)))
        await interaction.response.edit_message(embed=embed, view=self)

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary)
    async def previous(
        self, interaction: discord.Interaction[Any], _: discord.ui.Button[Pager]
    ) -> None:
        await self._turn(interaction, self.number - 1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.primary)
    async def next(
        self, interaction: discord.Interaction[Any], _: discord.ui.Button[Pager]
    ) -> None:
        await self._turn(interaction, self.number + 1)

    async def on_timeout(self) -> None:
        self.previous.disabled = self.next.disabled = True
        if self.interaction is not None:
            try:
                await self.interaction.edit_original_response(view=self)
            except discord.HTTPException:
                log.debug("could not disable expired page buttons")

    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await handle_error(interaction, error)

    async def send(self, interaction: discord.Interaction[Any], *, ephemeral: bool = False) -> None:
        """Answer the interaction with the first page; single pages get no buttons."""
        embed = self._first
        self._first = None
        assert embed is not None, "a pager answers its interaction once"
        if self.single_page and self.extras is None:
            self.stop()
            await interaction.response.send_message(embed=embed, ephemeral=ephemeral)
            return
        if self.single_page:
            self.remove_item(self.previous).remove_item(self.next)
        self.interaction = interaction
        await interaction.response.send_message(embed=embed, view=self, ephemeral=ephemeral)
