"""Article files: read one store file into an `Article`, or say exactly why not.

No Discord, no SQL. Everything the rest of the bot knows about an article comes
through `read_article` (a file in the store folder) or `parse_article` (its text).
The store format lives here and in `frontmatter.py` (the text layer: fences, YAML
under limits, the write-back of `published:`), hostile files included:
one file, one error, whatever the file holds.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import urlsplit

from bot.frontmatter import (
    BAD_NAME,
    INT_MAX,
    INT_MIN,
    ArticleError,
    load_front_matter,
    preview,
    printable_name,
    split_front_matter,
)
from bot.pictures import Image, first_image

log = logging.getLogger(__name__)

# The limit on one file; the front matter has its own (frontmatter.py).
MAX_FILE_BYTES = 1024 * 1024


ARTICLE_SUFFIXES = (".txt", ".md")
# How a list of topics is shown on one line ("AI · Open source"), and the parts of any
# other one-line label built from an article ("provider · title").
TOPIC_SEPARATOR = " · "
KNOWN_FIELDS = frozenset(
    {
        "title",
        "webUrl",
        "publishedDateTime",
        "excerpt",
        "originalUrl",
        "category",
        "type",
        "quality",
        "heat",
        "published",
        "provider",
        "topics",
        "related",
        "images",
        "secured",
    }
)


@dataclass(frozen=True, slots=True)
class RelatedLink:
    """One item of an article's related coverage."""

    title: str
    url: str
    excerpt: str = ""
    provider: str = ""
    published_at: datetime | None = None
    quality: int = 0
    image: Image | None = None


@dataclass(frozen=True, slots=True)
class Article:
    """A parsed article file. `secured` is confidential: kept out of repr and never rendered."""

    id: str
    title: str
    url: str
    published_at: datetime
    excerpt: str = ""
    original_url: str | None = None
    category: str = ""
    type: str = ""
    quality: int = 0
    heat: int = -1
    published: bool = False
    provider_name: str = ""
    provider_domain: str = ""
    topics: tuple[str, ...] = ()
    related: tuple[RelatedLink, ...] = ()
    image: Image | None = None  # the article's own picture (its first valid `images` entry)
    secured: str | None = field(default=None, repr=False)
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)
    body: str = field(default="", repr=False)
    warnings: tuple[str, ...] = field(default=(), repr=False, compare=False)


def encodable(text: str) -> str:
    """`text` with each lone surrogate (typed, never stored) made "?": a string the
    database can bind and the search engine can take."""
    return text.encode("utf-8", "replace").decode("utf-8")


def topic_key(topic: str) -> str:
    """The matching key of a topic: "AI", "ai " and "Ai" are one topic."""
    return encodable(" ".join(topic.split()).casefold())


_SPACE = re.compile(r"\s")  # str.isspace's characters, found in C


