"""Stories: which articles are one story. Each article's `story` is the id of the article
that began it; posts, search, digests and alerts read it.

An article joins the story of an earlier live article that shares its webUrl or its
originalUrl within `WINDOW` of it; otherwise it begins its own."""

from __future__ import annotations

from collections.abc import Sequence

from bot.store.database import Database
from bot.store.records import ARTICLE_COLUMNS, ArticleRows

WINDOW = 72 * 3600  # seconds between two articles' publishedDateTime, at most
_ORIGINAL_URL = ARTICLE_COLUMNS.index("original_url")


class Stories:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def assign(self, articles: Sequence[ArticleRows]) -> None:
        """Give each article just written its story (inside the writer's transaction)."""
        for article in articles:
            urls = [u for u in (article.url, article.values[_ORIGINAL_URL]) if u]
            marks = ", ".join("?" * len(urls))
            story = await self.db.fetchval(
                f"SELECT story FROM articles WHERE id <> ? AND deleted_at IS NULL "
                f"AND story IS NOT NULL AND (url IN ({marks}) OR original_url IN ({marks})) "
                "AND published_at BETWEEN ? AND ? ORDER BY published_at, id LIMIT 1",
                [
                    article.id,
                    *urls,
                    *urls,
                    article.published_at - WINDOW,
                    article.published_at + WINDOW,
                ],
            )
            await self.db.execute(
                "UPDATE articles SET story = ? WHERE id = ?", (story or article.id, article.id)
            )
