"""Search through the engine (search_index.py) finds what full FTS5 scoring finds, and
stays current with every write: this process's, another process's, a bulk load's."""

from __future__ import annotations

import logging
import time
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.store import Store, search_index
from bot.store.articles import CANDIDATE_ROOM, PAGE_SIZE
from bot.store.folder import PARALLEL_THRESHOLD
from bot.store.ranking import MAX_PHRASES, QUERY_MAX, Phrase, fold, length, parse, score, tokens
from tests.support import fts5
from tests.support.corpus import write_corpus
from tests.support.helpers import examples, write_article

CORPUS = 3000
QUERIES = 200


def test_tokens_fold_like_unicode61() -> None:
    assert tokens("Café NAÏVE — Zoë’s 5G·AI") == ["cafe", "naive", "zoe", "s", "5g", "ai"]
    assert tokens("발표 시장") == ["발표", "시장"]  # Hangul stays composed
    assert tokens("snake_case") == ["snake", "case"]


def test_phrase_hits_count_words_phrases_and_prefixes() -> None:
    column = fold("The report says the report is new; reports differ — Report_card")
    assert parse("report")[0].hits(column) == 3
    assert parse('"the report"')[0].hits(column) == 2
    assert parse("rep*")[0].hits(column) == 4
    assert Phrase("report is n", ("report", "is", "n"), True).hits(column) == 1
    assert parse('"the the"')[0].hits(fold("the the the")) == 2  # overlapping, as positions
    assert parse("cafe")[0].hits(fold("Café CAFÉ cafés")) == 2
    assert [p.words for p in parse('ai "open source" rep* * ---')] == [
        ("ai",),
        ("open", "source"),
        ("rep",),
    ]


@settings(max_examples=examples(300), deadline=None)
@given(
    st.text(alphabet="ab é_-.", max_size=40), st.sampled_from(["a", "ab", '"a b"', "b*", '"a a"'])
)
def test_hits_count_what_the_words_hold(text: str, query: str) -> None:
    """The pattern counts exactly the token positions where the phrase starts."""
    phrase = parse(query)[0]
    words, size = tokens(text), len(phrase.words)
    expected = sum(
        1
        for i in range(len(words) - size + 1)
        if tuple(words[i : i + size - 1]) == phrase.words[:-1]
        and (
            words[i + size - 1].startswith(phrase.words[-1])
            if phrase.prefix
            else words[i + size - 1] == phrase.words[-1]
        )
    )
    assert phrase.hits(fold(text)) == expected


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    write_corpus(folder, CORPUS, seed=11, jobs=1)
    return folder


@pytest.fixture
async def loaded(corpus: Path, tmp_path: Path) -> AsyncIterator[Store]:
    async with Store.open(tmp_path / "news.db", corpus) as store:
        await store.folder.sync()
        yield store


@pytest.mark.slow  # 3,000 articles, 200 queries
async def test_top_five_agree_with_full_fts5_scoring(loaded: Store, tmp_path: Path) -> None:
    reference = fts5.reference(tmp_path / "news.db")
    queries = fts5.sample_queries(reference)
    assert len(queries) == QUERIES
    agreed = expected = 0
    for query in queries:
        page = await loaded.articles.search(query)
        found = [a.id for a in page.items]
        best = fts5.top(reference, query, 5)
        expected += len(best)
        agreed += len(set(found) & set(best))
    assert expected > 0.8 * 5 * QUERIES  # the sample asks for words that are there
    assert agreed / expected >= 0.90, f"overlap@5 {agreed / expected:.3f}"


