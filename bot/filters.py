"""Feed filters, for channels: what `/feed add filter:` takes, and why a story missed one.

A filter is a query in the follow language (`bot.follow_query`: the `/search` words,
"phrases" and `prefix*`, all required, plus `-word`, `-"phrase"` and `-prefix*` to leave
out; no regex, no markdown, no mentions). It is saved as its canonical text, and a story is
queued for a filtered feed only if it matches (`bot.store.feed_filters`, at queueing time).
`filter:-` clears a feed's filter; `/feed add` without `filter:` keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.follow_query import BadQuery, FollowQuery, Term
from bot.matcher import Story
from bot.store import ranking

CLEAR = "-"  # `filter:-`: no filter (a lone "-" is no query: nothing to look for)


@dataclass(frozen=True, slots=True)
class Miss:
    """Why a story does not match a filter: a required term it lacks, or an excluded one
    it holds (`term` in the query language, e.g. `chip*`, `open-source`)."""

    term: str
    excluded: bool


def read_filter(typed: str | None) -> str | None:
    """What `/feed add` saves: None (keep the feed's filter), "" (clear it, `filter:-`) or
    the canonical text; a query that cannot be saved raises `BadQuery` (its sentence)."""
    if typed is None:
        return None
    if typed.strip() == CLEAR:
        return ""
    return FollowQuery.parse(typed).text


def miss(filter_text: str, story: Story) -> Miss | None:
    """Why the story does not match the filter, or None when it does: the first required
    term (in the canonical order) it lacks, else the first excluded term it holds. Checked
    as the matcher and `/search` check a match: folded columns, each cut at FIELD_CHARS."""
    try:
        query = FollowQuery.parse(filter_text)
    except BadQuery:  # a text /feed add never saved: it matches nothing
        return Miss(filter_text, excluded=False)
    folded = [ranking.fold(text) for text in ranking.searched(story.columns)]

    def found(term: Term) -> bool:
        phrase = term.phrase()
        return any(phrase.pattern.search(text) for text in folded)

    for term in query.required:
        if not found(term):
            return Miss(term.text, excluded=False)
    for term in query.excluded:
        if found(term):
            return Miss(term.text, excluded=True)
    return None
