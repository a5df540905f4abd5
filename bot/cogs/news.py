"""Reader commands: /news, /search, /topics, /article. Thin: options in, store, embeds, answer."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds
from bot.bot import NewsBot
from bot.errors import NewsError
from bot.store import Page
from bot.ui import Pager, article_choices, topic_choices


class News(commands.Cog):
    """What every reader can ask. Readers never see drafts."""

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.store = bot.store

    @app_commands.command(name="news", description="Latest published articles, newest first")
    @app_commands.describe(topic="Only articles about this topic (autocompletes)")
    async def news(self, interaction: discord.Interaction[Any], topic: str | None = None) -> None:
        name = await self.store.require_topic(topic) if topic else None
        heading = f"Latest in {name}" if name else "Latest news"
        page = await self.store.latest(name)
        if not page.items:
            raise NewsError("No published articles yet. Check back soon.")
        await self._pages(interaction, heading, lambda n: self.store.latest(name, n), page)

    @app_commands.command(name="search", description="Search published articles")
    @app_commands.describe(
        query='Words or "a quoted phrase" to look for',
        topic="Only articles about this topic (autocompletes)",
    )
    async def search(
        self,
        interaction: discord.Interaction[Any],
        query: app_commands.Range[str, 1, 200],
        topic: str | None = None,
    ) -> None:
        name = await self.store.require_topic(topic) if topic else None
        page = await self.store.search(query, name)
        shown = embeds.shorten(" ".join(query.split()), 80)
        if not page.items:
            raise NewsError(f"Nothing found for “{embeds.clean(shown)}”. Try fewer or other words.")
        heading = f"Search: {shown}" + (f" in {name}" if name else "")
        await self._pages(interaction, heading, lambda n: self.store.search(query, name, n), page)

    @app_commands.command(name="topics", description="Topics with their number of articles")
    async def topics(self, interaction: discord.Interaction[Any]) -> None:
        topics = await self.store.topics()
        if not topics:
            raise NewsError("No published articles yet, so no topics.")
        await interaction.response.send_message(embed=embeds.topics_embed(topics))

    @app_commands.command(name="article", description="One article in full, with related coverage")
    @app_commands.describe(article="The article (start typing its title)")
    async def article(self, interaction: discord.Interaction[Any], article: str) -> None:
        found = await self.store.get(article)
        await interaction.response.send_message(
            embed=embeds.article_embed(found), view=embeds.article_view(found)
        )

    @news.autocomplete("topic")
    @search.autocomplete("topic")
    async def _topic_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await topic_choices(self.store, current)

    @article.autocomplete("article")
    async def _article_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await article_choices(self.store, current, published=True)

    async def _pages(
        self, interaction: discord.Interaction[Any], heading: str, fetch: Any, page: Page
    ) -> None:
        def render(p: Page) -> discord.Embed:
            return embeds.results_embed(heading, p.items, page=p.page, has_next=p.has_next)

        await Pager(interaction.user.id, fetch, render, page).send(interaction)


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(News(bot))
