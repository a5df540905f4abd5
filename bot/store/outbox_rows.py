"""The outbox's vocabulary (its states, a row due for work) and what operators, tests and
pacing read of it; the queue's writes are `outbox.Outbox`'s."""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum

from bot.store.database import Database, Row


class ChannelKind(StrEnum):
    """How a channel is served: one message, one forum post, or a message then crossposted."""

    TEXT = "text"
    FORUM = "forum"
    ANNOUNCEMENT = "announcement"


class Style(StrEnum):
    """How a feed's posts look: a Components V2 card (new feeds), the embed (feeds made
    before cards), or one plain line (bridges, tiny screens). A post keeps its style."""

    CARD = "card"
    EMBED = "embed"
    LINK = "link"


class Followup(StrEnum):
    """What a sent post still owes."""

    NONE = ""
    CROSSPOST = "crosspost"
    THREAD = "thread"


class Updates(StrEnum):
    """How a channel shows a story's later articles (`/feed add updates:`, resolved when a
    row is queued; see story_posts): a reply in the story's thread, an edit of its post
    ("More coverage"), or a post of their own."""

    THREAD = "thread"
    EDIT = "edit"
    NEW = "new"


class DeliveryState(StrEnum):
    PENDING = "pending"  # to send
    SENT = "sent"  # the send was answered with the message id
    EDIT = "edit"  # sent, and its article changed: to edit in place
    DELETE = "delete"  # the story was withdrawn: to delete (or, if never sent, to drop)
    DELETED = "deleted"
    FAILED = "failed"  # the channel refused, or the message is gone


WORK_TOPIC = "work"  # what a transaction that queued outbox work notifies
WORK = (DeliveryState.PENDING, DeliveryState.EDIT, DeliveryState.DELETE)
_WORK_SQL = ", ".join(f"'{s}'" for s in WORK)


def owed(alias: str = "") -> str:
    """SQL: a row is work while its state is, or while its post owes a follow-up."""
    return (
        f"({alias}state IN ({_WORK_SQL}) "
        f"OR ({alias}state = '{DeliveryState.SENT}' AND {alias}followup <> ''))"
    )


HOUR = 3600


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox row due for work: a post to send, edit or delete."""

    id: int
    url: str
    article_id: str
    channel_id: int
    role_id: int | None
    state: DeliveryState
    message_id: int | None
    attempts: int
    generation: int
    kind: ChannelKind = ChannelKind.TEXT
    silent: bool = False
    max_per_hour: int = 0  # 0: unpaced
    threads: bool = False
    followup: Followup = Followup.NONE
    started_at: int | None = None  # a forum thread's creation went out then (maybe unanswered)
    style: Style = Style.CARD  # how the post looks: the feed's when queued, kept once sent
    updates: Updates = Updates.NEW  # how it joins a live post of its story (story_posts)
    lead_id: int | None = None  # that post's row: this row is a follow-up of it
    thread_id: int | None = None  # a reply's thread (where its message lives)

    @classmethod
    def from_row(cls, row: Row) -> Delivery:
        values = {f.name: row[f.name] for f in fields(cls)}
        values["state"] = DeliveryState(values["state"])
        values["kind"] = ChannelKind(values["kind"])
        values["followup"] = Followup(values["followup"])
        values["style"] = Style(values["style"])
        values["updates"] = Updates(values["updates"])
        values["silent"], values["threads"] = bool(values["silent"]), bool(values["threads"])
        return cls(**values)

    @property
    def owes_followup(self) -> bool:
        """Sent, and its crosspost or thread is still to do."""
        return self.state == DeliveryState.SENT and self.followup != Followup.NONE


@dataclass(frozen=True, slots=True)
class ChannelHealth:
    channel_id: int
    last_post_at: int | None
    last_article: str | None
    paused_reason: str | None


@dataclass(frozen=True, slots=True)
class QueueHealth:
    waiting: int
    failed: int
    channels: tuple[ChannelHealth, ...]


class Reports:
    """What operators, tests and pacing ask of the outbox: read-only, the queue's rows counted."""

    db: Database

    async def sent_times(self, channel_id: int, since: int) -> list[int]:
        """When this channel's posts since `since` were sent, oldest first (for pacing): a
        reply in a story's thread is no post of the channel's."""
        rows = await self.db.fetch(
            "SELECT sent_at FROM outbox WHERE channel_id = ? AND sent_at >= ? "
            "AND lead_id IS NULL ORDER BY sent_at",
            [channel_id, since],
        )
        return [int(r[0]) for r in rows]

    async def queued_channels(self, url: str) -> int:
        """How many channels have a post of this story waiting to be sent."""
        value = await self.db.fetchval(
            "SELECT COUNT(*) FROM outbox WHERE url = ? AND state = ?",
            [url, DeliveryState.PENDING],
        )
        return int(value or 0)

    async def posts(self, url: str) -> dict[int, tuple[DeliveryState, int | None]]:
        """channel -> (state, message id) of one story's posts: what operators ask."""
        rows = await self.db.fetch(
            "SELECT channel_id, state, message_id FROM outbox WHERE url = ? ORDER BY channel_id",
            [url],
        )
        return {r[0]: (DeliveryState(r[1]), r[2]) for r in rows}

    async def state_counts(self) -> dict[DeliveryState, int]:
        """How many rows are in each state, over every story and channel; states with no
        row are left out, so an empty outbox is `{}`. What operators and tests ask."""
        rows = await self.db.fetch("SELECT state, COUNT(*) FROM outbox GROUP BY state")
        return {DeliveryState(r[0]): int(r[1]) for r in rows}

    async def health(self) -> QueueHealth:
        """Rows waiting and failed, and per channel its last post and pause reason."""
        counts = await self.db.fetch(
            f"SELECT COALESCE(SUM(CASE WHEN {owed()} THEN 1 ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN state = '{DeliveryState.FAILED}' THEN 1 ELSE 0 END), 0) "
            "FROM outbox"
        )
        channels = await self.db.fetch(
            """SELECT ch.channel_id, c.last_post_at, c.last_article, c.paused_reason
               FROM (SELECT DISTINCT channel_id FROM subscriptions
                     UNION SELECT channel_id FROM channels) ch
               LEFT JOIN channels c ON c.channel_id = ch.channel_id
               ORDER BY ch.channel_id"""
        )
        return QueueHealth(
            waiting=counts[0][0],
            failed=counts[0][1],
            channels=tuple(ChannelHealth(r[0], r[1], r[2], r[3]) for r in channels),
        )
