"""The store poller and the delivery loop: outbox rows -> Discord posts, exactly once.

Each row is written (by the store) in the same transaction as the state change that
causes it, and marked done only after Discord answered. Every send carries a nonce
derived from (story, channel), which Discord enforces, so a retry after a timeout or
a crash returns the message already stored instead of posting it twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import defaultdict

import aiohttp
import discord
from discord.ext import commands, tasks

from bot import embeds
from bot.bot import NewsBot
from bot.errors import ArticleNotFound, DeskUnavailable
from bot.store import Delivery, DeliveryState, LeaseLost, Role

log = logging.getLogger(__name__)

MAX_CONCURRENT_CHANNELS = 16
GLOBAL_RATE = 45.0  # requests/s: under Discord's 50/s global limit, so 429s stay rare
MAX_BACKOFF = 300.0
UNKNOWN_CHANNEL = 10003
UNKNOWN_MESSAGE = 10008
NONCE_MAX = 25  # Discord's limit on a message nonce


def nonce_for(delivery: Delivery) -> str:
    """Same (story, channel, generation), same nonce: Discord drops the repeat."""
    key = f"{delivery.url}|{delivery.channel_id}|{delivery.generation}"
    return hashlib.sha256(key.encode()).hexdigest()[:NONCE_MAX]


class Pace:
    """Spaces request starts evenly: discord.py paces each route, not the global limit."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self.next_at = 0.0
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self.lock:
            now = time.monotonic()
            delay = self.next_at - now
            self.next_at = max(now, self.next_at) + self.interval
        if delay > 0:
            await asyncio.sleep(delay)


def backoff(attempts: int) -> float:
    """2, 4, 8 ... seconds, capped: transient errors are retried, never in a tight loop."""
    return float(min(MAX_BACKOFF, 2 ** (attempts + 1)))


