"""The alert loop: alert rows -> the members' DMs, exactly once, paced per member.

Like the poster (`cogs/poster.py`): it runs supervised (`delivery.supervise`) while this
process holds the deliverer's lease, each Discord request checked against the lease
(`posting.guarded`), each row settled only after Discord answered. A story's DM is its
card (`reader_buttons.dm_card`) with a nonce of (story, member, generation), which Discord
enforces (`enforce_nonce`): a crash between the send and its record sends nothing twice.

Pacing: a member gets at most `ALERTS_PER_HOUR` DMs in any hour. With no free slot, the
pending alerts wait (`paced`) until the oldest DM of the hour is an hour old; at that next
free slot everything pending goes together as one "N more stories" card. When more fresh
stories arrive at once than there are free slots, the last free slot carries the rest.
A batch's members are committed first (`alerts.start_batch`), so its retry is the same
message with the same nonce. Closed DMs (Discord 50007, or any refusal of a send) pause
the member's follows and drop their pending alerts (`alerts.closed`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Coroutine
from typing import Any

import discord
from discord.ext import commands

from bot import cards, follow_answers, metrics, posting
from bot.articles import Article
from bot.bot import NewsBot
from bot.delivery import Action, backoff, classify, nonce, supervise
from bot.errors import ArticleNotFound
from bot.reader_buttons import dm_card
from bot.store import Alert, AlertState, LeaseLost, Role
from bot.store.alerts import HOUR

log = logging.getLogger(__name__)

MAX_CONCURRENT_MEMBERS = 8
NONE = discord.AllowedMentions.none()


def alert_nonce(alert: Alert) -> str:
    return nonce(f"alert|{alert.url}|{alert.member_id}|{alert.generation}")


def batch_nonce(member_id: int, batch_id: int) -> str:
    return nonce(f"alerts|{member_id}|{batch_id}")


class DMsClosed(Exception):
    """Discord refused a message to the member: their DMs are closed to the bot."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AlertSender(commands.Cog):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.store = bot.store
        self.due = asyncio.Event()
        self.store.alerts.on_work = self.due.set
        self.loop: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        if self.bot.settings.runs_delivery:
            self.loop = asyncio.create_task(self._forever(), name="alerts")

    async def cog_unload(self) -> None:
        if self.loop is not None:
            self.loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.loop

    async def _forever(self) -> None:
        await self.bot.wait_until_ready()
        await supervise("alerts", self.round, self.bot.held_back, self.due, self.bot.rounds)

    async def round(self) -> float:
        """Deliver what is due; then the pause until the next waiting alert, a poll at most."""
        await self.store.leases.wait_for(Role.DELIVERER)
        self.due.clear()
        due = await self.store.alerts.due()
        if due:
            by_member: dict[int, list[Alert]] = defaultdict(list)
            for alert in due:
                by_member[alert.member_id].append(alert)
            gate = asyncio.Semaphore(MAX_CONCURRENT_MEMBERS)

            async def member_worker(member: int, alerts: list[Alert]) -> None:
                async with gate:
                    with contextlib.suppress(LeaseLost):
                        await self._member(member, alerts)

            await asyncio.gather(*(member_worker(m, a) for m, a in by_member.items()))
            return 0.0
        pause = self.bot.settings.poll_seconds
        next_at = await self.store.alerts.next_due_at()
        if next_at is not None:
            pause = min(pause, max(1.0, next_at - self.store.clock()))
        return pause

    async def _member(self, member: int, alerts: list[Alert]) -> None:
        """One member's due alerts: edits and deletions, then what is pending, paced."""
        try:
            pending = [a for a in alerts if a.state == AlertState.PENDING]
            for alert in alerts:
                if alert.state != AlertState.PENDING:
                    await self._step(alert, self._change(alert))
            await self._send_pending(member, pending)
        except DMsClosed as closed:
            log.info("alerts to member %s paused: %s", member, closed.reason)
            await self.store.alerts.closed(member, follow_answers.DMS_CLOSED_REASON)

    async def _send_pending(self, member: int, pending: list[Alert]) -> None:
        if not pending:
            return
        limit = self.bot.settings.alerts_per_hour
        now = int(self.store.clock())
        sent = await self.store.alerts.sent_times(member, now - HOUR + 1)
        started = [a for a in pending if a.batch_id is not None]
        if started:  # a batch whose send may have gone out: finish it first, as it was
            await self._step(started[0], self._batch(member, started[0].batch_id or 0))
            return
        free = limit - len(sent)
        if free <= 0:
            until = sent[-limit] + HOUR
            await self.store.alerts.park(member, until, "alerts_per_hour: waiting its turn")
            return
        if any(a.paced for a in pending):  # they waited their turn: all go together now
            singles, rest = [], pending
        elif len(pending) <= free:
            singles, rest = pending, []
        else:  # more than the hour's slots: the last free one carries the rest
            singles, rest = pending[: free - 1], pending[free - 1 :]
        for alert in singles:
            if not await self._step(alert, self._single(alert)):
                return
        if rest:
            batch_id = await self.store.alerts.start_batch(rest)
            await self._step(rest[0], self._batch(member, batch_id))

    async def _step(self, alert: Alert, work: Coroutine[Any, Any, None]) -> bool:
        """Run one Discord step for `alert`; a failure is settled as `classify` says.
        True when the member's next alerts may go on."""
        try:
            with posting.guarded(lambda: self.store.leases.check(Role.DELIVERER)):
                await work
            metrics.DELIVERIES.labels("alert", "done").inc()
            return True
        except DMsClosed:
            raise
        except Exception as exc:
            verdict = classify(exc)
            if verdict is None:
                raise
            metrics.DELIVERIES.labels("alert", verdict.action.name.lower()).inc()
            if verdict.action == Action.PAUSE and alert.state == AlertState.PENDING:
                raise DMsClosed(verdict.reason) from None
            if verdict.action in (Action.RETRY, Action.WAIT):
                delay = verdict.delay or backoff(alert.attempts)
                log.warning("alert %s to %s failed (%s)", alert.id, alert.member_id, verdict.reason)
                await self.store.alerts.retry(alert, verdict.reason, delay)
                return False
            await self.store.alerts.lost(alert, verdict.reason)
            return True

    async def _dm(self, member: int) -> discord.DMChannel:
        return await self.bot.create_dm(discord.Object(id=member))

    async def _single(self, alert: Alert) -> None:
        article = await self.store.articles.get(alert.article_id, include_hidden=True)
        channel = await self._dm(alert.member_id)
        message = await channel.send(
            view=dm_card(article), nonce=alert_nonce(alert), allowed_mentions=NONE
        )
        await self.store.alerts.done([alert], message.id)
        log.info("alerted member %s of %s", alert.member_id, alert.article_id)

    async def _batch(self, member: int, batch_id: int) -> None:
        """The batch's pending stories as one "N more stories" card."""
        rows = [a for a in await self.store.alerts.batch(batch_id) if a.state == AlertState.PENDING]
        articles = await self._articles(rows)
        if not articles:  # withdrawn or gone meanwhile: nothing left to send
            for row in rows:
                await self.store.alerts.lost(row, "the story no longer exists")
            return
        channel = await self._dm(member)
        message = await channel.send(
            view=more_card(articles), nonce=batch_nonce(member, batch_id), allowed_mentions=NONE
        )
        await self.store.alerts.done(rows, message.id)
        log.info("alerted member %s of %d more stories", member, len(rows))

    async def _change(self, alert: Alert) -> None:
        """An edit or a deletion of a DM already sent (a batch's card is redrawn without
        the story, or deleted with its last one)."""
        if alert.message_id is None:  # never sent: nothing to change
            await self.store.alerts.done([alert], None)
            return
        channel = await self._dm(alert.member_id)
        message = channel.get_partial_message(alert.message_id)
        if alert.batch_id is not None:
            rows = [
                a
                for a in await self.store.alerts.batch(alert.batch_id)
                if a.state not in (AlertState.DELETE, AlertState.DELETED)
            ]
            articles = await self._articles(rows)
            if articles:
                await message.edit(view=more_card(articles), allowed_mentions=NONE)
            else:
                await message.delete()
        elif alert.state == AlertState.DELETE:
            await message.delete()
        else:
            article = await self.store.articles.get(alert.article_id, include_hidden=True)
            await message.edit(view=dm_card(article), allowed_mentions=NONE)
        await self.store.alerts.done([alert], alert.message_id)

    async def _articles(self, rows: list[Alert]) -> list[Article]:
        found = []
        for row in rows:
            with contextlib.suppress(ArticleNotFound):
                found.append(await self.store.articles.get(row.article_id, include_hidden=True))
        return found


def more_card(articles: list[Article]) -> cards.Card:
    """The stories past a member's hourly alerts, together in one card."""
    return cards.results_card(
        follow_answers.more_stories_heading(len(articles)), articles, page=0, has_next=False
    )


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(AlertSender(bot))
