"""Domain errors: what went wrong, as data. Their wording lives with the renderers
(`answers.error_text`, for Discord and the console alike), so the store never speaks Markdown."""

from __future__ import annotations

from collections.abc import Sequence


class NewsError(Exception):
    """An expected failure that a user or operator is told about, never a traceback."""


class ConfigError(NewsError):
    """A setting is missing or malformed; the message names the variable."""


class DatabaseUnavailable(NewsError):
    """The database cannot be opened or used."""

    def __init__(self, where: str, reason: str, variable: str = "NEWS_DB_PATH") -> None:
        super().__init__(f"cannot open the database {where} ({reason})")
        self.where = where
        self.reason = reason
        self.variable = variable  # the setting that names it


class DeskUnavailable(NewsError):
    """The database stopped answering (a lost connection) while the bot runs; it is retried
    in the background, and commands meanwhile say the news desk is briefly unavailable."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the database is unreachable ({reason})")
        self.reason = reason


class DatabaseDamaged(NewsError):
    """The database file is corrupt; it is rebuilt from the store, the source of truth."""

    def __init__(self, where: str, detail: str) -> None:
        super().__init__(f"the database {where} is damaged ({detail})")
        self.where = where
        self.detail = detail


class ArticleNotFound(NewsError):
    """No article with that id is known (or it is hidden from the asker)."""

    def __init__(self, article_id: str) -> None:
        super().__init__(f"no article with id {article_id!r}")
        self.article_id = article_id


class UnknownTopic(NewsError):
    """No article has this topic; `suggestions` are close known topics (display names)."""

    def __init__(self, typed: str, suggestions: Sequence[str] = ()) -> None:
        super().__init__(f"unknown topic {typed!r}")
        self.typed = typed
        self.suggestions = tuple(suggestions)


class PublishError(NewsError):
    """A publish or unpublish that could not be done; nothing was changed."""

    def __init__(self, article_id: str, publish: bool) -> None:
        super().__init__(f"cannot {'publish' if publish else 'unpublish'} {article_id!r}")
        self.article_id = article_id
        self.publish = publish


class AlreadyDone(PublishError):
    """The article is already in the state asked for (published, or a draft)."""


class ServedByDuplicate(PublishError):
    """Another file with the same webUrl serves this story; act on that one."""

    def __init__(self, article_id: str, publish: bool, served_by: str) -> None:
        super().__init__(article_id, publish)
        self.served_by = served_by


class FileInvalid(PublishError):
    """The article's file does not parse now; `reason` is the parser's message."""

    def __init__(self, article_id: str, publish: bool, reason: str) -> None:
        super().__init__(article_id, publish)
        self.reason = reason


class FileChanged(PublishError):
    """The file changed since it was read (or since the preview a button was made from):
    nothing was written, so no one publishes what no one reviewed."""


class FileNotWritable(PublishError):
    """The article's file could not be rewritten; nothing was changed."""

    def __init__(self, article_id: str, publish: bool, file: str, reason: str) -> None:
        super().__init__(article_id, publish)
        self.file = file
        self.reason = reason


class NothingFound(NewsError):
    """A list with nothing in it: `what` names the list (latest, search, drafts, topics...)."""

    def __init__(self, what: str, query: str = "", topic: str | None = None) -> None:
        super().__init__(f"nothing found ({what})")
        self.what = what
        self.query = query
        self.topic = topic


class BadFilter(NewsError):
    """A feed filter that cannot be saved; `reason` is `BadQuery`'s sentence. Nothing was
    changed."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"bad filter ({reason})")
        self.reason = reason


class FollowRefused(NewsError):
    """A follow that was not saved (a bad query, one too many, an unknown topic): its
    message is the sentence to show the member."""
