"""Which follows and feed filters a new story matches, without running every query.

Prospective search turns the search index around: the queries are indexed and each new
story is the query. Every saved query is filed under one of its required words, its
rarest (`TermStats`), since a story that matches the query must hold that word as a whole
word (a prefix term is filed under its prefix). A story then looks up only its own words:
the queries filed under them are the candidates, and each candidate is checked exactly
(`ranking.Phrase` over the story's folded columns, each cut at FIELD_CHARS, as `/search`
checks a match). A query nobody follows costs a story nothing; a query filed under a
common word, such as `the` alone, costs a dictionary lookup more for stories that hold it.

A prefix is found by cutting each of the story's words to each prefix length in use and
looking the cut up in a dictionary: a few lookups a word, and adding or removing a query
costs O(1), where a sorted list of prefixes would cost a bisection a word and length
and O(n) to keep sorted.

Identical queries are one entry with many followers, and each distinct phrase is compiled
once for all the queries that use it, so memory grows with the number of follows by a
dictionary entry and a list slot each (and the caller's key), plus a small object per
distinct query and a compiled pattern per distinct phrase: about 2.7 MiB per 10,000
follows in `python -m bench.follows`. Topic follows are a dictionary from `topic_key` to
followers.

Rarity is read when a query is added: statistics that drift later cost speed, never
correctness (a query filed under a word that became common is still checked exactly).
"""

from __future__ import annotations

import sys
from bisect import bisect_left
from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from itertools import accumulate
from typing import Protocol, TypeVar

from bot.articles import TOPIC_SEPARATOR, Article, topic_key
from bot.follow_query import FollowQuery, Term
from bot.store import ranking

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Story:
    """The searchable fields of a story (the columns `/search` reads)."""

    title: str
    excerpt: str = ""
    provider_name: str = ""
    topics: tuple[str, ...] = ()  # display names

    @classmethod
    def of(cls, article: Article) -> Story:
        """What `/search` reads of an article."""
        return cls(article.title, article.excerpt, article.provider_name, article.topics)

    @property
    def columns(self) -> tuple[str, str, str, str]:
        """The story as `ranking.COLUMNS`: topics joined as the articles table holds them."""
        return (self.title, self.excerpt, self.provider_name, TOPIC_SEPARATOR.join(self.topics))


@dataclass(frozen=True, slots=True)
class Topic:
    """A topic follow: a story with that topic matches, in any spelling of its name."""

    name: str


def story_words(story: Story) -> set[str]:
    """The distinct words `/search` finds in a story (folded, each column cut)."""
    return {word for text in ranking.searched(story.columns) for word in ranking.tokens(text)}


class TermStats(Protocol):
    """How common a word is: what decides which word a query is filed under."""

    def documents(self, word: str) -> int:
        """How many stories hold the (folded) word."""
        ...

    def starting(self, prefix: str) -> int:
        """How many stories hold a word starting with `prefix` (an estimate will do)."""
        ...


class CorpusStats:
    """Term statistics counted from a sample of stories, such as the latest 10,000.

    A prefix's count is the sum of its words' counts, found by bisecting the sorted words:
    an upper bound (a story with two such words counts twice), good enough to rank."""

    def __init__(self, stories: Iterable[Story]) -> None:
        counts = Counter(word for story in stories for word in story_words(story))
        self._counts = counts
        self._words = sorted(counts)
        self._sums = [0, *accumulate(counts[word] for word in self._words)]

    def documents(self, word: str) -> int:
        return self._counts.get(word, 0)

    def starting(self, prefix: str) -> int:
        first = bisect_left(self._words, prefix)
        end = bisect_left(self._words, prefix + "\U0010ffff", first)
        return self._sums[end] - self._sums[first]


class _Query:
    """One distinct query, the keys that follow it and where it is filed."""

    __slots__ = ("excluded", "filed", "followers", "prefix", "required", "text")

    def __init__(
        self,
        text: str,
        required: tuple[ranking.Phrase, ...],
        excluded: tuple[ranking.Phrase, ...],
        filed: str,
        prefix: bool,
    ) -> None:
        self.text = text
        self.required = required
        self.excluded = excluded
        self.filed = filed  # the word (or with `prefix`, the prefix) it is filed under
        self.prefix = prefix
        self.followers: list[Hashable] = []


class _Check:
    """One story, as candidates are checked against it: each phrase is looked for once,
    whichever queries share it; a single word is a set lookup in the story's words."""

    def __init__(self, story: Story, words: set[str]) -> None:
        self._columns = ranking.searched(story.columns)
        self._words = words
        self._folded: list[str] | None = None
        self._found: dict[ranking.Phrase, bool] = {}

    def holds(self, phrase: ranking.Phrase) -> bool:
        if len(phrase.words) == 1 and not phrase.prefix:
            return phrase.words[0] in self._words
        found = self._found.get(phrase)
        if found is None:
            if self._folded is None:
                self._folded = [ranking.fold(text) for text in self._columns]
            found = any(phrase.pattern.search(text) for text in self._folded)
            self._found[phrase] = found
        return found

    def passes(self, query: _Query) -> bool:
        return all(map(self.holds, query.required)) and not any(map(self.holds, query.excluded))


