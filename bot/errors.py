"""Domain errors whose message is safe to show a user as is."""

from __future__ import annotations


class NewsError(Exception):
    """An expected failure; `str(error)` is the short answer a user or operator sees."""


class ArticleNotFound(NewsError):
    """No article with that id is known (or it is hidden from the asker)."""

    def __init__(self, article_id: str) -> None:
        super().__init__(f"No article with id `{article_id}`.")
        self.article_id = article_id


class PublishError(NewsError):
    """A publish or unpublish that could not be done; nothing was changed."""


class ConfigError(NewsError):
    """A setting is missing or malformed; the message names the variable."""
