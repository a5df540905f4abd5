"""Reader commands: /news, /search, /topics, /article. Thin: options in, desk, answers out
(lists and stories as cards: `bot.pages`, `bot.cards`).

Each is a `reader_command`: a member who installed the app to their account may use it in
any DM and in servers without the bot; the answer is public, except where Discord would
make it ephemeral anyway (`answers_privately`)."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import cards, desk, embeds
from bot.bot import NewsBot
from bot.pages import PageButton, send_listing
from bot.reader_buttons import RelatedButton, SaveButton
from bot.store.articles import TYPED_MAX
from bot.store.ranking import QUERY_MAX
from bot.ui import answers_privately, article_choices, reader_command, topic_choices

# What Discord lets a reader type (max_length); the store reads no more than this either.
Query = app_commands.Range[str, 1, QUERY_MAX]
Typed = app_commands.Range[str, 1, TYPED_MAX]


class News(commands.Cog):
    """What every reader can ask. Readers never see drafts."""

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.store = bot.store

    @app_commands.command(name="news", description="Latest published articles, newest first")
    @reader_command()
    @app_commands.describe(topic="Only articles about this topic (autocompletes)")
    async def news(self, interaction: discord.Interaction[Any], topic: Typed | None = None) -> None:
        listing = await desk.latest(self.store, topic)
        await send_listing(interaction, listing, ephemeral=answers_privately(interaction))

    @app_commands.command(name="search", description="Search published articles")
    @reader_command()
    @app_commands.describe(
        query='Words or "a quoted phrase" to look for',
        topic="Only articles about this topic (autocompletes)",
    )
    async def search(
        self,
        interaction: discord.Interaction[Any],
        query: Query,
        topic: Typed | None = None,
    ) -> None:
        listing = await desk.search(self.store, query, topic)
        await send_listing(interaction, listing, ephemeral=answers_privately(interaction))

    @app_commands.command(name="topics", description="Topics with their number of articles")
    @reader_command()
    async def topics(self, interaction: discord.Interaction[Any]) -> None:
        found = await desk.topics(self.store)
        await interaction.response.send_message(
            embed=embeds.topics_embed(found), ephemeral=answers_privately(interaction)
        )

    @app_commands.command(name="article", description="One article in full, with related coverage")
    @reader_command()
    @app_commands.describe(article="The article (start typing its title)")
    async def article(self, interaction: discord.Interaction[Any], article: Typed) -> None:
        found = await desk.article(self.store, article)
        await interaction.response.send_message(
            view=cards.article_card(found), ephemeral=answers_privately(interaction)
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


async def setup(bot: NewsBot) -> None:
    """The page and reader buttons are dispatched everywhere: a post's card carries its
    Related and Save buttons into every server that follows a feed."""
    bot.add_dynamic_items(PageButton, RelatedButton, SaveButton)
    await bot.add_cog(News(bot))
