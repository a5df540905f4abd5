"""What a metrics scrape reads of the database: a few counts over indexed rows, so a scrape
every 15 s costs the database next to nothing however long the delivery log grows."""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.database import Clock, Database
from bot.store.outbox_rows import WORK, DeliveryState

_WORK_SQL = ", ".join(f"'{s}'" for s in WORK)


@dataclass(frozen=True, slots=True)
class Readings:
    """The database's side of the metrics, as of one scrape."""

    outbox: dict[str, int]  # rows waiting, by state ("followup": a sent post owing one)
    oldest_due: float  # seconds the oldest post due to be sent has waited (0: none)
    follows: int
    alerts_waiting: int


class Gauges:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def read(self) -> Readings:
        """One scrape's readings (each query walks a partial index, not the table)."""
        now = int(self.clock())
        outbox = dict.fromkeys([*WORK, "followup"], 0)
        for state, count in await self.db.fetch_tuples(
            f"SELECT state, COUNT(*) FROM outbox WHERE state IN ({_WORK_SQL}) GROUP BY state"
        ):
            outbox[str(state)] = int(count)
        outbox["followup"] = int(
            await self.db.fetchval(
                "SELECT COUNT(*) FROM outbox WHERE followup <> '' AND state = ?",
                [DeliveryState.SENT],
            )
            or 0
        )
        # A pending post is due since it was queued, or since its retry fell due; a paused
        # channel's posts are not due (the channel waits for a person, not the bot).
        oldest = await self.db.fetchval(
            "SELECT MIN(CASE WHEN o.next_try_at > o.created_at THEN o.next_try_at "
            "ELSE o.created_at END) FROM outbox o "
            "LEFT JOIN channels c ON c.channel_id = o.channel_id "
            # The index's own condition, word for word: only then does SQLite walk the
            # partial index (outbox_work) instead of every row the log ever had.
            f"WHERE o.state IN ({_WORK_SQL}) AND o.state = '{DeliveryState.PENDING}' "
            "AND o.next_try_at <= ? AND c.paused_reason IS NULL",
            [now],
        )
        follows = await self.db.fetchval("SELECT COUNT(*) FROM follows")
        alerts = await self.db.fetchval(f"SELECT COUNT(*) FROM alerts WHERE state IN ({_WORK_SQL})")
        return Readings(
            outbox=outbox,
            oldest_due=max(0.0, float(now - oldest)) if oldest is not None else 0.0,
            follows=int(follows or 0),
            alerts_waiting=int(alerts or 0),
        )
