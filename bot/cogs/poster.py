"""The delivery loop: outbox rows -> Discord posts, exactly once.

Each row is written (by the store) in the same transaction as the state change that
causes it, and marked done only after Discord answered. Every message carries a nonce
derived from (story, channel), which Discord enforces, so a retry after a timeout or
a crash returns the message already stored instead of posting it twice. A forum post
takes no nonce: it is looked up before a repeat instead (bot.posting). Crossposts and
discussion threads follow the send; a long rate limit (the hourly crosspost one) makes a
row wait in the outbox, never the loop. What a failed request means is `delivery.classify`'s
answer; the loop runs supervised (`delivery.supervise`): nothing stops it for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import defaultdict
from datetime import UTC, datetime

import discord
from discord.ext import commands

from bot import coverage, metrics, posting
from bot.articles import Article
from bot.bot import NewsBot
from bot.delivery import Action, Verdict, backoff, classify, nonce, supervise
from bot.store import ChannelKind, Delivery, DeliveryState, LeaseLost, Role, Updates
from bot.store.outbox import HOUR

log = logging.getLogger(__name__)

MAX_CONCURRENT_CHANNELS = 16
GLOBAL_RATE = 45.0  # requests/s: under Discord's 50/s global limit, so 429s stay rare


def kind_of(delivery: Delivery) -> str:
    """The step a row asks for: what `Poster._act` does, and how the deliveries metric
    names it."""
    if delivery.state == DeliveryState.DELETE:
        return "delete"
    if delivery.owes_followup:
        return str(delivery.followup)  # crosspost, thread
    if delivery.state == DeliveryState.EDIT and delivery.message_id is not None:
        return "edit"
    if delivery.lead_id is not None and delivery.updates == Updates.THREAD:
        return "reply"
    return "post"


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


class Poster(commands.Cog):
    """Delivers due outbox rows while this process holds the deliverer's role.

    The store wakes the delivery loop (`bot.deliveries_due`) when this process queues
    work; work queued by another process (`newsbot publish`) is found within a poll.
    """

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.store = bot.store
        self.pace = Pace(GLOBAL_RATE)
        self.loop: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        if self.bot.settings.runs_delivery:
            self.loop = asyncio.create_task(self._deliver_forever(), name="deliveries")

    async def cog_unload(self) -> None:
        if self.loop is not None:
            self.loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.loop

    async def _deliver_forever(self) -> None:
        await self.bot.wait_until_ready()
        due = self.bot.deliveries_due
        await supervise("deliveries", self.round, self.bot.held_back, due, self.bot.rounds)

    async def round(self) -> float:
        """Deliver what is due; then the pause until the next retry, at least once a poll
        (work other processes queued); work this process queues wakes it at once."""
        await self.store.leases.wait_for(Role.DELIVERER)
        self.bot.deliveries_due.clear()
        if await self.deliver_due():
            return 0.0
        pause = self.bot.settings.poll_seconds
        next_at = await self.store.outbox.next_due_at()
        if next_at is not None:
            pause = min(pause, max(1.0, next_at - self.store.clock()))
        return pause

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
            articles, shown = [], None
            if delivery.state != DeliveryState.DELETE:
                # What the post shows first (its token): if the story changes between the
                # reads, the post shows the newer state and is edited once more, never left
                # out of date.
                shown, ids = await self.store.outbox.stories.sources(delivery.id)
                get = self.store.articles.get
                articles = [await get(article_id, include_hidden=True) for article_id in ids]
            paced = delivery.state == DeliveryState.PENDING and delivery.lead_id is None
            if paced and await self._paced(delivery):
                return False  # it waits its turn, and the channel's later posts behind it
            await self.pace.wait()
            # Every Discord request of this step is checked against the lease as it starts:
            # a process frozen and resumed, whose lease may be another's by now, sends nothing.
            with posting.as_deliverer(self.store.leases):
                await self._act(delivery, articles, shown)
            metrics.DELIVERIES.labels(kind_of(delivery), "done").inc()
            return True
        except Exception as exc:
            verdict = classify(exc, in_own_thread=posting.in_own_thread(delivery))
            if verdict is None:
                raise  # the database away, the lease lost: the supervisor's business
            metrics.DELIVERIES.labels(kind_of(delivery), verdict.action.name.lower()).inc()
            return await self._settle(delivery, verdict)

    async def _settle(self, delivery: Delivery, verdict: Verdict) -> bool:
        """Record what a failed step means; True when the channel's next rows may go on."""
        outbox = self.store.outbox
        what = delivery.followup or delivery.state
        match verdict.action:
            case Action.RETRY:
                delay = backoff(delivery.attempts)
                log.warning(
                    "%s of %s to %s failed (%s); retrying in %.0f s",
                    what,
                    delivery.article_id,
                    delivery.channel_id,
                    verdict.reason,
                    delay,
                )
                await outbox.retry(delivery, verdict.reason, delay)
                return False
            case Action.WAIT:
                # A long limit (Discord's hourly crosspost one): the row waits in the outbox.
                # A crosspost holds back nothing; any other step keeps its channel's order.
                until = int(self.store.clock()) + math.ceil(verdict.delay)
                await outbox.wait(delivery, until, verdict.reason)
                log.info(
                    "%s of %s in %s waits %.0f s (rate limit)",
                    what,
                    delivery.article_id,
                    delivery.channel_id,
                    verdict.delay,
                )
                return delivery.owes_followup
            case Action.PAUSE if delivery.state != DeliveryState.DELETE:
                await outbox.pause_channel(delivery.channel_id, verdict.reason)
                log.warning("channel %s paused: %s", delivery.channel_id, verdict.reason)
            case Action.GIVE_UP:
                log.error("cannot deliver %s to %s: %s", what, delivery.channel_id, verdict.reason)
                await outbox.lost(delivery)
            case _:  # lost; or a deletion refused: nothing left to delete there
                await outbox.lost(delivery)
        return True

    async def _act(self, delivery: Delivery, articles: list[Article], shown: str | None) -> None:
        """The one step the row asks for, recorded once Discord answered. A post leads with
        the best of the articles it shows, the others under "More coverage" (bot.coverage)."""
        outbox = self.store.outbox
        kind = kind_of(delivery)
        if kind == "delete":
            if delivery.message_id is not None:
                await posting.delete_post(self.bot, delivery)
            await outbox.done(delivery, None)
            return
        article, more = coverage.lead_and_more(articles)
        if kind == "edit":
            await posting.edit_post(self.bot, delivery, article, more)
            await outbox.done(delivery, delivery.message_id, shown=shown)
        elif kind == "reply":
            await self._reply(delivery, article, shown)
        elif kind != "post":  # the crosspost or thread a sent post owes
            await posting.follow_up(self.bot, delivery, article)
            await outbox.followed_up(delivery)
        else:
            message_id = await self._post(delivery, article, more)
            await outbox.done(delivery, message_id, posting.followup_of(delivery), shown)
            log.info("posted %s to channel %s", delivery.article_id, delivery.channel_id)

    async def _reply(self, delivery: Delivery, article: Article, shown: str | None) -> None:
        """A story's later source, in the thread of the story's post (a forum post's own, or
        the one on a text post, opened now if need be); a post of its own if that post is
        gone (failed, or deleted by hand: then it is recorded as lost)."""
        outbox, stories = self.store.outbox, self.store.outbox.stories
        post = await stories.post_of(delivery)
        try:
            if post is not None and post.message_id is not None:
                await self._in_thread(delivery, post, post.message_id, article, shown)
                return
        except discord.NotFound as gone:
            if gone.code not in (posting.UNKNOWN_CHANNEL, posting.UNKNOWN_MESSAGE):
                raise
            assert post is not None
            await outbox.lost(post)
        await stories.detach(delivery)
        message_id = await self._post(delivery, article, [])
        await outbox.done(delivery, message_id, posting.followup_of(delivery), shown)

    async def _in_thread(
        self,
        delivery: Delivery,
        post: Delivery,
        thread_id: int,
        article: Article,
        shown: str | None,
    ) -> None:
        """The reply, once its thread is sure to exist; the thread recorded before the send."""
        if post.kind != ChannelKind.FORUM:
            first = await self.store.articles.get(post.article_id, include_hidden=True)
            await posting.open_thread(self.bot, post.channel_id, thread_id, first)
        if delivery.thread_id != thread_id:
            await self.store.outbox.stories.replying(delivery, thread_id)
        nonce = nonce_for(delivery)
        message_id = await posting.send_reply(self.bot, thread_id, delivery, article, nonce)
        await self.store.outbox.done(delivery, message_id, shown=shown)
        log.info("replied %s in thread %s", delivery.article_id, thread_id)

    async def _post(self, delivery: Delivery, article: Article, more: list[Article]) -> int:
        """A message (with its nonce), or a forum post: looked up first if an earlier try
        may have made it, the try recorded before it is sent (see bot.posting)."""
        if delivery.kind != ChannelKind.FORUM:
            channel = self.bot.get_partial_messageable(delivery.channel_id)
            nonce = nonce_for(delivery)
            return await posting.send_message(channel, delivery, article, nonce, more)
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
        return await posting.post_to_forum(forum, delivery, article, more)

    async def _paced(self, delivery: Delivery) -> bool:
        """max_per_hour: with that many posts in the channel in the last hour, the row waits
        until the oldest of them is an hour old. Nothing is dropped; the oldest goes first."""
        if not delivery.max_per_hour:
            return False
        now = int(self.store.clock())
        recent = await self.store.outbox.sent_times(delivery.channel_id, now - HOUR + 1)
        if len(recent) < delivery.max_per_hour:
            return False
        until = recent[-delivery.max_per_hour] + HOUR
        await self.store.outbox.park(delivery.channel_id, until, "max_per_hour: waiting its turn")
        return True


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(Poster(bot))