def is_http_url(value: object) -> bool:
    """True for an absolute http(s) URL with a host and no spaces: the only links we show."""
    if not isinstance(value, str) or not value or _SPACE.search(value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def article_id_for(filename: str) -> str:
    """The article id is the file name without its extension."""
    stem, _, _ = filename.rpartition(".")
    return stem or filename


def parse_article(text: str, source: str) -> Article:
    """Parse a store file's text; `source` is its file name (the id is derived from it)."""
    front, body = split_front_matter(text, source)
    data = load_front_matter(front, source)
    return article_from_fields(data, source, body)


def parse_article_bytes(raw: bytes, source: str) -> Article:
    """Parse a store file's bytes: the file must be UTF-8 and at most MAX_FILE_BYTES."""
    if len(raw) > MAX_FILE_BYTES:
        raise ArticleError(source, _too_big(len(raw)))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ArticleError(source, f"line {line}: not UTF-8 (byte {exc.start})") from None
    return parse_article(text, source)


def _too_big(size: int) -> str:
    return f"too big ({size:,} bytes; the limit is {MAX_FILE_BYTES // 1024 // 1024} MiB)"


_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO opens at once, writer or not
    | getattr(os, "O_NOFOLLOW", 0)  # a symbolic link is looked at before it is followed
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_NOT_REGULAR = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def read_article(store_dir: str | os.PathLike[str], name: str) -> Article:
    """Read the store file `name` of `store_dir` into an `Article`: the one reader of the
    sync, of `newsbot check` and of anything else that reads a store file.

    Any failure is this file's `ArticleError`, naming it (printably) and saying what:
    a bad name, a symbolic link leading out of the store folder, a FIFO or device (never
    opened in a way that blocks), a file over MAX_FILE_BYTES (never read past the limit),
    then anything `parse_article_bytes` refuses. Any other exception (a bug, a library
    surprise) becomes "could not be read (its type)"; its traceback is logged at DEBUG.
    """
    try:
        return parse_article_bytes(read_store_bytes(store_dir, name), name)
    except ArticleError:
        raise
    except OSError as exc:
        raise ArticleError(
            name, f"cannot read ({exc.strerror or exc.__class__.__name__})"
        ) from None
    except Exception as exc:
        log.debug("reading %s failed", printable_name(name), exc_info=True)
        raise ArticleError(name, f"could not be read ({exc.__class__.__name__})") from None


def read_store_bytes(store_dir: str | os.PathLike[str], name: str) -> bytes:
    """The bytes of a regular file of the store, at most MAX_FILE_BYTES of them: never
    a FIFO or device, never through a link leading out of the store (else ArticleError)."""
    if BAD_NAME.search(name) is not None:
        raise ArticleError(
            name,
            "the file name has control characters, a backslash or bytes that are not UTF-8; "
            "rename the file",
        )
    path = os.path.join(os.fspath(store_dir), name)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if not os.path.islink(path):
            raise
        # A symbolic link: served only when it leads to a file inside the store folder.
        target = os.path.realpath(path)
        if not _inside(target, os.path.realpath(store_dir)):
            raise ArticleError(name, "a symbolic link leading outside the store folder") from exc
        fd = os.open(target, _OPEN_FLAGS)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = next((kind for test, kind in _NOT_REGULAR if test(st.st_mode)), "not a file")
            raise ArticleError(name, f"not a regular file ({kind})")
        if st.st_size > MAX_FILE_BYTES:
            raise ArticleError(name, _too_big(st.st_size))
        # Its size and one byte more (a file may grow while read), never past the limit + 1.
        chunks: list[bytes] = []
        total, want = 0, st.st_size + 1
        while want > 0:
            chunk = os.read(fd, want)
            chunks.append(chunk)
            total += len(chunk)
            if len(chunk) < want:  # the end of the file
                break
            want = MAX_FILE_BYTES + 1 - total
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    if len(raw) > MAX_FILE_BYTES:
        raise ArticleError(name, _too_big(len(raw)))
    return raw


def _inside(path: str, folder: str) -> bool:
    return os.path.commonpath([path, folder]) == folder


def article_from_fields(data: dict[str, Any], source: str, body: str = "") -> Article:
    """Validate the front-matter fields and build the `Article`."""
    fields = _Fields(data, source)
    warnings: list[str] = []
    provider = data.get("provider")
    provider_name = provider_domain = ""
    if isinstance(provider, dict):
        provider_name = _text(provider.get("name"))
        provider_domain = _text(provider.get("domain"))
    elif provider is not None:
        raise ArticleError(source, "provider: must be a mapping with name and domain")
    return Article(
        id=article_id_for(source.replace("\\", "/").rsplit("/", 1)[-1]),
        title=fields.required_text("title"),
        url=fields.url("webUrl", required=True) or "",
        published_at=fields.timestamp("publishedDateTime"),
        excerpt=fields.optional_text("excerpt"),
        original_url=fields.url("originalUrl", required=False),
        category=fields.optional_text("category"),
        type=fields.optional_text("type"),
        quality=fields.integer("quality", 0),
        heat=fields.integer("heat", -1),
        published=fields.boolean("published", False),
        provider_name=provider_name,
        provider_domain=provider_domain,
        topics=_topics(data.get("topics"), source),
        related=_related(data.get("related"), source, warnings),
        image=first_image(data.get("images"), f"{printable_name(source)}: images", warnings),
        secured=fields.secured(),
        extra={k: v for k, v in data.items() if k not in KNOWN_FIELDS},
        body=body,
        warnings=tuple(warnings),
    )


class _Fields:
    """Typed access to the front-matter mapping; each failure names the field."""

    def __init__(self, data: dict[str, Any], source: str) -> None:
        self.data = data
        self.source = source

    def fail(self, name: str, problem: str) -> ArticleError:
        return ArticleError(self.source, f"{name}: {problem}")

    def required_text(self, name: str) -> str:
        value = self.data.get(name)
        if value is None:
            raise self.fail(name, "missing (required)")
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise self.fail(name, "must be text")
        text = str(value).strip()
        if not text:
            raise self.fail(name, "must not be empty")
        return text

    def optional_text(self, name: str) -> str:
        value = self.data.get(name)
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(name, "must be text")
        return str(value).strip()

    def url(self, name: str, *, required: bool) -> str | None:
        value = self.data.get(name)
        if value is None or (value == "" and not required):
            if required:
                raise self.fail(name, "missing (required)")
            return None
        if not is_http_url(value):
            raise self.fail(name, f"must be an http(s) URL, got {preview(value)}")
        return str(value)

    def timestamp(self, name: str) -> datetime:
        value = self.data.get(name)
        if value is None:
            raise self.fail(name, "missing (required)")
        parsed = parse_timestamp(value)
        if parsed is None:
            raise self.fail(name, f"must be an ISO 8601 date-time, got {preview(value)}")
        return parsed

    def integer(self, name: str, default: int) -> int:
        value = self.data.get(name, default)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(name, f"must be a whole number, got {preview(value)}")
        if not INT_MIN <= value <= INT_MAX:  # SQLite INTEGER (the YAML loader refuses these too)
            raise self.fail(name, f"is out of range, got {preview(value)}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.data.get(name, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(name, f"must be true or false, got {preview(value)}")
        return value

    def secured(self) -> str | None:
        value = self.data.get("secured")
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail("secured", "must be a string")  # never echo its value
        return value


def parse_timestamp(value: object) -> datetime | None:
    """An aware UTC datetime from a YAML timestamp or ISO 8601 text; naive times are UTC."""
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, date):
        result = datetime.combine(value, time(0))
    elif isinstance(value, str):
        try:
            result = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    if result.tzinfo is None:
        return result.replace(tzinfo=UTC)
    try:
        return result.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 is before year 1 in UTC
        return None


def _topics(value: object, source: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ArticleError(source, "topics: must be a list of text")
    seen: dict[str, str] = {}
    for item in value:
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise ArticleError(source, f"topics: each topic must be text, got {preview(item)}")
        shown = " ".join(str(item).split())
        if shown and topic_key(shown) not in seen:
            seen[topic_key(shown)] = shown
    return tuple(seen.values())


def _related(value: object, source: str, warnings: list[str]) -> tuple[RelatedLink, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ArticleError(source, "related: must be a list")
    shown = printable_name(source)
    links: list[RelatedLink] = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            warnings.append(f"{shown}: related[{index}]: dropped (not a mapping)")
            continue
        title = item.get("title")
        if not isinstance(title, str) or not title.strip():
            warnings.append(f"{shown}: related[{index}]: dropped (no title)")
            continue
        url = item.get("webUrl")
        if not is_http_url(url):
            warnings.append(f"{shown}: related[{index}]: dropped (webUrl is not an http(s) URL)")
            continue
        provider = item.get("provider")
        quality = item.get("quality", 0)
        links.append(
            RelatedLink(
                title=title.strip(),
                url=str(url),
                excerpt=_text(item.get("excerpt")),
                provider=_text(provider.get("name")) if isinstance(provider, dict) else "",
                published_at=parse_timestamp(item.get("publishedDateTime")),
                quality=quality
                if isinstance(quality, int)
                and not isinstance(quality, bool)
                and INT_MIN <= quality <= INT_MAX
                else 0,
                image=first_image(
                    item.get("images"), f"{shown}: related[{index}].images", warnings
                ),
            )
        )
    return tuple(links)


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""
