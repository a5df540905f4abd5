"""A story posts once per channel, then grows in place: the outbox rows of a story's later
articles (its follow-ups) and the post they grow. Queue-side calls run inside the caller's
transaction, as the outbox's do.

A row queued for a new post while its channel holds a live post of the same story
(`articles.story`; a row in state pending, sent or edit that is no follow-up itself)
becomes that post's follow-up (`lead_id`), unless its mode (`outbox.updates`) is `new`:

- `edit`: nothing of its own is sent. The row is settled at once (sent, with no message)
  and the post is marked to be edited: it shows the follow-up under "More coverage". What
  a post shows is its own article while visible and its live edit follow-ups' visible
  articles (`sources`); the poster leads with the best of them (`bot.coverage`).
- `thread`: a reply in the post's thread, sent once the post is (`Outbox.due` holds it
  until then), silently. A post that failed or was deleted meanwhile leaves it a post of
  its own.

Withdrawals: an edit follow-up is dropped from its post (the post is edited); a reply is
deleted. A post whose own article is withdrawn while its edit follow-ups live is kept and
edited (the best remaining article leads it); a post left showing nothing is deleted, and
the replies in its thread with it. So no post ever shows a withdrawn article.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import fields
from typing import Any

from bot.store.database import Database, chunks, in_chunks, marks
from bot.store.outbox_rows import Delivery, DeliveryState, Updates

S = DeliveryState
LIVE = f"('{S.PENDING}', '{S.SENT}', '{S.EDIT}')"
EDIT_FOLLOWUP = f"lead_id IS NOT NULL AND updates = '{Updates.EDIT}'"  # SQL: an edit follow-up

# SQL: the mode of a channel's rows when several of its subscriptions match the story: each
# feed's own (its `updates`, else the channel's default: `thread` for forums and for text
# feeds with threads, `edit` otherwise); a topic's own feed decides over the channel's
# all-topics feed; among equals new, then thread, then edit (the one that shows most).
UPDATES_OF_CHANNEL = (
    "CASE MIN(CASE WHEN s.topic_key = '' THEN 3 ELSE 0 END + CASE "
    f"WHEN s.updates <> '' THEN (CASE s.updates WHEN '{Updates.NEW}' THEN 0 "
    f"WHEN '{Updates.THREAD}' THEN 1 ELSE 2 END) "
    "WHEN s.kind = 'forum' OR (s.kind = 'text' AND s.threads = 1) THEN 1 ELSE 2 END) % 3 "
    f"WHEN 0 THEN '{Updates.NEW}' WHEN 1 THEN '{Updates.THREAD}' ELSE '{Updates.EDIT}' END"
)

# SQL: the post `outbox` (a row that is no follow-up) still shows a visible article.
_SHOWS_ANY = (
    "(EXISTS (SELECT 1 FROM articles a WHERE a.id = outbox.article_id AND a.visible = 1) "
    "OR EXISTS (SELECT 1 FROM outbox f JOIN articles fa ON fa.id = f.article_id "
    f"WHERE f.lead_id = outbox.id AND f.updates = '{Updates.EDIT}' AND f.state IN {LIVE} "
    "AND fa.visible = 1))"
)


_COLUMNS = ", ".join(f.name for f in fields(Delivery))


async def oldest_first(db: Database, stories: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """(webUrl, article id) pairs by their articles' publishedDateTime, then id: the first
    of a story queued is the post its later articles join."""
    when: dict[str, tuple[int, str]] = {}
    sql = "SELECT id, published_at FROM articles WHERE id IN ({marks})"
    async for row in in_chunks(db, sql, [article_id for _, article_id in stories]):
        when[row[0]] = (int(row[1]), row[0])
    return sorted(stories, key=lambda story: when.get(story[1], (0, story[1])))


class StoryPosts:
    """The queue's side (inside the caller's transaction) and the deliverer's (its writes
    fenced, as the outbox's are)."""

    def __init__(self, db: Database, fence: Callable[[], Awaitable[None]]) -> None:
        self.db = db
        self.fence = fence

    async def _write(self, sql: str, params: Sequence[Any]) -> None:
        async with self.db.transaction():
            await self.fence()
            await self.db.execute(sql, params)

    async def shared(self, ids: Sequence[str]) -> set[str]:
        """Which of these articles share their story with another article: only their rows
        may join a post (the others are queued all at once)."""
        sql = (
            "SELECT a.id FROM articles a WHERE a.id IN ({marks}) AND EXISTS "
            "(SELECT 1 FROM articles b WHERE b.story = a.story AND b.id <> a.id)"
        )
        return {str(row[0]) async for row in in_chunks(self.db, sql, ids)}

    async def attach(self, url: str, article_id: str) -> None:
        """The rows just queued for `url` (serving `article_id`) that would make a new post
        join their channel's live post of the story instead (mode not `new`); an edit
        follow-up is settled at once and its post marked to be edited. Call once per url,
        oldest article first: a row joins only a row that is no follow-up and is followed
        by none. Found from the story's articles, never by scanning a channel's rows."""
        leads = await self.db.fetch(
            "SELECT l.channel_id, MIN(l.id) FROM articles la JOIN outbox l "
            "ON l.article_id = la.id WHERE la.story = (SELECT story FROM articles WHERE id = ?) "
            f"AND l.url <> ? AND l.lead_id IS NULL AND l.state IN {LIVE} GROUP BY l.channel_id",
            (article_id, url),
        )
        if not leads:
            return
        await self.db.executemany(
            f"UPDATE outbox SET lead_id = ? WHERE url = ? AND channel_id = ? "
            f"AND state = '{S.PENDING}' AND message_id IS NULL AND lead_id IS NULL "
            f"AND updates <> '{Updates.NEW}' "
            "AND NOT EXISTS (SELECT 1 FROM outbox f WHERE f.lead_id = outbox.id)",
            [(row[1], url, row[0]) for row in leads],
        )
        await self.touch(url, f"state = '{S.PENDING}'")
        await self.db.execute(
            f"UPDATE outbox SET state = '{S.SENT}', attempts = 0, next_try_at = 0 "
            f"WHERE url = ? AND {EDIT_FOLLOWUP} AND state = '{S.PENDING}'",
            (url,),
        )

    async def touch(self, url: str, which: str = f"state IN {LIVE}") -> None:
        """The posts that show `url` as an edit follow-up (rows matching SQL `which`) are to
        be edited: what they show changed."""
        await self.db.execute(
            f"UPDATE outbox SET state = '{S.EDIT}', next_try_at = 0 "
            f"WHERE state = '{S.SENT}' AND id IN (SELECT lead_id FROM outbox "
            f"WHERE url = ? AND {EDIT_FOLLOWUP} AND {which})",
            (url,),
        )

    async def withdraw(self, url: str) -> bool:
        """`url` is no longer visible: its edit follow-ups leave their posts, its posts and
        replies are deleted (a post its edit follow-ups still fill is edited instead), and
        so are the replies of every post deleted. True when anything changed."""
        leads = {
            int(r[0])
            for r in await self.db.fetch(
                f"SELECT lead_id FROM outbox WHERE url = ? AND {EDIT_FOLLOWUP} AND state IN {LIVE} "
                "UNION SELECT id FROM outbox WHERE url = ? AND lead_id IS NULL "
                f"AND state IN {LIVE}",
                (url, url),
            )
        }
        changed = await self.db.execute(
            f"UPDATE outbox SET state = '{S.DELETED}' "
            f"WHERE url = ? AND {EDIT_FOLLOWUP} AND state IN {LIVE}",
            (url,),
        )
        changed += await self.db.execute(
            f"UPDATE outbox SET state = '{S.DELETE}', attempts = 0, next_try_at = 0 "
            f"WHERE url = ? AND state IN {LIVE} AND NOT ({EDIT_FOLLOWUP})",
            (url,),
        )
        await self._refresh(leads)
        return changed > 0

    async def _refresh(self, leads: Iterable[int]) -> None:
        """Each post in `leads` edited while it shows a visible article (one not sent yet
        is sent so; a send in flight is then settled as usual), else deleted with the
        replies in its thread."""
        for chunk in chunks(sorted(leads)):
            await self.db.execute(
                f"UPDATE outbox SET state = CASE WHEN {_SHOWS_ANY} THEN (CASE WHEN message_id "
                f"IS NULL THEN '{S.PENDING}' ELSE '{S.EDIT}' END) ELSE '{S.DELETE}' END, "
                f"attempts = 0, next_try_at = 0 WHERE id IN ({marks(chunk)}) "
                f"AND state IN ('{S.PENDING}', '{S.SENT}', '{S.EDIT}', '{S.DELETE}')",
                chunk,
            )
            await self.db.execute(
                f"UPDATE outbox SET state = '{S.DELETE}', attempts = 0, next_try_at = 0 "
                f"WHERE lead_id IN ({marks(chunk)}) AND updates <> '{Updates.EDIT}' "
                f"AND state IN {LIVE} AND EXISTS (SELECT 1 FROM outbox l "
                f"WHERE l.id = outbox.lead_id AND l.state = '{S.DELETE}')",
                chunk,
            )

    async def sources(self, row_id: int) -> tuple[str, list[str]]:
        """What the row's post shows, and a token of it (`Outbox.done` compares it): the
        ids of its own article (unless hidden while others show) and of its live edit
        follow-ups' visible articles; the token changes with any of them."""
        rows = await self.db.fetch(
            "SELECT o.id, a.id, a.render_hash, a.visible FROM outbox o "
            "JOIN articles a ON a.id = o.article_id WHERE o.id = ? OR (o.lead_id = ? "
            f"AND o.updates = '{Updates.EDIT}' AND o.state IN {LIVE} AND a.visible = 1) "
            "ORDER BY a.id",
            (row_id, row_id),
        )
        shown = [r for r in rows if r[0] != row_id or r[3] or len(rows) == 1]
        token = ";".join(f"{r[1]}:{r[2]}" for r in shown)
        return token, [str(r[1]) for r in shown]

    async def post_of(self, reply: Delivery) -> Delivery | None:
        """The story's post a reply goes under, while it stands (sent, its message known)."""
        rows = await self.db.fetch(
            f"SELECT {_COLUMNS} FROM outbox WHERE id = ? AND message_id IS NOT NULL "
            f"AND state IN ('{DeliveryState.SENT}', '{DeliveryState.EDIT}')",
            (reply.lead_id,),
        )
        return Delivery.from_row(rows[0]) if rows else None

    async def replying(self, reply: Delivery, thread_id: int) -> None:
        """Committed before a reply is sent: the thread it goes to (where to edit or
        delete it later)."""
        await self._write("UPDATE outbox SET thread_id = ? WHERE id = ?", (thread_id, reply.id))

    async def detach(self, reply: Delivery) -> None:
        """The story's post is gone (failed, deleted): this row is a post of its own now."""
        await self._write(
            "UPDATE outbox SET lead_id = NULL, thread_id = NULL WHERE id = ?", (reply.id,)
        )