async def test_another_process_write_is_searchable_at_once(
    store: Store, database: Path | str, store_dir: Path
) -> None:
    """The bot's index follows writes made by another process (the CLI, another host)."""
    assert not (await store.articles.search("zyzzyva")).items  # the search index is built
    path = write_article(store_dir, "story", title="Zyzzyva beetles win the vote", published=True)
    async with Store.open(database, store_dir) as other:
        await other.folder.sync()
        page = await store.articles.search("zyzzyva beetles")
        assert [a.title for a in page.items] == ["Zyzzyva beetles win the vote"]

        write_article(store_dir, "story", title="Quokka beetles win the vote", published=True)
        await other.folder.sync()
        assert not (await store.articles.search("zyzzyva")).items
        assert [a.title for a in (await store.articles.search("quokka")).items] == [
            "Quokka beetles win the vote"
        ]

        path.unlink()
        await other.folder.sync()
        assert not (await store.articles.search("quokka")).items


@pytest.mark.slow  # 2,000 files, parsed in worker processes
async def test_a_bulk_load_rebuilds_the_index(store: Store, store_dir: Path) -> None:
    """A big load drops the per-row triggers; its marker row makes every index rebuild."""
    assert not (await store.articles.search("wombat")).items
    batch = store_dir / "batch"
    write_corpus(batch, PARALLEL_THRESHOLD, seed=3, jobs=1, drafts_fraction=0.0)
    for path in batch.iterdir():
        path.rename(store_dir / f"b{path.name}")
    batch.rmdir()
    write_article(store_dir, "wombat", title="Wombat census finds more wombats", published=True)
    report = await store.folder.sync()
    assert report.new == PARALLEL_THRESHOLD + 1
    page = await store.articles.search("wombat")
    assert [a.title for a in page.items] == ["Wombat census finds more wombats"]
    assert (await store.articles.search("the")).has_next  # the generated articles are there


def built(caplog: pytest.LogCaptureFixture) -> int:
    """How many times the search index was built from scratch, as its log says."""
    return sum(r.getMessage().startswith("search index built") for r in caplog.records)


