"""/story article (every reader, everywhere the app is: `reader_command`): a story's
timeline and source mix as one card (`story_answers`). Thin: option in, `story_desk`,
card out. The Follow story button of every story card is dispatched from here.

A guild command group of the same name (/story split, /story merge) exists in the
newsroom alone: Discord keeps a global and a guild command of one name apart."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import story_answers, story_desk
from bot.bot import NewsBot
from bot.reader_buttons import FollowStoryButton
from bot.store.articles import TYPED_MAX
from bot.ui import answers_privately, article_choices, reader_command

Typed = app_commands.Range[str, 1, TYPED_MAX]


class Stories(commands.Cog):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.store = bot.store

    @app_commands.command(
        name="story", description="A story's whole coverage: every source, oldest first"
    )
    @reader_command()
    @app_commands.describe(article="An article of the story (start typing its title)")
    async def story(self, interaction: discord.Interaction[Any], article: Typed) -> None:
        found = await story_desk.story(self.store, article)
        await interaction.response.send_message(
            view=story_answers.story_card(found),
            ephemeral=answers_privately(interaction),
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @story.autocomplete("article")
    async def _article_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await article_choices(self.store, current, published=True)


async def setup(bot: NewsBot) -> None:
    """Follow story is on every story card (posts, /article, /story, in every server)."""
    bot.add_dynamic_items(FollowStoryButton)
    await bot.add_cog(Stories(bot))
