"""Writing parsed articles into the database, and turning what became visible, changed or
hidden into outbox work. Shared by the folder sync and publishing; always called inside
the caller's transaction."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.store.alerts import Alerts
from bot.store.database import Database, chunks, in_chunks, marks
from bot.store.outbox import Outbox
from bot.store.records import ARTICLE_COLUMNS, ArticleRows
from bot.store.stories import Prepared, Stories

log = logging.getLogger(__name__)

_UPSERT_ARTICLE = (
    f"INSERT INTO articles ({', '.join(ARTICLE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(ARTICLE_COLUMNS))}) ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in ARTICLE_COLUMNS if c != "id")
    + ", deleted_at = NULL"
)

# id -> (visible, webUrl, render hash)
Visibility = dict[str, tuple[bool, str, str]]


@dataclass(slots=True)
class Changes:
    """What a write did to the stories readers see."""

    published: list[str] = field(default_factory=list)  # ids that became visible
    warnings: list[str] = field(default_factory=list)


class ArticleWriter:
    def __init__(self, db: Database, outbox: Outbox, alerts: Alerts) -> None:
        self.db = db
        self.outbox = outbox
        self.alerts = alerts  # members' DMs follow the channels' posts: same changes
        self.stories = Stories(db)

    async def visibility(self, ids: Sequence[str], urls: Iterable[str] = ()) -> Visibility:
        """The rows that exist of `ids`, plus the article now serving each of their webUrls
        and of `urls`: another file may show the same story."""
        out: Visibility = {}
        async for row in in_chunks(
            self.db,
            "SELECT id, visible, url, render_hash FROM articles WHERE id IN ({marks})",
            list(ids),
        ):
            out[row[0]] = (bool(row[1]), row[2], row[3])
        stories = sorted({url for _, url, _ in out.values()} | set(urls))
        async for row in in_chunks(
            self.db,
            "SELECT id, url, render_hash FROM articles WHERE url IN ({marks}) AND visible = 1",
            stories,
        ):
            out[row[0]] = (True, row[1], row[2])
        return out

    async def write(
        self,
        articles: Sequence[ArticleRows],
        prepared: Mapping[str, Prepared] | None = None,
        *,
        stories: bool = True,
    ) -> None:
        """Insert or replace articles with their topics and related links, and give each
        its story (`prepared`: story keys made where the files were parsed), unless
        `stories` is False: a first load decides them all at its end (`FirstLoad`)."""
        if not articles:
            return
        ids = [a.id for a in articles]
        existing = await self._rowids(ids)
        if existing:  # a changed file: its topics and related links are written anew
            keys = [(rowid,) for rowid in existing.values()]
            await self.db.executemany("DELETE FROM article_topics WHERE article_rowid = ?", keys)
            await self.db.executemany("DELETE FROM related WHERE article_rowid = ?", keys)
        await self.db.executemany(_UPSERT_ARTICLE, [a.values for a in articles])
        rowids = existing | await self._rowids([i for i in ids if i not in existing])
        await self.db.executemany(
            "INSERT INTO topics (key, name) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
            # one spelling per key, the first written (a set let a later spelling win at random)
            {key: name for a in reversed(articles) for key, name in reversed(a.topics)}.items(),
        )
        await self.db.executemany(
            "INSERT INTO article_topics (article_rowid, topic_key, published_at) "
            "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [(rowids[a.id], key, a.published_at) for a in articles for key, _ in a.topics],
        )
        await self.db.executemany(
            "INSERT INTO related (article_rowid, position, title, url, excerpt, provider, "
            "published_at, quality, image_url, image_width, image_height) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(rowids[a.id], *r) for a in articles for r in a.related],
        )
        if stories:
            await self.stories.assign(articles, prepared)

    async def record_files(self, rows: Sequence[tuple[str, int, int, str | None]]) -> None:
        """(name, mtime_ns, size, error) of files just read: the next rescan skips them."""
        await self.db.executemany(
            "INSERT INTO files (name, mtime_ns, size, error) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET mtime_ns = excluded.mtime_ns, "
            "size = excluded.size, error = excluded.error",
            rows,
        )

    async def settle(self, before: Visibility, written: dict[str, str], changes: Changes) -> None:
        """After a write: one article per story, then the outbox work that follows.

        `before` is `visibility()` read before the write; `written` maps the ids just
        (re)written to their webUrl.
        """
        urls = {url for _, url, _ in before.values()} | set(written.values())
        await self._resolve_duplicates(urls, changes)
        await self._queue_posts(before, written, urls, changes)

    async def _resolve_duplicates(self, urls: set[str], changes: Changes) -> None:
        """One story, one article: of live files sharing a webUrl, the newest *published* file
        wins (the newest draft only while none is published): a draft never hides a story."""
        winner_of: dict[str, str] = {}
        updates: list[tuple[str | None, str]] = []
        async for row in in_chunks(
            self.db,
            "SELECT id, url, duplicate_of FROM articles WHERE url IN ({marks}) "
            "AND deleted_at IS NULL ORDER BY url, published DESC, file_mtime_ns DESC, id DESC",
            sorted(urls),
        ):
            winner = winner_of.setdefault(row["url"], row["id"])
            wanted = None if winner == row["id"] else winner
            if wanted != row["duplicate_of"]:
                updates.append((wanted, row["id"]))
                if wanted is not None:
                    message = f"{row['id']}: same webUrl as {wanted}; serving {wanted}"
                    changes.warnings.append(message)
                    log.warning("%s", message)
        if updates:
            await self.db.executemany("UPDATE articles SET duplicate_of = ? WHERE id = ?", updates)

    async def _queue_posts(
        self, before: Visibility, written: dict[str, str], urls: set[str], changes: Changes
    ) -> None:
        """Newly visible stories are posted, hidden ones withdrawn, changed ones edited."""
        now_serving: dict[str, tuple[str, str] | None] = dict.fromkeys(urls)
        async for row in in_chunks(
            self.db,
            "SELECT url, id, render_hash FROM articles WHERE url IN ({marks}) AND visible = 1",
            sorted(urls),
        ):
            now_serving[row[0]] = (row[1], row[2])
        was_visible = {url for visible, url, _ in before.values() if visible}
        old_hash = {url: h for visible, url, h in before.values() if visible}
        newly: list[tuple[str, str]] = []
        for url, serving in now_serving.items():
            if serving is None:
                if url in was_visible:
                    await self.outbox.withdraw(url)
                    await self.alerts.withdraw(url)
                continue
            article_id, render_hash = serving
            if url not in was_visible:
                changes.published.append(article_id)
                newly.append((url, article_id))
            elif old_hash.get(url) != render_hash or article_id in written:
                changed = old_hash.get(url) != render_hash
                await self.outbox.edit(url, article_id, changed)
                await self.alerts.edit(url, article_id, changed)
        await self._mark_visible(sorted(url for url, serving in now_serving.items() if serving))
        await self.outbox.enqueue(newly)
        await self.alerts.enqueue(newly)

    async def _mark_visible(self, urls: Sequence[str]) -> None:
        """Stamp when each story first became visible: a digest covers the stories that
        became published in its period. A file taking a story over keeps the story's time."""
        for chunk in chunks(urls):
            await self.db.execute(
                "UPDATE articles SET visible_since = COALESCE((SELECT MIN(o.visible_since) "
                "FROM articles o WHERE o.url = articles.url), ?) "
                f"WHERE url IN ({marks(chunk)}) AND visible = 1 AND visible_since IS NULL",
                [self.outbox.now(), *chunk],
            )

    async def _rowids(self, ids: Sequence[str]) -> dict[str, int]:
        return {
            row[0]: row[1]
            async for row in in_chunks(
                self.db, "SELECT id, rowid FROM articles WHERE id IN ({marks})", ids
            )
        }