class Poster(commands.Cog):
    """Rescans the store every NEWS_POLL_SECONDS and delivers due outbox rows.

    The store wakes the delivery loop (`bot.deliveries_due`) when this process queues
    work; work queued by another process (`newsbot publish`) is found within a poll.
    """

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.store = bot.store
        self.pace = Pace(GLOBAL_RATE)
        self.loops: list[asyncio.Task[None]] = []

    async def cog_load(self) -> None:
        self.poll.change_interval(seconds=self.bot.settings.poll_seconds)
        self.poll.start()
        if self.bot.settings.runs_delivery:
            self.loops.append(asyncio.create_task(self._deliver_forever(), name="deliveries"))
        if self.store.leases.elected:  # other hosts' /publish, applied by the scanner
            self.loops.append(asyncio.create_task(self._serve_requests(), name="requests"))

    async def cog_unload(self) -> None:
        self.poll.cancel()
        for loop in self.loops:
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop

    async def _serve_requests(self) -> None:
        """While this process is the scanner: apply /publish asked on other processes."""
        requests = self.store.requests
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(requests.asked.wait(), 1.0)  # NOTIFY, or a poll
            requests.asked.clear()
            if not self.store.leases.holds(Role.SCANNER):
                continue
            try:
                await requests.serve(self.store.publishing.apply_here)
            except Exception as exc:
                log.warning("publish requests postponed: %s", exc)

    @tasks.loop()  # the interval is NEWS_POLL_SECONDS, set in cog_load
    async def poll(self) -> None:
        if not self.store.leases.holds(Role.SCANNER):
            return  # another process scans the store folder
        try:
            report = await self.store.folder.sync()
        except DeskUnavailable as exc:
            log.warning("store rescan postponed: %s", exc)
            return
        except Exception:  # a vanished folder, a locked database: try again next interval
            log.exception("store rescan failed; retrying in %s s", self.bot.settings.poll_seconds)
            return
        if report.loaded or report.deleted:
            log.info("store rescan: %s", report.changes_line())

    async def _deliver_forever(self) -> None:
        await self.bot.wait_until_ready()
        while not self.bot.is_closed():
            await self.store.leases.wait_for(Role.DELIVERER)
            self.bot.deliveries_due.clear()
            try:
                worked = await self.deliver_due()
            except DeskUnavailable as exc:
                log.warning("delivery paused: %s; retrying shortly", exc)
                worked = False
                await asyncio.sleep(5)
            except Exception:
                log.exception("delivery round failed; retrying shortly")
                worked = False
                await asyncio.sleep(5)
            if worked:
                continue
            # Wake for the next retry, and at least once a poll for work other processes queued.
            timeout = self.bot.settings.poll_seconds
            next_at = await self.store.outbox.next_due_at()
            if next_at is not None:
                timeout = min(timeout, max(1.0, next_at - time.time()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.bot.deliveries_due.wait(), timeout)

    async def deliver_due(self) -> bool:
        """One round: every channel's due rows, channels concurrently, each channel in order."""
        due = await self.store.outbox.due()
        if not due:
            return False
        by_channel: dict[int, list[Delivery]] = defaultdict(list)
        for delivery in due:
            by_channel[delivery.channel_id].append(delivery)
        gate = asyncio.Semaphore(MAX_CONCURRENT_CHANNELS)

        async def channel_worker(rows: list[Delivery]) -> None:
            async with gate:
                for row in rows:
                    try:
                        if not await self.deliver(row):
                            break  # keep article order: the rest waits for this one
                    except LeaseLost:
                        return  # another process delivers now: its write was refused

        await asyncio.gather(*(channel_worker(rows) for rows in by_channel.values()))
        return True

    async def deliver(self, delivery: Delivery) -> bool:
        """Send, edit or delete one post. True when the row is settled (done or given up)."""
        channel = self.bot.get_partial_messageable(delivery.channel_id)
        try:
            deleting = delivery.state == DeliveryState.DELETE
            if not deleting:
                article = await self.store.articles.get(delivery.article_id, include_hidden=True)
            await self.pace.wait()
            # Checked last before the request: a process frozen and resumed, whose lease may
            # be another's by now, sends nothing more.
            if not self.store.leases.holds(Role.DELIVERER):
                return False
            if deleting:
                if delivery.message_id is not None:
                    await channel.get_partial_message(delivery.message_id).delete()
                await self.store.outbox.done(delivery, None)
                return True
            embed = embeds.article_embed(article)
            view = embeds.article_view(article)
            if delivery.state == DeliveryState.EDIT and delivery.message_id is not None:
                await channel.get_partial_message(delivery.message_id).edit(embed=embed, view=view)
                await self.store.outbox.done(delivery, delivery.message_id)
                return True
            message = await channel.send(
                content=f"<@&{delivery.role_id}>" if delivery.role_id else None,
                embed=embed,
                view=view,
                nonce=nonce_for(delivery),
                allowed_mentions=_mentions(delivery.role_id),
            )
            await self.store.outbox.done(delivery, message.id)
            log.info("posted %s to channel %s", delivery.article_id, delivery.channel_id)
            return True
        except ArticleNotFound:
            await self.store.outbox.lost(delivery)
            return True
        except (discord.Forbidden, discord.NotFound) as exc:
            return await self._refused(delivery, exc)
        except discord.HTTPException as exc:
            if exc.status == 429 or exc.status >= 500:
                await self._retry(delivery, f"Discord {exc.status}: {exc.text}")
                return False
            log.error("Discord refused %s in %s: %s", delivery.state, delivery.channel_id, exc)
            await self.store.outbox.lost(delivery)
            return True
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            await self._retry(delivery, f"connection error: {exc!r}")
            return False

    async def _refused(self, delivery: Delivery, exc: discord.HTTPException) -> bool:
        if isinstance(exc, discord.NotFound) and exc.code == UNKNOWN_MESSAGE:
            await self.store.outbox.lost(delivery)  # someone deleted the post by hand
            return True
        reason = refusal_reason(exc)
        if delivery.state == DeliveryState.DELETE:
            await self.store.outbox.lost(delivery)
            return True
        await self.store.outbox.pause_channel(delivery.channel_id, reason)
        log.warning("channel %s paused: %s", delivery.channel_id, reason)
        return True

    async def _retry(self, delivery: Delivery, error: str) -> None:
        delay = backoff(delivery.attempts)
        log.warning(
            "%s of %s to %s failed (%s); retrying in %.0f s",
            delivery.state,
            delivery.article_id,
            delivery.channel_id,
            error,
            delay,
        )
        await self.store.outbox.retry(delivery, error, delay)


def refusal_reason(exc: discord.HTTPException) -> str:
    """Why a channel is paused after Forbidden or Not Found (shown in /status, /feed list)."""
    if isinstance(exc, discord.NotFound) or exc.code == UNKNOWN_CHANNEL:
        return "channel not found (deleted, or the bot was removed)"
    return f"missing permission (403: {exc.text or 'Forbidden'})"


def _mentions(role_id: int | None) -> discord.AllowedMentions:
    """Nobody, or exactly the subscription's own role."""
    if role_id is None:
        return discord.AllowedMentions.none()
    return discord.AllowedMentions(
        everyone=False, users=False, roles=[discord.Object(role_id)], replied_user=False
    )


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(Poster(bot))
