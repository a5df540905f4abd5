"""Digests: /digest add|remove|now (admins, their own server's channels), and the
scheduler that posts each digest at its hour, once per period.

The scheduler runs in the process holding the deliverer's role. Each round it writes the
log row of every period now due (before sending anything), then sends the rows waiting;
each send carries a nonce made of (channel, topic, period), which Discord enforces, so a
restart at the digest hour, or a retry after a lost answer, still gives one message.
Time comes from the store's clock (`store.clock`), so tests set the hour instead of waiting
for it. What a failed send means is `delivery.classify`'s answer, as for every post.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import answers, desk, metrics, posting
from bot.bot import NewsBot
from bot.channels import OwnMessageChannel, missing_permissions
from bot.delivery import Action, backoff, classify, nonce, refusal_reason, supervise
from bot.digest import DEFAULT_HOUR, DEFAULT_SIZE, MAX_SIZE, MIN_SIZE, Digest, Every, next_due
from bot.digest_post import digest_card, digest_embed, digest_text
from bot.errors import NewsError
from bot.posting import StyleName
from bot.store import DigestRun, DigestState, Role, Style
from bot.ui import actor, admin_command, topic_choices

log = logging.getLogger(__name__)

Cadence = Literal["daily", "weekly"]
DIGEST_STYLE_HELP = "card, embed or link (plain lines); new digests: card"
Size = app_commands.Range[int, MIN_SIZE, MAX_SIZE]


def nonce_for(run: DigestRun) -> str:
    """Same (digest, period), same nonce: Discord drops the repeat."""
    return nonce(f"digest|{run.channel_id}|{run.topic_key}|{run.period.key}")


async def post(
    channel: discord.abc.Messageable, digest: Digest, nonce: str, style: Style
) -> discord.Message:
    """The digest's one message, in its style (a card, an embed, plain lines); it pings no one."""
    nobody = discord.AllowedMentions.none()
    if style == Style.CARD:
        return await channel.send(view=digest_card(digest), nonce=nonce, allowed_mentions=nobody)
    if style == Style.LINK:
        return await channel.send(digest_text(digest), nonce=nonce, allowed_mentions=nobody)
    return await channel.send(embed=digest_embed(digest), nonce=nonce, allowed_mentions=nobody)


@admin_command()
class DigestCommands(
    commands.GroupCog, group_name="digest", group_description="Digests of the top stories"
):
    """A channel's daily or weekly digest of the period's top stories, or one right now."""

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.store = bot.store
        super().__init__()

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.store.clock(), UTC)

    @app_commands.command(name="add", description="Post a digest of the top stories")
    @app_commands.describe(
        channel="The channel that receives the digest",
        every="Once a day, or once a week (on Mondays)",
        hour=f"The hour it is posted, 0-23 UTC (default {DEFAULT_HOUR})",
        topic="Only this topic (default: every topic)",
        size=f"How many stories, {MIN_SIZE}-{MAX_SIZE} (default {DEFAULT_SIZE})",
        style=DIGEST_STYLE_HELP,
    )
    async def add(
        self,
        interaction: discord.Interaction[Any],
        channel: OwnMessageChannel,
        every: Cadence,
        hour: app_commands.Range[int, 0, 23] = DEFAULT_HOUR,
        topic: str | None = None,
        size: Size = DEFAULT_SIZE,
        style: StyleName | None = None,
    ) -> None:
        assert interaction.guild is not None  # admin_command is guild only
        _ensure_can_post(channel, interaction.guild.me)
        now = self._now()
        digest = await desk.add_digest(
            self.store,
            channel.id,
            topic,
            every=Every(every),
            hour=hour,
            size=size,
            actor=actor(interaction),
            guild_id=interaction.guild.id,
            now=now,
            style=None if style is None else Style(style),
        )
        first = next_due(digest.every, digest.hour, now)
        await interaction.response.send_message(
            answers.digest_added_text(channel.mention, digest, first), ephemeral=True
        )

    @app_commands.command(name="remove", description="Stop a channel's digest")
    @app_commands.describe(
        channel="The channel to stop", topic="Only this topic's digest (default: all)"
    )
    async def remove(
        self,
        interaction: discord.Interaction[Any],
        channel: OwnMessageChannel,
        topic: str | None = None,
    ) -> None:
        assert interaction.guild is not None
        removed = await desk.remove_digest(
            self.store, channel.id, topic, guild_id=interaction.guild.id
        )
        await interaction.response.send_message(
            answers.digest_removed_text(channel.mention, removed), ephemeral=True
        )

    @app_commands.command(name="now", description="Post a digest right now")
    @app_commands.describe(
        channel="The channel to post it in",
        topic="Only this topic (default: every topic)",
        every="The last day or the last week (default: daily)",
        size=f"How many stories, {MIN_SIZE}-{MAX_SIZE} (default {DEFAULT_SIZE})",
        style="card (default), embed or link (plain lines)",
    )
    async def now(
        self,
        interaction: discord.Interaction[Any],
        channel: OwnMessageChannel,
        topic: str | None = None,
        every: Cadence = "daily",
        size: Size = DEFAULT_SIZE,
        style: StyleName = "card",
    ) -> None:
        assert interaction.guild is not None
        _ensure_can_post(channel, interaction.guild.me)
        await interaction.response.defer(ephemeral=True, thinking=True)
        digest = await desk.digest_now(self.store, topic, Every(every), size, self._now())
        # One post per call: a retry of this very request cannot post it twice.
        try:
            await post(channel, digest, nonce(f"digest-now|{interaction.id}"), Style(style))
        except (discord.Forbidden, discord.NotFound) as exc:
            raise NewsError(answers.refused_text(channel.mention, refusal_reason(exc))) from None
        await interaction.followup.send(
            answers.digest_posted_text(channel.mention, digest), ephemeral=True
        )

    @add.autocomplete("topic")
    @remove.autocomplete("topic")
    @now.autocomplete("topic")
    async def _topic_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await topic_choices(self.store, current)


