"""Moderator commands: /drafts, /preview, /publish, /unpublish, /status, and the Publish button."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds
from bot.articles import Article
from bot.bot import NewsBot, handle_error
from bot.errors import NewsError
from bot.store import Page
from bot.ui import Pager, actor, article_choices, is_moderator, moderators_only

log = logging.getLogger(__name__)

PUBLISH_PREFIX = "newsbot:publish:"


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

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> PublishButton:
        return cls(match["id"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot: NewsBot = interaction.client
        try:
            if not is_moderator(interaction):
                await bot.store.audit_refusal(
                    actor(interaction), "publish", self.article_id, "not a moderator"
                )
                raise app_commands.CheckFailure(
                    "Only moderators can publish (Manage Messages, or a moderator role)."
                )
            article = await bot.store.publish(self.article_id, actor(interaction))
            bot.deliveries_due.set()
            queued = await bot.store.queued_channels(article.url)
            await interaction.response.send_message(
                _published_text(article, queued), ephemeral=True
            )
        except Exception as exc:
            await handle_error(interaction, exc)


def can_publish(custom_id_length: int) -> bool:
    return len(PUBLISH_PREFIX) + custom_id_length <= 100


class ModerationCommands(commands.Cog):
    """What moderators can do. Every command is checked in code, not only hidden."""

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.store = bot.store

    @app_commands.command(name="drafts", description="Drafts awaiting review, newest first")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_messages=True)
    @moderators_only()
    async def drafts(self, interaction: discord.Interaction[Any]) -> None:
        page = await self.store.drafts()
        if not page.items:
            raise NewsError("No drafts awaiting review.")

        def render(p: Page) -> discord.Embed:
            return embeds.results_embed(
                "Drafts awaiting review", p.items, page=p.page, has_next=p.has_next
            )

        def buttons(p: Page) -> list[discord.ui.Item[Any]]:
            return [PublishButton(a.id) for a in p.items if can_publish(len(a.id))]

        pager = Pager(interaction.user.id, self.store.drafts, render, page, extras=buttons)
        await pager.send(interaction, ephemeral=True)

    @app_commands.command(name="preview", description="How an article's post will look")
    @app_commands.describe(article="The draft to preview (start typing its title)")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_messages=True)
    @moderators_only()
    async def preview(self, interaction: discord.Interaction[Any], article: str) -> None:
        found = await self.store.get(article, include_hidden=True)
        state = "published" if found.published else "a draft"
        await interaction.response.send_message(
            f"Preview of `{found.id}` ({state}); this is exactly what a post will look like:",
            embed=embeds.article_embed(found),
            view=embeds.article_view(found),
            ephemeral=True,
        )

    @app_commands.command(name="publish", description="Publish a draft and post it to its feeds")
    @app_commands.describe(article="The draft to publish (start typing its title)")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_messages=True)
    @moderators_only()
    async def publish(self, interaction: discord.Interaction[Any], article: str) -> None:
        published = await self.store.publish(article, actor(interaction))
        self.bot.deliveries_due.set()
        queued = await self.store.queued_channels(published.url)
        await interaction.response.send_message(_published_text(published, queued), ephemeral=True)

    @app_commands.command(name="unpublish", description="Withdraw an article and delete its posts")
    @app_commands.describe(article="The published article to withdraw (start typing its title)")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_messages=True)
    @moderators_only()
    async def unpublish(self, interaction: discord.Interaction[Any], article: str) -> None:
        withdrawn = await self.store.unpublish(article, actor(interaction))
        self.bot.deliveries_due.set()
        await interaction.response.send_message(
            f"Withdrew **{embeds.clean(embeds.shorten(withdrawn.title, 200))}**: hidden from "
            "readers; its posts are being deleted. It is a draft again.",
            ephemeral=True,
        )

    @app_commands.command(name="status", description="Store and delivery health")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_messages=True)
    @moderators_only()
    async def status(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message(embed=await self.status_embed(), ephemeral=True)

    async def status_embed(self) -> discord.Embed:
        articles, published, drafts = await self.store.counts()
        waiting, failed, channels = await self.store.delivery_health()
        last = await self.store.last_sync()
        bad = await self.store.bad_files()
        embed = discord.Embed(title="newsbot status", colour=embeds.BRAND_COLOUR)
        embed.add_field(
            name="Articles", value=f"{articles} ({published} published, {drafts} drafts)"
        )
        embed.add_field(name="Delivery queue", value=f"{waiting} waiting, {failed} failed")
        if last:
            when = datetime.fromisoformat(last["at"]).astimezone(UTC)
            embed.add_field(
                name="Last store load",
                value=f"{embeds.relative_time(when)}: {last['scanned']} files, "
                # The files bad now: an unchanged bad file is not re-read, so each rescan's
                # own error count drops to 0 while the file is still broken.
                f"{last['loaded']} read, {len(bad)} bad",
                inline=False,
            )
        if bad:
            lines = [embeds.clean(embeds.shorten(error, 180)) for _, error in bad[:5]]
            more = f"\n…and {len(bad) - 5} more" if len(bad) > 5 else ""
            embed.add_field(name="Bad files", value="\n".join(lines) + more, inline=False)
        lines = []
        for channel_id, last_post, article_id, paused in channels[:15]:
            latest = f" ({article_id})" if article_id else ""
            posted = (
                embeds.relative_time(datetime.fromtimestamp(last_post, UTC))
                if last_post
                else "never"
            )
            state = f" — **paused**: {embeds.clean(paused)}" if paused else ""
            lines.append(f"<#{channel_id}>: last post {posted}{latest}{state}")
        if lines:
            embed.add_field(
                name="Channels", value=embeds.shorten("\n".join(lines), 1024), inline=False
            )
        return embed

    @preview.autocomplete("article")
    @publish.autocomplete("article")
    async def _draft_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        # Command checks do not run for autocomplete: without this, anyone an admin lets
        # see /publish (or a crafted interaction) would be offered the drafts' titles.
        if not is_moderator(interaction):
            return []
        return await article_choices(self.store, current, published=False)

    @unpublish.autocomplete("article")
    async def _published_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        if not is_moderator(interaction):
            return []
        return await article_choices(self.store, current, published=True)


def _published_text(article: Article, queued: int) -> str:
    title = embeds.clean(embeds.shorten(article.title, 200))
    where = f"posting it to {queued} channel(s)" if queued else "no channel follows it yet"
    return f"Published **{title}**: {where}."


async def setup(bot: NewsBot) -> None:
    bot.add_dynamic_items(PublishButton)
    await bot.add_cog(ModerationCommands(bot))
