"""What a follow or a feed filter asks for: the `/search` language plus exclusions.

A query is words, "quoted phrases" and `prefix*`, all required, as `/search` reads them
(`ranking.query_terms`, `ranking.tokens`), plus `-word`, `-"phrase"` and `-prefix*`, none
of which may appear. A `-` excludes only at the start of a term (`gpt-4` is a phrase);
`/search` itself has no exclusions and reads `-"a b"` as the words `a` and `b`. Nothing
typed is ever syntax beyond that: no regex, no markdown, no mentions; every other
character is a separator between words (so `@everyone` is the word `everyone`).

A saved query is kept in its canonical form (`FollowQuery.text`): folded words, each term
once, required terms then excluded ones, each group sorted. The same follow typed twice
(`AI -Crypto "open source"`, `"open  source" ai -crypto`) is one text, `ai open-source
-crypto`, so a store can make it unique, and reading that text back gives the same query.
The canonical form is no longer than what was typed (bar letters that fold into two, as
Tibetan གྷ does), and never longer than MAX_CHARS, so it passes the same limits.

Limits, so a saved query costs a bounded amount to store and to match: MAX_CHARS
characters typed and MAX_TERMS distinct terms. A query that breaks a rule raises
`BadQuery`, whose message is the sentence to show the member.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from bot.store import ranking

MAX_CHARS = ranking.QUERY_MAX  # what /search reads, and the command option's max_length
MAX_TERMS = ranking.MAX_PHRASES  # distinct terms, required and excluded together
# One term as /search splits a query (ranking's _TERM), with an optional leading `-`: a
# quoted phrase (up to the next quote, across spaces) or a run of non-space characters.
_CHUNK = re.compile(r'(-?)("[^"]*"|\S+)')


class BadQuery(ValueError):
    """A query that cannot be saved; `str(error)` is the sentence that says why."""


class Term(NamedTuple):
    """One required or excluded term: its folded words; with `prefix`, the last word is a
    prefix (`chip*`). A word is letters and digits only, so a term is plain text."""

    words: tuple[str, ...]
    prefix: bool

    @property
    def text(self) -> str:
        """The term in the query language: `word`, `word*`, `open-source` or `e-mail*`.

        Words are joined by a hyphen, not quoted: `/search` reads a hyphenated word as a
        phrase too, a prefix cannot be quoted (a quote ends a term), and the text is never
        longer than what was typed (`"a b"` for `a.b` would be)."""
        return "-".join(self.words) + ("*" if self.prefix else "")

    def phrase(self) -> ranking.Phrase:
        """The search engine's phrase for this term, which counts its hits in a column."""
        return ranking.Phrase(self.text, self.words, self.prefix)


@dataclass(frozen=True, slots=True)
class FollowQuery:
    """A valid query (made by `parse`): at least one required term, each group sorted, no
    term twice, none both required and excluded."""

    required: tuple[Term, ...]
    excluded: tuple[Term, ...] = ()

    @classmethod
    def parse(cls, typed: str) -> FollowQuery:
        """The query a member typed, or `BadQuery` saying what is wrong with it.

        The length is checked first, so a huge input costs nothing to refuse."""
        if len(typed) > MAX_CHARS:
            raise _too_long(len(typed))
        required: dict[Term, None] = {}
        excluded: dict[Term, None] = {}
        for minus, chunk in _CHUNK.findall(typed):
            for raw, prefix in ranking.query_terms(chunk):
                words = tuple(ranking.tokens(raw))
                if words:
                    (excluded if minus else required)[Term(words, prefix)] = None
        if not required and not excluded:
            raise BadQuery("There is nothing to look for in that search: type a word or a phrase.")
        if not required:
            raise BadQuery(
                "A search to follow needs at least one word to look for, "
                "not only words to leave out (-word)."
            )
        if len(required) + len(excluded) > MAX_TERMS:
            raise BadQuery(
                f"A search to follow can have at most {MAX_TERMS} words or phrases; "
                f"this one has {len(required) + len(excluded)}."
            )
        both = [term for term in required if term in excluded]
        if both:
            raise BadQuery(
                f"{both[0].text} is both looked for and left out, so nothing could match."
            )
        query = cls(_sorted(required), _sorted(excluded))
        if len(query.text) > MAX_CHARS:  # a letter that folds into two (Tibetan གྷ)
            raise _too_long(len(query.text))
        return query

    @property
    def text(self) -> str:
        """The canonical form: what to store, compare and show (`parse` reads it back)."""
        return " ".join([t.text for t in self.required] + ["-" + t.text for t in self.excluded])

    def matches(self, columns: tuple[str, ...]) -> bool:
        """Whether a story's searchable columns (`ranking.COLUMNS`, uncut) hold every
        required term and no excluded one: the query run on its own, as the search engine
        decides a match (`ranking.score`), in each column's first FIELD_CHARS."""
        folded = [ranking.fold(text) for text in ranking.searched(columns)]

        def found(term: Term) -> bool:
            phrase = term.phrase()
            return any(phrase.pattern.search(text) for text in folded)

        return all(map(found, self.required)) and not any(map(found, self.excluded))


def _too_long(length: int) -> BadQuery:
    return BadQuery(
        f"A search to follow can be at most {MAX_CHARS} characters long; this one has {length:,}."
    )


def _sorted(terms: dict[Term, None]) -> tuple[Term, ...]:
    return tuple(sorted(terms, key=lambda t: t.text))
