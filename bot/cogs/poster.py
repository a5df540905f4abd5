"""The store poller and the delivery loop: outbox rows -> Discord posts, exactly once.

Each row is written (by the store) in the same transaction as the state change that
causes it, and marked done only after Discord answered. Every message carries a nonce
derived from (story, channel), which Discord enforces, so a retry after a timeout or
a crash returns the message already stored instead of posting it twice. A forum post
takes no nonce: it is looked up before a repeat instead (bot.posting). Crossposts and
discussion threads follow the send; a long rate limit (the hourly crosspost one) makes a
row wait in the outbox, never the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import time
from collections import defaultdict
from datetime import UTC, datetime

import aiohttp
import discord
from discord.ext import commands, tasks

from bot import answers, embeds, posting
from bot.articles import Article
from bot.bot import NewsBot
from bot.errors import ArticleNotFound, DeskUnavailable
from bot.store import ChannelKind, Delivery, DeliveryState, LeaseLost, Role
from bot.store.outbox import HOUR

log = logging.getLogger(__name__)

MAX_CONCURRENT_CHANNELS = 16
GLOBAL_RATE = 45.0  # requests/s: under Discord's 50/s global limit, so 429s stay rare
MAX_BACKOFF = 300.0
NONCE_MAX = 25  # Discord's limit on a message nonce


def nonce(key: str) -> str:
    """A message nonce within Discord's limit: the same key, the same nonce."""
    return hashlib.sha256(key.encode()).hexdigest()[:NONCE_MAX]


