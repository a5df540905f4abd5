"""Article files: read one store file into an `Article`, or say exactly why not.

No Discord, no SQL. Everything the rest of the bot knows about an article comes
through `read_article` (a file in the store folder) or `parse_article` (its text),
and the one change the bot makes to a file is `set_published`, so every rule of
the store format lives here, hostile files included (PRODUCT §9): one file, one
error, whatever the file holds.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import stat
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from itertools import islice
from typing import Any, AnyStr
from urllib.parse import urlsplit

import yaml

try:  # libyaml is ten times faster; say so loudly rather than slow down silently.
    from yaml import CSafeLoader as _Loader

    FAST_YAML = True
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

    FAST_YAML = False


log = logging.getLogger(__name__)

# The limits on one file (PRODUCT §9). Past them a file is a bad file like any other.
MAX_FILE_BYTES = 1024 * 1024
MAX_NESTING = 32  # collections inside collections, the top mapping counting as 1
INT_MIN, INT_MAX = -(2**63), 2**63 - 1  # SQLite INTEGER, and far below Python's digit limit
# A 64-bit integer takes at most 67 characters ("-0b" and 64 binary digits); longer text
# (leading zeros aside) is out of range, so it is refused before any conversion is tried.
_MAX_INT_TEXT = 100


class _Refused(yaml.constructor.ConstructorError):
    """YAML the store refuses (not a syntax error): the message names the line, not "YAML"."""


class _ArticleLoader(_Loader):
    """Safe YAML where an impossible date (2023-02-30) stays text, so its field is named,
    and an integer outside 64 bits is refused before Python converts it."""


def _timestamp_or_text(loader: _Loader, node: yaml.ScalarNode) -> object:
    try:
        return loader.construct_yaml_timestamp(node)
    except (ValueError, OverflowError):
        return loader.construct_scalar(node)


def _bounded_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    """An integer within 64 bits, checked on the text before Python converts it."""
    text = loader.construct_scalar(node)
    if len(text) < 19 and text.isascii() and text.isdigit() and text[0] != "0":
        return int(text)  # the usual case: a plain decimal of at most 18 digits
    shown = text if len(text) <= 24 else text[:20] + "…"
    outside = f"{shown} is outside 64-bit integers"
    if len(text.replace("_", "").lstrip("+-").lstrip("0")) > _MAX_INT_TEXT:
        raise _Refused(None, None, outside, node.start_mark)
    try:
        value = loader.construct_yaml_int(node)
    except (ValueError, IndexError):  # `!!int abc`, `!!int ""`
        raise _Refused(None, None, f"{shown!r} is not a whole number", node.start_mark) from None
    if not INT_MIN <= value <= INT_MAX:
        raise _Refused(None, None, outside, node.start_mark)
    return value


_ArticleLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)
_ArticleLoader.add_constructor("tag:yaml.org,2002:int", _bounded_int)

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


# Characters that must never reach a log line or a console as they are: C0 and C1 controls
# (a newline forges a line), line and paragraph separators, bidirectional overrides (they
# reorder what is shown), and lone surrogates (a file name that is not UTF-8).
_UNPRINTABLE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)
# A store file's name must hold none of them, nor a backslash (the escape character of
# printable names, and a path separator to some tools).
_BAD_NAME = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff\\]"
)
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_MAX_PROBLEM = 300  # characters of an error message after the file name


def _escape(match: re.Match[str]) -> str:
    char = match[0]
    code = ord(char)
    return _ESCAPES.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def printable_name(name: str) -> str:
    """A file name as it may be printed or logged: one line, control characters escaped
    (`\\n`, `\\x1b`, `\\u202e`), and bytes that are not UTF-8 shown as `\\xff`."""
    if _UNPRINTABLE.search(name) is None:
        return name
    with contextlib.suppress(UnicodeEncodeError):  # a name os.listdir could not decode
        name = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return _UNPRINTABLE.sub(_escape, name)


def one_line(text: str, limit: int = _MAX_PROBLEM) -> str:
    """Text made safe for one log line: control characters escaped, at most `limit` long."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _UNPRINTABLE.sub(_escape, text)


