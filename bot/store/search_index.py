"""The search engine: a tantivy index in memory, rebuilt from the database at start and
kept current from its change log, so a common word costs a millisecond, not a scan.

FTS5 (and PostgreSQL's ts_rank) score every matching article before they can sort:
58,000 matches for "the" cost 40–60 ms. tantivy's block-max WAND finds the best
candidates without scoring them all; `ranking.score` then ranks those candidates exactly
as FTS5's bm25 would, so what readers find does not change.

Consistency: the database is the truth. Triggers append each changed article to
`search_changes` (migration 5), in the same transaction as the change; before each
search the index applies what it has not seen. A bulk load leaves a marker row (no
article) that asks every process for a full rebuild; so does a pruned log, but only to a
process that had not applied what was pruned (pruning leaves no marker, or every rescan
would rebuild every index again). Nothing is kept on disk, so nothing can go stale
across a crash: a start rebuilds (about 3 s at 100,000 articles). With PostgreSQL every
host keeps its own copy the same way.

Off the event loop: building, applying changes and searching run in threads (tantivy
lets the interpreter go while it works), on an immutable `_View`: a search reads the
state that was current when it began, and a refresh swaps in the next one whole.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import tantivy

from bot import metrics
from bot.articles import encodable
from bot.store import ranking
from bot.store.database import Database, in_chunks
from bot.store.ranking import Phrase

log = logging.getLogger(__name__)

# The one text field repeats each column by its weight, so the engine's term frequency is
# bm25's weighted hit count and its candidates are the ones bm25 favours.
_REPEAT = (10, 4, 2, 3)  # ranking.WEIGHTS as whole repetitions
_WRITER_HEAP = 50_000_000
REBUILD_ABOVE = 5_000  # changes: past this many, a rebuild is cheaper than one by one
KEEP_CHANGES = 100_000  # the log's length; a process further behind rebuilds
PHRASE_CACHE = 4096  # phrases whose article counts a view remembers (least recent go)
TITLE_WORDS = 16  # distinct words of a typed title that autocomplete looks for
# A query of at most this many plain words is searched on the event loop: one posting list
# a word, skipped through by block-max WAND, costs less than the hop to a thread. Prefixes
# (up to 64 words each) and quoted phrases (positions) are searched in a thread.
WORDS_ON_LOOP = 4
_COLUMNS = "a.rowid, a.title, a.excerpt, a.provider_name, a.topics"


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("rowid", stored=True, indexed=True, fast=True)
    builder.add_integer_field("length", fast=True)
    builder.add_text_field("topic", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("text", tokenizer_name="words")
    builder.add_text_field("title", tokenizer_name="words", index_option="basic")
    return builder.build()


def _analyzer() -> tantivy.TextAnalyzer:
    """Close to unicode61: letters and digits, lower-cased, folded to ASCII. It may join
    more words than FTS5 does (ß, æ), never fewer, and `ranking` has the last word."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


@dataclass(frozen=True, slots=True)
class _Entry:
    rowid: int
    columns: tuple[str, str, str, str]
    topics: tuple[str, ...]

    def document(self) -> tantivy.Document:
        """What the engine indexes: each column's searched part (`ranking.searched`)."""
        columns = ranking.searched(self.columns)
        text = " ".join(c for c, n in zip(columns, _REPEAT, strict=True) for _ in range(n))
        return tantivy.Document(
            rowid=self.rowid,
            length=ranking.length(columns),
            topic=list(self.topics),
            text=text,
            title=columns[0],
        )


def _entries(rows: Sequence[Any], topic_rows: Sequence[Any]) -> list[_Entry]:
    """Index entries from article rows (rowid and the four columns) and (rowid, topic key)."""
    topics: dict[int, list[str]] = {}
    for rowid, key in topic_rows:
        topics.setdefault(rowid, []).append(key)
    return [
        _Entry(row[0], (row[1], row[2], row[3], row[4]), tuple(topics.get(row[0], ())))
        for row in rows
    ]


