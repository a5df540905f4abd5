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