class ArticleError(ValueError):
    """A store file that cannot be served; the message names the file and the field or line.

    The message is one line of bounded length whatever the file's name or content.
    """

    def __init__(self, source: str, problem: str) -> None:
        problem = one_line(problem)
        super().__init__(f"{printable_name(source)}: {problem}")
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


# What can make YAML's structure hostile must start a token: an anchor (&a), an alias (*a),
# a tag (!t) or a flow collection ([ or {) comes at the start of the text or after a blank
# or a line break; inside a flow collection anything goes, but the collection itself began
# after one. An anchor or alias has a name: "&" or "*" before a blank is text.
_TOKEN_CHARS = "&*![{"
_NO_NAME = ("", " ", "\t", "\r", "\n")
_MAX_TOKEN_LOOKS = 64  # occurrences of one character looked at; past that, walk the events
# Line breaks the fast test does not follow, and YAML's mid-stream byte order mark.
_ODD_BREAKS = ("\x85", "\u2028", "\u2029", "\ufeff")
# In block style (no flow collection, no tag) a collection nests inside another at a greater
# column, or at the same column only as a sequence that is a mapping's key or value: so a
# collection at depth d starts at column (d - 1) // 2 or more, after nothing on its line but
# blanks and the indicators "- ", "? ", ": ". No such prefix of 16 or more characters: no
# nesting deeper than 32.
_DEEP_PREFIX = rf"[ \t?:\-]{{{(MAX_NESTING + 1) // 2}}}"
_DEEP_LINE = re.compile(r"\n" + _DEEP_PREFIX)
_DEEP_FIRST_LINE = re.compile(_DEEP_PREFIX)


def _needs_structure_check(front: str) -> bool:
    """False when `front` can hold no anchor, alias, tag or flow collection and no nesting
    deeper than MAX_NESTING: then libyaml alone reads it (the usual, fast case)."""
    if _may_start_a_token(front):
        return True
    if any(c in front for c in _ODD_BREAKS):
        return True
    if "\r" in front and front.count("\r") != front.count("\r\n"):  # a lone CR breaks a line
        return True
    return bool(_DEEP_LINE.search(front) or _DEEP_FIRST_LINE.match(front))


def _may_start_a_token(front: str) -> bool:
    """Whether an anchor, alias, tag or flow collection may start a token in `front`."""
    for char in _TOKEN_CHARS:
        at = front.find(char)
        for _ in range(_MAX_TOKEN_LOOKS):
            if at == -1:
                break
            if (at == 0 or front[at - 1] in " \t\n") and (
                char in "![{" or front[at + 1 : at + 2] not in _NO_NAME
            ):
                return True
            at = front.find(char, at + 1)
        else:
            return True
    return False


def _check_structure(front: str) -> None:
    """Walk the YAML events (libyaml, no objects built): refuse anchors, aliases and nesting
    deeper than MAX_NESTING before the loader could expand or recurse into them."""
    loader = _Loader(front)
    try:
        depth = 0
        while loader.check_event():
            event = loader.get_event()
            kind = type(event)
            if kind is yaml.AliasEvent or getattr(event, "anchor", None) is not None:
                raise _refused("YAML anchors (&) and aliases (*) are not allowed", event)
            if kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                depth += 1
                if depth > MAX_NESTING:
                    raise _refused(f"nested deeper than {MAX_NESTING} levels", event)
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                depth -= 1
    finally:
        loader.dispose()


def _refused(problem: str, event: yaml.Event | None) -> _Refused:
    return _Refused(None, None, problem, getattr(event, "start_mark", None))


# What stands before a value on its line when a plain key names it: "  - quality: ".
_KEY_BEFORE = re.compile(r"[ \t]*(?:-[ \t]+)*([A-Za-z_][\w.-]*)[ \t]*:[ \t]+")