class SearchIndex:
    """Candidates for a query and the corpus statistics bm25 needs, current as of the
    database's latest committed change."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._schema = _schema()
        self._analyzer = _analyzer()
        self._index: tantivy.Index | None = None
        self._writer: tantivy.IndexWriter | None = None
        self._view: _View | None = None
        self._lock = asyncio.Lock()  # one refresh at a time: it alone changes the index

    # ----------------------------------------------------------------- freshness

    @staticmethod
    async def prune(db: Database) -> None:
        """Keep the change log short (inside the caller's write transaction). No marker: a
        process that had not applied a pruned change sees the log start past it and
        rebuilds (`refresh`); every other one has nothing to do."""
        latest = await db.fetchval("SELECT max(seq) FROM search_changes") or 0
        await db.execute("DELETE FROM search_changes WHERE seq <= ?", [latest - KEEP_CHANGES])

    async def refresh(self) -> None:
        """Apply what the database changed since the last call; rebuild when a bulk load
        asks to, when changes this process never applied were pruned, or when there are
        more changes than applying them one by one is worth."""
        latest = await self.db.fetchval("SELECT max(seq) FROM search_changes") or 0
        if self._view is not None and latest == self._view.seen:
            return
        async with self._lock:
            seen = self._view.seen if self._view is not None else None
            if seen == latest:
                return
            oldest = await self.db.fetchval("SELECT min(seq) FROM search_changes") or 0
            changes = await self.db.fetch_tuples(
                "SELECT seq, article_rowid FROM search_changes WHERE seq > ? AND seq <= ?",
                [seen or 0, latest],
            )
            if (
                seen is None
                or oldest > seen + 1  # some it never applied were pruned
                or len(changes) > REBUILD_ABOVE
                or any(rowid is None for _, rowid in changes)
            ):
                await self._rebuild(latest)
            else:
                await self._apply({rowid for _, rowid in changes}, latest)

    async def _rebuild(self, seen: int) -> None:
        rows = await self.db.fetch_tuples(f"SELECT {_COLUMNS} FROM articles a WHERE a.visible = 1")
        topics = await self.db.fetch_tuples(
            "SELECT t.article_rowid, t.topic_key FROM article_topics t "
            "JOIN articles a ON a.rowid = t.article_rowid WHERE a.visible = 1"
        )
        built = await asyncio.to_thread(self._build, rows, topics, seen)
        metrics.SEARCH_REBUILDS.inc()
        log.info("search index built: %d articles", built)

    def _build(self, rows: Sequence[Any], topics: Sequence[Any], seen: int) -> int:
        """A new index of these articles, swapped in whole (in a thread)."""
        index = tantivy.Index(self._schema)
        # Reloaded by hand after each commit: left to itself, a reload can wait ~100 ms
        # for the reader's own reload on commit, and every search waits with it.
        index.config_reader(reload_policy="Manual")
        index.register_tokenizer("words", self._analyzer)
        writer = index.writer(_WRITER_HEAP, 1)
        total = 0
        entries = _entries(rows, topics)
        for entry in entries:
            document = entry.document()
            total += document["length"][0]
            writer.add_document(document)
        writer.commit()
        index.reload()
        self._index, self._writer = index, writer
        self._view = _View(self._schema, self._analyzer, index.searcher(), total, seen)
        metrics.SEARCH_GENERATION.set(seen)
        return len(entries)

    async def _apply(self, rowids: set[int], seen: int) -> None:
        wanted = sorted(rowids)
        rows = [
            row
            async for row in in_chunks(
                self.db,
                # visible is checked here: in the WHERE clause SQLite may walk its index
                f"SELECT {_COLUMNS}, a.visible FROM articles a WHERE a.rowid IN ({{marks}})",
                wanted,
            )
            if row[5]  # a withdrawn article leaves the index: it would take a result's place
        ]
        topics = [
            row
            async for row in in_chunks(
                self.db,
                "SELECT article_rowid, topic_key FROM article_topics "
                "WHERE article_rowid IN ({marks})",
                wanted,
            )
        ]
        await asyncio.to_thread(self._replace, rowids, rows, topics, seen)

    def _replace(
        self, rowids: set[int], rows: Sequence[Any], topics: Sequence[Any], seen: int
    ) -> None:
        """Delete `rowids` and add what is visible of them again (in a thread)."""
        assert self._index is not None and self._writer is not None and self._view is not None
        searcher = self._view.searcher
        total = self._view.total_length
        for rowid in rowids:
            old = searcher.search(tantivy.Query.term_query(self._schema, "rowid", rowid), 1)
            if old.hits:
                total -= int(searcher.fast_field_values("length", [old.hits[0][1]])[0] or 0)
            self._writer.delete_documents_by_term("rowid", rowid)
        for entry in _entries(rows, topics):
            document = entry.document()
            total += document["length"][0]
            self._writer.add_document(document)
        self._writer.commit()
        self._index.reload()
        self._view = _View(self._schema, self._analyzer, self._index.searcher(), total, seen)
        metrics.SEARCH_GENERATION.set(seen)

    # ------------------------------------------------------------------ searching

    async def find(
        self, phrases: Sequence[Phrase], topic_key: str | None, limit: int
    ) -> tuple[list[float], float, dict[int, int]]:
        """Each phrase's idf, the average article length (what bm25 weighs with) and up to
        `limit` candidates (row id -> length in words), worked out in a thread unless the
        query is a few plain words (WORDS_ON_LOOP)."""
        view = self._current()
        if len(phrases) <= WORDS_ON_LOOP and all(
            len(p.words) == 1 and not p.prefix for p in phrases
        ):
            return view.find(phrases, topic_key, limit)
        return await asyncio.to_thread(view.find, phrases, topic_key, limit)

    async def titled(self, typed: str, limit: int) -> list[int]:
        """Row ids of up to `limit` articles whose title has a word starting with each
        typed word (autocomplete), newest rows first; the first TITLE_WORDS distinct words
        count, as more narrow nothing a reader would see."""
        view = self._current()
        return await asyncio.to_thread(view.titled, typed, limit)

    def _current(self) -> _View:
        assert self._view is not None, "refresh() builds the index before any search"
        return self._view


class _View:
    """The index as one refresh left it: searched from threads, never changed."""

    def __init__(
        self,
        schema: tantivy.Schema,
        analyzer: tantivy.TextAnalyzer,
        searcher: tantivy.Searcher,
        total_length: int,
        seen: int,
    ) -> None:
        self.schema = schema
        self.analyzer = analyzer
        self.searcher = searcher
        self.total_length = total_length
        self.seen = seen  # the last change it holds
        # How many articles hold a phrase: searches often repeat; bounded, as every
        # distinct word a reader types would otherwise stay until the next change.
        self._matching: OrderedDict[Phrase, int] = OrderedDict()
        self._matching_lock = threading.Lock()

    def find(
        self, phrases: Sequence[Phrase], topic_key: str | None, limit: int
    ) -> tuple[list[float], float, dict[int, int]]:
        documents = self.searcher.num_docs
        idfs = [ranking.idf(documents, self._matches(phrase)) for phrase in phrases]
        average = self.total_length / documents if documents else 0.0
        return idfs, average, self.candidates(phrases, idfs, topic_key, limit)

    def candidates(
        self,
        phrases: Sequence[Phrase],
        idfs: Sequence[float],
        topic_key: str | None,
        limit: int,
    ) -> dict[int, int]:
        """Up to `limit` articles matching every phrase (of that topic), the likeliest best
        first: row id -> length in words (what bm25 normalises by).

        Each phrase weighs what it weighs in FTS5's bm25 (`idfs`): tantivy's idf never
        falls below ln 2, FTS5's all but vanishes for a word in most articles, so each
        phrase's score is scaled to FTS5's idf (a prefix's words each from their own
        frequency, as FTS5 counts a prefix as one phrase)."""
        clauses = [
            (tantivy.Occur.Must, self._phrase_query(phrase, idf))
            for phrase, idf in zip(phrases, idfs, strict=True)
        ]
        if topic_key is not None:
            only = tantivy.Query.term_query(self.schema, "topic", topic_key)
            clauses.append((tantivy.Occur.Must, tantivy.Query.const_score_query(only, 0.0)))
        query = clauses[0][1] if len(clauses) == 1 else tantivy.Query.boolean_query(clauses)
        found = [address for _, address in self.searcher.search(query, limit, count=False).hits]
        rowids = self.searcher.fast_field_values("rowid", found)
        lengths = self.searcher.fast_field_values("length", found)
        return {int(r or 0): int(n or 0) for r, n in zip(rowids, lengths, strict=True)}

    def titled(self, typed: str, limit: int) -> list[int]:
        starts = list(dict.fromkeys(str(t) for t in self.analyzer.analyze(encodable(typed))))
        if not starts:
            return []
        clauses = [
            (tantivy.Occur.Must, self._starting("title", s, 256)) for s in starts[:TITLE_WORDS]
        ]
        query = tantivy.Query.boolean_query(clauses)
        hits = self.searcher.search(query, limit, order_by_field="rowid").hits
        return [int(v or 0) for v in self.searcher.fast_field_values("rowid", [a for _, a in hits])]

    def _matches(self, phrase: Phrase) -> int:
        """How many articles hold the phrase (remembered for the PHRASE_CACHE latest)."""
        with self._matching_lock:
            if phrase in self._matching:
                self._matching.move_to_end(phrase)
                return self._matching[phrase]
        found = self.searcher.search(self._phrase_query(phrase), 1, count=True)
        count: int = found.count or 0  # type: ignore[attr-defined]  # not in the stub
        with self._matching_lock:
            self._matching[phrase] = count
            while len(self._matching) > PHRASE_CACHE:
                self._matching.popitem(last=False)
        return count

    def _phrase_query(self, phrase: Phrase, weight: float | None = None) -> tantivy.Query:
        """The engine's query for a phrase; with `weight`, scaled so that the phrase counts
        as if its idf were `weight` (each word of a prefix by its own frequency)."""
        words: list[str | tuple[int, str]] = list(self.analyzer.analyze(phrase.text))
        if not words:
            return tantivy.Query.empty_query()
        if phrase.prefix and len(words) == 1:
            return self._starting("text", str(words[0]), 64, weight)
        if phrase.prefix:
            query = tantivy.Query.phrase_prefix_query(self.schema, "text", words)
            words = words[:-1]  # the last is a prefix: the others weigh the phrase
        elif len(words) > 1:
            query = tantivy.Query.phrase_query(self.schema, "text", words)
        else:
            query = tantivy.Query.term_query(self.schema, "text", str(words[0]))
        if weight is None:
            return query
        engine = sum(
            _engine_idf(self.searcher, self.searcher.doc_freq("text", str(w))) for w in words
        )
        return tantivy.Query.boost_query(query, weight / engine)

    def _starting(
        self, field: str, start: str, most: int, weight: float | None = None
    ) -> tantivy.Query:
        """The words of `field` that begin with `start` (the commonest `most` of them): a
        prefix as words, so candidates rank by how often they use them."""
        words = self.searcher.terms_with_prefix(field, start, limit=most)
        if not words:
            return tantivy.Query.empty_query()
        return tantivy.Query.boolean_query(
            [
                (
                    tantivy.Occur.Should,
                    tantivy.Query.boost_query(
                        tantivy.Query.term_query(self.schema, field, w),
                        1.0 if weight is None else weight / _engine_idf(self.searcher, count),
                    ),
                )
                for w, count in words
            ]
        )


def _engine_idf(searcher: tantivy.Searcher, matching: int) -> float:
    """tantivy's bm25 idf (never below ln 2, unlike FTS5's)."""
    documents = searcher.num_docs
    return math.log(1 + (documents - matching + 0.5) / (matching + 0.5))