def _ensure_can_post(channel: discord.TextChannel, me: discord.Member) -> None:
    missing = missing_permissions(channel, me)
    if missing:
        raise NewsError(answers.cannot_post_text(channel.mention, missing))


class DigestScheduler(commands.Cog):
    """Posts each digest at its hour, once per period, while this process delivers."""

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.store = bot.store
        self.loop: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        if self.bot.settings.runs_delivery:
            self.loop = asyncio.create_task(self._schedule_forever(), name="digests")

    async def cog_unload(self) -> None:
        if self.loop is not None:
            self.loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.loop

    async def _schedule_forever(self) -> None:
        await self.bot.wait_until_ready()
        await supervise("digests", self.scheduled, self.bot.held_back, rounds=self.bot.rounds)

    async def scheduled(self) -> float:
        """One supervised round; the pause until the next digest or retry is due."""
        await self.store.leases.wait_for(Role.DELIVERER)
        await self.round()
        return await self._pause()

    async def _pause(self) -> float:
        """Until the next digest or retry falls due, and at least once a poll (digests added
        by other processes; a clock set forward)."""
        now = self.store.clock()
        wake = now + self.bot.settings.poll_seconds
        current = datetime.fromtimestamp(now, UTC)
        for digest in await self.store.digests.subscriptions():
            wake = min(wake, next_due(digest.every, digest.hour, current).timestamp())
        retry = await self.store.digests.next_try_at()
        if retry is not None:
            wake = min(wake, retry)
        return max(0.1, wake - now)

    async def round(self) -> None:
        """Log every period now due, then send what waits."""
        now = self.store.clock()
        await self.store.digests.open_due(datetime.fromtimestamp(now, UTC))
        for run in await self.store.digests.due(int(now)):
            await self.deliver(run)

    async def deliver(self, run: DigestRun) -> None:
        """Send one logged digest, or record that there was nothing to show."""
        digest = await desk.scheduled_digest(self.store, run)
        if not digest.stories:
            await self._settle(run, DigestState.EMPTY)
            return
        channel = self.bot.get_partial_messageable(run.channel_id)
        try:
            # Checked as the request starts: a process whose lease is another's sends nothing.
            with posting.as_deliverer(self.store.leases):
                message = await post(channel, digest, nonce_for(run), run.style)
        except Exception as exc:
            verdict = classify(exc)
            if verdict is None:
                raise  # the database away, the lease lost: the supervisor's business
            metrics.DELIVERIES.labels("digest", verdict.action.name.lower()).inc()
            if verdict.action in (Action.RETRY, Action.WAIT):
                await self._retry(run, verdict.reason, verdict.delay)
            elif verdict.action == Action.PAUSE:
                await self.store.outbox.pause_channel(run.channel_id, verdict.reason)
                await self._settle(run, DigestState.FAILED, error=verdict.reason)
                log.warning("channel %s paused: %s", run.channel_id, verdict.reason)
            else:
                log.error("the digest in %s was refused: %s", run.channel_id, verdict.reason)
                await self._settle(run, DigestState.FAILED, error=verdict.reason)
            return
        await self._settle(run, DigestState.SENT, message.id, len(digest.stories))
        metrics.DELIVERIES.labels("digest", "done").inc()
        log.info("posted the %s digest %s to channel %s", run.every, run.period.key, run.channel_id)

    async def _settle(
        self,
        run: DigestRun,
        state: DigestState,
        message_id: int | None = None,
        stories: int = 0,
        error: str | None = None,
    ) -> None:
        await self.store.digests.settle(
            run,
            state,
            int(self.store.clock()),
            message_id=message_id,
            stories=stories,
            error=error,
        )

    async def _retry(self, run: DigestRun, error: str, wait: float = 0.0) -> None:
        """Again after the backoff, or after a rate limit's wait if that is longer."""
        delay = max(backoff(run.attempts), wait)
        log.warning(
            "digest %s to %s failed (%s); retrying in %.0f s",
            run.period.key,
            run.channel_id,
            error,
            delay,
        )
        await self.store.digests.retry(run, error, delay, int(self.store.clock()))


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(DigestCommands(bot))
    await bot.add_cog(DigestScheduler(bot))
