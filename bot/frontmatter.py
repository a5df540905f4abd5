"""A store file's text layer: the `---` fences, the YAML of its front matter under the
limits on hostile files (no anchors or aliases, nesting at most 32, integers within 64
bits), the write-back of `published:` (bytes in, bytes out), and the one-line error
that names a bad file. `articles.py` builds the `Article` from what this reads.
"""

from __future__ import annotations

import contextlib
import re
from datetime import date, datetime
from itertools import islice
from typing import Any, AnyStr

import yaml

try:  # libyaml is ten times faster; say so loudly rather than slow down silently.
    from yaml import CSafeLoader as _Loader

    FAST_YAML = True
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

    FAST_YAML = False


# The limits on a front matter. Past them a file is a bad file like any other.
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
BAD_NAME = re.compile(
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


# What a terminal must never receive raw from text of several lines: everything above but
# the newline and the tab that lay the text out (ESC starts a control sequence, BEL rings,
# a carriage return overwrites the line, U+009B is a one-byte CSI).
_UNSAFE_ON_TERMINAL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)


def terminal_text(text: str) -> str:
    """Text as it may be written to a terminal (the command line, the console, the log):
    its lines kept, every control character escaped (`\\x1b`, `\\r`, `\\u202e`)."""
    return _UNSAFE_ON_TERMINAL.sub(_escape, text)


class ArticleError(ValueError):
    """A store file that cannot be served; the message names the file and the field or line.

    The message is one line of bounded length whatever the file's name or content.
    """

    def __init__(self, source: str, problem: str) -> None:
        problem = one_line(problem)
        super().__init__(f"{printable_name(source)}: {problem}")
        self.source = source
        self.problem = problem


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


class _Unusual(Exception):
    """A plain front matter with something `_value` leaves to PyYAML (a merge key, a
    collection as a key): rare, so it is simply read again the generic way."""


_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_ONLY_GENERIC = ("tag:yaml.org,2002:merge", "tag:yaml.org,2002:value")


def _load_plain(front: str) -> Any:
    """A front matter in plain block style (no anchor, alias, tag or flow collection, as
    `_needs_structure_check` found), built straight from libyaml's nodes: the same values as
    `yaml.load`, for about two thirds of its cost (PyYAML's generic constructor is pure Python
    and the larger part of a load)."""
    loader = _ArticleLoader(front)
    try:
        node = loader.get_single_node()
        return None if node is None else _value(loader, node)
    except _Unusual:
        return yaml.load(front, Loader=_ArticleLoader)
    finally:
        loader.dispose()


def _value(loader: _ArticleLoader, node: yaml.Node) -> Any:
    kind = type(node)
    if kind is yaml.ScalarNode:
        if node.tag == _STR:
            return node.value
        if node.tag == _INT:
            return _bounded_int(loader, node)  # type: ignore[arg-type]
        construct = loader.yaml_constructors.get(node.tag)
        if construct is None or node.tag in _ONLY_GENERIC:
            raise _Unusual
        return construct(loader, node)
    if kind is yaml.SequenceNode:
        return [_value(loader, item) for item in node.value]
    if kind is yaml.MappingNode:
        mapping = {}
        for key, item in node.value:
            if type(key) is not yaml.ScalarNode or key.tag in _ONLY_GENERIC:
                raise _Unusual
            mapping[_value(loader, key)] = _value(loader, item)
        return mapping
    raise _Unusual


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
    """YAML-load a front-matter block into a mapping, naming the file line of any error
    (`load_yaml`'s limits)."""
    data = load_yaml(front, source)
    if not isinstance(data, dict):
        raise ArticleError(source, "the front matter is not a mapping of fields")
    return data


def load_yaml(front: str, source: str) -> Any:
    """YAML-load store text (a front matter, or the store's providers.yaml), naming the
    line of any error: line n of `front`, counted from 0, is file line n + 1.

    Refused as well: anchors and aliases (an alias bomb expands a few hundred bytes into
    gigabytes), nesting deeper than MAX_NESTING, and integers outside 64 bits.
    """
    try:
        if _needs_structure_check(front):
            _check_structure(front)
            data = yaml.load(front, Loader=_ArticleLoader)
        else:
            data = _load_plain(front)
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
    return data


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
