"""What members saved to their DMs (the Save button on a story card): once per member and
story, so pressing Save again, or on another post of the same story, sends nothing more.

A save is kept for SAVED_FOR (a year); then it is forgotten, and a press sends the card
again. Each new save deletes a few expired ones, oldest first, found by the saved_at
index: the table keeps up with its writes and is never scanned whole.
"""

from __future__ import annotations

from bot.store.database import Clock, Database

SAVED_FOR = 365 * 24 * 3600  # seconds a save is remembered
EXPIRED_PER_WRITE = 16  # more than the one a save adds: the table shrinks back
EXPIRE = (
    "DELETE FROM saves WHERE (user_id, url) IN (SELECT user_id, url FROM saves "
    "WHERE saved_at < ? ORDER BY saved_at LIMIT ?)"
)


class Saves:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def has(self, user_id: int, url: str) -> bool:
        """Did this member save this story (by its webUrl) within the last SAVED_FOR?"""
        found = await self.db.fetchval(
            "SELECT 1 FROM saves WHERE user_id = ? AND url = ? AND saved_at >= ?",
            [user_id, url, self._oldest_kept()],
        )
        return found is not None

    async def add(self, user_id: int, url: str) -> bool:
        """Record a save; False when the member had already saved the story (a press that
        raced another one). An expired save counts as none: it is renewed."""
        oldest = self._oldest_kept()
        async with self.db.transaction():
            await self.db.execute(EXPIRE, [oldest, EXPIRED_PER_WRITE])
            added = await self.db.execute(
                "INSERT INTO saves (user_id, url, saved_at) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id, url) DO UPDATE SET saved_at = excluded.saved_at "
                "WHERE saves.saved_at < ?",
                [user_id, url, int(self.clock()), oldest],
            )
        return added > 0

    async def count(self, user_id: int) -> int:
        """How many stories the member has saved (kept ones)."""
        return int(
            await self.db.fetchval(
                "SELECT COUNT(*) FROM saves WHERE user_id = ? AND saved_at >= ?",
                [user_id, self._oldest_kept()],
            )
            or 0
        )

    def _oldest_kept(self) -> int:
        return int(self.clock()) - SAVED_FOR
