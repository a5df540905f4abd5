"""Articles <-> the rows the database stores. Pure: no connection, picklable for parse workers."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, NamedTuple

from bot.articles import TOPIC_SEPARATOR, Article, RelatedLink, topic_key
from bot.pictures import Image
from bot.store.database import Row

ARTICLE_COLUMNS = (
    "id",
    "file",
    "title",
    "excerpt",
    "url",
    "original_url",
    "published_at",
    "category",
    "type",
    "quality",
    "heat",
    "provider_name",
    "provider_domain",
    "topics",
    "published",
    "secured",
    "extra",
    "file_mtime_ns",
    "render_hash",
    "image_url",
    "image_width",
    "image_height",
)
# What a read selects: everything but `secured`, which never leaves the database.
READ_COLUMNS = ", ".join(f"a.{c}" for c in ARTICLE_COLUMNS if c != "secured")


class ArticleRows(NamedTuple):
    """An article flattened into the rows the database stores.

    Built in the parse workers, so a big load spends the main process only on SQL; a
    named tuple because it crosses the process boundary 100,000 times in a big load
    (a frozen dataclass unpickles through `dataclasses.fields()` each time: ~1 s at 100k).
    """

    id: str
    url: str
    published: bool
    values: tuple[Any, ...]  # ARTICLE_COLUMNS, in order
    topics: tuple[tuple[str, str], ...]  # (key, name as written)
    published_at: int
    related: tuple[tuple[Any, ...], ...]  # the columns of `related`, after article_rowid
    warnings: tuple[str, ...]


def article_rows(article: Article, name: str, mtime_ns: int) -> ArticleRows:
    published_at = int(article.published_at.timestamp())
    return ArticleRows(
        id=article.id,
        url=article.url,
        published=article.published,
        values=(
            article.id,
            name,
            article.title,
            article.excerpt,
            article.url,
            article.original_url,
            published_at,
            article.category,
            article.type,
            article.quality,
            article.heat,
            article.provider_name,
            article.provider_domain,
            TOPIC_SEPARATOR.join(article.topics),
            int(article.published),
            article.secured,
            json.dumps(_jsonable(article.extra), ensure_ascii=False) if article.extra else "{}",
            mtime_ns,
            render_hash(article),
            *image_values(article.image),
        ),
        topics=tuple((topic_key(t), t) for t in article.topics),
        published_at=published_at,
        related=tuple(
            (
                position,
                r.title,
                r.url,
                r.excerpt,
                r.provider,
                int(r.published_at.timestamp()) if r.published_at else None,
                r.quality,
                *image_values(r.image),
            )
            for position, r in enumerate(article.related)
        ),
        warnings=article.warnings,
    )


def render_hash(article: Article) -> str:
    """Changes exactly when what a post shows changes, so only real edits are re-sent."""
    parts: list[object] = [
        article.title,
        article.excerpt,
        article.url,
        article.provider_name,
        article.provider_domain,
        article.published_at.isoformat(),
        article.topics,
        [(r.title, r.url, r.provider) for r in article.related],
    ]
    pictures = [article.image, *(r.image for r in article.related)]
    if any(pictures):  # only then: an article without pictures keeps its hash from before them
        parts.append([image_values(picture) for picture in pictures])
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()[:16]


def article_from_row(row: Row, related: tuple[RelatedLink, ...] = ()) -> Article:
    """An `Article` from a row of READ_COLUMNS (never with `secured`)."""
    return Article(
        id=row["id"],
        title=row["title"],
        url=row["url"],
        published_at=datetime.fromtimestamp(row["published_at"], UTC),
        excerpt=row["excerpt"],
        original_url=row["original_url"],
        category=row["category"],
        type=row["type"],
        quality=row["quality"],
        heat=row["heat"],
        published=bool(row["published"]),
        provider_name=row["provider_name"],
        provider_domain=row["provider_domain"],
        topics=tuple(t for t in row["topics"].split(TOPIC_SEPARATOR) if t),
        related=related,
        image=image_from_row(row),
        extra=json.loads(row["extra"]),
    )


def related_from_row(row: Row) -> RelatedLink:
    published_at = row["published_at"]
    return RelatedLink(
        title=row["title"],
        url=row["url"],
        excerpt=row["excerpt"],
        provider=row["provider"],
        published_at=datetime.fromtimestamp(published_at, UTC) if published_at else None,
        quality=row["quality"],
        image=image_from_row(row),
    )


def image_values(image: Image | None) -> tuple[str | None, int | None, int | None]:
    """The image_url, image_width and image_height columns of a picture (NULLs for none,
    as in a row written before pictures)."""
    return (image.url, image.width, image.height) if image else (None, None, None)


def image_from_row(row: Row) -> Image | None:
    """The picture of an `articles` or `related` row (its image_* columns), or None."""
    url = row["image_url"]
    return Image(url, row["image_width"] or 0, row["image_height"] or 0) if url else None


def _jsonable(value: object) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
