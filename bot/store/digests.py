"""Digest subscriptions, the stories a period holds, and the digest delivery log.

The log has one row per (digest, period), written before the digest is sent and settled
only once Discord answered, or once it was clear there was nothing to show (recorded too,
so an empty period is not tried again). The sender builds the message's nonce from the
row's key, so a digest goes out once per period, across retries, crashes and restarts.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from bot.articles import topic_key
from bot.digest import Every, Period, Story, period_after
from bot.store.database import Database, Row
from bot.store.outbox import Style
from bot.store.records import image_from_row

_KEEP_SECONDS = 8 * 24 * 3600  # log rows a round looks at: a week's period, and a day more


class DigestState(StrEnum):
    PENDING = "pending"  # to send (again, after `next_try_at`)
    SENT = "sent"  # Discord answered with the message
    EMPTY = "empty"  # nothing to show: nothing sent, and never tried again
    FAILED = "failed"  # the channel refused, or Discord rejected the message


@dataclass(frozen=True, slots=True)
class DigestSubscription:
    channel_id: int
    topic: str  # display name, "" = every topic
    every: Every
    hour: int  # 0-23 UTC
    size: int
    guild_id: int | None
    created_at: int
    paused_reason: str | None
    last_sent_at: int | None
    style: Style = Style.CARD  # how it looks (digests made before cards: embed)

    @classmethod
    def from_row(cls, row: Row) -> DigestSubscription:
        return cls(
            channel_id=row["channel_id"],
            topic=row["topic_name"],
            every=Every(row["cadence"]),
            hour=row["hour_utc"],
            size=row["size"],
            guild_id=row["guild_id"],
            created_at=row["created_at"],
            paused_reason=row["paused_reason"],
            last_sent_at=row["last_sent_at"],
            style=Style(row["style"]),
        )


@dataclass(frozen=True, slots=True)
class DigestRun:
    """One (digest, period) row of the delivery log."""

    channel_id: int
    topic_key: str
    topic: str  # the digest's display name
    size: int
    period: Period
    every: Every
    state: DigestState
    attempts: int
    message_id: int | None
    style: Style = Style.CARD  # the digest's style as it is sent

    @classmethod
    def from_row(cls, row: Row) -> DigestRun:
        start, end = (datetime.fromtimestamp(row[c], UTC) for c in ("starts_at", "due_at"))
        return cls(
            channel_id=row["channel_id"],
            topic_key=row["topic_key"],
            topic=row["topic_name"],
            size=row["size"],
            period=Period(row["period_key"], start, end),
            every=Every(row["cadence"]),
            state=DigestState(row["state"]),
            attempts=row["attempts"],
            message_id=row["message_id"],
            style=Style(row["style"]),
        )


_SUBSCRIPTIONS = """SELECT d.channel_id, d.topic_name, d.cadence, d.hour_utc, d.size, d.guild_id,
       d.created_at, d.style, c.paused_reason,
       (SELECT MAX(l.settled_at) FROM digest_log l WHERE l.channel_id = d.channel_id
         AND l.topic_key = d.topic_key AND l.state = 'sent') AS last_sent_at
FROM digests d LEFT JOIN channels c ON c.channel_id = d.channel_id"""
_RUNS = """SELECT l.channel_id, l.topic_key, l.period_key, l.starts_at, l.due_at, l.state,
       l.attempts, l.message_id, l.next_try_at, d.topic_name, d.size, d.cadence, d.style
