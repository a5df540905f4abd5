"""Admin commands: /feed add, /feed remove, /feed list — which channels receive which topics —
and /feed why (what happened to a story in a channel), /feed test (a sample card).

An admin acts only on their own server: a channel option must be one of its channels, and
remove and list see only its subscriptions."""

from __future__ import annotations

from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import answers, cards, desk, why_answers
from bot.bot import NewsBot
from bot.channels import OwnMessageChannel, OwnTextChannel, kind_of, missing_permissions
from bot.errors import NewsError
from bot.follow_query import MAX_CHARS
from bot.posting import StyleName
from bot.store import ChannelKind, Style, Updates
from bot.ui import actor, admin_command, article_choices, in_newsroom, topic_choices

STYLE_HELP = "card, embed or link (one plain line); new feeds: card; a change is for new posts"
UPDATES_HELP = (
    "A story's later sources: thread (replies), edit (its post grows), new (posts); "
    "default: thread in forums and with threads, else edit"
)
FILTER_HELP = 'Only stories matching words, "phrases", prefix*, -left-out (- alone: no filter)'


@admin_command()
class Feeds(
    commands.GroupCog, group_name="feed", group_description="Which channels get new articles"
):
    """Subscriptions: a channel follows all topics or one, optionally pinging one role."""

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.store = bot.store
        super().__init__()

    @app_commands.command(name="add", description="Post new articles in a channel")
    @app_commands.describe(
        channel="The channel that receives the posts",
        topic="Only this topic (default: every topic)",
        role="A role to ping with each post (default: no ping)",
        min_quality="Only articles at or above this quality, 0-100 (default 0)",
        silent="Post without notifications (default: off)",
        max_per_hour="At most this many posts an hour; the rest wait their turn (default: no cap)",
        threads="Open a discussion thread on each post (text channels; default: off)",
        style=STYLE_HELP,
        filter=FILTER_HELP,
        updates=UPDATES_HELP,
    )
    async def add(
        self,
        interaction: discord.Interaction[Any],
        channel: OwnTextChannel,
        topic: str | None = None,
        role: discord.Role | None = None,
        min_quality: app_commands.Range[int, 0, 100] = 0,
        silent: bool = False,
        max_per_hour: app_commands.Range[int, 1, 3600] | None = None,
        threads: bool = False,
        style: StyleName | None = None,
        filter: app_commands.Range[str, 1, MAX_CHARS] | None = None,
        updates: Literal["thread", "edit", "new"] | None = None,
    ) -> None:
        assert interaction.guild is not None  # admin_command is guild only
        kind = kind_of(channel)
        threads = threads and kind == ChannelKind.TEXT
        # Replies in a story's thread open one on a text or announcement post: the same right.
        opens = threads or (updates == "thread" and kind != ChannelKind.FORUM)
        missing = missing_permissions(channel, interaction.guild.me, threads=opens)
        if missing:
            raise NewsError(answers.cannot_post_text(channel.mention, missing))
        if role is not None and (role.is_default() or role.managed):
            raise NewsError("Pick a normal role to ping (not @everyone or a bot's own role).")
        followed = await desk.follow(
            self.store,
            channel.id,
            topic,
            actor=actor(interaction),
            guild_id=interaction.guild.id,
            role_id=role.id if role else None,
            min_quality=min_quality,
            kind=kind,
            silent=silent,
            max_per_hour=max_per_hour or 0,
            threads=threads,
            style=None if style is None else Style(style),
            filter=filter,
            updates=None if updates is None else Updates(updates),
        )
        await interaction.response.send_message(
            answers.followed_text(channel.mention, followed, role.mention if role else None),
            ephemeral=True,
        )

    @app_commands.command(name="remove", description="Stop posting articles in a channel")
    @app_commands.describe(
        channel="The channel to stop", topic="Only this topic's subscription (default: all)"
    )
    async def remove(
        self,
        interaction: discord.Interaction[Any],
        channel: OwnTextChannel,
        topic: str | None = None,
    ) -> None:
        assert interaction.guild is not None  # admin_command is guild only
        removed = await desk.unfollow(self.store, channel.id, topic, guild_id=interaction.guild.id)
        await interaction.response.send_message(
            f"Removed {removed} subscription(s) from {channel.mention}.", ephemeral=True
        )

    @app_commands.command(name="list", description="This server's feed subscriptions")
    async def list_feeds(self, interaction: discord.Interaction[Any]) -> None:
        assert interaction.guild is not None
        subs = await desk.feeds(self.store, interaction.guild.id)
        await interaction.response.send_message(embed=answers.feeds_embed(subs), ephemeral=True)

    @app_commands.command(name="why", description="What happened to a story in a channel")
    @app_commands.describe(article="The story (its id)", channel="The channel it was for")
    async def why(
        self, interaction: discord.Interaction[Any], article: str, channel: OwnTextChannel
    ) -> None:
        assert interaction.guild is not None
        found = await desk.why(
            self.store,
            article,
            channel.id,
            guild_id=interaction.guild.id,
            newsroom=in_newsroom(interaction),
        )
        await interaction.response.send_message(
            why_answers.why_text(found),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @app_commands.command(name="test", description="Post one sample card in a channel")
    @app_commands.describe(channel="Where to post it (a text or announcement channel)")
    async def test(self, interaction: discord.Interaction[Any], channel: OwnMessageChannel) -> None:
        """Checks the bot's permissions there first, as /feed add does, and names what is
        missing; the card pings no one and is marked as a test in the line above it."""
        assert interaction.guild is not None
        missing = missing_permissions(channel, interaction.guild.me)
        if missing:
            raise NewsError(answers.cannot_post_text(channel.mention, missing))
        await interaction.response.defer(ephemeral=True)  # the post may outlast 3 s
        sample = desk.sample_article(discord.utils.utcnow())
        view = cards.article_card(sample, above=why_answers.TEST_ABOVE, related=False, save=False)
        try:
            message = await channel.send(view=view, allowed_mentions=discord.AllowedMentions.none())
        except discord.HTTPException as error:
            raise NewsError(why_answers.refused_test_text(channel.mention, error.text)) from None
        await interaction.followup.send(
            why_answers.sample_posted_text(channel.mention, message.jump_url), ephemeral=True
        )

    @why.autocomplete("article")
    async def _article_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await article_choices(self.store, current, published=True)

    @add.autocomplete("topic")
    @remove.autocomplete("topic")
    async def _topic_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await topic_choices(self.store, current)


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(Feeds(bot))
