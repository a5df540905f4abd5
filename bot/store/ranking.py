"""What a search means and how its results rank, independent of any engine.

A query is words and "quoted phrases" (a trailing `*` makes a word a prefix), all of
which must match. Ranking is SQLite FTS5's bm25, computed the same way over the whole
article: each phrase's hits are weighted by column (title > excerpt > topics > provider)
and summed, the sum saturates with k1 and is normalised by the article's length, and
words found in most articles count (almost) nothing. Quality, then recency, break ties.
The search index (search_index.py) only proposes candidates; this module decides.

What a reader types costs a bounded amount: a query keeps the first MAX_PHRASES distinct
phrases of its first QUERY_MAX characters, and each column is searched and scored in its
first FIELD_CHARS characters (the search index holds the same cut), so a 1 MiB excerpt costs
what a short one does.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from bot.articles import encodable

COLUMNS = ("title", "excerpt", "provider_name", "topics")
WEIGHTS = (10.0, 4.0, 2.0, 3.0)  # title > excerpt > topics > provider (FTS5's bm25 weights)
K1 = 1.2
B = 0.75
_FLOOR_IDF = 1e-6  # FTS5's idf for a word in more than half the articles
QUERY_MAX = 200  # characters of a query read (the /search option's max_length)
MAX_PHRASES = 16  # distinct words or phrases of a query; the rest are ignored
# Characters of each column searched and scored: an embed shows at most 4,096 of a field,
# and the cut bounds what one candidate costs to fold and count (it was its whole text).
FIELD_CHARS = 4096

_WORD = re.compile(r"[^\W_]+")  # letters and digits: unicode61's token characters
# Beyond ASCII, Latin-1 symbols and general punctuation (· ’ —): what may need folding.
_ACCENTED = re.compile(r"[^\x00-\xbf\u2000-\u206f]")
_TERM = re.compile(r'"([^"]*)"|(\S+)')


def query_terms(text: str) -> Iterator[tuple[str, bool]]:
    """(text, prefix) for each word or "quoted phrase" of what a reader typed.

    A trailing `*` on a word keeps its prefix meaning; every other character is data.
    Terms without a letter or digit are dropped (they match nothing); a lone surrogate
    (which no stored text holds) becomes a separator."""
    text = encodable(text)
    for phrase, word in _TERM.findall(text):
        raw = phrase or word
        prefix = bool(word) and len(word) > 1 and word.endswith("*")
        if prefix:
            raw = raw.rstrip("*")
        if any(ch.isalnum() for ch in raw):
            yield raw, prefix


def fold(text: str) -> str:
    """Text as FTS5's unicode61 tokenizer (remove_diacritics 2) compares it: lower-cased,
    accents removed."""
    if _ACCENTED.search(text):
        decomposed = unicodedata.normalize("NFD", text)
        text = unicodedata.normalize(
            "NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        )
    return text.lower()


def tokens(text: str) -> list[str]:
    """Words as unicode61 sees them: the runs of letters and digits of the folded text."""
    return _WORD.findall(fold(text))


@dataclass(frozen=True, slots=True)
class Phrase:
    """Consecutive words in one column; with `prefix`, the last word is a prefix."""

    text: str  # as typed, for the engine's own analyser
    words: tuple[str, ...]
    prefix: bool
    pattern: re.Pattern[str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Where the phrase starts: a word's start, then its words with any separators
        # between them; a lookahead, so overlapping occurrences ("the the" in
        # "the the the") count as unicode61's token positions do.
        body = r"[\W_]+".join(re.escape(w) for w in self.words)
        end = "" if self.prefix else r"(?![^\W_])"
        object.__setattr__(self, "pattern", re.compile(rf"(?<![^\W_])(?={body}{end})"))

    def hits(self, folded: str) -> int:
        """How many times the phrase occurs in a column's folded text (`fold`)."""
        return len(self.pattern.findall(folded))


def parse(text: str) -> list[Phrase]:
    """The distinct phrases of a query, at most MAX_PHRASES; empty when nothing in it is
    searchable. A repeated phrase matches nothing more, so it is counted once."""
    phrases: dict[tuple[tuple[str, ...], bool], Phrase] = {}
    for raw, prefix in query_terms(text[:QUERY_MAX]):
        words = tuple(tokens(raw))
        if words and (words, prefix) not in phrases:
            phrases[words, prefix] = Phrase(raw, words, prefix)
            if len(phrases) == MAX_PHRASES:
                break
    return list(phrases.values())


def idf(documents: int, matching: int) -> float:
    """FTS5's idf: a word in more than half the articles weighs (almost) nothing."""
    value = math.log((documents - matching + 0.5) / (matching + 0.5))
    return value if value > 0 else _FLOOR_IDF


def score(
    phrases: Sequence[Phrase],
    idfs: Sequence[float],
    columns: Sequence[str],
    length: int,
    avg_length: float,
) -> float | None:
    """bm25 of one article (higher is better) of `length` words, or None when a phrase is
    missing from it (from the searched part of each column, see `searched`)."""
    folded = [fold(text) for text in searched(columns)]
    norm = K1 * (1 - B + B * length / avg_length) if avg_length else K1
    total = 0.0
    for phrase, weight in zip(phrases, idfs, strict=True):
        freq = sum(w * phrase.hits(col) for col, w in zip(folded, WEIGHTS, strict=True))
        if not freq:
            return None
        total += weight * freq * (K1 + 1) / (freq + norm)
    return total


def searched(columns: Sequence[str]) -> tuple[str, ...]:
    """The part of each column that is indexed and scored: its first FIELD_CHARS."""
    return tuple(text[:FIELD_CHARS] for text in columns)


def length(columns: Sequence[str]) -> int:
    """An article's length in words, as bm25 normalises it (its searched part)."""
    return sum(len(tokens(text)) for text in searched(columns))
