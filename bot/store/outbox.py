"""The delivery queue (outbox): one row per (article webUrl, channel), written in the same
transaction as the state change that causes it, settled only once the send was answered.

States: PENDING -> SENT -> (EDIT -> SENT)* -> DELETE -> DELETED; FAILED when a channel
refuses or the message is gone. The poster builds each send's nonce from a row's
(url, channel, generation): a repost after a withdrawal bumps the generation.

A sent row may still owe a follow-up (`Followup`: the crosspost of an announcement, the
discussion thread of a text post): it stays work until that is done, whatever its state,
so a crosspost waiting out Discord's hourly limit holds back nothing else. A story's later
article joins its channel's post of the story (`lead_id`; see story_posts) as an edit or a
reply in its thread, unless its feed wants a post of its own. Time comes from
the store's one clock (`Store.clock`, given here), which tests inject to pace posts
without waiting an hour; on PostgreSQL it follows the database's clock, so every host
writes next_try_at, sent_at and pacing times on the same clock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bot.store.database import Clock, Database
from bot.store.feed_filters import NO_HITS, FeedFilters
from bot.store.outbox_rows import (
    HOUR,
    WORK,
    WORK_TOPIC,
    ChannelHealth,
    ChannelKind,
    Delivery,
    DeliveryState,
    Followup,
    QueueHealth,
    Reports,
    Style,
    Updates,
    owed,
)
from bot.store.story_posts import EDIT_FOLLOWUP, UPDATES_OF_CHANNEL, StoryPosts, oldest_first

__all__ = [
    "HOUR",
    "PER_CHANNEL",
    "WORK",
    "WORK_TOPIC",
    "ChannelHealth",
    "ChannelKind",
    "Delivery",
    "DeliveryState",
    "Followup",
    "Outbox",
    "QueueHealth",
    "Style",
    "Updates",
]

# SQL: the style of a channel's post when several of its subscriptions match the story: a
# topic's own feed decides over the channel's all-topics feed; among equals card, then
# embed, then link (a rank of 0-5, modulo 3 the style).
_STYLE_OF_CHANNEL = (
    "CASE MIN(CASE WHEN s.topic_key = '' THEN 3 ELSE 0 END + CASE s.style "
    f"WHEN '{Style.CARD}' THEN 0 WHEN '{Style.EMBED}' THEN 1 ELSE 2 END) % 3 "
    f"WHEN 0 THEN '{Style.CARD}' WHEN 1 THEN '{Style.EMBED}' ELSE '{Style.LINK}' END"
)
PER_CHANNEL = 20  # a round's rows of one channel, at most (see Outbox.due)
# SQL: the row `o` is work, and no reply waiting for its story's post to be sent.
_READY = owed("o.") + (
    f" AND (o.lead_id IS NULL OR o.updates <> '{Updates.THREAD}' "
    f"OR o.state <> '{DeliveryState.PENDING}' OR EXISTS (SELECT 1 FROM outbox l "
    f"WHERE l.id = o.lead_id AND (l.message_id IS NOT NULL "
    f"OR l.state IN ('{DeliveryState.DELETED}', '{DeliveryState.FAILED}'))))"
)


def _queue_sql(filter_clause: str) -> str:
    """SQL: one story's rows (params: webUrl, now, the filter's hits, article id), one per
    following channel; a row already there is edited, or queued anew if its post is gone."""
    S = DeliveryState
    return f"""INSERT INTO outbox (url, article_id, channel_id, role_id, created_at,
                               kind, silent, max_per_hour, threads, style, updates)
           SELECT CAST(? AS TEXT), a.id, s.channel_id, MAX(s.role_id), CAST(? AS BIGINT),
                  MAX(s.kind), MIN(s.silent), COALESCE(MIN(NULLIF(s.max_per_hour, 0)), 0),
                  MAX(s.threads), {_STYLE_OF_CHANNEL}, {UPDATES_OF_CHANNEL}
           FROM articles a JOIN subscriptions s
             ON (s.topic_key = '' OR s.topic_key IN
                    (SELECT topic_key FROM article_topics WHERE article_rowid = a.rowid))
            AND s.min_quality <= a.quality AND {filter_clause}
           LEFT JOIN channels c ON c.channel_id = s.channel_id
           WHERE a.id = ? AND c.paused_reason IS NULL
           GROUP BY s.channel_id, a.id
           ON CONFLICT (url, channel_id) DO UPDATE SET
               article_id = excluded.article_id,
               state = CASE WHEN outbox.state IN ('{S.SENT}', '{S.EDIT}', '{S.DELETE}')
                            THEN '{S.EDIT}' ELSE '{S.PENDING}' END,
               generation = outbox.generation + (CASE WHEN outbox.state IN
                            ('{S.DELETED}', '{S.FAILED}') THEN 1 ELSE 0 END),
               message_id = CASE WHEN outbox.state IN ('{S.DELETED}', '{S.FAILED}')
                            THEN NULL ELSE outbox.message_id END,
               sent_at = CASE WHEN outbox.state IN ('{S.DELETED}', '{S.FAILED}')
                            THEN NULL ELSE outbox.sent_at END,
               started_at = CASE WHEN outbox.state IN ('{S.DELETED}', '{S.FAILED}')
                            THEN NULL ELSE outbox.started_at END,
               style = CASE WHEN outbox.state IN ('{S.DELETED}', '{S.FAILED}')
                            THEN excluded.style ELSE outbox.style END,
               updates = CASE WHEN outbox.state IN ('{S.DELETED}', '{S.FAILED}')
                            THEN excluded.updates ELSE outbox.updates END,
               lead_id = CASE WHEN outbox.state IN ('{S.DELETED}', '{S.FAILED}')
                            THEN NULL ELSE outbox.lead_id END,
               thread_id = CASE WHEN outbox.state IN ('{S.DELETED}', '{S.FAILED}')
                            THEN NULL ELSE outbox.thread_id END,
               kind = excluded.kind, silent = excluded.silent,
               max_per_hour = excluded.max_per_hour, threads = excluded.threads,
               attempts = 0, next_try_at = 0, last_error = NULL"""


class Outbox(Reports):
    """Queue writes (called inside the caller's transaction) and the deliverer's side."""

    def __init__(self, db: Database, clock: Clock, fence: Callable[[], Awaitable[None]]) -> None:
        self.db = db
        self.clock = clock
        self.on_work: Callable[[], None] = lambda: None  # the poster wakes on it
        self.filters = FeedFilters(db)  # which filtered feeds a story is for
        # Called first in every deliverer write's transaction: raises (leases.LeaseLost) when
        # this process no longer holds the deliverer's lease, so the write is refused.
        self.fence = fence
        self.stories = StoryPosts(db, fence)  # a story's later articles grow its post
        # Work queued by another process (PostgreSQL's NOTIFY) wakes this one's poster too.
        db.listen(WORK_TOPIC, lambda: self.on_work())

    def now(self) -> int:
        return int(self.clock())

    async def _write(self, sql: str, params: Sequence[Any]) -> None:
        """One deliverer write, refused (fence) unless this process holds the lease."""
        async with self.db.transaction():
            await self.fence()
            await self.db.execute(sql, params)

    def _wake(self) -> None:
        """After commit: this process's poster, and every other process's."""
        self.db.after_commit(self.on_work)
        self.db.notify(WORK_TOPIC)

    # ------------------------------------------------------------------ queueing

    async def enqueue(self, stories: Sequence[tuple[str, str]]) -> None:
        """One pending row per following channel (a filtered feed only if its filter matches:
        `self.filters`); posts already made are edited instead. `stories`: (webUrl, article
        id) pairs that just became visible. A story's articles go oldest first, each row
        that would be a second post of its story in a channel joining the first instead."""
        if not stories or not await self.db.fetchval("SELECT EXISTS (SELECT 1 FROM subscriptions)"):
            return
        hits, sql = await self.filters.hits(stories), _queue_sql(self.filters.clause)
        shared = await self.stories.shared([article_id for _, article_id in stories])
        await self.db.executemany(  # alone in their stories: all at once
            sql,
            [(u, self.now(), hits.get(u, NO_HITS), a) for u, a in stories if a not in shared],
        )
        for url, article_id in await oldest_first(self.db, [s for s in stories if s[1] in shared]):
            await self.db.execute(sql, (url, self.now(), hits.get(url, NO_HITS), article_id))
            await self.stories.attach(url, article_id)
        self._wake()

    async def edit(self, url: str, article_id: str, content_changed: bool) -> None:
        """Another file (or a new version) now serves the story; sent posts are edited (the
        post an edit follow-up is shown in, for that follow-up)."""
        S, own = DeliveryState, f"state = 'sent' AND ? = 1 AND NOT ({EDIT_FOLLOWUP})"
        changed = await self.db.execute(
            f"UPDATE outbox SET article_id = ?, next_try_at = CASE WHEN {own} "
            f"THEN 0 ELSE next_try_at END, "
            f"state = CASE WHEN {own} THEN '{S.EDIT}' ELSE state END WHERE url = ?",
            (article_id, int(content_changed), int(content_changed), url),
        )
        if changed and content_changed:
            await self.stories.touch(url)
            self._wake()

    async def withdraw(self, url: str) -> None:
        """The story is no longer visible: delete what was sent, cancel what was not.

        A pending row is marked too, not dropped: if its send is in flight, the answer
        records the message id and the next round deletes it (`StoryPosts.withdraw`)."""
        if await self.stories.withdraw(url):
            self._wake()

    # ------------------------------------------------------------------ delivering

    async def due(self, limit: int = 200, per_channel: int = PER_CHANNEL) -> list[Delivery]:
        """Work that is due: oldest article first, then channel, paused channels skipped; a
        reply to send waits until its story's post is sent (or is gone for good).

        At most `per_channel` rows of any one channel (a channel's rows go one after another
        anyway): one channel's backlog never crowds another's story out of a round."""
        rows = await self.db.fetch(
            f"""SELECT id, url, article_id, channel_id, role_id, state, message_id, attempts,
                      generation, kind, silent, max_per_hour, threads, followup, started_at,
                      style, updates, lead_id, thread_id
               FROM (SELECT o.id, o.url, o.article_id, o.channel_id, o.role_id, o.state,
                            o.message_id, o.attempts, o.generation, o.kind, o.silent,
                            o.max_per_hour, o.threads, o.followup, o.started_at, o.style,
                            o.updates, o.lead_id, o.thread_id, a.published_at,
                            ROW_NUMBER() OVER (PARTITION BY o.channel_id
                                               ORDER BY a.published_at, o.id) AS place
                     FROM outbox o
                     JOIN articles a ON a.id = o.article_id
                     LEFT JOIN channels c ON c.channel_id = o.channel_id
                     WHERE {_READY} AND o.next_try_at <= ?
                       AND (c.paused_reason IS NULL OR o.state = '{DeliveryState.DELETE}')
                    ) due
               WHERE place <= ?
               ORDER BY published_at, id
               LIMIT ?""",
            [self.now(), per_channel, limit],
        )
        return [Delivery.from_row(r) for r in rows]

    async def next_due_at(self) -> int | None:
        """When the earliest waiting retry falls due (unix seconds), if any (not a reply
        waiting for its story's post: that post's send wakes the poster)."""
        value = await self.db.fetchval(f"SELECT MIN(o.next_try_at) FROM outbox o WHERE {_READY}")
        return int(value) if value is not None else None

    async def done(
        self,
        delivery: Delivery,
        message_id: int | None,
        followup: Followup = Followup.NONE,
        shown: str | None = None,
    ) -> None:
        """The send was answered: record the message (or its deletion), and what its post
        still owes (a crosspost, a thread). Only now is a row done.

        `shown` is the token of what the post or edit showed (`StoryPosts.sources`, read
        before it was rendered): if the story changed while the request was in flight (an
        article's text, a source joining or leaving), the row is left to be edited again
        rather than settled with what is now out of date."""
        S = DeliveryState
        async with self.db.transaction():
            await self.fence()
            if delivery.state == S.DELETE:
                await self.db.execute(
                    f"UPDATE outbox SET state = '{S.DELETED}', message_id = NULL, "
                    f"last_error = NULL WHERE id = ? AND state = '{S.DELETE}'",
                    (delivery.id,),
                )
                return
            # Only the state we acted on is settled: an edit or a withdrawal queued while
            # this request was in flight stays queued, now with the message id to act on.
            owed = followup if delivery.state == S.PENDING else delivery.followup
            stale = shown is not None and shown != (await self.stories.sources(delivery.id))[0]
            await self.db.execute(
                "UPDATE outbox SET state = CASE WHEN state = ? THEN ? ELSE state END, "
                "message_id = ?, sent_at = COALESCE(sent_at, ?), attempts = 0, "
                "last_error = NULL, followup = ? WHERE id = ?",
                (
                    delivery.state,
                    S.EDIT if stale else S.SENT,
                    message_id,
                    self.now(),
                    owed,
                    delivery.id,
                ),
            )
            await self.db.execute(
                "INSERT INTO channels (channel_id, last_post_at, last_article) VALUES (?, ?, ?) "
                "ON CONFLICT (channel_id) DO UPDATE SET last_post_at = excluded.last_post_at, "
                "last_article = excluded.last_article",
                (delivery.channel_id, self.now(), delivery.article_id),
            )

    async def followed_up(self, delivery: Delivery) -> None:
        """The crosspost or thread is done (or was already): the post owes nothing more."""
        await self._write(
            "UPDATE outbox SET followup = '', attempts = 0, next_try_at = 0, "
            "last_error = NULL WHERE id = ?",
            (delivery.id,),
        )

    async def starting(self, delivery: Delivery) -> None:
        """Committed before a forum thread is created: a later try looks for it first."""
        await self._write(
            "UPDATE outbox SET started_at = ? WHERE id = ?", (self.now(), delivery.id)
        )

    async def wait(self, delivery: Delivery, until: int, why: str) -> None:
        """Not a failure: the row waits its turn (pacing, Discord's crosspost limit)."""
        await self._write(
            "UPDATE outbox SET next_try_at = ?, last_error = ? WHERE id = ?",
            (until, why[:500], delivery.id),
        )

    async def park(self, channel_id: int, until: int, why: str) -> None:
        """A paced channel's whole backlog waits its turn, in one update: every post still to
        send there is skipped by `due()` until `until`, not re-read and parked one a round."""
        await self._write(
            f"UPDATE outbox SET next_try_at = ?, last_error = ? WHERE channel_id = ? "
            f"AND state = '{DeliveryState.PENDING}' AND next_try_at < ? AND lead_id IS NULL",
            (until, why[:500], channel_id, until),
        )

    async def retry(self, delivery: Delivery, error: str, delay: float) -> None:
        """A transient failure: try again after `delay` seconds."""
        await self._write(
            "UPDATE outbox SET attempts = attempts + 1, next_try_at = ?, last_error = ? "
            "WHERE id = ?",
            (self.now() + max(1, round(delay)), error[:500], delivery.id),
        )

    async def lost(self, delivery: Delivery) -> None:
        """The message to edit or delete is gone: nothing left to do for this row."""
        S = DeliveryState
        await self._write(
            "UPDATE outbox SET state = ?, last_error = 'message no longer exists' WHERE id = ?",
            (S.DELETED if delivery.state == S.DELETE else S.FAILED, delivery.id),
        )

    async def pause_channel(self, channel_id: int, reason: str) -> None:
        """Refused or gone: stop sending there (never retry a refusal) until it is followed anew."""
        S = DeliveryState
        async with self.db.transaction():
            await self.fence()
            await self.db.execute(
                "INSERT INTO channels (channel_id, paused_reason, paused_at) VALUES (?, ?, ?) "
                "ON CONFLICT (channel_id) DO UPDATE SET paused_reason = excluded.paused_reason, "
                "paused_at = excluded.paused_at",
                (channel_id, reason, self.now()),
            )
            await self.db.execute(
                f"UPDATE outbox SET state = '{S.FAILED}', last_error = ? "
                f"WHERE channel_id = ? AND state IN ('{S.PENDING}', '{S.EDIT}')",
                (reason, channel_id),
            )
