"""The store: the only package that speaks SQL. It knows nothing of Discord or Markdown.

The article files are the source of truth; the database holds the copy built from
them, the delivery log (outbox), channel subscriptions and the moderation audit trail.
`Store` is one object per open database, split by idea:

    store.folder      reading the store folder into the database (folder.py)
    store.articles    what readers and moderators ask (articles.py)
    store.publishing  publish, unpublish, the audit trail (publishing.py)
    store.outbox      the delivery queue (outbox.py)
    store.feeds       subscriptions and channel state (feeds.py)
    store.digests     digest subscriptions and their delivery log (digests.py)
    store.meta        small named facts (meta.py)
    store.saves       what members saved to their DMs (saves.py)
    store.reasons     one story's standing and its post in a channel, for /feed why (reasons.py)
    store.follows     what members follow, and this process's matcher of it (follows.py)
    store.alerts      their alerts, one per (story, member), to their DMs (alerts.py)
    store.story_pins  editors' corrections of stories: /story split and merge (story_pins.py)
    store.timelines   one story's published articles, oldest first, for /story (timelines.py)
    store.providers   the last good providers.yaml, parsed (providers.py)
    store.processes   the live bot processes, by their heartbeats (processes.py)
    store.gauges      what a metrics scrape reads: queue depth, follows (gauges.py)

Each part speaks to the backend through the `Database` protocol (database.py): SQLite
(sqlite.py, one host, the default) or PostgreSQL (postgres.py, several hosts), chosen by
what `Store.open` is given: a file path, or a `postgresql://` URL.

Time is one clock for the whole store (`Store.clock`, unix seconds), given to every part
that writes or compares a time. Unless one is injected (tests advance their own), it is
the backend's `Database.now`: on PostgreSQL the local clock corrected by its offset to the
database server's clock, measured when the database is opened and again at every lease
renewal (a query already made every 2 s), so a host whose clock is an hour ahead writes
the same next_try_at, sent_at and pacing times as any other, without a round trip each.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from bot.config import Settings
from bot.store.alerts import Alert, Alerts, AlertState
from bot.store.articles import PAGE_SIZE, Articles, Counts, Page
from bot.store.database import Clock, Database
from bot.store.digests import DigestRun, Digests, DigestState, DigestSubscription
from bot.store.feeds import Feeds, Subscription
from bot.store.folder import Folder, SyncReport
from bot.store.follows import MAX_FOLLOWS, Added, Follow, FollowKind, Follows
from bot.store.gauges import Gauges, Readings
from bot.store.leases import LeaseLost, Leases, Role
from bot.store.meta import Meta
from bot.store.outbox import (
    ChannelKind,
    Delivery,
    DeliveryState,
    Followup,
    Outbox,
    QueueHealth,
    Style,
    Updates,
)
from bot.store.processes import Process, Processes
from bot.store.publishing import AuditEntry, Publishing
from bot.store.reasons import PostRecord, Reasons, StoryState
from bot.store.requests import PublishRequests
from bot.store.saves import Saves
from bot.store.sqlite import SQLiteDatabase
from bot.store.story_pins import Merged, Split, StoryEditRefused, StoryPins
from bot.store.timelines import Timelines
from bot.store.writer import ArticleWriter

__all__ = [
    "MAX_FOLLOWS",
    "PAGE_SIZE",
    "Added",
    "Alert",
    "AlertState",
    "Alerts",
    "AuditEntry",
    "ChannelKind",
    "Counts",
    "Delivery",
    "DeliveryState",
    "DigestRun",
    "DigestState",
    "DigestSubscription",
    "Follow",
    "FollowKind",
    "Follows",
    "Followup",
    "LeaseLost",
    "Merged",
    "Page",
    "PostRecord",
    "Process",
    "QueueHealth",
    "Readings",
    "Role",
    "Split",
    "Store",
    "StoryEditRefused",
    "StoryPins",
    "StoryState",
    "Style",
    "Subscription",
    "SyncReport",
    "Updates",
    "open_store",
]


class Store:
    """The bot's state: one database, the store folder, and the parts that use them."""

    def __init__(self, db: Database, store_dir: Path, clock: Clock | None = None) -> None:
        self.db = db
        self.store_dir = store_dir
        self.clock: Clock = clock or db.now
        self.leases = Leases(db)
        self.processes = Processes(db, self.clock, self.leases.holder)

        async def deliverer() -> None:  # one lease fences the outbox, the alerts and digests
            await self.leases.fence(Role.DELIVERER)

        self.outbox = Outbox(db, self.clock, fence=deliverer)
        self.follows = Follows(db, self.clock)
        self.alerts = Alerts(db, self.clock, self.follows, fence=deliverer)
        writer = ArticleWriter(db, self.outbox, self.alerts)
        self.folder = Folder(db, writer, store_dir, fence=lambda: self.leases.fence(Role.SCANNER))
        self.providers = self.folder.providers  # the sync writes it; /story reads it
        self.timelines = Timelines(db)
        self.gauges = Gauges(db, self.clock)
        self.articles = Articles(db)
        self.publishing = Publishing(db, writer, store_dir)
        self.feeds = Feeds(db, self.clock)
        self.meta = Meta(db, self.clock)
        self.saves = Saves(db, self.clock)
        self.reasons = Reasons(db)
        self.story_pins = StoryPins(db, self.clock)
        self.digests = Digests(db, fence=self.outbox.fence)  # one deliverer's lease for both
        self.requests = PublishRequests(
            db,
            self.leases,
            lambda article_id: self.articles.get(article_id, include_hidden=True),
            self.clock,
        )
        self.publishing.requests = self.requests

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls,
        database: Path | str,
        store_dir: Path,
        *,
        pool_size: int = 10,
        clock: Clock | None = None,
    ) -> AsyncIterator[Store]:
        """Open (creating and migrating) the database: a SQLite file, or a PostgreSQL URL
        (`postgresql://…`, a pool of `pool_size` connections); closed on exit. `clock`
        replaces the database's (tests)."""
        if is_database_url(database):
            from bot.store.postgres import PostgresDatabase  # asyncpg loads only when used

            async with PostgresDatabase.open(str(database), pool_size) as pg:
                yield cls(pg, store_dir, clock)
            return
        async with SQLiteDatabase.open(Path(database)) as db:
            yield cls(db, store_dir, clock)


def is_database_url(database: Path | str) -> bool:
    return isinstance(database, str) and database.startswith(("postgresql://", "postgres://"))


def open_store(
    settings: Settings, store_dir: Path | None = None, *, clock: Clock | None = None
) -> AbstractAsyncContextManager[Store]:
    """The store the settings name: PostgreSQL when NEWS_DATABASE_URL is set, else SQLite."""
    database: Path | str = settings.database_url or settings.db_path
    return Store.open(
        database, store_dir or settings.store_dir, pool_size=settings.pool_size, clock=clock
    )
