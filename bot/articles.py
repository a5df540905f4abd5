"""Article files: parse one store file into an `Article`, or say exactly why not.

Pure: no Discord, no SQL. Everything the rest of the bot knows about an article
comes through `parse_article`, and the one change the bot makes to a file is
`set_published`, so every rule of the store format lives here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, AnyStr
from urllib.parse import urlsplit

import yaml

try:  # libyaml is ten times faster; say so loudly rather than slow down silently.
    from yaml import CSafeLoader as _Loader

    FAST_YAML = True
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

    FAST_YAML = False


class _ArticleLoader(_Loader):
    """Safe YAML where an impossible date (2023-02-30) stays text, so its field is named."""


def _timestamp_or_text(loader: _Loader, node: yaml.ScalarNode) -> object:
    try:
        return loader.construct_yaml_timestamp(node)
    except (ValueError, OverflowError):
        return loader.construct_scalar(node)


_ArticleLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)

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
        "secured",
    }
)
# A fence is a line of three dashes (blanks may trail). The one definition, for reading a
# file's text and for rewriting its bytes (`set_published`).
_FENCE_LINE = r"^---[ \t]*\r?$"
_FENCE = re.compile(_FENCE_LINE, re.MULTILINE)
_FENCE_BYTES = re.compile(_FENCE_LINE.encode("ascii"), re.MULTILINE)
_BOM = "\ufeff"
_BOM_BYTES = _BOM.encode("utf-8")
# A top-level `published:` line (an indented one belongs to a related item) and its value.
_PUBLISHED_LINE = re.compile(rb"^(published[ \t]*:[ \t]*)([^\s#]*)", re.MULTILINE)
# The front matter begins right after the opening "---", on file line 1: its line n,
# counted from 0 as YAML counts, is file line n + 1.
_FRONT_LINE_OFFSET = 1


class ArticleError(ValueError):
    """A store file that cannot be served; the message names the file and the field or line."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


@dataclass(frozen=True, slots=True)
class RelatedLink:
    """One item of an article's related coverage."""

    title: str
    url: str
    excerpt: str = ""
    provider: str = ""
    published_at: datetime | None = None
    quality: int = 0


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
    secured: str | None = field(default=None, repr=False)
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)
    body: str = field(default="", repr=False)
    warnings: tuple[str, ...] = field(default=(), repr=False, compare=False)


def topic_key(topic: str) -> str:
    """The matching key of a topic: "AI", "ai " and "Ai" are one topic."""
    key = " ".join(topic.split()).casefold()
    return key.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate cannot be bound


def is_http_url(value: object) -> bool:
    """True for an absolute http(s) URL with a host and no spaces: the only links we show."""
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
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


def _front_matter_span(data: AnyStr, fence: re.Pattern[AnyStr]) -> tuple[int, int, int]:
    """Where the front matter lies in a file's text or bytes (without its BOM).

    The first line must be a fence; the front matter runs to the next fence line. Returns
    (start, end, after): the front matter is `data[start:end]` and the closing fence ends
    at `after`. Raises `ValueError` saying which fence is missing.
    """
    first = fence.match(data)
    if first is None:
        raise ValueError("line 1: no front matter (the file must start with a '---' line)")
    closing = fence.search(data, first.end())
    if closing is None:
        raise ValueError("no closing '---' line after the front matter")
    return first.end(), closing.start(), closing.end()


def split_front_matter(text: str, source: str) -> tuple[str, str]:
    """Return (front matter, body): the text between the opening and the closing fence."""
    text = text.removeprefix(_BOM)
    try:
        start, end, after = _front_matter_span(text, _FENCE)
    except ValueError as exc:
        raise ArticleError(source, str(exc)) from None
    return text[start:end], text[after:].lstrip("\r\n")


