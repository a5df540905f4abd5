"""Editors correct the clustering: /story split and /story merge.

A correction is kept as pins (`story_pins`: article id -> story key), one per article it
touched, and applied to `articles.story` at once, with an audit row, in one transaction.
The clusterer (stories.py) honours them on every later assignment and re-cluster: a
pinned article's story is always its pin's value, and two articles pinned to different
stories are never put in one. Pins are rows, so they outlive a restart; they are keyed by
article id, not rowid, so they outlive a file being re-read too.

Each step is one statement whatever the story's size (a story of 10,000 articles is pinned
by one INSERT ... SELECT and moved by one UPDATE), never a round trip per article. Posts
already made stay as they are; only articles that come later follow the corrected story.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.errors import ArticleNotFound, NewsError
from bot.store.articles import article_key
from bot.store.database import Clock, Database, Row

SHOWN = 10  # articles of a story an answer names; the rest are counted
_ARTICLES = (
    "SELECT id, story, url, title, provider_name, published_at, visible FROM articles "
    "WHERE deleted_at IS NULL AND "
)
_PIN = (
    "ON CONFLICT (article_id) DO UPDATE SET story = excluded.story, "
    "pinned_by = excluded.pinned_by, pinned_at = excluded.pinned_at"
)


class Refusal(StrEnum):
    ALONE = "alone"  # split: no other article in its story
    SAME_STORY = "same story"  # merge: both articles are already one story


class StoryEditRefused(NewsError):
    """A split or merge that was not done; nothing changed."""

    def __init__(self, why: Refusal, article_id: str, story: str, other_id: str = "") -> None:
        super().__init__(f"cannot edit the story of {article_id!r}: {why}")
        self.why = why
        self.article_id = article_id
        self.story = story
        self.other_id = other_id


@dataclass(frozen=True, slots=True)
class StoryArticle:
    """One article of a story, as an editor's answer names it."""

    id: str
    title: str
    provider: str
    published_at: int
    visible: bool  # published (a draft, or a file another serves, is not)


@dataclass(frozen=True, slots=True)
class StoryShown:
    """A story's key and its articles (not deleted), earliest first: SHOWN of `count`."""

    key: str
    articles: list[StoryArticle]
    count: int


@dataclass(frozen=True, slots=True)
class Split:
    """`article` now begins its own story (keyed by its id); `left` is the story it left,
    under its key now: a new one (its next earliest article's id) if the article was it."""

    article: StoryArticle
    former: str  # the story's key before the split
    left: StoryShown


@dataclass(frozen=True, slots=True)
class Merged:
    """`absorbed` (a story key, gone now) joined `story`, the earlier of the two."""

    story: StoryShown
    absorbed: str
    moved: int  # articles whose story changed


@dataclass(frozen=True, slots=True)
class Pin:
    story: str
    pinned_by: str
    pinned_at: int


