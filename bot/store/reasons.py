"""What `/feed why` reads: one story's state, and its post (if any) in one channel.

Read-only; `desk.why` decides from these, the channel's subscriptions (`store.feeds`) and
the article itself (`store.articles`) what happened to the story there.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.articles import article_key
from bot.store.database import Database
from bot.store.outbox import ChannelKind, DeliveryState, Updates


@dataclass(frozen=True, slots=True)
class StoryState:
    """An article file's standing as a story: visible to readers, or why not."""

    id: str
    url: str
    visible: bool
    published: bool
    deleted: bool  # the file is gone
    duplicate_of: str | None  # another file with the same webUrl serves the story
    visible_since: int | None  # when the story first became visible (unix seconds)


@dataclass(frozen=True, slots=True)
class PostRecord:
    """The outbox row of one story in one channel."""

    state: DeliveryState
    message_id: int | None  # the message (a forum post: its thread)
    kind: ChannelKind
    next_try_at: int
    last_error: str | None
    attempts: int
    sent_at: int | None
    lead_id: int | None = None  # a follow-up of the story's post there (story_posts)
    updates: Updates = Updates.NEW  # how it follows up that post
    thread_id: int | None = None  # a reply: the thread it is in
    post_message_id: int | None = None  # a follow-up: the story's post's message


class Reasons:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def story(self, article_id: str) -> StoryState | None:
        """The article's standing, deleted files included; None for an id never seen."""
        rows = await self.db.fetch(
            "SELECT id, url, visible, published, deleted_at, duplicate_of, visible_since "
            "FROM articles WHERE id = ?",
            [article_key(article_id)],
        )
        if not rows:
            return None
        r = rows[0]
        return StoryState(
            id=r["id"],
            url=r["url"],
            visible=bool(r["visible"]),
            published=bool(r["published"]),
            deleted=r["deleted_at"] is not None,
            duplicate_of=r["duplicate_of"],
            visible_since=r["visible_since"],
        )

    async def post(self, url: str, channel_id: int) -> PostRecord | None:
        """The story's outbox row for the channel, or None: it was never queued there."""
        rows = await self.db.fetch(
            "SELECT o.state, o.message_id, o.kind, o.next_try_at, o.last_error, o.attempts, "
            "o.sent_at, o.lead_id, o.updates, o.thread_id, l.message_id AS post_message_id "
            "FROM outbox o LEFT JOIN outbox l ON l.id = o.lead_id "
            "WHERE o.url = ? AND o.channel_id = ?",
            [url, channel_id],
        )
        if not rows:
            return None
        r = rows[0]
        return PostRecord(
            state=DeliveryState(r["state"]),
            message_id=r["message_id"],
            kind=ChannelKind(r["kind"]),
            next_try_at=int(r["next_try_at"]),
            last_error=r["last_error"],
            attempts=int(r["attempts"]),
            sent_at=r["sent_at"],
            lead_id=r["lead_id"],
            updates=Updates(r["updates"]),
            thread_id=r["thread_id"],
            post_message_id=r["post_message_id"],
        )
