"""Test helpers importable from any test module (and from non-fixture code)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

SEED_NAME = "000_b1e94322d9932e65.txt"
SEED_ID = "000_b1e94322d9932e65"
SEED_PATH = Path(__file__).resolve().parents[2] / "seeds" / SEED_NAME


FAST = os.environ.get("NEWSBOT_TESTS") == "fast"  # `make test-fast`, the inner loop


def examples(count: int) -> int:
    """How many examples a property tries: all of them in `make test` (and CI), a tenth
    (at least 20) in `make test-fast`."""
    return max(20, count // 10) if FAST else count


def article_text(name: str = "article", *, body: str = "", **fields: Any) -> str:
    """The text of a well-formed article file; a field given as None is left out."""
    stem = name.rsplit(".", 1)[0] if "." in name else name
    data: dict[str, Any] = {
        "title": f"Title of {stem}",
        "webUrl": f"https://example.com/news/{stem}",
        "publishedDateTime": "2024-01-01T12:00:00Z",
        "excerpt": f"Excerpt of {stem}.",
        "quality": 10,
        "published": False,
        "provider": {"name": "Example News", "domain": "example.com"},
        "topics": ["World"],
    }
    data.update(fields)
    data = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in data.items()}
    data = {k: v for k, v in data.items() if v is not None}
    front = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return f"---\n{front}---\n{body}"


def write_article(
    folder: Path,
    name: str,
    *,
    body: str = "",
    mtime: float | None = None,
    **fields: Any,
) -> Path:
    """Write a well-formed article file `folder/name` (".txt" added when there is no suffix).

    Fields are front-matter keys as written in the file (`title`, `webUrl`,
    `publishedDateTime`, `published`, `topics`, ...); None leaves a field out.
    `mtime` (seconds since the epoch) sets the file's modification time.
    """
    if not name.endswith((".txt", ".md")):
        name += ".txt"
    path = Path(folder) / name
    path.write_text(article_text(name, body=body, **fields), encoding="utf-8")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


# --- a Components V2 card, read back from a message as Discord stored it (or a request's
# JSON): what a reader sees, without depending on how the card is laid out.

IS_COMPONENTS_V2 = 1 << 15  # the message flag
ACTION_ROW, BUTTON, SECTION, TEXT_DISPLAY, THUMBNAIL, CONTAINER = 1, 2, 9, 10, 11, 17
LINK_BUTTON = 5  # a button's style
_HEADING = re.compile(r"^#{1,3} (?:\[(?P<linked>.*)\]\((?P<url>[^)]*)\)|(?P<plain>.*))$")


def ai_store(folder: Path, published: int = 12, drafts: int = 3) -> None:
    """`published` AI articles dated day 1..n (newer = higher number), plus AI drafts
    ("Secret draft N", dated February N+1): the reader and moderator tests' store."""
    folder.mkdir(exist_ok=True)
    for day in range(1, published + 1):
        write_article(
            folder,
            f"pub{day:02d}",
            published=True,
            topics=["AI"],
            title=f"Published story {day}",
            publishedDateTime=f"2024-01-{day:02d}T10:00:00Z",
        )
    for n in range(drafts):
        write_article(
            folder,
            f"draft{n}",
            published=False,
            topics=["AI"],
            title=f"Secret draft {n}",
            publishedDateTime=f"2024-02-{n + 1:02d}T10:00:00Z",
        )


