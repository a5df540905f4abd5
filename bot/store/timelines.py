"""store.timelines: one story as readers see it (/story): its published, live articles,
oldest first. Which articles are one story is `articles.story` (store/stories.py)."""

from __future__ import annotations

from bot.articles import Article
from bot.errors import ArticleNotFound
from bot.store.articles import article_key
from bot.store.database import Database
from bot.store.records import READ_COLUMNS, article_from_row


class Timelines:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def of(self, article_id: str) -> list[Article]:
        """The story of a published article: every visible article in it (that one too),
        oldest first (then by id). A draft, a withdrawn or an unknown id is
        ArticleNotFound, as /article says: nothing of a hidden article is ever shown."""
        story = await self.db.fetchval(
            "SELECT story FROM articles WHERE id = ? AND visible = 1",
            [article_key(article_id)],
        )
        if story is None:
            raise ArticleNotFound(article_id)
        rows = await self.db.fetch(
            f"SELECT {READ_COLUMNS} FROM articles a WHERE a.story = ? AND a.visible = 1 "
            "ORDER BY a.published_at, a.id",
            [story],
        )
        return [article_from_row(row) for row in rows]