def nonce_for(delivery: Delivery) -> str:
    """Same (story, channel, generation), same nonce: Discord drops the repeat."""
    return nonce(f"{delivery.url}|{delivery.channel_id}|{delivery.generation}")


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
                timeout = min(timeout, max(1.0, next_at - self.store.outbox.clock()))
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
        """Send, edit, delete or follow up one post. True when the row is settled for now:
        done, given up, or waiting in the outbox without holding back its channel."""
        try:
            article, shown = None, None
            if delivery.state != DeliveryState.DELETE:
                # The version first: if the story changes between the two reads, the post
                # shows the newer text and is edited once more, never left out of date.
                shown = await self.store.articles.version(delivery.article_id)
                article = await self.store.articles.get(delivery.article_id, include_hidden=True)
            if delivery.state == DeliveryState.PENDING and await self._paced(delivery):
                return False  # it waits its turn, and the channel's later posts behind it
            await self.pace.wait()
            # Every Discord request of this step is checked against the lease as it starts:
            # a process frozen and resumed, whose lease may be another's by now, sends nothing.
            with posting.guarded(lambda: self.store.leases.check(Role.DELIVERER)):
                await self._act(delivery, article, shown)
            return True
        except ArticleNotFound:
            await self.store.outbox.lost(delivery)
            return True
        except posting.TagRequired:
            await self._pause(delivery.channel_id, answers.FORUM_NEEDS_A_TAG)
            return True
        except discord.RateLimited as exc:
            return await self._rate_limited(delivery, exc.retry_after)
        except (discord.Forbidden, discord.NotFound) as exc:
            return await self._refused(delivery, exc)
        except discord.HTTPException as exc:
            if exc.status == 429 or exc.status >= 500:
                await self._retry(delivery, f"Discord {exc.status}: {exc.text}")
                return False
            if exc.code == posting.TAG_REQUIRED:
                await self._pause(delivery.channel_id, answers.FORUM_NEEDS_A_TAG)
                return True
            log.error("Discord refused %s in %s: %s", delivery.state, delivery.channel_id, exc)
            await self.store.outbox.lost(delivery)
            return True
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            await self._retry(delivery, f"connection error: {exc!r}")
            return False
        except discord.ClientException as exc:  # the channel changed kind since /feed add
            log.error("cannot deliver %s to %s: %s", delivery.state, delivery.channel_id, exc)
            await self.store.outbox.lost(delivery)
            return True

    async def _act(self, delivery: Delivery, article: Article | None, shown: str | None) -> None:
        """The one step the row asks for, recorded once Discord answered."""
        outbox = self.store.outbox
        if delivery.state == DeliveryState.DELETE:
            if delivery.message_id is not None:
                await posting.delete_post(self.bot, delivery)
            await outbox.done(delivery, None)
            return
        assert article is not None
        if delivery.owes_followup:
            await posting.follow_up(self.bot, delivery, article)
            await outbox.followed_up(delivery)
        elif delivery.state == DeliveryState.EDIT and delivery.message_id is not None:
            channel = self.bot.get_partial_messageable(posting.message_channel(delivery))
            await channel.get_partial_message(delivery.message_id).edit(
                embed=embeds.article_embed(article), view=embeds.article_view(article)
            )
            await outbox.done(delivery, delivery.message_id, shown=shown)
        else:
            message_id = await self._post(delivery, article)
            await outbox.done(delivery, message_id, posting.followup_of(delivery), shown)
            log.info("posted %s to channel %s", delivery.article_id, delivery.channel_id)

    async def _post(self, delivery: Delivery, article: Article) -> int:
        """A message (with its nonce), or a forum post: looked up first if an earlier try
        may have made it, the try recorded before it is sent (see bot.posting)."""
        if delivery.kind != ChannelKind.FORUM:
            channel = self.bot.get_partial_messageable(delivery.channel_id)
            return await posting.send_message(channel, delivery, article, nonce_for(delivery))
        forum = await posting.forum_of(self.bot, delivery.channel_id)
        if delivery.started_at is not None:
            since = datetime.fromtimestamp(delivery.started_at, UTC)
            found = await posting.find_thread(
                forum, posting.thread_name(article), article.url, since
            )
            if found is not None:
                log.info("found the forum post of %s made before", delivery.article_id)
                return found
        await self.store.outbox.starting(delivery)
        return await posting.post_to_forum(forum, delivery, article)

    async def _paced(self, delivery: Delivery) -> bool:
        """max_per_hour: with that many posts in the channel in the last hour, the row waits
        until the oldest of them is an hour old. Nothing is dropped; the oldest goes first."""
        if not delivery.max_per_hour:
            return False
        now = self.store.outbox.now()
        recent = await self.store.outbox.sent_times(delivery.channel_id, now - HOUR + 1)
        if len(recent) < delivery.max_per_hour:
            return False
        until = recent[-delivery.max_per_hour] + HOUR
        await self.store.outbox.park(delivery.channel_id, until, "max_per_hour: waiting its turn")
        return True

    async def _rate_limited(self, delivery: Delivery, retry_after: float) -> bool:
        """A long limit (Discord's hourly crosspost one): the row waits in the outbox. A
        crosspost holds back nothing; any other step keeps its channel's order."""
        until = self.store.outbox.now() + math.ceil(retry_after)
        await self.store.outbox.wait(delivery, until, f"rate limited for {retry_after:.0f} s")
        log.info(
            "%s of %s in %s waits %.0f s (rate limit)",
            delivery.followup or delivery.state,
            delivery.article_id,
            delivery.channel_id,
            retry_after,
        )
        return delivery.owes_followup

    async def _refused(self, delivery: Delivery, exc: discord.HTTPException) -> bool:
        if isinstance(exc, discord.NotFound) and posting.post_gone(delivery, exc):
            await self.store.outbox.lost(delivery)  # someone deleted the post by hand
            return True
        reason = refusal_reason(exc)
        if delivery.state == DeliveryState.DELETE:
            await self.store.outbox.lost(delivery)
            return True
        await self._pause(delivery.channel_id, reason)
        return True

    async def _pause(self, channel_id: int, reason: str) -> None:
        await self.store.outbox.pause_channel(channel_id, reason)
        log.warning("channel %s paused: %s", channel_id, reason)

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
    if isinstance(exc, discord.NotFound) or exc.code == posting.UNKNOWN_CHANNEL:
        return "channel not found (deleted, or the bot was removed)"
    return f"missing permission (403: {exc.text or 'Forbidden'})"


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(Poster(bot))
