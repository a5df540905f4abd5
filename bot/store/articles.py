"""What readers and moderators ask: latest, search, drafts, topics, one article, counts."""

from __future__ import annotations

import asyncio
import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.articles import Article, encodable, topic_key
from bot.errors import ArticleNotFound, UnknownTopic
from bot.store import ranking, story_lists
from bot.store.database import Database, Row, in_chunks
from bot.store.records import READ_COLUMNS, article_from_row, related_from_row
from bot.store.search_index import SearchIndex

PAGE_SIZE = 5
# Candidates beyond the page that the engine proposes for exact ranking: its order is
# close to bm25's, not equal (tests/unit/test_search.py measures the agreement).
CANDIDATE_ROOM = 20
# When a page's stories are short of candidates (a story's other articles took places),
# the engine is asked for this many times more, up to CANDIDATES_MAX: past that, a page
# shows the stories found (a search costs a bounded amount, whatever one story holds).
CANDIDATES_GROW = 4
CANDIDATES_MAX = 2_000
# Characters of candidates' text scored on the event loop: below this, scoring takes less
# than the hop to a thread; above (a long query over long articles), a thread does it.
SCORED_ON_LOOP = 65_536
TYPED_MAX = 100  # characters of a typed title or topic that autocomplete and lookups read
VERSION_LENGTH = 12  # hex digits of an article version: short enough for a button's custom_id
DRAFT = "a.published = 0 AND a.deleted_at IS NULL AND a.duplicate_of IS NULL"


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list answer; `page` is 0-based."""

    items: tuple[Article, ...]
    page: int
    has_next: bool
    # Per item, how many other published articles its story has ("+N more sources"); empty
    # for lists that are not of stories (drafts).
    more_sources: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Counts:
    articles: int  # live files
    published: int
    drafts: int


class Articles:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.search_index = SearchIndex(db)
        self._topics: tuple[int, list[tuple[str, str, int]]] | None = None  # (generation, rows)

    async def latest(self, topic: str | None = None, page: int = 0) -> Page:
        """Published stories, optionally of one topic, each once by its lead; the story
        with the newest coverage first (`story_lists`)."""
        page = max(page, 0)
        key = topic_key(topic) if topic else None
        stories = await story_lists.newest_stories(self.db, key, (page + 1) * PAGE_SIZE + 1)
        shown = stories[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        found = await story_lists.leads(self.db, shown)
        listed = [found[story] for story in shown if story in found]
        return Page(
            tuple(article_from_row(row) for row, _ in listed),
            page,
            len(stories) > (page + 1) * PAGE_SIZE,
            tuple(more for _, more in listed),
        )

    async def search(self, query: str, topic: str | None = None, page: int = 0) -> Page:
        """Ranked full-text search over published articles; any text is a valid query.

        Text relevance (bm25, see ranking.py) first, then quality, then recency. The
        engine proposes candidates; they are ranked here from their rows, so the order is
        the same on every backend and every host. A story is listed once, by its
        best-ranked hit (`story_lists`): when its other articles crowd the candidates,
        more are asked for until the page is full or the engine has no more.
        """
        page = max(page, 0)
        wanted = (page + 1) * PAGE_SIZE + 1  # this page and one more story: is there a next?
        phrases = ranking.parse(query)
        if not phrases:
            return Page((), page, False)
        await self.search_index.refresh()
        key = topic_key(topic) if topic else None
        limit = wanted + CANDIDATE_ROOM
        hits, more = await self._ranked_stories(phrases, key, limit)
        while len(hits) < wanted and more and limit < CANDIDATES_MAX:
            limit = min(limit * CANDIDATES_GROW, CANDIDATES_MAX)
            hits, more = await self._ranked_stories(phrases, key, limit)
        shown = hits[page * PAGE_SIZE : wanted]
        return Page(
            tuple(article_from_row(r) for r in shown[:PAGE_SIZE]),
            page,
            len(shown) > PAGE_SIZE,
            tuple(max(int(r["members_"]) - 1, 0) for r in shown[:PAGE_SIZE]),
        )

    async def _ranked_stories(
        self, phrases: Sequence[ranking.Phrase], topic: str | None, limit: int
    ) -> tuple[list[Row], bool]:
        """The engine's `limit` candidates in bm25 order, each story's best hit only, and
        whether the engine may have more (it found all it was asked for)."""
        idfs, avg_length, found = await self.search_index.find(phrases, topic, limit)
        rows = [
            row
            async for row in in_chunks(
                self.db,
                # visible is checked here: in the WHERE clause SQLite would walk its index
                f"SELECT {READ_COLUMNS}, a.visible, a.rowid AS rowid_, a.story AS story_, "
                "(SELECT COUNT(*) FROM articles s WHERE s.story = a.story "
                "AND s.visible = 1) AS members_ FROM articles a WHERE a.rowid IN ({marks})",
                list(found),
            )
            if row["visible"]  # not withdrawn since the search index last looked
        ]
        size = len(phrases) * sum(
            min(len(row[c]), ranking.FIELD_CHARS) for row in rows for c in ranking.COLUMNS
        )
        args = (phrases, idfs, avg_length, found, rows)
        if size <= SCORED_ON_LOOP:
            ranked = _ranked(*args)
        else:
            ranked = await asyncio.to_thread(_ranked, *args)
        return story_lists.once_per_story(ranked), len(found) >= limit

    async def drafts(self, page: int = 0) -> Page:
        """Drafts awaiting review, newest first."""
        return await self._page(
            f"SELECT {READ_COLUMNS} FROM articles a WHERE {DRAFT} "
            "ORDER BY a.published_at DESC, a.id",
            [],
            page,
        )

    async def get(self, article_id: str, *, include_hidden: bool = False) -> Article:
        """One article with its related links; hidden ones only for moderators and posts."""
        rows = await self.db.fetch(
            f"SELECT a.rowid AS rowid_, {READ_COLUMNS}, a.visible, a.deleted_at FROM articles a "
            "WHERE a.id = ?",
            [article_key(article_id)],
        )
        if not rows or rows[0]["deleted_at"] is not None:
            raise ArticleNotFound(article_id)
        row = rows[0]
        if not row["visible"] and not include_hidden:
            raise ArticleNotFound(article_id)
        related = await self.db.fetch(
            "SELECT * FROM related WHERE article_rowid = ? ORDER BY position", [row["rowid_"]]
        )
        return article_from_row(row, tuple(related_from_row(r) for r in related))

    async def version(self, article_id: str) -> str:
        """A short token that changes whenever what the article's post shows changes: a
        Publish button made from a preview carries it, so it publishes only that version."""
        value = await self.db.fetchval(
            "SELECT render_hash FROM articles WHERE id = ? AND deleted_at IS NULL",
            [article_key(article_id)],
        )
        if value is None:
            raise ArticleNotFound(article_id)
        return str(value)[:VERSION_LENGTH]

    async def topics(self) -> list[tuple[str, int]]:
        """Known topics with their published-article counts, most articles first."""
        return [(name, count) for _, name, count in await self._topic_counts()]

    async def topic_name(self, topic: str, *, published: bool = False) -> str | None:
        """The display name of a known topic (any spelling), or None. With `published`,
        only a topic some published article has: to a reader, a topic only drafts carry
        must be as unknown as any other (else the answer tells drafts' topics apart)."""
        visible = (
            " AND EXISTS (SELECT 1 FROM article_topics at JOIN articles a "
            "ON a.rowid = at.article_rowid WHERE at.topic_key = t.key AND a.visible = 1)"
        )
        name = await self.db.fetchval(
            f"SELECT t.name FROM topics t WHERE t.key = ?{visible if published else ''}",
            [topic_key(topic[:TYPED_MAX])],
        )
        return str(name) if name is not None else None

    async def require_topic(self, typed: str, *, published: bool = False) -> str:
        """The display name of a known topic (see `topic_name`), or `UnknownTopic` with
        close ones."""
        name = await self.topic_name(typed, published=published)
        if name is not None:
            return name
        known = {key: shown for key, shown, _ in await self._topic_counts()}
        close = difflib.get_close_matches(
            topic_key(typed[:TYPED_MAX]), list(known), n=3, cutoff=0.6
        )
        raise UnknownTopic(" ".join(typed.split())[:100], [known[k] for k in close])

    async def match_topics(self, typed: str, limit: int = 25) -> list[tuple[str, int]]:
        """Topics whose name contains what was typed (any case or spacing), most articles
        first, those that start with it before the rest (for autocomplete)."""
        key = topic_key(typed[:TYPED_MAX])
        counts = await self._topic_counts()
        starts = [(n, c) for k, n, c in counts if k.startswith(key)]
        inside = [(n, c) for k, n, c in counts if key in k and not k.startswith(key)]
        return (starts + inside)[:limit]

    async def match_titles(
        self, typed: str, *, published: bool, limit: int = 25
    ) -> list[tuple[str, str]]:
        """(title, id) of published articles or drafts whose title matches what was typed.

        Autocomplete must answer in milliseconds: published titles come from the search
        index (a bounded candidate set, newest first); drafts, which are few, from a scan.
        What was typed counts up to TYPED_MAX characters, each distinct word once.
        """
        words = list(
            dict.fromkeys(w for w in typed[:TYPED_MAX].split() if any(ch.isalnum() for ch in w))
        )
        if published and words:
            await self.search_index.refresh()
            candidates = await self.search_index.titled(" ".join(words), 500)
            rows = [
                row
                async for row in in_chunks(
                    self.db,
                    "SELECT a.title, a.id, a.published_at, a.visible FROM articles a "
                    "WHERE a.rowid IN ({marks})",
                    candidates,
                )
                if row["visible"]
            ]
            rows.sort(key=lambda r: -r["published_at"])
            return [(r["title"], r["id"]) for r in rows[:limit]]
        state = "a.visible = 1" if published else DRAFT
        like = "".join(" AND LOWER(a.title) LIKE LOWER(?) ESCAPE '\\'" for _ in words)
        found = await self.db.fetch(
            f"SELECT a.title, a.id FROM articles a WHERE {state}{like} "
            "ORDER BY a.published_at DESC LIMIT ?",
            [*(f"%{_like_escape(w)}%" for w in words), limit],
        )
        return [(r["title"], r["id"]) for r in found]

    async def counts(self) -> Counts:
        rows = await self.db.fetch(
            "SELECT COUNT(*), COALESCE(SUM(a.visible), 0), "
            f"COALESCE(SUM(CASE WHEN {DRAFT} THEN 1 ELSE 0 END), 0) "
            "FROM articles a WHERE a.deleted_at IS NULL"
        )
        return Counts(articles=rows[0][0], published=rows[0][1], drafts=rows[0][2])

    async def bad_files(self) -> list[tuple[str, str]]:
        """(file name, error) of every file that is bad now."""
        rows = await self.db.fetch(
            "SELECT name, error FROM files WHERE error IS NOT NULL ORDER BY name"
        )
        return [(r[0], r[1]) for r in rows]

    async def last_sync(self) -> dict[str, Any] | None:
        """The summary of the last store scan (see Folder.sync)."""
        value = await self.db.fetchval("SELECT value FROM meta WHERE key = 'last_sync'")
        return json.loads(value) if value else None

    async def _topic_counts(self) -> list[tuple[str, str, int]]:
        """(key, name, published count), cached until the next write."""
        if self._topics is None or self._topics[0] != self.db.generation:
            generation = self.db.generation
            rows = await self.db.fetch(
                """SELECT t.key, t.name, COUNT(a.rowid) AS n
                   FROM topics t
                   JOIN article_topics at ON at.topic_key = t.key
                   JOIN articles a ON a.rowid = at.article_rowid AND a.visible = 1
                   GROUP BY t.key ORDER BY n DESC, t.name"""
            )
            self._topics = (generation, [(r[0], r[1], r[2]) for r in rows])
        return self._topics[1]

    async def _page(self, sql: str, params: list[Any], page: int) -> Page:
        page = max(page, 0)
        rows = await self.db.fetch(
            f"{sql} LIMIT ? OFFSET ?", [*params, PAGE_SIZE + 1, page * PAGE_SIZE]
        )
        return _page_of(rows, page)


def _ranked(
    phrases: Sequence[ranking.Phrase],
    idfs: Sequence[float],
    avg_length: float,
    found: dict[int, int],
    rows: list[Row],
) -> list[Row]:
    """Rows in bm25 order, then quality, then recency (each costs a fold and a count of its
    searched text); a row missing a phrase is left out."""
    scored = []
    for row in rows:
        columns = [row[c] for c in ranking.COLUMNS]
        relevance = ranking.score(phrases, idfs, columns, found[row["rowid_"]], avg_length)
        if relevance is not None:
            scored.append((-relevance, -row["quality"], -row["published_at"], row))
    scored.sort(key=lambda s: s[:3])
    return [s[3] for s in scored]


def _page_of(rows: list[Row], page: int) -> Page:
    """A page from up to PAGE_SIZE + 1 rows (the extra one only says there is a next)."""
    return Page(tuple(article_from_row(r) for r in rows[:PAGE_SIZE]), page, len(rows) > PAGE_SIZE)


def article_key(article_id: str) -> str:
    """An id as typed; one the database cannot even hold (a lone surrogate) names no article."""
    try:
        article_id.encode("utf-8")
    except UnicodeEncodeError:
        raise ArticleNotFound(encodable(article_id)) from None
    return article_id.strip()


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
