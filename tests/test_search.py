"""Search through the engine (search_index.py) finds what full FTS5 scoring finds, and
stays current with every write: this process's, another process's, a bulk load's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.store import Store, search_index
from bot.store.ranking import Phrase, fold, parse, tokens
from bot.store.sync import PARALLEL_THRESHOLD
from tests.support import fts5
from tests.support.corpus import write_corpus
from tests.support.helpers import write_article

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


@settings(max_examples=300, deadline=None)
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
    assert not (await store.articles.search("zyzzyva")).items  # the index is built
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


async def test_a_pruned_change_log_rebuilds_and_stays_right(
    store: Store, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rescan keeps the log short; a process behind the cut rebuilds, finding all."""
    monkeypatch.setattr(search_index, "KEEP_CHANGES", 3)
    assert not (await store.articles.search("otter")).items
    for n in range(6):
        write_article(store_dir, f"otter{n}", title=f"Otter number {n}", published=True)
    await store.folder.sync()
    kept = await store.db.fetch_tuples("SELECT article_rowid FROM search_changes")
    assert len(kept) == 4 and kept[-1] == (None,)  # three changes and the rebuild marker
    page = await store.articles.search("otter")
    assert len(page.items) == 5 and page.has_next