class StoryPins:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def split(self, article_id: str, actor: str) -> Split:
        """The article leaves its story and begins its own; its former story-mates stay
        together, pinned, so no later re-cluster can put it back with them. Any other file
        of the same webUrl (a duplicate it serves, hidden) goes with it: one article."""
        async with self.db.transaction():
            article = await self._article(article_id)
            former, own, url = article["story"], article["id"], article["url"]
            earliest_other = await self.db.fetchval(
                "SELECT id FROM articles WHERE story = ? AND url <> ? AND deleted_at IS NULL "
                "ORDER BY published_at, id LIMIT 1",
                [former, url],
            )
            if earliest_other is None:
                raise StoryEditRefused(Refusal.ALONE, own, former)
            # If it (or its duplicate) began the story, the rest goes on under a new key:
            # its earliest article's.
            began = await self.db.fetchval("SELECT url FROM articles WHERE id = ?", [former])
            rest = former if began != url else earliest_other
            await self.db.execute(
                "INSERT INTO story_pins (article_id, story, pinned_by, pinned_at) "
                "SELECT id, CASE WHEN url = ? THEN ? ELSE ? END, ?, ? FROM articles "
                f"WHERE story = ? {_PIN}",
                [url, own, rest, actor, int(self.clock()), former],
            )
            if rest == former:
                await self.db.execute(
                    "UPDATE articles SET story = ? WHERE story = ? AND url = ?", [own, former, url]
                )
            else:
                await self.db.execute(
                    "UPDATE articles SET story = ? WHERE story = ? AND url <> ?",
                    [rest, former, url],
                )
            renamed = f"; the rest is now story {rest}" if rest != former else ""
            await self._audit(actor, "split story", own, f"left story {former}{renamed}")
            left = await self.shown(rest)
        return Split(_story_article(article), former, left)

    async def merge(self, article_id: str, other_id: str, actor: str) -> Merged:
        """The two articles' stories become one, under the earlier story's key (the smaller
        first publishedDateTime, then key); every article of both is pinned to it."""
        async with self.db.transaction():
            article = await self._article(article_id)
            other = await self._article(other_id)
            first, second = article["story"], other["story"]
            if first == second:
                raise StoryEditRefused(Refusal.SAME_STORY, article["id"], first, other["id"])
            key = await self.db.fetchval(
                "SELECT story FROM articles WHERE story IN (?, ?) AND deleted_at IS NULL "
                "GROUP BY story ORDER BY MIN(published_at), story LIMIT 1",
                [first, second],
            )
            absorbed = second if key == first else first
            await self.db.execute(
                "INSERT INTO story_pins (article_id, story, pinned_by, pinned_at) "
                f"SELECT id, ?, ?, ? FROM articles WHERE story IN (?, ?) {_PIN}",
                [key, actor, int(self.clock()), first, second],
            )
            moved = await self.db.execute(
                "UPDATE articles SET story = ? WHERE story = ?", [key, absorbed]
            )
            detail = f"story {absorbed} joined story {key} (with {other['id']})"
            await self._audit(actor, "merge story", article["id"], detail)
            story = await self.shown(key)
        return Merged(story, absorbed, moved)

    async def story_of(self, article_id: str) -> str:
        """The key of the article's story; ArticleNotFound for none (or a deleted one)."""
        return str((await self._article(article_id))["story"])

    async def pin(self, article_id: str) -> Pin | None:
        """The editors' pin on an article, if any."""
        rows = await self.db.fetch(
            "SELECT story, pinned_by, pinned_at FROM story_pins WHERE article_id = ?",
            [article_id],
        )
        if not rows:
            return None
        return Pin(rows[0]["story"], rows[0]["pinned_by"], int(rows[0]["pinned_at"]))

    async def shown(self, key: str, limit: int = SHOWN) -> StoryShown:
        """A story's first `limit` articles, earliest first, and how many it has."""
        rows = await self.db.fetch(
            f"{_ARTICLES}story = ? ORDER BY published_at, id LIMIT ?",
            [key, limit],
        )
        count = await self.db.fetchval(
            "SELECT COUNT(*) FROM articles WHERE story = ? AND deleted_at IS NULL", [key]
        )
        return StoryShown(key, [_story_article(r) for r in rows], int(count or 0))

    async def _article(self, article_id: str) -> Row:
        rows = await self.db.fetch(f"{_ARTICLES}id = ?", [article_key(article_id)])
        if not rows:
            raise ArticleNotFound(article_id)
        return rows[0]

    async def _audit(self, actor: str, action: str, article_id: str, detail: str) -> None:
        await self.db.execute(
            "INSERT INTO audit (at, actor, action, article_id, detail) VALUES (?, ?, ?, ?, ?)",
            (int(self.clock()), actor, action, article_id, detail),
        )


def _story_article(row: Row) -> StoryArticle:
    return StoryArticle(
        id=row["id"],
        title=row["title"],
        provider=row["provider_name"],
        published_at=int(row["published_at"]),
        visible=bool(row["visible"]),
    )
