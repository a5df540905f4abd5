"""Test helpers importable from any test module (and from non-fixture code)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

SEED_NAME = "000_b1e94322d9932e65.txt"
SEED_ID = "000_b1e94322d9932e65"
SEED_PATH = Path(__file__).resolve().parents[2] / "seeds" / SEED_NAME


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


# --- reading a Components V2 card back from a message (as a user sees it) ---------------

IS_COMPONENTS_V2 = 1 << 15
TEXT_DISPLAY, SECTION, THUMBNAIL, BUTTON, CONTAINER = 10, 9, 11, 2, 17


def card_components(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every component of a message's card, depth first in reading order (a section's
    texts before its accessory)."""
    found: list[dict[str, Any]] = []

    def walk(components: list[Any]) -> None:
        for component in components:
            if not isinstance(component, dict):
                continue
            found.append(component)
            walk(component.get("components") or [])
            if isinstance(component.get("accessory"), dict):
                walk([component["accessory"]])

    walk(message.get("components") or [])
    return found


def is_card(message: dict[str, Any]) -> bool:
    """Sent as a card: the V2 flag, one container, and no content or embeds beside it."""
    containers = [c for c in message.get("components") or [] if c.get("type") == CONTAINER]
    return (
        bool(int(message.get("flags") or 0) & IS_COMPONENTS_V2)
        and len(containers) == 1
        and not message.get("content")
        and not message.get("embeds")
    )


def card_texts(message: dict[str, Any]) -> list[str]:
    """The card's text displays, in order."""
    return [str(c["content"]) for c in card_components(message) if c.get("type") == TEXT_DISPLAY]


def card_text(message: dict[str, Any]) -> str:
    """All of the card's text, one display a paragraph."""
    return "\n\n".join(card_texts(message))


def card_buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every button of the card (in rows and as section accessories), in order."""
    return [c for c in card_components(message) if c.get("type") == BUTTON]


def card_button(message: dict[str, Any], label: str) -> dict[str, Any]:
    """The one button labelled `label`."""
    [button] = [b for b in card_buttons(message) if b.get("label") == label]
    return button


def card_pictures(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(the section's text, the picture's URL) for each section with a thumbnail: which
    picture is shown beside which text."""
    pictures = []
    for component in card_components(message):
        accessory = component.get("accessory")
        if (
            component.get("type") == SECTION
            and isinstance(accessory, dict)
            and accessory.get("type") == THUMBNAIL
        ):
            texts = [str(c.get("content", "")) for c in component.get("components") or []]
            pictures.append(("\n".join(texts), str(accessory["media"]["url"])))
    return pictures
