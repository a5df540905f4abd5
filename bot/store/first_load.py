"""A big first load into an empty database: articles, topics, related links and files are
written batch by batch as ever, but stories are decided once, at the end, over every
article in memory, and the `story_keys` rows are written in key order with their article
index built after them (as a re-cluster does).

Batch by batch, each batch's keys were looked up and inserted at random places in a table
growing to 1.9 M rows at 100,000 articles: more than the rest of the load's SQL. Nothing
needs a story before the end, as nobody follows anything yet: no post, no alert is queued.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from bot.store import story_keys as story_keys_table
from bot.store.database import Database
from bot.store.records import ArticleRows
from bot.store.stories import Prepared, mark_current, packed, prepare
from bot.stories import Member, cluster, links


class FirstLoad:
    """The members of a first load, gathered as its batches are written (`add`), then
    clustered and written in one transaction (`finish`)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.members: dict[str, Member] = {}

    @staticmethod
    async def applies(db: Database) -> bool:
        """No article (written or withdrawn), no subscription, no follow: the database of a
        first start."""
        for table in ("articles", "subscriptions", "follows"):
            if await db.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"):
                return False
        return True

    def add(self, articles: Sequence[ArticleRows], prepared: Mapping[str, Prepared]) -> None:
        """Articles just written (their keys and signatures as the parse workers made them)."""
        for a in articles:
            keys, sig = prepared.get(a.id) or prepare(a)
            self.members[a.id] = Member(a.id, a.published_at, keys, sig)

    async def finish(self) -> None:
        """Every article's story, signature and keys, and the keys' VERSION, at once."""
        rowids: dict[str, int] = dict(await self.db.fetch_tuples("SELECT id, rowid FROM articles"))
        pins: dict[str, str] = dict(
            await self.db.fetch_tuples("SELECT article_id, story FROM story_pins")
        )
        members = [m._replace(pin=pins.get(m.id)) for m in self.members.values() if m.id in rowids]
        stories, ordered = await asyncio.to_thread(_decide, members, rowids)
        async with self.db.transaction():
            await story_keys_table.rebuild(self.db, ordered)
            await self.db.executemany(
                "UPDATE articles SET story = ?, story_signature = ? WHERE rowid = ?",
                [
                    (story, packed(m.signature), rowids[m.id])
                    for m, story in zip(members, stories, strict=True)
                ],
            )
            await mark_current(self.db)
        self.members.clear()


def _decide(
    members: Sequence[Member], rowids: Mapping[str, int]
) -> tuple[list[str], list[list[tuple[str, int, int]]]]:
    """Each member's story and every key row in key order: the CPU-bound part, in a thread."""
    rows = [(rowids[m.id],) for m in members]
    return cluster(members, links(members)), story_keys_table.in_key_order(rows, members)