def set_published(raw: bytes, published: bool) -> bytes:
    """The same bytes with the front matter's `published:` value set; no other byte changes.

    Only a top-level `published:` line counts. Without one, a `published: ...` line is added
    just before the closing fence, ending as the opening fence's line ends (CRLF or LF). A
    UTF-8 BOM is kept. Raises `ValueError` when there is no front matter or no closing fence.
    """
    bom = _BOM_BYTES if raw.startswith(_BOM_BYTES) else b""
    data = raw[len(bom) :]
    start, end, _ = _front_matter_span(data, _FENCE_BYTES)
    value = b"true" if published else b"false"
    line = _PUBLISHED_LINE.search(data, start, end)
    if line is not None:
        return bom + data[: line.start(2)] + value + data[line.end(2) :]
    newline = b"\r\n" if data[:start].endswith(b"\r") else b"\n"
    return bom + data[:end] + b"published: " + value + newline + data[end:]


def load_front_matter(front: str, source: str) -> dict[str, Any]:
    """YAML-load a front-matter block into a mapping, naming the file line of any syntax error."""
    try:
        data = yaml.load(front, Loader=_ArticleLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + _FRONT_LINE_OFFSET}: " if mark is not None else ""
        started = exc.context_mark  # an unclosed quote is noticed lines later: say where it began
        context = ""
        if exc.context and started is not None and mark is not None and started.line != mark.line:
            context = f" ({exc.context} on line {started.line + _FRONT_LINE_OFFSET})"
        raise ArticleError(source, f"{where}YAML error: {exc.problem or exc}{context}") from None
    except yaml.reader.ReaderError as exc:  # a control character; its own text is two lines
        if not isinstance(exc.character, int):
            raise ArticleError(source, f"YAML error: {exc.reason}") from None
        line = front[: max(front.find(chr(exc.character)), 0)].count("\n") + _FRONT_LINE_OFFSET
        raise ArticleError(
            source,
            f"line {line}: YAML error: unacceptable character #x{exc.character:04x} ({exc.reason})",
        ) from None
    except yaml.YAMLError as exc:
        raise ArticleError(source, f"YAML error: {exc}") from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. a timestamp out of range
        raise ArticleError(source, f"YAML error: {exc}") from None
    if not isinstance(data, dict):
        raise ArticleError(source, "the front matter is not a mapping of fields")
    return data


def parse_article(text: str, source: str) -> Article:
    """Parse a store file's text; `source` is its file name (the id is derived from it)."""
    front, body = split_front_matter(text, source)
    data = load_front_matter(front, source)
    return article_from_fields(data, source, body)


def parse_article_bytes(raw: bytes, source: str) -> Article:
    """Parse a store file's bytes: the file must be UTF-8."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ArticleError(source, f"line {line}: not UTF-8 (byte {exc.start})") from None
    return parse_article(text, source)


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
            raise self.fail(name, f"must be an http(s) URL, got {_short(value)}")
        return str(value)

    def timestamp(self, name: str) -> datetime:
        value = self.data.get(name)
        if value is None:
            raise self.fail(name, "missing (required)")
        parsed = parse_timestamp(value)
        if parsed is None:
            raise self.fail(name, f"must be an ISO 8601 date-time, got {_short(value)}")
        return parsed

    def integer(self, name: str, default: int) -> int:
        value = self.data.get(name, default)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(name, f"must be a whole number, got {_short(value)}")
        if not -(2**63) <= value < 2**63:  # SQLite INTEGER; bigger would stop the whole sync
            raise self.fail(name, f"is out of range, got {_short(value)}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.data.get(name, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(name, f"must be true or false, got {_short(value)}")
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
            raise ArticleError(source, f"topics: each topic must be text, got {_short(item)}")
        shown = " ".join(str(item).split())
        if shown and topic_key(shown) not in seen:
            seen[topic_key(shown)] = shown
    return tuple(seen.values())


def _related(value: object, source: str, warnings: list[str]) -> tuple[RelatedLink, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ArticleError(source, "related: must be a list")
    links: list[RelatedLink] = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            warnings.append(f"{source}: related[{index}]: dropped (not a mapping)")
            continue
        title = item.get("title")
        if not isinstance(title, str) or not title.strip():
            warnings.append(f"{source}: related[{index}]: dropped (no title)")
            continue
        url = item.get("webUrl")
        if not is_http_url(url):
            warnings.append(f"{source}: related[{index}]: dropped (webUrl is not an http(s) URL)")
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
                and -(2**63) <= quality < 2**63
                else 0,
            )
        )
    return tuple(links)


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
