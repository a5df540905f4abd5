"""store.alerts: the personal alert queue, one row per (story, member), delivered to the
member's DMs exactly once.

Why a table of its own rather than outbox rows of a `dm` kind: an alert has none of a
channel post's options (kind, style, role, threads, forum reconciliation, channel pauses),
and has two things a post has not (a member's pacing, and batches of several stories in one
message). Its own table keeps each queue's SQL about one thing and `Outbox` within its size.
Exactly once rests on the same three legs as posts: the row is written in the transaction
that made the story visible (`UNIQUE (url, member_id)`: a story is one alert per member
however often it is republished or edited), it is settled only after Discord answered,
and each send carries a nonce derived from (story, member, generation) -- for a batch, from
(member, the batch's first alert), the batch's members committed before its send -- that
Discord enforces.

States, as the outbox's: PENDING -> SENT -> (EDIT -> SENT)* -> DELETE -> DELETED. Rows
sent together as one "N more stories" message share `batch_id` (the first row's id) and
the message. Every deliverer write is fenced by the deliverer's lease.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from bot.store.database import Clock, Database, Row, marks
from bot.store.follows import Follows

WORK_TOPIC = "alerts"  # what a transaction that queued alert work notifies
HOUR = 3600


class AlertState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    EDIT = "edit"
    DELETE = "delete"
    DELETED = "deleted"


_S = AlertState
_WORK = f"('{_S.PENDING}', '{_S.EDIT}', '{_S.DELETE}')"


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert row due for work."""

    id: int
    member_id: int
    url: str
    article_id: str
    state: AlertState
    generation: int
    batch_id: int | None
    message_id: int | None
    attempts: int
    paced: bool = False  # it waited out the member's hourly alerts: it goes in a batch

    @classmethod
    def from_row(cls, row: Row) -> Alert:
        values = {f.name: row[f.name] for f in fields(cls)}
        values["state"] = AlertState(values["state"])
        values["paced"] = bool(values["paced"])
        return cls(**values)


