"""Moderator commands: /drafts, /preview, /publish, /unpublish, /status (and the Publish
button, in `bot.ui`). They exist only in the newsroom server(s), registered there as guild
commands, and every one is checked in code by `moderator_command`, not only hidden."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot import answers, cards, desk, embeds
from bot.articles import Article
from bot.bot import NewsBot, reply_privately
from bot.pages import send_listing
from bot.ui import PublishButton, actor, article_choices, is_moderator, moderator_command

log = logging.getLogger(__name__)
NOTE_MAX = 100  # characters above a card: what `cards.article_card` allows a ping
NO_NEWSROOM = (
    "no newsroom server (NEWSROOM_GUILD_IDS, or DISCORD_GUILD_ID): the moderation commands "
    "are registered nowhere; moderate from the command line and console "
    "(`newsbot publish ID`, `newsbot console`)"
)


class ModerationCommands(commands.Cog):
    """What moderators can do."""

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.store = bot.store

    @app_commands.command(name="drafts", description="Drafts awaiting review, newest first")
    @moderator_command()
    async def drafts(self, interaction: discord.Interaction[Any]) -> None:
        await send_listing(interaction, await desk.drafts(self.store), ephemeral=True)

    @app_commands.command(name="preview", description="How an article's post will look")
    @app_commands.describe(article="The draft to preview (start typing its title)")
    @moderator_command()
    async def preview(self, interaction: discord.Interaction[Any], article: str) -> None:
        shown, made = await desk.preview(self.store, article), int(self.store.clock())
        publishable = not shown.article.published
        publishable = publishable and PublishButton.fits(shown.article.id, shown.version, made)
        extra = [PublishButton(shown.article.id, shown.version, made)] if publishable else []
        # The card as a post shows it, less the reader buttons (a draft has no readers yet),
        # with Publish; one line above it says which article, in what state, where a
        # feed's ping is above a post's card (so the card is cut as a pinging post's is).
        card = cards.article_card(
            shown.article,
            above=preview_note(shown.article),
            related=False,
            save=False,
            extra=[cast(cards.Item, button) for button in extra],
        )
        await interaction.response.send_message(view=card, ephemeral=True)

    @app_commands.command(name="publish", description="Publish a draft and post it to its feeds")
    @app_commands.describe(article="The draft to publish (start typing its title)")
    @moderator_command()
    async def publish(self, interaction: discord.Interaction[Any], article: str) -> None:
        if self.store.publishing.forwards():  # the scanner's process applies it: defer
            await interaction.response.defer(ephemeral=True, thinking=True)
        outcome = await desk.publish(self.store, article, actor(interaction))
        await reply_privately(interaction, answers.published_text(outcome))

    @app_commands.command(name="unpublish", description="Withdraw an article and delete its posts")
    @app_commands.describe(article="The published article to withdraw (start typing its title)")
    @moderator_command()
    async def unpublish(self, interaction: discord.Interaction[Any], article: str) -> None:
        if self.store.publishing.forwards():
            await interaction.response.defer(ephemeral=True, thinking=True)
        withdrawn = await desk.unpublish(self.store, article, actor(interaction))
        await reply_privately(interaction, answers.withdrawn_text(withdrawn))

    @app_commands.command(name="status", description="Store and delivery health")
    @moderator_command()
    async def status(self, interaction: discord.Interaction[Any]) -> None:
        facts = await desk.status(self.store, self.bot.held_back.state())
        await interaction.response.send_message(embed=answers.status_embed(facts), ephemeral=True)

    @preview.autocomplete("article")
    @publish.autocomplete("article")
    async def _draft_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        # Command checks do not run for autocomplete: without this, anyone an admin lets
        # see /publish (or a crafted interaction, from any server) would be offered the
        # drafts' titles. is_moderator is false outside the newsroom.
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


def preview_note(article: Article) -> str:
    """The line above a preview's card, within NOTE_MAX: a long id is what gives way."""
    note = answers.preview_text(article)
    excess = len(note) - NOTE_MAX
    if excess <= 0:
        return note
    shown_id = embeds.shorten(article.id, max(len(article.id) - excess, 1))
    return embeds.shorten(answers.preview_text(dataclasses.replace(article, id=shown_id)), NOTE_MAX)


async def setup(bot: NewsBot) -> None:
    """The commands go to the newsroom server(s) only, never global. The Publish button is
    dispatched everywhere, so that a press outside the newsroom is refused and audited."""
    bot.add_dynamic_items(PublishButton)
    newsroom = sorted(bot.settings.newsroom_guild_ids)
    if not newsroom:  # `guilds=[]` would mean global: add nothing at all
        log.warning(NO_NEWSROOM)
        return
    await bot.add_cog(ModerationCommands(bot), guilds=[discord.Object(id=g) for g in newsroom])
