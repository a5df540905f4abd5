"""Editors correct the clustering: /story split and /story merge, and their answers.

A guild command group registered in the newsroom server(s) alone, like /publish, and
checked in code on every call (`moderator_command`). Readers' global /story shares the
name: Discord keeps a guild command and a global one apart (an interaction's
`data.guild_id` names the guild of the command invoked), and so does discord.py's tree.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds
from bot.answers import code_text
from bot.bot import NewsBot
from bot.errors import NewsError
from bot.store import Merged, Split, StoryEditRefused
from bot.store.story_pins import Refusal, StoryArticle, StoryShown
from bot.ui import actor, article_choices, is_moderator, moderator_command, server_command

log = logging.getLogger(__name__)
MESSAGE_MAX = 2000  # characters of a message's content (Discord's limit)
TITLE_MAX = 80  # characters of a title in an answer's list of a story's articles
PROVIDER_MAX = 40
ID_MAX = 100  # characters of an article id shown (the rest is cut, marked)
MORE = "- and {} more"
UNCHANGED = "Posts already made stay as they are; later articles follow the corrected story."


@app_commands.default_permissions(manage_messages=True)
@server_command
class StoryEdits(
    commands.GroupCog,
    group_name="story",
    group_description="Correct which articles are one story (moderators)",
):
    """Split an article out of its story, or merge two stories."""

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.store = bot.store
        super().__init__()

    @app_commands.command(name="split", description="Take an article out of its story")
    @app_commands.describe(article="The article that begins its own story (type its title)")
    @moderator_command()
    async def split(self, interaction: discord.Interaction[Any], article: str) -> None:
        try:
            done = await self.store.story_pins.split(article, actor(interaction))
        except StoryEditRefused as refused:
            raise NewsError(refused_text(refused)) from None
        log.info("%s split %s from story %s", actor(interaction), done.article.id, done.former)
        await interaction.response.send_message(split_text(done), ephemeral=True)

    @app_commands.command(name="merge", description="Make two articles' stories one story")
    @app_commands.describe(
        article="An article of the one story (type its title)",
        other="An article of the other story (type its title)",
    )
    @moderator_command()
    async def merge(self, interaction: discord.Interaction[Any], article: str, other: str) -> None:
        try:
            done = await self.store.story_pins.merge(article, other, actor(interaction))
        except StoryEditRefused as refused:
            raise NewsError(refused_text(refused)) from None
        log.info("%s merged story %s into %s", actor(interaction), done.absorbed, done.story.key)
        await interaction.response.send_message(merged_text(done), ephemeral=True)

    @split.autocomplete("article")
    @merge.autocomplete("article")
    @merge.autocomplete("other")
    async def _article_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        # Checks do not run for autocomplete: no title for anyone but a newsroom moderator.
        if not is_moderator(interaction):
            return []
        return await article_choices(self.store, current, published=True)


# --- the answers ---------------------------------------------------------------------------


def split_text(done: Split) -> str:
    article = done.article
    text = f"Split: {_named(article)} now begins its own story, {_key(article.id)}."
    if done.left.key != done.former:
        text += f" It began story {_key(done.former)}: the rest is now story "
        text += f"{_key(done.left.key)} (its earliest article)."
    return _with_story(text, done.left, "The story it left")


def merged_text(done: Merged) -> str:
    text = f"Merged: story {_key(done.absorbed)} joined story {_key(done.story.key)}, "
    text += f"the earlier one ({_counted(done.moved, 'article')} moved)."
    return _with_story(text, done.story, "The story now")


def refused_text(refused: StoryEditRefused) -> str:
    if refused.why == Refusal.ALONE:
        why = f"{_key(refused.article_id)} is the only article of its story: nothing to split."
    else:
        why = (
            f"{_key(refused.article_id)} and {_key(refused.other_id)} are already one "
            f"story, {_key(refused.story)}: nothing to merge."
        )
    return f"{why} Nothing was changed."


def _with_story(text: str, story: StoryShown, heading: str) -> str:
    """`text`, then the story's key and its articles, earliest first: as many as the
    message holds (at most SHOWN), the rest counted."""
    lines = [text, f"{heading} ({_key(story.key)}, {_counted(story.count, 'article')}):"]
    room = MESSAGE_MAX - len(UNCHANGED) - len(MORE) - 2
    shown = 0
    for article in story.articles:
        line = f"- {_named(article)}, {_source(article)}"
        if len("\n".join([*lines, line])) > room:
            break
        lines.append(line)
        shown += 1
    if story.count > shown:
        lines.append(MORE.format(story.count - shown))
    return "\n".join([*lines, UNCHANGED])


def _named(article: StoryArticle) -> str:
    return f"**{embeds.inert(article.title, TITLE_MAX)}** ({_key(article.id)})"


def _source(article: StoryArticle) -> str:
    draft = "" if article.visible else " (not published)"
    provider = embeds.inert(article.provider, PROVIDER_MAX) or "no provider"
    return f"{provider}, <t:{article.published_at}:f>{draft}"


def _key(article_id: str) -> str:
    """An article id (or story key) as code, cut to ID_MAX: a file name may be long."""
    return f"`{code_text(embeds.shorten(article_id, ID_MAX))}`"


def _counted(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


async def setup(bot: NewsBot) -> None:
    """Registered in the newsroom server(s) only, never global (see bot.cogs.moderation)."""
    newsroom = sorted(bot.settings.newsroom_guild_ids)
    if not newsroom:  # `guilds=[]` would mean global: add nothing (moderation logs why)
        return
    await bot.add_cog(StoryEdits(bot), guilds=[discord.Object(id=g) for g in newsroom])
