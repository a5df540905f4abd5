"""Pictures in article files: the first valid entry of an `images` list (the article's
own, or a related item's), or why each entry before it was dropped.

A picture is optional and the file is not trusted: a bad entry is a warning naming the
file and the field, never a refused article, and a list of thousands costs what ten do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

# An `images` entry: an https URL of at most this many characters, with a host and no
# whitespace or control characters; a width or height the database's INTEGER columns hold on
# both backends (PostgreSQL's are 32-bit), else 0.
MAX_IMAGE_URL = 2048
MAX_IMAGE_SIDE = 2**31 - 1
# Entries of one `images` list looked at for its first valid one: a hostile list of
# thousands costs no more than a short one.
IMAGES_READ = 10
_SPACE = re.compile(r"\s")


@dataclass(frozen=True, slots=True)
class Image:
    """A picture of an article or of a related item: an https URL and its size in pixels
    (0 when the file does not say)."""

    url: str
    width: int = 0
    height: int = 0


def first_image(value: object, where: str, warnings: list[str]) -> Image | None:
    """The first valid entry of an `images` list (None when it has none).

    A picture is optional: a bad one never refuses the article. Each entry dropped before
    the first valid one, a value that is not a list and a list too long to read whole are
    each a warning starting with `where` (the file and the field). At most IMAGES_READ
    entries are looked at.
    """
    if value is None:
        return None
    if not isinstance(value, list):
        warnings.append(f"{where}: dropped (not a list)")
        return None
    if len(value) > IMAGES_READ:
        warnings.append(f"{where}: {len(value):,} entries, only the first {IMAGES_READ} are read")
    for index, entry in enumerate(value[:IMAGES_READ]):
        image = _image(entry)
        if isinstance(image, Image):
            return image
        warnings.append(f"{where}[{index}]: dropped ({image})")
    return None


def _image(entry: object) -> Image | str:
    """An `images` entry as an `Image`, or what is wrong with it."""
    if not isinstance(entry, dict):
        return "not a mapping"
    url = entry.get("url")
    if url is None or url == "":
        return "no url"
    if not isinstance(url, str):
        return "url is not text"
    if len(url) > MAX_IMAGE_URL:
        return f"url is longer than {MAX_IMAGE_URL:,} characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return "url is not a valid URL"
    if parts.scheme != "https":
        return "url is not https"
    if not url.isprintable() or _SPACE.search(url) or not parts.hostname:
        return "url is not a valid https URL"
    url = "https" + url[len("https") :]  # "HTTPS://…" kept as "https://…", as shown
    return Image(url, _side(entry.get("width")), _side(entry.get("height")))


def _side(value: object) -> int:
    """A width or height in pixels; anything else (missing, a bool, negative, text) is 0."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_IMAGE_SIDE:
        return value
    return 0