async def test_a_pruned_change_log_rebuilds_only_a_process_behind_the_cut(
    store: Store,
    database: Path | str,
    store_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Another process prunes changes this one never applied: it rebuilds once, finding all."""
    monkeypatch.setattr(search_index, "KEEP_CHANGES", 3)
    caplog.set_level(logging.INFO, logger="bot.store.search_index")
    assert not (await store.articles.search("otter")).items
    async with Store.open(database, store_dir) as other:
        for n in range(6):
            write_article(store_dir, f"otter{n}", title=f"Otter number {n}", published=True)
        await other.folder.sync()
    caplog.clear()
    page = await store.articles.search("otter")
    assert len(page.items) == 5 and page.has_next
    assert built(caplog) == 1
    assert len((await store.articles.search("otter", page=1)).items) == 1
    assert built(caplog) == 1


async def test_rescans_past_the_prune_limit_never_rebuild(
    store: Store,
    store_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A log longer than it keeps, rescanned again and again (every NEWS_POLL_SECONDS): a
    process that keeps up applies the changes and never rebuilds (each rebuild cost every
    host seconds, and each rescan's prune asked for another)."""
    monkeypatch.setattr(search_index, "KEEP_CHANGES", 3)
    caplog.set_level(logging.INFO, logger="bot.store.search_index")
    for n in range(6):
        write_article(store_dir, f"otter{n}", title=f"Otter number {n}", published=True)
    await store.folder.sync()
    assert len((await store.articles.search("otter")).items) == 5
    caplog.clear()
    for round_ in range(5):
        await store.folder.sync()  # nothing changed
        assert len((await store.articles.search("otter")).items) == 5
        write_article(store_dir, "otter0", title=f"Seal number {round_}", published=True)
        await store.folder.sync()
        titles = [a.title for a in (await store.articles.search("seal")).items]
        assert titles == [f"Seal number {round_}"]
    assert built(caplog) == 0


@pytest.mark.slow  # 3,000 articles
async def test_bm25_scores_are_fts5s(loaded: Store, tmp_path: Path) -> None:
    """The scores themselves, not only the order: FTS5's bm25 (its idf, not Lucene's
    `1 +` form) over each of FTS5's best five, for every sampled query of words and phrases
    (a prefix's article count is the engine's estimate: its commonest words)."""
    reference = fts5.reference(tmp_path / "news.db")
    await loaded.articles.search_index.refresh()
    queries = [q for q in fts5.sample_queries(reference) if not q.endswith("*")]
    compared = 0
    for query in queries:
        phrases = parse(query)
        idfs, average, _ = await loaded.articles.search_index.find(phrases, None, 1)
        rows = reference.execute(
            "SELECT bm25(ref, 10.0, 4.0, 2.0, 3.0), f.title, f.excerpt, f.provider_name, "
            "f.topics FROM temp.ref f WHERE ref MATCH ? ORDER BY 1 LIMIT 5",
            [fts5.match(query)],
        ).fetchall()
        for bm25, *columns in rows:
            ours = score(phrases, idfs, columns, length(columns), average)
            assert ours == pytest.approx(-bm25, rel=1e-9), (query, columns[0])
            compared += 1
    assert compared > 0.8 * 5 * len(queries)


async def test_a_withdrawn_article_leaves_its_place_to_a_weaker_match(
    store: Store, store_dir: Path
) -> None:
    """More withdrawn strong matches than the engine proposes candidates: the live weak
    match is still found (a withdrawn article left in the engine would take its place)."""
    many = PAGE_SIZE + 1 + CANDIDATE_ROOM
    for n in range(2 * many):  # the word is in few enough articles to weigh something
        write_article(store_dir, f"other{n}", title=f"Otter number {n}", published=True)
    for n in range(many):
        write_article(store_dir, f"strong{n}", title="Narwhal narwhal narwhal", published=True)
    write_article(
        store_dir, "weak", title="Arctic report", excerpt="A narwhal was seen.", published=True
    )
    await store.folder.sync()
    assert len((await store.articles.search("narwhal")).items) == PAGE_SIZE
    for n in range(many):
        write_article(store_dir, f"strong{n}", title="Narwhal narwhal narwhal", published=False)
    await store.folder.sync()
    assert [a.id for a in (await store.articles.search("narwhal")).items] == ["weak"]


async def test_a_query_counts_its_first_distinct_phrases() -> None:
    """A repeated word is one phrase; past MAX_PHRASES distinct ones, the rest are ignored."""
    assert [p.words for p in parse("a " * 3000)] == [("a",)]
    many = parse(" ".join(f"w{n}*" for n in range(60)))
    assert [p.words for p in many] == [(f"w{n}",) for n in range(MAX_PHRASES)]
    # only the first QUERY_MAX characters are read
    assert [p.words for p in parse("x" * 300 + " ok")] == [("x" * QUERY_MAX,)]


async def test_a_huge_excerpt_is_searched_and_scored_in_its_first_part(
    store: Store, store_dir: Path
) -> None:
    """A 1 MiB excerpt: found by a word near its start, not by one past FIELD_CHARS, and
    searching it costs what a short one does."""
    excerpt = ("walrus " + "ice " * 300) + "x " * 500_000 + "penguin"
    write_article(store_dir, "huge", title="Polar", excerpt=excerpt, published=True)
    await store.folder.sync()
    started = time.perf_counter()
    assert [a.id for a in (await store.articles.search("walrus ice*")).items] == ["huge"]
    assert time.perf_counter() - started < 0.5
    assert not (await store.articles.search("penguin")).items


@pytest.mark.slow
async def test_the_phrase_cache_stays_bounded(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thousands of distinct words searched on a quiet store: memory stops growing once
    the cache is full (each word stayed until the next change, +293 MiB after 20,000)."""
    monkeypatch.setattr(search_index, "PHRASE_CACHE", 100)

    async def searches(start: int, count: int) -> None:
        for n in range(start, start + count):
            await store.articles.search(f'word{n} other{n} "some phrase {n}"')

    await searches(0, 300)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        await searches(300, 1500)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 512 * 1024, f"{grown:,} bytes more after 1,500 more distinct searches"
