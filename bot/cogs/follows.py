"""Personal follows: /follow, /following, /unfollow. Thin: options in, desk, answers out.

Every answer is ephemeral: a member's follows are shown to that member alone. /following
lists them, each with a Remove button (`UnfollowButton`, a `DynamicItem`: the follow's id
is in its custom_id, so it works after a restart). The custom_id is not trusted: the
button removes a follow only if it belongs to whoever pressed it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import desk, embeds, follow_answers
from bot.bot import NewsBot, handle_error, reply_privately
from bot.errors import DeskUnavailable
from bot.follow_query import MAX_CHARS
from bot.store import Follow, FollowKind
from bot.store.articles import TYPED_MAX
from bot.ui import reader_command, topic_choices

log = logging.getLogger(__name__)

UNFOLLOW_PREFIX = "follow:rm:"
Query = app_commands.Range[str, 1, MAX_CHARS]
Typed = app_commands.Range[str, 1, TYPED_MAX]


class UnfollowButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=re.compile(re.escape(UNFOLLOW_PREFIX) + r"(?P<id>[0-9]{1,19}):(?P<n>[0-9]{1,2})"),
):
    """Remove (the n-th follow of /following): only the follow's owner can remove it."""

    def __init__(self, follow_id: int, number: int) -> None:
        self.follow_id = follow_id
        super().__init__(
            discord.ui.Button(
                label=f"Remove {number}",
                style=discord.ButtonStyle.secondary,
                custom_id=f"{UNFOLLOW_PREFIX}{follow_id}:{number}",
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> UnfollowButton:
        return cls(int(match["id"]), int(match["n"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot: NewsBot = interaction.client
        member = interaction.user.id
        try:
            if not await bot.store.follows.remove(member, self.follow_id):
                await reply_privately(interaction, follow_answers.NOT_YOUR_FOLLOW)
                return
            left = await desk.following(bot.store, member)
            await interaction.response.edit_message(
                content=follow_answers.following_text(left),
                view=following_view(left),
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except Exception as exc:
            await handle_error(interaction, exc)


def following_view(follows: list[Follow]) -> discord.ui.View:
    """A Remove button for each follow, numbered as /following lists them (25 at most:
    five rows of five, Discord's limit, which MAX_FOLLOWS matches)."""
    view = discord.ui.View(timeout=None)
    for number, follow in enumerate(follows, 1):
        view.add_item(UnfollowButton(follow.id, number))
    return view


def _choice_name(follow: Follow) -> str:
    kind = {FollowKind.TOPIC: "Topic", FollowKind.STORY: "Story"}.get(follow.kind, "Search")
    return embeds.shorten(f"{kind}: {follow.typed}", 100)


class Follows(commands.Cog):
    """What any member can follow for themselves, in a server or in DMs with the bot."""

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.store = bot.store

    async def cog_load(self) -> None:
        """The matcher is loaded at start; the database away now, it is built at the first
        story that needs it instead."""
        try:
            await self.store.follows.load()
        except DeskUnavailable as exc:
            log.warning("follows not loaded at start (%s): loaded when first needed", exc)

    @app_commands.command(
        name="follow", description="Get new stories on a topic or a search in your DMs"
    )
    @reader_command()
    @app_commands.describe(
        topic="A topic to follow (autocompletes)",
        query='A search to follow: words, "a phrase", prefix*, -left-out, -"left out"',
    )
    async def follow(
        self,
        interaction: discord.Interaction[Any],
        topic: Typed | None = None,
        query: Query | None = None,
    ) -> None:
        outcome = await desk.follow_personal(self.store, interaction.user.id, topic, query)
        await interaction.response.send_message(
            follow_answers.personal_followed_text(outcome, self.bot.settings.alerts_per_hour),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @app_commands.command(name="following", description="What you follow (only you see it)")
    @reader_command()
    async def following(self, interaction: discord.Interaction[Any]) -> None:
        mine = await desk.following(self.store, interaction.user.id)
        await interaction.response.send_message(
            follow_answers.following_text(mine),
            view=following_view(mine),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @app_commands.command(name="unfollow", description="Stop following a topic or search, or all")
    @reader_command()
    @app_commands.describe(follow="One of your follows (autocompletes), or `all`")
    async def unfollow(self, interaction: discord.Interaction[Any], follow: Typed) -> None:
        everything = follow.strip().lower() == desk.UNFOLLOW_ALL
        removed = await desk.unfollow_personal(self.store, interaction.user.id, follow)
        await interaction.response.send_message(
            follow_answers.unfollowed_text(removed, everything), ephemeral=True
        )

    @follow.autocomplete("topic")
    async def _topic_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await topic_choices(self.store, current)

    @unfollow.autocomplete("follow")
    async def _follow_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        """The member's own follows that contain what was typed, and `all`."""
        mine = await desk.following(self.store, interaction.user.id)
        typed = current.casefold()
        choices = [
            app_commands.Choice(name=_choice_name(f), value=str(f.id))
            for f in mine
            if typed in f.typed.casefold()
        ]
        every = app_commands.Choice(name="All my follows and alerts", value=desk.UNFOLLOW_ALL)
        return [*choices[:24], every] if mine else []


async def setup(bot: NewsBot) -> None:
    bot.add_dynamic_items(UnfollowButton)
    await bot.add_cog(Follows(bot))
