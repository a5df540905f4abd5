"""PostgreSQL's `tsvector` for title autocomplete (the title is weight A); ranked search
goes through the search index (search_index.py) as on SQLite. The query is built here
from escaped lexemes only: raw text never reaches `to_tsquery`."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.store.database import Database
from bot.store.ranking import query_terms

_WORD = re.compile(r"[^\W_]+")  # letters and digits: the words the schema indexes
_SURROGATE = re.compile("[\ud800-\udfff]")
_MAX_LEXEME = 1000
_CONFIG = "'newsbot_search'"


def clean(text: str) -> str:
    """PostgreSQL text holds no NUL and no lone surrogate: such a character (only ever in
    typed input: stored articles cannot hold one) becomes U+FFFD, so it matches nothing."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    if not text.isascii():
        text = _SURROGATE.sub("\ufffd", text)
    return text


async def title_prefix_ids(db: Database, words: Sequence[str], limit: int) -> list[int] | None:
    """Visible articles whose title has every word as a prefix, newest rows first."""
    tsquery = ts_query(" ".join(w + "*" for w in words), weight="A")
    if tsquery is None:
        return None
    rows = await db.fetch_tuples(
        f"SELECT rowid FROM articles WHERE visible = 1 AND search @@ to_tsquery({_CONFIG}, ?) "
        "ORDER BY rowid DESC LIMIT ?",
        [tsquery, limit],
    )
    return [int(r[0]) for r in rows]


def ts_query(text: str, *, weight: str = "") -> str | None:
    """Any user text as a safe tsquery: each word or "quoted phrase" a phrase of lexemes
    (letters and digits, quoted and escaped), ANDed; a trailing `*` keeps its prefix meaning.
    None when nothing searchable is left. Raw text never reaches `to_tsquery`."""
    terms: list[str] = []
    text = clean(text.replace("\x00", " "))
    for raw, prefix in query_terms(text):
        lexemes = [w for w in _WORD.findall(raw) if len(w) <= _MAX_LEXEME]
        if not lexemes:
            continue
        quoted = [_lexeme(w) + (":" + weight if weight else "") for w in lexemes]
        if prefix:
            quoted[-1] = _lexeme(lexemes[-1]) + ":*" + weight
        term = " <-> ".join(quoted)
        if term not in terms:
            terms.append(term)
    return " & ".join(f"({t})" for t in terms) if terms else None


def _lexeme(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"
