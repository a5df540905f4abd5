"""The channels admins name in /feed and /digest, and what the bot needs in them.

Shared by the feed and digest commands (cogs import no cogs): a channel option must be
one of the server's own channels, and the bot must be able to post there.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.bot import NewsBot
from bot.store import ChannelKind

NEEDED = (
    ("view_channel", "View Channel"),
    ("send_messages", "Send Messages"),
    ("embed_links", "Embed Links"),
)
NEEDED_FOR_THREADS = (("create_public_threads", "Create Public Threads"),)
FeedChannel = discord.TextChannel | discord.ForumChannel


class ServerTextChannel(app_commands.Transformer[NewsBot]):
    """A text, announcement or forum channel option that must be one of the server the
    command was run in.

    The channel is looked up in that server's own channels: a forged interaction can name
    any channel id (another server's too), and admins act only on their own server's.
    """

    CHANNEL_TYPES: tuple[discord.ChannelType, ...] = (
        discord.ChannelType.text,
        discord.ChannelType.news,
        discord.ChannelType.forum,
    )
    ACCEPTED: tuple[type, ...] = (discord.TextChannel, discord.ForumChannel)

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        return list(self.CHANNEL_TYPES)

    async def transform(self, interaction: discord.Interaction[NewsBot], value: Any) -> FeedChannel:
        guild = interaction.guild
        channel = guild.get_channel(int(value.id)) if guild is not None else None
        if not isinstance(channel, self.ACCEPTED):
            raise app_commands.CheckFailure(
                f"<#{int(value.id)}> is not a text channel of this server: admins manage "
                "only their own server's feeds. Nothing was changed."
            )
        return channel  # type: ignore[return-value]  # one of ACCEPTED


class ServerMessageChannel(ServerTextChannel):
    """A text or announcement channel of this server: where one message goes (a digest)."""

    CHANNEL_TYPES = (discord.ChannelType.text, discord.ChannelType.news)
    ACCEPTED = (discord.TextChannel,)


OwnTextChannel = app_commands.Transform[FeedChannel, ServerTextChannel]
OwnMessageChannel = app_commands.Transform[discord.TextChannel, ServerMessageChannel]


def kind_of(channel: FeedChannel) -> ChannelKind:
    if isinstance(channel, discord.ForumChannel):
        return ChannelKind.FORUM
    return ChannelKind.ANNOUNCEMENT if channel.is_news() else ChannelKind.TEXT


def missing_permissions(
    channel: discord.abc.GuildChannel, me: discord.Member, *, threads: bool = False
) -> list[str]:
    """The permissions the bot lacks in a channel to post articles there (and to open a
    thread on each, with `threads`)."""
    perms = channel.permissions_for(me)
    needed = NEEDED + (NEEDED_FOR_THREADS if threads else ())
    return [label for attr, label in needed if not getattr(perms, attr)]