class Alerts:
    """Queue writes (inside the caller's transaction) and the deliverer's side."""

    def __init__(
        self, db: Database, clock: Clock, follows: Follows, fence: Callable[[], Awaitable[None]]
    ) -> None:
        self.db = db
        self.clock = clock
        self.follows = follows
        self.on_work: Callable[[], None] = lambda: None  # the alert sender wakes on it
        self.fence = fence  # the deliverer's lease
        db.listen(WORK_TOPIC, lambda: self.on_work())

    def now(self) -> int:
        return int(self.clock())

    def _wake(self) -> None:
        self.db.after_commit(self.on_work)
        self.db.notify(WORK_TOPIC)

    async def _write(self, sql: str, params: Sequence[Any]) -> None:
        async with self.db.transaction():
            await self.fence()
            await self.db.execute(sql, params)

    # ------------------------------------------------------------------ queueing

    async def enqueue(self, stories: Sequence[tuple[str, str]]) -> None:
        """Stories that just became visible: one alert per member whose follows match
        (members whose follows are paused get none). A story sent before and withdrawn is
        alerted again, under a new generation (a new nonce); one still in the member's DMs
        is edited instead."""
        found = await self.follows.members_for(stories)
        if not found:
            return
        await self.db.executemany(
            f"""INSERT INTO alerts (url, article_id, member_id, created_at)
               SELECT CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS BIGINT)
               WHERE EXISTS (SELECT 1 FROM follows f
                             WHERE f.member_id = ? AND f.paused_reason IS NULL)
               ON CONFLICT (url, member_id) DO UPDATE SET
                   article_id = excluded.article_id,
                   state = CASE WHEN alerts.state IN ('{_S.SENT}', '{_S.EDIT}', '{_S.DELETE}')
                                 AND alerts.message_id IS NOT NULL
                                THEN '{_S.EDIT}' ELSE '{_S.PENDING}' END,
                   generation = alerts.generation + (CASE WHEN alerts.state = '{_S.DELETED}'
                                THEN 1 ELSE 0 END),
                   message_id = CASE WHEN alerts.state = '{_S.DELETED}'
                                THEN NULL ELSE alerts.message_id END,
                   batch_id = CASE WHEN alerts.state = '{_S.DELETED}'
                                THEN NULL ELSE alerts.batch_id END,
                   paced = CASE WHEN alerts.state = '{_S.DELETED}' THEN 0 ELSE alerts.paced END,
                   attempts = 0, next_try_at = 0, last_error = NULL""",
            [(url, article_id, member, self.now(), member) for url, article_id, member in found],
        )
        self._wake()

    async def edit(self, url: str, article_id: str, content_changed: bool) -> None:
        """Another file (or a new version) serves the story: alerts sent are edited."""
        edit = f"state = '{_S.SENT}' AND ? = 1"  # a paced alert keeps its turn
        changed = await self.db.execute(
            f"UPDATE alerts SET article_id = ?, "
            f"next_try_at = CASE WHEN {edit} THEN 0 ELSE next_try_at END, "
            f"state = CASE WHEN {edit} THEN '{_S.EDIT}' ELSE state END WHERE url = ?",
            (article_id, int(content_changed), int(content_changed), url),
        )
        if changed and content_changed:
            self._wake()

    async def withdraw(self, url: str) -> None:
        """The story is no longer visible: its DMs are deleted, alerts not sent cancelled
        (marked, not dropped: a send in flight records its message, then it is deleted)."""
        changed = await self.db.execute(
            f"UPDATE alerts SET state = '{_S.DELETE}', attempts = 0, next_try_at = 0 "
            f"WHERE url = ? AND state IN ('{_S.PENDING}', '{_S.SENT}', '{_S.EDIT}')",
            (url,),
        )
        if changed:
            self._wake()

    # ------------------------------------------------------------------ delivering

    async def due(self, limit: int = 500) -> list[Alert]:
        """Work that is due, each member's in the order it was queued."""
        rows = await self.db.fetch(
            f"SELECT id, member_id, url, article_id, state, generation, batch_id, message_id, "
            f"attempts, paced FROM alerts WHERE state IN {_WORK} AND next_try_at <= ? "
            f"ORDER BY member_id, id LIMIT ?",
            [self.now(), limit],
        )
        return [Alert.from_row(r) for r in rows]

    async def next_due_at(self) -> int | None:
        value = await self.db.fetchval(
            f"SELECT MIN(next_try_at) FROM alerts WHERE state IN {_WORK}"
        )
        return int(value) if value is not None else None

    async def sent_times(self, member_id: int, since: int) -> list[int]:
        """When each DM (a card, or one batch) sent to the member since `since` went out,
        oldest first: what pacing counts."""
        rows = await self.db.fetch(
            "SELECT MIN(sent_at) FROM alerts WHERE member_id = ? AND sent_at >= ? "
            "GROUP BY COALESCE(batch_id, id) ORDER BY 1",
            [member_id, since],
        )
        return [int(r[0]) for r in rows]

    async def batch(self, batch_id: int) -> list[Alert]:
        """The alerts sent (or to send) together as one message, oldest first."""
        rows = await self.db.fetch(
            "SELECT id, member_id, url, article_id, state, generation, batch_id, message_id, "
            "attempts, paced FROM alerts WHERE batch_id = ? ORDER BY id",
            [batch_id],
        )
        return [Alert.from_row(r) for r in rows]

    async def start_batch(self, alerts: Sequence[Alert]) -> int:
        """Committed before a batch is sent: its members are fixed, so a retry (or a
        restart) sends the same message with the same nonce."""
        batch_id = alerts[0].id
        ids = [a.id for a in alerts]
        await self._write(
            f"UPDATE alerts SET batch_id = ? WHERE id IN ({marks(ids)}) AND batch_id IS NULL",
            [batch_id, *ids],
        )
        return batch_id

    async def done(self, alerts: Sequence[Alert], message_id: int | None) -> None:
        """Discord answered: the DM is sent (or edited), or deleted. Only the state acted
        on is settled: an edit or withdrawal queued meanwhile stays queued."""
        async with self.db.transaction():
            await self.fence()
            for alert in alerts:
                if alert.state == _S.DELETE:
                    await self.db.execute(
                        f"UPDATE alerts SET state = '{_S.DELETED}', last_error = NULL "
                        f"WHERE id = ? AND state = '{_S.DELETE}'",
                        (alert.id,),
                    )
                    continue
                await self.db.execute(
                    f"UPDATE alerts SET state = CASE WHEN state = ? THEN '{_S.SENT}' "
                    "ELSE state END, message_id = ?, sent_at = COALESCE(sent_at, ?), "
                    "attempts = 0, last_error = NULL WHERE id = ?",
                    (alert.state, message_id, self.now(), alert.id),
                )

    async def park(self, member_id: int, until: int, why: str) -> None:
        """The member had their alerts for this hour: what is pending waits until `until`."""
        await self._write(
            f"UPDATE alerts SET next_try_at = ?, last_error = ?, paced = 1 WHERE member_id = ? "
            f"AND state = '{_S.PENDING}' AND next_try_at < ?",
            (until, why[:500], member_id, until),
        )

    async def retry(self, alert: Alert, error: str, delay: float) -> None:
        await self._write(
            "UPDATE alerts SET attempts = attempts + 1, next_try_at = ?, last_error = ? "
            "WHERE id = ?",
            (self.now() + max(1, round(delay)), error[:500], alert.id),
        )

    async def lost(self, alert: Alert, why: str) -> None:
        """Nothing left to do for this row (its message is gone, or Discord refused)."""
        await self._write(
            f"UPDATE alerts SET state = '{_S.DELETED}', last_error = ? WHERE id = ?",
            (why[:500], alert.id),
        )

    async def closed(self, member_id: int, reason: str) -> None:
        """The member's DMs are closed: their follows are paused with the reason, and
        their alerts not yet sent are dropped (sent ones stay, to be edited or deleted)."""
        async with self.db.transaction():
            await self.fence()
            await self.follows.pause(member_id, reason)
            await self.db.execute(
                f"DELETE FROM alerts WHERE member_id = ? AND message_id IS NULL "
                f"AND state IN ('{_S.PENDING}', '{_S.DELETE}')",
                (member_id,),
            )

    async def waiting(self) -> int:
        """Alerts still to send, over every member (counts only: /status)."""
        return int(
            await self.db.fetchval(f"SELECT COUNT(*) FROM alerts WHERE state = '{_S.PENDING}'") or 0
        )

    async def of(self, member_id: int) -> dict[str, tuple[AlertState, int | None]]:
        """url -> (state, message id) of the member's alerts: what tests and operators ask."""
        rows = await self.db.fetch(
            "SELECT url, state, message_id FROM alerts WHERE member_id = ? ORDER BY id",
            [member_id],
        )
        return {r[0]: (AlertState(r[1]), r[2]) for r in rows}
