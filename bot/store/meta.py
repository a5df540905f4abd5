"""Small named facts kept in the database (e.g. the digest of the last command sync)."""

from __future__ import annotations

import hashlib

from bot.store.database import Clock, Database

SAVED_FOR = 2 * 24 * 3600  # seconds a remembered value is kept (page buttons live a day)
# Expired values one `remember` deletes, oldest first, found by the saved_at index: more
# than the one it adds, so the table keeps up, and never a scan of the whole table.
EXPIRED_PER_WRITE = 16
EXPIRE = (
    "DELETE FROM remembered WHERE key IN (SELECT key FROM remembered "
    "WHERE saved_at < ? ORDER BY saved_at LIMIT ?)"
)


class Meta:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def get(self, key: str) -> str | None:
        value = await self.db.fetchval("SELECT value FROM meta WHERE key = ?", [key])
        return str(value) if value is not None else None

    async def set(self, key: str, value: str) -> None:
        async with self.db.transaction():
            await self.db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    async def remember(self, value: str) -> str:
        """Keep a value too long for a button's custom_id; a short key finds it again."""
        key = hashlib.sha256(value.encode()).hexdigest()[:16]
        now = int(self.clock())
        async with self.db.transaction():
            await self.db.execute(EXPIRE, (now - SAVED_FOR, EXPIRED_PER_WRITE))
            await self.db.execute(
                "INSERT INTO remembered (key, value, saved_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET saved_at = excluded.saved_at",
                (key, value, now),
            )
        return key

    async def recall(self, key: str) -> str | None:
        value = await self.db.fetchval("SELECT value FROM remembered WHERE key = ?", [key])
        return str(value) if value is not None else None
