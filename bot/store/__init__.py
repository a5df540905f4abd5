"""The store: the only package that speaks SQL. It knows nothing of Discord or Markdown.

The article files are the source of truth; the database holds the index built from
them, the delivery log (outbox), channel subscriptions and the moderation audit trail.
`Store` is one object per open database, split by idea:

    store.folder      reading the store folder into the index (sync.py)
    store.articles    what readers and moderators ask (queries.py)
    store.publishing  publish, unpublish, the audit trail (publishing.py)
    store.outbox      the delivery queue (outbox.py)
    store.feeds       subscriptions and channel state (feeds.py)
    store.meta        small named facts (meta.py)

Each part speaks to the backend through the `Database` protocol (database.py); the
SQLite backend is sqlite.py. Another backend plugs in by implementing that protocol.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from bot.store.database import Database
from bot.store.feeds import Feeds, Subscription
from bot.store.index import ArticleIndex
from bot.store.meta import Meta
from bot.store.outbox import Delivery, DeliveryState, Outbox, QueueHealth
from bot.store.publishing import AuditEntry, Publishing
from bot.store.queries import PAGE_SIZE, Counts, Page, Queries
from bot.store.sqlite import SQLiteDatabase
from bot.store.sync import FolderSync, SyncReport

__all__ = [
    "PAGE_SIZE",
    "AuditEntry",
    "Counts",
    "Delivery",
    "DeliveryState",
    "Page",
    "QueueHealth",
    "Store",
    "Subscription",
    "SyncReport",
]


class Store:
    """The bot's state: one database, the store folder, and the parts that use them."""

    def __init__(self, db: Database, store_dir: Path) -> None:
        self.db = db
        self.store_dir = store_dir
        self.outbox = Outbox(db)
        index = ArticleIndex(db, self.outbox)
        self.folder = FolderSync(db, index, store_dir)
        self.articles = Queries(db)
        self.publishing = Publishing(db, index, store_dir)
        self.feeds = Feeds(db)
        self.meta = Meta(db)

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, db_path: Path, store_dir: Path) -> AsyncIterator[Store]:
        """Open (creating and migrating) the SQLite database; closed on exit."""
        async with SQLiteDatabase.open(db_path) as db:
            yield cls(db, store_dir)
