"""The `story_keys` table's rows: the keys (normalised URLs, near-duplicate bands) that
find each live article's story, with its time. Written for each batch (`insert`), and by
a re-cluster: only what changed (`replace_changed`), or all anew (`rebuild`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from bot.store.database import Database
from bot.stories import Member

ROWS_PER_INSERT = 200  # story_keys rows per INSERT statement (600 parameters)
COMPARED = 5000  # articles whose stored keys a re-cluster reads at a time


async def replace_changed(db: Database, keys: dict[int, tuple[int, Sequence[str]]]) -> None:
    """Keys made by this VERSION: only the articles whose keys differ are rewritten (read
    a slice of articles at a time: 2,000,000 rows at once would take a gigabyte)."""
    rowids = sorted(keys)
    for at in range(0, len(rowids), COMPARED):
        part = rowids[at : at + COMPARED]
        stored: dict[int, set[tuple[str, int]]] = {}
        for key, published_at, rowid in await db.fetch_tuples(
            "SELECT key, published_at, article_rowid FROM story_keys "
            "WHERE article_rowid BETWEEN ? AND ?",
            (part[0], part[-1]),
        ):
            stored.setdefault(rowid, set()).add((key, published_at))
        stale = [
            rowid
            for rowid in part
            if stored.get(rowid, set()) != {(key, keys[rowid][0]) for key in keys[rowid][1]}
        ]
        await db.executemany(
            "DELETE FROM story_keys WHERE article_rowid = ?", [(r,) for r in stale]
        )
        await insert(db, [(k, keys[r][0], r) for r in stale for k in keys[r][1]])


async def rebuild(db: Database, ordered: list[list[tuple[str, int, int]]]) -> None:
    """Every key anew (after an upgrade, or made by another VERSION): written in key
    order (`in_key_order`) with the article index set aside (made again in one pass), as
    a bulk load does; 1.9 M rows at 100,000 articles."""
    await db.execute("DROP INDEX story_keys_article")
    await db.execute("DELETE FROM story_keys")
    for part in ordered:
        await insert(db, part)
    # as the migration (SQLite 12, PostgreSQL 9) made it
    await db.execute("CREATE INDEX story_keys_article ON story_keys (article_rowid)")


def in_key_order(
    rows: Sequence[tuple[Any, ...]], members: Sequence[Member]
) -> list[list[tuple[str, int, int]]]:
    """Every story_keys row, sorted, a key prefix per list (no one list of them all)."""
    by_prefix: dict[str, list[tuple[str, int, int]]] = {}
    for row, member in zip(rows, members, strict=True):
        for key in member.keys:
            by_prefix.setdefault(key[:2], []).append((key, member.published_at, row[0]))
    return [sorted(by_prefix.pop(prefix)) for prefix in sorted(by_prefix)]


async def insert(db: Database, rows: Iterable[tuple[str, int, int]]) -> None:
    """Many rows per statement: 2,000,000 keys of a full re-cluster in seconds."""
    flat = list(rows)
    full, rest = divmod(len(flat), ROWS_PER_INSERT)
    sql = "INSERT INTO story_keys (key, published_at, article_rowid) VALUES {} " + (
        "ON CONFLICT DO NOTHING"
    )
    many = sql.format(", ".join(["(?, ?, ?)"] * ROWS_PER_INSERT))
    params = [
        [v for row in flat[i * ROWS_PER_INSERT : (i + 1) * ROWS_PER_INSERT] for v in row]
        for i in range(full)
    ]
    await db.executemany(many, params)
    if rest:
        tail = [v for row in flat[full * ROWS_PER_INSERT :] for v in row]
        await db.execute(sql.format(", ".join(["(?, ?, ?)"] * rest)), tail)
