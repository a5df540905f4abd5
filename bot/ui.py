"""Interactive pieces the cogs share: permission checks, autocomplete choices, the page turner."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands

from bot import embeds
from bot.bot import NewsBot, handle_error
from bot.store import Page, Store

log = logging.getLogger(__name__)

PAGE_TIMEOUT = 300.0
FetchPage = Callable[[int], Awaitable[Page]]


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


def moderators_only() -> Callable[[Any], Any]:
    """A real check in code, beside `default_permissions` that only hides the command."""

    async def predicate(interaction: discord.Interaction[Any]) -> bool:
        if is_moderator(interaction):
            return True
        client: NewsBot = interaction.client
        command = interaction.command.name if interaction.command else "?"
        article = getattr(interaction.namespace, "article", None) or ""
        await client.store.audit_refusal(
            actor(interaction), command, str(article), "not a moderator"
        )
        raise app_commands.CheckFailure(
            "Only moderators can do this (Manage Messages, or a moderator role)."
        )

    return app_commands.check(predicate)


def admins_only() -> Callable[[Any], Any]:
    """Manage Server, checked in code on every call."""

    async def predicate(interaction: discord.Interaction[Any]) -> bool:
        if interaction.guild is not None and interaction.permissions.manage_guild:
            return True
        raise app_commands.CheckFailure("Only server admins (Manage Server) can manage feeds.")

    return app_commands.check(predicate)


async def topic_choices(store: Store, current: str) -> list[app_commands.Choice[str]]:
    """Known topics matching what was typed, with counts; never an error, at most 25."""
    try:
        matches = await store.match_topics(current, limit=25)
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
        matches = await store.match_titles(current, published=published, limit=25)
    except Exception:
        log.exception("article autocomplete failed")
        return []
    return [
        app_commands.Choice(name=embeds.shorten(title, 100), value=article_id)
        for title, article_id in matches
        if len(article_id) <= 100
    ]


class Pager(discord.ui.View):
    """Previous/Next over a list answer: only the invoker may turn pages; expires, then disables."""

    def __init__(
        self,
        owner_id: int,
        fetch: FetchPage,
        render: Callable[[Page], discord.Embed],
        page: Page,
        *,
        extras: Callable[[Page], list[discord.ui.Item[Any]]] | None = None,
    ) -> None:
        super().__init__(timeout=PAGE_TIMEOUT)  # read now, so a test can shorten it
        self.owner_id = owner_id
        self.fetch = fetch
        self.render = render
        self.page = page
        self.extras = extras
        self.interaction: discord.Interaction[Any] | None = None
        self._update_buttons()

    def _update_buttons(self) -> None:
        """Navigation state, plus the page's own buttons (e.g. Publish per draft)."""
        self.previous.disabled = self.page.page == 0
        self.next.disabled = not self.page.has_next
        if self.extras is not None:
            for item in self.children:
                if item not in (self.previous, self.next):
                    self.remove_item(item)
            for item in self.extras(self.page):
                self.add_item(item)

    def _render(self) -> discord.Embed:
        """The current page's embed. Afterwards only its position is kept: a live pager
        (PAGE_TIMEOUT, thousands at once on a busy bot) need not hold its articles."""
        embed = self.render(self.page)
        self.page = Page((), self.page.page, self.page.has_next)
        return embed

    @property
    def single_page(self) -> bool:
        return not self.page.has_next and self.page.page == 0

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "Only the person who asked can turn these pages; run the command yourself.",
            ephemeral=True,
        )
        return False

    async def _turn(self, interaction: discord.Interaction[Any], number: int) -> None:
        self.page = await self.fetch(max(number, 0))
        self._update_buttons()
        await interaction.response.edit_message(embed=self._render(), view=self)

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary)
    async def previous(
        self, interaction: discord.Interaction[Any], _: discord.ui.Button[Pager]
    ) -> None:
        await self._turn(interaction, self.page.page - 1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.primary)
    async def next(
        self, interaction: discord.Interaction[Any], _: discord.ui.Button[Pager]
    ) -> None:
        await self._turn(interaction, self.page.page + 1)

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
        embed = self._render()
        if self.single_page and self.extras is None:
            self.stop()
            await interaction.response.send_message(embed=embed, ephemeral=ephemeral)
            return
        if self.single_page:
            self.remove_item(self.previous).remove_item(self.next)
        self.interaction = interaction
        await interaction.response.send_message(embed=embed, view=self, ephemeral=ephemeral)
