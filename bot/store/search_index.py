"""The search engine: a tantivy index in memory, rebuilt from the database at start and
kept current from its change log, so a common word costs a millisecond, not a scan.

FTS5 (and PostgreSQL's ts_rank) score every matching article before they can sort:
58,000 matches for "the" cost 40–60 ms. tantivy's block-max WAND finds the best
candidates without scoring them all; `ranking.score` then ranks those candidates exactly
as FTS5's bm25 would, so what readers find does not change.

Consistency: the database is the truth. Triggers append each changed article to
`search_changes` (migration 5), in the same transaction as the change; before each
search the index applies what it has not seen. A bulk load or a pruned log leaves a
marker row (no article) that asks every process for a full rebuild. Nothing is kept on
disk, so nothing can go stale across a crash: a start rebuilds (about 3 s at 100,000
articles). With PostgreSQL every host keeps its own copy the same way.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import tantivy

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
KEEP_CHANGES = 100_000  # the log's length; pruning it asks every process for a rebuild
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
        text = " ".join(c for c, n in zip(self.columns, _REPEAT, strict=True) for _ in range(n))
        return tantivy.Document(
            rowid=self.rowid,
            length=ranking.length(self.columns),
            topic=list(self.topics),
            text=text,
            title=self.columns[0],
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
        self._seen = 0  # the last change applied
        self._total_length = 0
        self._lock = asyncio.Lock()
        self._matching: dict[Phrase, int] = {}

    # ----------------------------------------------------------------- freshness

    @staticmethod
    async def prune(db: Database) -> None:
        """Keep the change log short (inside the caller's write transaction). Pruning
        leaves the rebuild marker, as a process behind the cut cannot catch up."""
        latest = await db.fetchval("SELECT max(seq) FROM search_changes") or 0
        if await db.execute("DELETE FROM search_changes WHERE seq <= ?", [latest - KEEP_CHANGES]):
            await db.execute("INSERT INTO search_changes (article_rowid) VALUES (NULL)")

    async def refresh(self) -> None:
        """Apply what the database changed since the last call; rebuild when asked to."""
        latest = await self.db.fetchval("SELECT max(seq) FROM search_changes") or 0
        if self._index is not None and latest == self._seen:
            return
        async with self._lock:
            if self._index is not None and latest == self._seen:
                return
            changes = await self.db.fetch_tuples(
                "SELECT seq, article_rowid FROM search_changes WHERE seq > ? AND seq <= ?",
                [self._seen, latest],
            )
            if (
                self._index is None
                or len(changes) > REBUILD_ABOVE
                or any(rowid is None for _, rowid in changes)
            ):
                await self._rebuild()
            else:
                await self._apply({rowid for _, rowid in changes})
            self._seen = latest
            self._matching.clear()

    async def _rebuild(self) -> None:
        rows = await self.db.fetch_tuples(f"SELECT {_COLUMNS} FROM articles a WHERE a.visible = 1")
        topics = await self.db.fetch_tuples(
            "SELECT t.article_rowid, t.topic_key FROM article_topics t "
            "JOIN articles a ON a.rowid = t.article_rowid WHERE a.visible = 1"
        )
        entries = _entries(rows, topics)
        self._index, self._writer, self._total_length = await asyncio.to_thread(
            self._build, entries
        )
        log.info("search index built: %d articles", len(entries))

    def _build(
        self, entries: Sequence[_Entry]
    ) -> tuple[tantivy.Index, tantivy.IndexWriter, int]:
        index = tantivy.Index(self._schema)
        # Reloaded by hand after each commit: left to itself, a reload can wait ~100 ms
        # for the reader's own reload on commit, and every search waits with it.
        index.config_reader(reload_policy="Manual")
        index.register_tokenizer("words", self._analyzer)
        writer = index.writer(_WRITER_HEAP, 1)
        total = 0
        for entry in entries:
            document = entry.document()
            total += document["length"][0]
            writer.add_document(document)
        writer.commit()
        index.reload()
        return index, writer, total

    async def _apply(self, rowids: set[int]) -> None:
        wanted = sorted(rowids)
        rows = [
            row
            async for row in in_chunks(
                self.db,
                # visible is checked here: in the WHERE clause SQLite may walk its index
                f"SELECT {_COLUMNS}, a.visible FROM articles a WHERE a.rowid IN ({{marks}})",
                wanted,
            )
            if row[5]
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
        entries = _entries(rows, topics)
        await asyncio.to_thread(self._replace, rowids, entries)

    def _replace(self, rowids: set[int], entries: Sequence[_Entry]) -> None:
        assert self._index is not None and self._writer is not None
        searcher = self._index.searcher()
        for rowid in rowids:
            old = searcher.search(tantivy.Query.term_query(self._schema, "rowid", rowid), 1)
            if old.hits:
                self._total_length -= int(
                    searcher.fast_field_values("length", [old.hits[0][1]])[0] or 0
                )
            self._writer.delete_documents_by_term("rowid", rowid)
        for entry in entries:
            document = entry.document()
            self._total_length += document["length"][0]
            self._writer.add_document(document)
        self._writer.commit()
        self._index.reload()

    # ------------------------------------------------------------------ searching

    def candidates(
        self,
        phrases: Sequence[Phrase],
        idfs: Sequence[float],
        topic_key: str | None,
        limit: int,
    ) -> dict[int, int]:
        """Up to `limit` articles matching every phrase (of that topic), the likeliest best
        first: row id -> length in words (what bm25 normalises by).

        Each phrase weighs what it weighs in FTS5's bm25 (`idfs`, from `statistics`):
        tantivy's idf never falls below ln 2, FTS5's all but vanishes for a word in most
        articles, so each phrase's score is scaled to FTS5's idf (a prefix's words each from
        their own frequency, as FTS5 counts a prefix as one phrase)."""
        assert self._index is not None
        searcher = self._index.searcher()
        clauses = [
            (tantivy.Occur.Must, self._phrase_query(searcher, phrase, idf))
            for phrase, idf in zip(phrases, idfs, strict=True)
        ]
        if topic_key is not None:
            only = tantivy.Query.term_query(self._schema, "topic", topic_key)
            clauses.append((tantivy.Occur.Must, tantivy.Query.const_score_query(only, 0.0)))
        query = clauses[0][1] if len(clauses) == 1 else tantivy.Query.boolean_query(clauses)
        found = [address for _, address in searcher.search(query, limit, count=False).hits]
        rowids = searcher.fast_field_values("rowid", found)
        lengths = searcher.fast_field_values("length", found)
        return {int(r or 0): int(n or 0) for r, n in zip(rowids, lengths, strict=True)}

    def titled(self, words: Sequence[str], limit: int) -> list[int]:
        """Row ids of up to `limit` articles whose title has a word starting with each of
        `words` (autocomplete), newest rows first."""
        assert self._index is not None
        typed = encodable(" ".join(words))
        starts = [str(t) for t in self._analyzer.analyze(typed)]
        if not starts:
            return []
        searcher = self._index.searcher()
        clauses = [(tantivy.Occur.Must, self._starting(searcher, "title", s, 256)) for s in starts]
        query = tantivy.Query.boolean_query(clauses)
        hits = searcher.search(query, limit, order_by_field="rowid").hits
        return [int(v or 0) for v in searcher.fast_field_values("rowid", [a for _, a in hits])]

    def statistics(self, phrases: Sequence[Phrase]) -> tuple[list[float], float]:
        """Each phrase's idf and the average article length: what bm25 weighs with."""
        assert self._index is not None
        searcher = self._index.searcher()
        documents = searcher.num_docs
        idfs = [ranking.idf(documents, self._matches(searcher, phrase)) for phrase in phrases]
        return idfs, (self._total_length / documents if documents else 0.0)

    def _matches(self, searcher: tantivy.Searcher, phrase: Phrase) -> int:
        """How many articles hold the phrase (remembered until the index changes)."""
        if phrase not in self._matching:
            found = searcher.search(self._phrase_query(searcher, phrase), 1, count=True)
            self._matching[phrase] = found.count or 0  # type: ignore[attr-defined]  # not in the stub
        return self._matching[phrase]

    def _phrase_query(
        self, searcher: tantivy.Searcher, phrase: Phrase, weight: float | None = None
    ) -> tantivy.Query:
        """The engine's query for a phrase; with `weight`, scaled so that the phrase counts
        as if its idf were `weight` (each word of a prefix by its own frequency)."""
        words: list[str | tuple[int, str]] = list(self._analyzer.analyze(phrase.text))
        if not words:
            return tantivy.Query.empty_query()
        if phrase.prefix and len(words) == 1:
            return self._starting(searcher, "text", str(words[0]), 64, weight)
        if phrase.prefix:
            query = tantivy.Query.phrase_prefix_query(self._schema, "text", words)
            words = words[:-1]  # the last is a prefix: the others weigh the phrase
        elif len(words) > 1:
            query = tantivy.Query.phrase_query(self._schema, "text", words)
        else:
            query = tantivy.Query.term_query(self._schema, "text", str(words[0]))
        if weight is None:
            return query
        engine = sum(_engine_idf(searcher, searcher.doc_freq("text", str(w))) for w in words)
        return tantivy.Query.boost_query(query, weight / engine)

    def _starting(
        self,
        searcher: tantivy.Searcher,
        field: str,
        start: str,
        most: int,
        weight: float | None = None,
    ) -> tantivy.Query:
        """The words of `field` that begin with `start` (the commonest `most` of them): a
        prefix as words, so candidates rank by how often they use them."""
        words = searcher.terms_with_prefix(field, start, limit=most)
        if not words:
            return tantivy.Query.empty_query()
        return tantivy.Query.boolean_query(
            [
                (
                    tantivy.Occur.Should,
                    tantivy.Query.boost_query(
                        tantivy.Query.term_query(self._schema, field, w),
                        1.0 if weight is None else weight / _engine_idf(searcher, count),
                    ),
                )
                for w, count in words
            ]
        )


def _engine_idf(searcher: tantivy.Searcher, matching: int) -> float:
    """tantivy's bm25 idf (never below ln 2, unlike FTS5's)."""
    documents = searcher.num_docs
    return math.log(1 + (documents - matching + 0.5) / (matching + 0.5))