class Matcher:
    """Follows and filters under caller-chosen keys (a member's follow, a feed's filter);
    `match` gives the keys a story matches. Not thread-safe: one owner changes and asks."""

    def __init__(self, stats: TermStats) -> None:
        self._stats = stats
        self._of: dict[Hashable, _Query | str] = {}  # key -> its query, or its topic key
        self._queries: dict[str, _Query] = {}  # canonical text -> the query
        self._words: dict[str, list[_Query]] = {}  # filed under a whole word
        self._prefixes: dict[str, list[_Query]] = {}  # filed under a prefix
        self._lengths: Counter[int] = Counter()  # how many prefixes of each length
        self._phrases: dict[Term, ranking.Phrase] = {}  # one compiled phrase, shared
        self._uses: Counter[Term] = Counter()  # distinct queries using each phrase
        self._topics: dict[str, list[Hashable]] = {}  # topic key -> followers

    def __len__(self) -> int:
        """How many keys (follows and filters) there are."""
        return len(self._of)

    @property
    def queries(self) -> int:
        """How many distinct queries are filed (identical follows are one)."""
        return len(self._queries)

    def add(self, key: Hashable, query: FollowQuery | Topic) -> None:
        """Follow `query` under `key`, replacing what `key` followed before."""
        self.remove(key)
        if isinstance(query, Topic):
            topic = sys.intern(topic_key(query.name))
            self._topics.setdefault(topic, []).append(key)
            self._of[key] = topic
            return
        text = query.text
        entry = self._queries.get(text)
        if entry is None:
            entry = self._file(query)
        entry.followers.append(key)
        self._of[key] = entry

    def remove(self, key: Hashable) -> None:
        """Stop following what `key` follows (nothing when it follows nothing)."""
        entry = self._of.pop(key, None)
        if entry is None:
            return
        if isinstance(entry, str):
            _drop(self._topics, entry, key)
            return
        entry.followers.remove(key)
        if not entry.followers:
            self._unfile(entry)

    def match(self, story: Story) -> set[Hashable]:
        """The keys whose query or topic the story matches."""
        words = story_words(story)
        candidates: set[_Query] = set()
        for word in words:
            candidates.update(self._words.get(word, ()))
        for size in self._lengths:
            for start in {word[:size] for word in words if len(word) >= size}:
                candidates.update(self._prefixes.get(start, ()))
        check = _Check(story, words)
        found: set[Hashable] = set()
        for query in candidates:
            if check.passes(query):
                found.update(query.followers)
        for topic in {topic_key(name) for name in story.topics}:
            found.update(self._topics.get(topic, ()))
        return found

    def _file(self, query: FollowQuery) -> _Query:
        """A new distinct query, filed under its rarest required word or prefix."""
        # (stories holding it, is a prefix, word): the rarest, a whole word on a tie
        _, prefix, filed = min(
            (self._stats.starting(word) if last else self._stats.documents(word), last, word)
            for term in query.required
            for i, word in enumerate(term.words)
            for last in [term.prefix and i == len(term.words) - 1]
        )
        entry = _Query(
            sys.intern(query.text),
            tuple(map(self._phrase, query.required)),
            tuple(map(self._phrase, query.excluded)),
            sys.intern(filed),
            prefix,
        )
        self._queries[entry.text] = entry
        (self._prefixes if prefix else self._words).setdefault(entry.filed, []).append(entry)
        if prefix:
            self._lengths[len(filed)] += 1
        return entry

    def _unfile(self, entry: _Query) -> None:
        del self._queries[entry.text]
        _drop(self._prefixes if entry.prefix else self._words, entry.filed, entry)
        if entry.prefix:
            self._lengths[len(entry.filed)] -= 1
            if not self._lengths[len(entry.filed)]:
                del self._lengths[len(entry.filed)]
        for phrase in entry.required + entry.excluded:
            term = Term(phrase.words, phrase.prefix)
            self._uses[term] -= 1
            if not self._uses[term]:
                del self._uses[term], self._phrases[term]

    def _phrase(self, term: Term) -> ranking.Phrase:
        """The shared compiled phrase for a term, its words interned."""
        self._uses[term] += 1
        phrase = self._phrases.get(term)
        if phrase is None:
            words = tuple(map(sys.intern, term.words))
            phrase = self._phrases[term] = Term(words, term.prefix).phrase()
        return phrase


def _drop(index: dict[str, list[_T]], at: str, item: _T) -> None:
    """Take `item` out of the list filed at `at`, and the list when it is empty."""
    items = index[at]
    items.remove(item)
    if not items:
        del index[at]