def components(message: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every component of the message, depth first: inside rows, containers and sections,
    and a section's accessory after its texts."""

    def walk(items: list[Any]) -> Iterator[dict[str, Any]]:
        for item in items:
            yield item
            yield from walk(list(item.get("components") or []))
            if item.get("accessory"):
                yield from walk([item["accessory"]])

    yield from walk(list(message.get("components") or []))


def is_card(message: Mapping[str, Any]) -> bool:
    """Sent (or stored) with the V2 flag, as one container (a ping's text may sit above it)."""
    kinds = [c["type"] for c in message.get("components") or []]
    return bool(int(message.get("flags") or 0) & IS_COMPONENTS_V2) and CONTAINER in kinds


def card_container(message: Mapping[str, Any]) -> dict[str, Any]:
    """The card itself: the message's one container."""
    [container] = [c for c in message.get("components") or [] if c["type"] == CONTAINER]
    assert isinstance(container, dict)
    return container


def card_texts(message: Mapping[str, Any]) -> list[str]:
    """The text of every text display, in reading order."""
    return [c["content"] for c in components(message) if c["type"] == TEXT_DISPLAY]


def card_headline(message: Mapping[str, Any]) -> tuple[str, str | None]:
    """The card's headline as shown (its first heading line) and the URL it links to."""
    for text in card_texts(message):
        match = _HEADING.match(text.split("\n", 1)[0])
        if match:
            return match["linked"] or match["plain"] or "", match["url"]
    raise AssertionError(f"no headline in {card_texts(message)}")


def card_title(message: Mapping[str, Any]) -> str:
    return card_headline(message)[0]


def card_buttons(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [c for c in components(message) if c["type"] == BUTTON]


def card_link(message: Mapping[str, Any]) -> str | None:
    """Where the card's Read button (its first link button) goes."""
    links = [b["url"] for b in card_buttons(message) if b.get("style") == LINK_BUTTON]
    return links[0] if links else None


def card_thumbnails(message: Mapping[str, Any]) -> list[str]:
    return [c["media"]["url"] for c in components(message) if c["type"] == THUMBNAIL]


# --- a database from before story cards ----------------------------------------------------

_CARDS_COLUMNS = (
    ("articles", "image_url"),
    ("articles", "image_width"),
    ("articles", "image_height"),
    ("related", "image_url"),
    ("related", "image_width"),
    ("related", "image_height"),
    ("subscriptions", "style"),
    ("outbox", "style"),
    ("digests", "style"),
)


# What each migration after the cards' one added, undone, newest first: the live processes
# (SQLite 13, PostgreSQL 10), stories (12, 9), personal news (11, 8), then feed filters
# (10, 7).
AFTER_CARDS_MIGRATIONS = 4
AFTER_CARDS = (
    "DROP TABLE processes;",
    "DROP TABLE story_pins;",
    "DROP TABLE story_keys;",
    "DROP INDEX articles_story;",
    "ALTER TABLE articles DROP COLUMN story_signature;",
    "ALTER TABLE articles DROP COLUMN story;",
    "ALTER TABLE subscriptions DROP COLUMN updates;",
    "DROP INDEX outbox_lead;",
    "ALTER TABLE outbox DROP COLUMN thread_id;",
    "ALTER TABLE outbox DROP COLUMN lead_id;",
    "ALTER TABLE outbox DROP COLUMN updates;",
    "DROP TABLE alerts;",
    "DROP TABLE follows;",
    "DROP TABLE follows_version;",
    "ALTER TABLE subscriptions DROP COLUMN filter;",
)


def undo_cards_schema(backend: str) -> str:
    """SQL taking a database back to the schema before story cards (SQLite's migration 9,
    PostgreSQL's 6), as a bot before cards left it: the next open upgrades it again.
    The migrations after it are undone first (`AFTER_CARDS`; checked: one more fails here)."""
    from bot.store import schema

    steps = schema.steps("sqlite" if backend == "sqlite" else "postgres")
    [cards] = [n for n, step in steps.items() if "subscriptions ADD COLUMN style" in step]
    assert cards + AFTER_CARDS_MIGRATIONS == len(steps), "undo the later migrations too"
    undo = list(AFTER_CARDS)
    undo += [f"ALTER TABLE {table} DROP COLUMN {column};" for table, column in _CARDS_COLUMNS]
    undo.append("DROP TABLE saves;")
    if backend == "sqlite":
        undo.append(f"PRAGMA user_version = {cards - 1};")
    else:
        undo.append("DELETE FROM schema_version;")  # a fresh database has one row
        undo.append(f"INSERT INTO schema_version (version) VALUES ({cards - 1});")
    return "\n".join(undo)
