"""Full FTS5 scoring over a store database: the ranking readers had before the search
index (bm25 over every match, title 10 > excerpt 4 > topics 3 > provider 2, then quality,
then recency), kept as the reference the index is measured against."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

from bot.store.ranking import query_terms


def reference(db: Path) -> sqlite3.Connection:
    """A connection to `db` with a temporary FTS5 index `ref` of its visible articles."""
    conn = sqlite3.connect(db)
    conn.execute(
        "CREATE VIRTUAL TABLE temp.ref USING fts5 (title, excerpt, provider_name, topics, "
        "tokenize = 'unicode61 remove_diacritics 2')"
    )
    conn.execute(
        "INSERT INTO temp.ref (rowid, title, excerpt, provider_name, topics) "
        "SELECT rowid, title, excerpt, provider_name, topics FROM articles WHERE visible = 1"
    )
    conn.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(temp, ref, row)")
    return conn


def match(text: str) -> str | None:
    """What a reader typed as an FTS5 query: each word or "phrase" quoted, prefixes kept."""
    terms = [
        '"' + raw.replace('"', '""') + '"' + ("*" if prefix else "")
        for raw, prefix in query_terms(text)
    ]
    return " ".join(terms) if terms else None


def top(conn: sqlite3.Connection, query: str, size: int) -> list[str]:
    """Article ids of the best `size` matches, as full FTS5 scoring ranks them."""
    rows = conn.execute(
        "SELECT a.id FROM temp.ref f JOIN articles a ON a.rowid = f.rowid WHERE ref MATCH ? "
        "ORDER BY bm25(ref, 10.0, 4.0, 2.0, 3.0), a.quality DESC, a.published_at DESC "
        "LIMIT ?",
        [match(query), size],
    ).fetchall()
    return [r[0] for r in rows]


def vocabulary(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    """(word, articles that have it) for every indexed word."""
    return conn.execute("SELECT term, doc FROM temp.vocab").fetchall()


def sample_queries(conn: sqlite3.Connection) -> list[str]:
    """200 queries from the corpus vocabulary: common words (in 15–60% of articles), rare
    ones, pairs, a common word with a rare one, phrases and prefixes."""
    vocab = [(t, n) for t, n in vocabulary(conn) if len(t) > 1]
    documents = conn.execute("SELECT count(*) FROM articles WHERE visible = 1").fetchone()[0]
    common = sorted(t for t, n in vocab if 0.15 * documents <= n <= 0.6 * documents)
    rare = sorted(t for t, n in vocab if 3 <= n < 0.15 * documents)
    assert len(common) >= 5 and len(rare) >= 50
    pick = random.Random(5).choice
    return (
        [pick(common) for _ in range(50)]
        + [pick(rare) for _ in range(60)]
        + [f"{pick(common)} {pick(common)}" for _ in range(30)]
        + [f"{pick(common)} {pick(rare)}" for _ in range(30)]
        + [f'"{pick(common)} {pick(common)}"' for _ in range(10)]
        + [pick(rare)[:3] + "*" for _ in range(20)]
    )