FROM digest_log l JOIN digests d ON d.channel_id = l.channel_id AND d.topic_key = l.topic_key"""
# Rows to send: pending, of a digest that still exists (the join), on a channel not paused.
_WAITING = (
    "LEFT JOIN channels c ON c.channel_id = l.channel_id "
    f"WHERE l.state = '{DigestState.PENDING}' AND c.paused_reason IS NULL"
)


class Digests:
    def __init__(self, db: Database, fence: Callable[[], Awaitable[None]]) -> None:
        self.db = db
        # Called first in every delivery write's transaction: raises (leases.LeaseLost) when
        # this process no longer holds the deliverer's lease; the outbox's own (Outbox.fence).
        self.fence = fence

    # ------------------------------------------------------------------ subscriptions

    async def add(
        self,
        channel_id: int,
        topic: str,
        *,
        every: Every,
        hour: int,
        size: int,
        guild_id: int,
        actor: str,
        now: int,
        style: Style | None = None,
    ) -> DigestSubscription:
        """A digest of a topic (its display name; "" = all) in a channel, from its next due
        time; replaces the channel's digest of that topic and resumes a paused channel.
        `style` None: a new digest is a card, an existing one keeps its style."""
        kept = "digests.style" if style is None else "excluded.style"
        async with self.db.transaction():
            await self.db.execute(
                "INSERT INTO digests (channel_id, topic_key, guild_id, topic_name, cadence, "
                "hour_utc, size, created_at, created_by, style) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (channel_id, topic_key) DO UPDATE SET guild_id = excluded.guild_id, "
                "topic_name = excluded.topic_name, cadence = excluded.cadence, "
                "hour_utc = excluded.hour_utc, size = excluded.size, "
                "created_at = excluded.created_at, created_by = excluded.created_by, "
                f"style = {kept}",
                (
                    channel_id,
                    topic_key(topic),
                    guild_id,
                    topic,
                    every,
                    hour,
                    size,
                    now,
                    actor,
                    Style.CARD if style is None else Style(style),
                ),
            )
            await self.db.execute(
                "UPDATE channels SET paused_reason = NULL, paused_at = NULL WHERE channel_id = ?",
                (channel_id,),
            )
        found = await self._subscriptions(
            "d.channel_id = ? AND d.topic_key = ?", [channel_id, topic_key(topic)]
        )
        return found[0]

    async def remove(self, channel_id: int, topic: str | None, *, guild_id: int) -> int:
        """Stop a channel's digests (of one topic, or all) within one guild's; how many."""
        where = "channel_id = ? AND guild_id = ?"
        params: tuple[object, ...] = (channel_id, guild_id)
        if topic is not None:
            where, params = where + " AND topic_key = ?", (*params, topic_key(topic))
        async with self.db.transaction():
            return await self.db.execute(f"DELETE FROM digests WHERE {where}", params)

    async def subscriptions(self, *, guild_id: int | None = None) -> list[DigestSubscription]:
        """A guild's digests (or all), with each channel's pause reason and last digest."""
        if guild_id is None:
            return await self._subscriptions("1 = 1", [])
        return await self._subscriptions("d.guild_id = ?", [guild_id])

    async def _subscriptions(self, where: str, params: list[object]) -> list[DigestSubscription]:
        rows = await self.db.fetch(
            f"{_SUBSCRIPTIONS} WHERE {where} ORDER BY d.channel_id, d.topic_name", params
        )
        return [DigestSubscription.from_row(r) for r in rows]

    # ------------------------------------------------------------------ what a period holds

    async def stories(self, period: Period, topic: str = "") -> list[Story]:
        """Every visible article (never a draft, withdrawn or served by another file) of
        each story one of whose articles (of one topic; "" = all) became published in the
        period, each naming its story: `digest.gather` lists each story once."""
        where = ""
        # Stamps are whole seconds (a story stamped 100 became visible in [100, 101)): the
        # bounds round up alike, so adjacent periods still share no story.
        params: list[object] = [
            math.ceil(period.start.timestamp()),
            math.ceil(period.end.timestamp()),
        ]
        if topic:
            where = "AND p.rowid IN (SELECT article_rowid FROM article_topics WHERE topic_key = ?)"
            params.append(topic_key(topic))
        # The stories' articles' visibility is checked here: in the WHERE clause SQLite
        # would walk every visible article instead of the stories' own.
        rows = await self.db.fetch(
            "SELECT a.id, a.story, a.title, a.url, a.provider_name, a.heat, a.quality, "
            "a.published_at, a.image_url, a.image_width, a.image_height, a.visible, "
            "(SELECT COUNT(*) FROM related r WHERE r.article_rowid = a.rowid) AS related "
            "FROM articles a WHERE a.story IN (SELECT p.story FROM articles p "
            f"WHERE p.visible = 1 AND p.visible_since >= ? AND p.visible_since < ? {where})",
            params,
        )
        return [
            Story(
                article_id=r["id"],
                title=r["title"],
                url=r["url"],
                provider=r["provider_name"],
                heat=r["heat"],
                quality=r["quality"],
                published_at=datetime.fromtimestamp(r["published_at"], UTC),
                related=int(r["related"]),
                image=image_from_row(r),
                story=r["story"] or r["id"],
            )
            for r in rows
            if r["visible"]
        ]

    # ------------------------------------------------------------------ the delivery log

    async def open_due(self, now: datetime) -> int:
        """Write the log row of every digest's latest period due by `now`, before anything
        is sent; a period due before the digest existed is skipped. How many were new."""
        known: set[tuple[int, str, str]] = set()
        ended: dict[tuple[int, str], int] = {}  # each digest's last logged period's end
        for channel_id, key, period_key, due_at in await self.db.fetch_tuples(
            "SELECT channel_id, topic_key, period_key, due_at FROM digest_log WHERE due_at >= ?",
            [int(now.timestamp()) - _KEEP_SECONDS],
        ):
            known.add((channel_id, key, period_key))
            ended[channel_id, key] = max(due_at, ended.get((channel_id, key), due_at))
        rows: list[tuple[object, ...]] = []
        for sub in await self.subscriptions():
            last = ended.get((sub.channel_id, topic_key(sub.topic)))
            last_end = None if last is None else datetime.fromtimestamp(last, UTC)
            period = period_after(sub.every, sub.hour, now, last_end)
            key = (sub.channel_id, topic_key(sub.topic), period.key)
            if sub.paused_reason or period.end.timestamp() < sub.created_at or key in known:
                continue
            start, end = int(period.start.timestamp()), int(period.end.timestamp())
            rows.append((*key, start, end, int(now.timestamp())))
        if rows:
            async with self.db.transaction():
                await self.fence()
                await self.db.executemany(
                    "INSERT INTO digest_log (channel_id, topic_key, period_key, starts_at, "
                    "due_at, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    rows,
                )
        return len(rows)

    async def due(self, now: int) -> list[DigestRun]:
        """Rows waiting to be sent by `now`, of digests that still exist, on channels that
        are not paused; the earliest due first."""
        rows = await self.db.fetch(
            f"{_RUNS} {_WAITING} AND l.next_try_at <= ? "
            "ORDER BY l.due_at, l.channel_id, l.topic_key",
            [now],
        )
        return [DigestRun.from_row(r) for r in rows]

    async def next_try_at(self) -> int | None:
        """When the earliest waiting retry falls due (unix seconds), if any: of the rows
        `due` would return, so a paused channel's or a removed digest's row wakes no one."""
        value = await self.db.fetchval(f"SELECT MIN(l.next_try_at) FROM ({_RUNS} {_WAITING}) l")
        return int(value) if value is not None else None

    async def settle(
        self,
        run: DigestRun,
        state: DigestState,
        now: int,
        *,
        message_id: int | None = None,
        stories: int = 0,
        error: str | None = None,
    ) -> None:
        """Sent, empty or failed: the row is done, and no round sends it again."""
        async with self.db.transaction():
            await self.fence()
            await self.db.execute(
                "UPDATE digest_log SET state = ?, message_id = ?, stories = ?, last_error = ?, "
                f"settled_at = ? WHERE {_KEY} AND state = '{DigestState.PENDING}'",
                (state, message_id, stories, error, now, *_key(run)),
            )

    async def retry(self, run: DigestRun, error: str, delay: float, now: int) -> None:
        """A transient failure: try again after `delay` seconds."""
        async with self.db.transaction():
            await self.fence()
            await self.db.execute(
                "UPDATE digest_log SET attempts = attempts + 1, next_try_at = ?, last_error = ? "
                f"WHERE {_KEY}",
                (now + max(1, round(delay)), error[:500], *_key(run)),
            )

    async def log(self, channel_id: int) -> list[DigestRun]:
        """A channel's digest deliveries, oldest period first: what operators and tests ask."""
        rows = await self.db.fetch(
            f"{_RUNS} WHERE l.channel_id = ? ORDER BY l.due_at, l.topic_key", [channel_id]
        )
        return [DigestRun.from_row(r) for r in rows]


_KEY = "channel_id = ? AND topic_key = ? AND period_key = ?"


def _key(run: DigestRun) -> tuple[object, ...]:
    return (run.channel_id, run.topic_key, run.period.key)