def _key_before(front: str, line: int, column: int) -> str:
    """The key of the value at (line, column) of the front matter, when it is written plainly
    before it on that line ("quality" for "quality: 9999…"); otherwise ""."""
    lines = front.split("\n", line + 1)
    if line >= len(lines):
        return ""
    found = _KEY_BEFORE.fullmatch(lines[line][:column])
    return found[1] if found else ""


def load_front_matter(front: str, source: str) -> dict[str, Any]:
    """YAML-load a front-matter block into a mapping, naming the file line of any error.

    Refused as well: anchors and aliases (an alias bomb expands a few hundred bytes into
    gigabytes), nesting deeper than MAX_NESTING, and integers outside 64 bits.
    """
    try:
        if _needs_structure_check(front):
            _check_structure(front)
        data = yaml.load(front, Loader=_ArticleLoader)
    except _Refused as exc:
        mark = exc.problem_mark
        where = ""
        if mark is not None:
            key = _key_before(front, mark.line, mark.column)
            where = f"line {mark.line + _FRONT_LINE_OFFSET}: " + (f"{key}: " if key else "")
        raise ArticleError(source, f"{where}{exc.problem}") from None
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
    except RecursionError:
        raise ArticleError(source, f"nested deeper than {MAX_NESTING} levels") from None
    if not isinstance(data, dict):
        raise ArticleError(source, "the front matter is not a mapping of fields")
    return data


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
        return parse_article_bytes(_read_bytes(os.fspath(store_dir), name), name)
    except ArticleError:
        raise
    except OSError as exc:
        raise ArticleError(
            name, f"cannot read ({exc.strerror or exc.__class__.__name__})"
        ) from None
    except Exception as exc:
        log.debug("reading %s failed", printable_name(name), exc_info=True)
        raise ArticleError(name, f"could not be read ({exc.__class__.__name__})") from None


def _read_bytes(store_dir: str, name: str) -> bytes:
    """The bytes of a regular file of the store, at most MAX_FILE_BYTES of them."""
    if _BAD_NAME.search(name) is not None:
        raise ArticleError(
            name,
            "the file name has control characters, a backslash or bytes that are not UTF-8; "
            "rename the file",
        )
    path = os.path.join(store_dir, name)
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
            )
        )
    return tuple(links)


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def preview(value: object, limit: int = 60) -> str:
    """A repr-like preview of any YAML value in bounded work: a huge string, a long list or a
    deep mapping costs no more than a small one (reprlib-style, without its whole-value
    sorting and repr of big integers), and the result is at most `limit` characters."""
    text = _preview(value, 2, limit)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_PREVIEW_ITEMS = 4


def _preview(value: object, levels: int, limit: int) -> str:
    if isinstance(value, str | bytes):
        if len(value) <= limit:
            return repr(value)
        shown = repr(value[: max(limit - 3, 1)])  # room for the quotes and "…"
        return f"{shown[:-1]}…{shown[-1]}"  # 'xxxx…'
    if isinstance(value, bool | float) or value is None:
        return repr(value)
    if isinstance(value, int):
        return repr(value) if value.bit_length() <= 128 else f"<a {value.bit_length()}-bit number>"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        if not levels:
            return "{...}" if value else "{}"
        items = [
            f"{_preview(k, levels - 1, limit)}: {_preview(v, levels - 1, limit)}"
            for k, v in islice(value.items(), _PREVIEW_ITEMS)
        ]
        return "{" + ", ".join(items) + (", ..." if len(value) > _PREVIEW_ITEMS else "") + "}"
    if isinstance(value, list | tuple | set | frozenset):
        open_, close = "()" if isinstance(value, tuple) else "[]"
        if not levels:
            return f"{open_}...{close}" if value else open_ + close
        parts = [_preview(v, levels - 1, limit) for v in islice(value, _PREVIEW_ITEMS)]
        more = ", ..." if len(value) > _PREVIEW_ITEMS else ""
        return open_ + ", ".join(parts) + more + close
    return f"<{type(value).__name__}>"
