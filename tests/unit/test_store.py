"""The article store: sync, reading, search, publishing.

The store's contract suite: every test that takes `store` or `database` runs on SQLite and
on PostgreSQL with the same expectations. Where a fact is only in the schema (`secured`,
`duplicate_of`, kept history), it is read with plain SQL through the store's own database;
tests about SQLite's file itself are marked `sqlite_only`.
"""

from __future__ import annotations

import errno
import logging
import os
import random
import re
import sqlite3
import stat
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.articles import parse_article_bytes
from bot.errors import (
    AlreadyDone,
    ArticleNotFound,
    FileChanged,
    FileInvalid,
    FileNotWritable,
    ServedByDuplicate,
)
from bot.frontmatter import ArticleError
from bot.store import PAGE_SIZE, Counts, DeliveryState, Store, schema
from bot.store import folder as folder_module
from tests.support.helpers import SEED_ID, SEED_NAME, SEED_PATH, write_article

# ----------------------------------------------------------------- helpers


def rows(db_path: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Read a SQLite file the way an operator would: a plain sqlite3 connection."""
    conn = sqlite3.connect(db_path)
    try:
        return list(conn.execute(sql, tuple(params)).fetchall())
    finally:
        conn.close()


async def sql_rows(store: Store, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Read whichever database the store has, with plain SQL (one text for both)."""
    return await store.db.fetch_tuples(sql, params)


async def row_of(store: Store, article_id: str) -> dict[str, Any]:
    found = await store.db.fetch("SELECT * FROM articles WHERE id = ?", [article_id])
    assert found, f"no row for {article_id}"
    row: Any = found[0]  # iterating a row gives its values: ask for its column names
    return {key: row[key] for key in row.keys()}  # noqa: SIM118


def touch_later(path: Path, seconds: int = 10) -> None:
    """Move a file's mtime forward, so a rewrite is seen even within one clock tick."""
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + seconds * 1_000_000_000))


def rewrite(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    touch_later(path)


def ids(page: Any) -> list[str]:
    return [a.id for a in page.items]


def when(day: int, hour: int = 12) -> str:
    return datetime(2024, 1, day, hour, tzinfo=UTC).isoformat()


def swap_unseen(path: Path, old: bytes, new: bytes) -> None:
    """Change a file's bytes while keeping its size and mtime: only a re-read can notice."""
    assert len(old) == len(new)
    info = path.stat()
    path.write_bytes(path.read_bytes().replace(old, new))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


# ----------------------------------------------------------------- first load


async def test_seed_loads_as_a_draft(store: Store) -> None:
    assert await store.articles.counts() == Counts(articles=1, published=0, drafts=1)
    assert ids(await store.articles.drafts()) == [SEED_ID]
    assert (await store.articles.latest()).items == ()
    with pytest.raises(ArticleNotFound):
        await store.articles.get(SEED_ID)
    draft = await store.articles.get(SEED_ID, include_hidden=True)
    assert draft.published is False
    assert draft.title == "How Long Will the Open-Source AI Boom Last?"
    assert draft.published_at == datetime(2023, 5, 12, 13, 24, tzinfo=UTC)
    assert draft.topics == ("AI", "AI Ethics")
    assert [(r.provider, r.title[:20]) for r in draft.related] == [
        ("MIT Technology Review", "The open-source AI b"),
        ("VentureBeat", "Open source AI conti"),
    ]
    row = await row_of(store, SEED_ID)  # where the row points: the operator's view
    assert row["file"] == SEED_NAME
    assert row["deleted_at"] is None


async def test_secured_is_stored_as_is_but_never_read_back_or_searched(store: Store) -> None:
    secured = (await row_of(store, SEED_ID))["secured"]
    assert secured.startswith("zdjAJ/nC3FH0MzP8") and secured.endswith("nbDY8ZfuMsAqi2BDSM2DhA==")
    await store.publishing.publish(SEED_ID, "mod")
    article = await store.articles.get(SEED_ID)
    assert article.secured is None
    assert (await store.articles.search("zdjAJ")).items == ()
    assert (await store.articles.search("nbDY8ZfuMsAqi2BDSM2DhA")).items == ()


async def test_last_sync_is_recorded(store: Store) -> None:
    last = await store.articles.last_sync()
    assert last is not None
    assert (last["scanned"], last["loaded"], last["errors"]) == (1, 1, 0)


# ----------------------------------------------------------------- incremental sync


async def test_sync_counts_and_reads_only_what_changed(
    database: Path | str, store_dir: Path
) -> None:
    for n in range(5):
        write_article(store_dir, f"a{n}", published=True)
    async with Store.open(database, store_dir) as store:
        first = await store.folder.sync()
        counts = (first.scanned, first.new, first.changed, first.deleted, first.unchanged)
        assert counts == (6, 6, 0, 0, 0)
        assert first.errors == []

        # same size and mtime but new bytes: a sync that re-read it would serve "Title of X0"
        swap_unseen(store_dir / "a0.txt", b"Title of a0", b"Title of X0")
        again = await store.folder.sync()
        assert (again.new, again.changed, again.deleted, again.unchanged) == (0, 0, 0, 6)
        assert (await store.articles.get("a0")).title == "Title of a0"


async def test_a_rescan_of_more_files_than_one_read_holds_misses_none(
    database: Path | str, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The files the database recorded are read a page at a time (the event loop runs
    between pages): every page counts, so nothing is read again and one deletion is seen."""
    monkeypatch.setattr(folder_module, "KNOWN_PAGE", 2)  # the seed and six more: 4 pages
    for n in range(6):
        write_article(store_dir, f"a{n}", published=True)
    async with Store.open(database, store_dir) as store:
        assert (await store.folder.sync()).new == 7
        published = (await store.articles.counts()).published
        (store_dir / "a4.txt").unlink()
        report = await store.folder.sync()
        assert (report.new, report.changed, report.deleted, report.unchanged) == (0, 0, 1, 6)
        assert (await store.articles.counts()).published == published - 1

        write_article(store_dir, "a1", title="A changed title", published=True)
        touch_later(store_dir / "a1.txt")
        (store_dir / "a2.txt").unlink()
        write_article(store_dir, "a9", published=True)
        swap_unseen(store_dir / "a3.txt", b"Title of a3", b"Title of X3")
        report = await store.folder.sync()
        assert (report.new, report.changed, report.deleted, report.unchanged) == (1, 1, 1, 4)
        assert report.loaded == 2
        assert (await store.articles.get("a1")).title == "A changed title"
        assert (await store.articles.get("a9")).title == "Title of a9"
        assert (await store.articles.get("a3")).title == "Title of a3"
        assert (await store.articles.get("a0")).title == "Title of a0"


async def test_same_size_rewrite_with_new_mtime_is_reread(store: Store, store_dir: Path) -> None:
    path = write_article(store_dir, "same", title="Title AAAA", published=True)
    await store.folder.sync()
    path.write_text(path.read_text().replace("Title AAAA", "Title BBBB"))
    touch_later(path)
    report = await store.folder.sync()
    assert report.changed == 1
    assert (await store.articles.get("same")).title == "Title BBBB"


async def test_only_article_suffixes_and_no_hidden_files(store: Store, store_dir: Path) -> None:
    write_article(store_dir, "kept.md", published=True)
    (store_dir / "notes.json").write_text("{}")
    (store_dir / ".partial.txt").write_text("---\ntitle: half")
    (store_dir / "sub.txt").mkdir()
    report = await store.folder.sync()
    assert (report.new, report.errors) == (1, [])
    assert ids(await store.articles.latest()) == ["kept"]


# ----------------------------------------------------------------- bad files


BAD_FILES: dict[str, bytes] = {
    "not utf-8": b"---\ntitle: Caf\xe9\nwebUrl: https://x.example/\n---\n",
    "no front matter": b"just some text\n",
    "yaml error": b"---\ntitle: a: b: c\n---\n",
    "no title": b"---\nwebUrl: https://x.example/\npublishedDateTime: 2024-01-01\n---\n",
    "javascript url": (
        b"---\ntitle: t\nwebUrl: 'javascript:alert(1)'\npublishedDateTime: 2024-01-01\n---\n"
    ),
    "huge quality": (
        b"---\ntitle: t\nwebUrl: https://x.example/\npublishedDateTime: 2024-01-01\n"
        b"quality: 99999999999999999999999\n---\n"
    ),
    "date before year 1 in utc": (
        b"---\ntitle: t\nwebUrl: https://x.example/\n"
        b"publishedDateTime: 0001-01-01T00:00:00+01:00\n---\n"
    ),
    "impossible date": (
        b"---\ntitle: t\nwebUrl: https://x.example/\npublishedDateTime: 2023-02-30\n---\n"
    ),
    "empty": b"",
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
async def test_a_bad_file_is_reported_and_never_stops_the_load(
    database: Path | str, store_dir: Path, kind: str
) -> None:
    (store_dir / "bad.txt").write_bytes(BAD_FILES[kind])
    write_article(store_dir, "good", published=True)
    async with Store.open(database, store_dir) as store:
        report = await store.folder.sync()
        assert report.new == 2  # the seed and the good file
        assert len(report.errors) == 1
        assert report.errors[0].startswith("bad.txt: ")
        assert ids(await store.articles.latest()) == ["good"]
        with pytest.raises(ArticleNotFound):
            await store.articles.get("bad", include_hidden=True)
        assert await store.articles.bad_files() == [("bad.txt", report.errors[0])]
    async with Store.open(database, store_dir) as reopened:  # kept on disk, not in memory
        assert await reopened.articles.bad_files() == [("bad.txt", report.errors[0])]


async def test_a_bad_update_keeps_the_last_good_version_served(
    store: Store, store_dir: Path
) -> None:
    path = write_article(store_dir, "story", title="Good title", published=True)
    await store.folder.sync()
    good_bytes = path.read_bytes()

    rewrite(path, "---\ntitle: Broken\nwebUrl: [unclosed\n---\n")
    report = await store.folder.sync()
    assert len(report.errors) == 1
    assert report.errors[0].startswith("story.txt: ")
    assert "line" in report.errors[0]
    assert (await store.articles.get("story")).title == "Good title"
    assert ids(await store.articles.latest()) == ["story"]
    assert [name for name, _ in await store.articles.bad_files()] == ["story.txt"]

    # still bad, untouched: not read again, still listed
    again = await store.folder.sync()
    assert (again.changed, again.errors) == (0, [])
    assert [name for name, _ in await store.articles.bad_files()] == ["story.txt"]

    path.write_bytes(good_bytes.replace(b"Good title", b"Fixed title"))
    touch_later(path, 20)
    fixed = await store.folder.sync()
    assert (fixed.changed, fixed.errors) == (1, [])
    assert (await store.articles.get("story")).title == "Fixed title"
    assert await store.articles.bad_files() == []


async def test_two_files_for_one_id_is_an_error_not_a_merge(store: Store, store_dir: Path) -> None:
    write_article(store_dir, "twin.md", title="From md", published=True)
    write_article(store_dir, "twin.txt", title="From txt", published=True)
    report = await store.folder.sync()
    assert len(report.errors) == 1
    assert "same article id" in report.errors[0]
    assert [a.id for a in (await store.articles.latest()).items] == ["twin"]


# ----------------------------------------------------------------- deletion


async def test_a_deleted_file_withdraws_its_article_and_keeps_history(
    store: Store, store_dir: Path
) -> None:
    path = write_article(store_dir, "gone", topics=["Vanishing"], published=True)
    write_article(store_dir, "stays", published=True, publishedDateTime=when(1))
    await store.folder.sync()
    assert ids(await store.articles.latest()) == ["gone", "stays"]
    saved = path.read_bytes()

    path.unlink()
    report = await store.folder.sync()
    assert (report.deleted, report.unchanged) == (1, 2)
    with pytest.raises(ArticleNotFound):
        await store.articles.get("gone")
    with pytest.raises(ArticleNotFound):
        await store.articles.get("gone", include_hidden=True)
    assert ids(await store.articles.latest()) == ["stays"]
    assert (await store.articles.search("gone")).items == ()
    assert "Vanishing" not in dict(await store.articles.topics())
    assert await store.articles.counts() == Counts(articles=2, published=1, drafts=1)
    row = await row_of(store, "gone")
    assert row["deleted_at"] is not None
    assert row["title"] == "Title of gone"
    with pytest.raises(ArticleNotFound):
        await store.publishing.publish("gone", "mod")

    path.write_bytes(saved)
    back = await store.folder.sync()
    assert back.new == 1
    assert back.published == ["gone"]
    assert (await store.articles.get("gone")).title == "Title of gone"
    assert ids(await store.articles.latest()) == ["gone", "stays"]
    assert (await row_of(store, "gone"))["deleted_at"] is None


# ----------------------------------------------------------------- reading


async def test_topics_count_only_published_articles(store: Store, store_dir: Path) -> None:
    write_article(store_dir, "p1", topics=["AI", "Open Source"], published=True)
    write_article(store_dir, "p2", topics=["ai "], published=True)
    write_article(store_dir, "p3", topics=["Ai", "open  source"], published=True)
    write_article(store_dir, "d1", topics=["AI", "Only Drafts"], published=False)
    await store.folder.sync()
    # the seed (a draft) wrote "AI" first; drafts count for nothing
    assert await store.articles.topics() == [("AI", 3), ("Open Source", 2)]
    assert await store.articles.topic_name("open source ") == "Open Source"
    assert await store.articles.topic_name("nothing like it") is None
    assert await store.articles.match_topics("sour") == [("Open Source", 2)]
    assert await store.articles.match_topics("a") == [("AI", 3)]


async def test_topics_follow_publishing(store: Store) -> None:
    assert await store.articles.topics() == []
    await store.publishing.publish(SEED_ID, "mod")
    assert await store.articles.topics() == [("AI", 1), ("AI Ethics", 1)]
    await store.publishing.unpublish(SEED_ID, "mod")
    assert await store.articles.topics() == []


async def test_latest_newest_first_only_published_five_a_page(
    store: Store, store_dir: Path
) -> None:
    for day in range(1, 13):
        write_article(store_dir, f"pub{day:02}", publishedDateTime=when(day), published=True)
    write_article(store_dir, "draft_newest", publishedDateTime=when(28), published=False)
    await store.folder.sync()
    assert PAGE_SIZE == 5

    first = await store.articles.latest()
    assert ids(first) == ["pub12", "pub11", "pub10", "pub09", "pub08"]
    assert first.has_next
    second = await store.articles.latest(page=1)
    assert ids(second) == ["pub07", "pub06", "pub05", "pub04", "pub03"]
    assert second.has_next
    last = await store.articles.latest(page=2)
    assert ids(last) == ["pub02", "pub01"]
    assert not last.has_next
    assert (await store.articles.latest(page=3)).items == ()
    assert all(a.published for p in (first, second, last) for a in p.items)
    assert first.items[0].published_at == datetime(2024, 1, 12, 12, tzinfo=UTC)


async def test_latest_exactly_one_page_has_no_next(store: Store, store_dir: Path) -> None:
    for day in range(1, 6):
        write_article(store_dir, f"p{day}", publishedDateTime=when(day), published=True)
    await store.folder.sync()
    page = await store.articles.latest()
    assert len(page.items) == 5
    assert not page.has_next


async def test_latest_topic_filter_with_any_spelling(store: Store, store_dir: Path) -> None:
    write_article(store_dir, "ai1", topics=["AI"], publishedDateTime=when(1), published=True)
    write_article(store_dir, "ai2", topics=["ai "], publishedDateTime=when(2), published=True)
    write_article(store_dir, "other", topics=["Climate"], published=True)
    write_article(store_dir, "aidraft", topics=["AI"], published=False)
    await store.folder.sync()
    for spelling in ("AI", "ai", "Ai", " aI  "):
        assert ids(await store.articles.latest(spelling)) == ["ai2", "ai1"]
    assert ids(await store.articles.latest("climate")) == ["other"]
    assert (await store.articles.latest("Unknown Topic")).items == ()


async def test_drafts_newest_first_without_published_or_deleted(
    store: Store, store_dir: Path
) -> None:
    write_article(store_dir, "d_old", publishedDateTime=when(1))
    write_article(store_dir, "d_new", publishedDateTime=when(9))
    write_article(store_dir, "gone", publishedDateTime=when(5))
    write_article(store_dir, "pub", publishedDateTime=when(7), published=True)
    await store.folder.sync()
    (store_dir / "gone.txt").unlink()
    await store.folder.sync()
    assert ids(await store.articles.drafts()) == ["d_new", "d_old", SEED_ID]


async def test_match_titles_separates_published_and_drafts(store: Store, store_dir: Path) -> None:
    write_article(store_dir, "pub", title="Quantum widgets arrive", published=True)
    write_article(store_dir, "dr", title="Quantum gadgets delayed", published=False)
    await store.folder.sync()
    assert await store.articles.match_titles("quant", published=True) == [
        ("Quantum widgets arrive", "pub")
    ]
    assert await store.articles.match_titles("Quantum gad", published=False) == [
        ("Quantum gadgets delayed", "dr")
    ]
    assert await store.articles.match_titles("widgets", published=False) == []
    assert await store.articles.match_titles('") *', published=True) == [
        ("Quantum widgets arrive", "pub")
    ]


# ----------------------------------------------------------------- search


@pytest.fixture
async def searchable(store: Store, store_dir: Path) -> Store:
    write_article(
        store_dir,
        "in_title",
        title="Zebrafish regrow their hearts",
        excerpt="A study of fins.",
        quality=1,
        publishedDateTime=when(1),
        topics=["Science"],
        published=True,
    )
    write_article(
        store_dir,
        "in_excerpt",
        title="Lab notes from the week",
        excerpt="Researchers looked at zebrafish and mice.",
        quality=90,
        publishedDateTime=when(20),
        topics=["Health"],
        published=True,
    )
    write_article(
        store_dir,
        "draft",
        title="Zebrafish zebrafish zebrafish",
        excerpt="zebrafish",
        quality=99,
        topics=["Science"],
        published=False,
    )
    write_article(
        store_dir,
        "by_provider",
        title="Markets today",
        provider={"name": "Quokka Wire", "domain": "quokka.example"},
        topics=["Economy"],
        published=True,
    )
    await store.folder.sync()
    return store


async def test_search_ranks_a_title_hit_above_an_excerpt_hit(searchable: Store) -> None:
    page = await searchable.articles.search("zebrafish")
    assert ids(page) == ["in_title", "in_excerpt"]
    assert not page.has_next


async def test_search_respects_the_topic_filter(searchable: Store) -> None:
    assert ids(await searchable.articles.search("zebrafish", topic="health")) == ["in_excerpt"]
    assert ids(await searchable.articles.search("zebrafish", topic="SCIENCE ")) == ["in_title"]
    assert ids(await searchable.articles.search("zebrafish", topic="Economy")) == []


async def test_search_never_shows_drafts(searchable: Store) -> None:
    for query in ("zebrafish", "Zebrafish zebrafish", "zebra*"):
        assert "draft" not in ids(await searchable.articles.search(query))


async def test_search_covers_provider_and_topics_and_prefixes(searchable: Store) -> None:
    assert ids(await searchable.articles.search("quokka")) == ["by_provider"]
    assert ids(await searchable.articles.search("economy")) == ["by_provider"]
    assert ids(await searchable.articles.search("zebra*")) == ["in_title", "in_excerpt"]
    assert ids(await searchable.articles.search("zebra")) == []
    assert ids(await searchable.articles.search("ZEBRAFISH hearts")) == ["in_title"]
    assert ids(await searchable.articles.search('"regrow their"')) == ["in_title"]
    assert ids(await searchable.articles.search('"their regrow"')) == []


HOSTILE = [
    '"',
    '""',
    "AI AND",
    "AND",
    "OR",
    "NOT",
    "NEAR(",
    "NEAR(a b",
    "*",
    "**",
    "') OR 1=1 --",
    "'; DROP TABLE articles; --",
    "^",
    "title:x",
    "{title excerpt}: x",
    '"unbalanced',
    "-",
    "(",
    ")",
    "a OR",
    "+",
    ":",
    "🦓🚀",
    "\x00",
    "AI\x00",
    "\x00zebrafish\x00\x01\x1f",
    "AI \ud800",
    "\\",
    "%_",
    "x" * 2000,
    " ".join(["word"] * 400),
    '"' * 2000,
    "",
    "   ",
]


@pytest.mark.parametrize("query", HOSTILE, ids=range(len(HOSTILE)))
async def test_hostile_search_strings_are_answered(searchable: Store, query: str) -> None:
    page = await searchable.articles.search(query)
    assert "draft" not in ids(page)
    assert isinstance(await searchable.articles.search(query, topic=query), type(page))
    await searchable.articles.match_titles(query, published=True)
    await searchable.articles.match_titles(query, published=False)
    await searchable.articles.latest(topic=query)
    await searchable.articles.match_topics(query)


@pytest.mark.parametrize(
    "query",
    [
        'zebrafish"',
        '"zebrafish',
        "(zebrafish",
        "zebrafish)",
        "^zebrafish",
        "-zebrafish",
        "+zebrafish",
        "*zebrafish",
        "zebrafish*",
        "zebrafish:",
        "zebrafish 🦓",
        "'zebrafish'",
        "zebrafish;--",
        '"zebrafish" "',
        "zebrafish ^ * ( ) -",
        "ZEBRAFISH",
    ],
)
async def test_a_hostile_string_with_a_real_word_still_finds_it(
    searchable: Store, query: str
) -> None:
    assert ids(await searchable.articles.search(query)) == ["in_title", "in_excerpt"]


CHARACTERS = "aZé9 _-'\"\\:*&|!()<>@.,;/\x00\x01\ud800🦓\u200b\t\n{}^~"


async def test_any_text_is_a_valid_search_and_title_lookup(store: Store, store_dir: Path) -> None:
    """Whatever is typed (NUL, lone surrogates, query syntax): an answer, never an error."""
    write_article(store_dir, "found", title="Axolotl found", published=True)
    await store.folder.sync()
    rng = random.Random(20240501)
    for _ in range(300):
        text = "".join(rng.choice(CHARACTERS) for _ in range(rng.randint(0, 40)))
        await store.articles.search(text)
        await store.articles.search(text, topic="AI")
        await store.articles.match_titles(text, published=True)
    assert ids(await store.articles.search("axolotl")) == ["found"]  # and search still works
    assert await store.articles.match_titles("axo", published=True) == [("Axolotl found", "found")]


# ----------------------------------------------------------------- publishing


async def test_publish_flips_only_the_published_line(store: Store, store_dir: Path) -> None:
    path = store_dir / SEED_NAME
    original = path.read_bytes()
    assert original.count(b"published: false") == 1
    path.chmod(0o640)

    article = await store.publishing.publish(SEED_ID, "moderator#42")

    assert article.published is True
    after = path.read_bytes()
    assert after == original.replace(b"published: false", b"published: true")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [f.name for f in store_dir.iterdir()] == [SEED_NAME]  # no temp file left
    assert ids(await store.articles.latest()) == [SEED_ID]
    assert (await store.articles.get(SEED_ID)).published is True
    assert await store.articles.counts() == Counts(articles=1, published=1, drafts=0)
    audit = await store.publishing.audit_trail()
    assert [(e.actor, e.action, e.article_id) for e in audit] == [
        ("moderator#42", "publish", SEED_ID)
    ]
    assert abs(audit[0].at - datetime.now(UTC).timestamp()) < 60

    # the write-back is already known: the next sync reads nothing and announces nothing
    report = await store.folder.sync()
    assert (report.changed, report.unchanged, report.published) == (0, 1, [])


async def test_unpublish_reverses_publish(store: Store, store_dir: Path) -> None:
    path = store_dir / SEED_NAME
    original = path.read_bytes()
    await store.publishing.publish(SEED_ID, "mod-a")
    article = await store.publishing.unpublish(SEED_ID, "mod-b")
    assert article.published is False
    assert path.read_bytes() == original
    assert (await store.articles.latest()).items == ()
    assert ids(await store.articles.drafts()) == [SEED_ID]
    assert (await store.articles.get(SEED_ID, include_hidden=True)).published is False
    audit = await store.publishing.audit_trail()  # newest first
    assert [(e.actor, e.action, e.article_id) for e in audit] == [
        ("mod-b", "unpublish", SEED_ID),
        ("mod-a", "publish", SEED_ID),
    ]


async def test_publish_unknown_id(store: Store) -> None:
    with pytest.raises(ArticleNotFound) as caught:
        await store.publishing.publish("no_such_article", "mod")
    assert caught.value.article_id == "no_such_article"
    with pytest.raises(ArticleNotFound) as again:
        await store.publishing.unpublish("no_such_article", "mod")
    assert again.value.article_id == "no_such_article"
    assert await store.publishing.audit_trail() == []


async def test_publish_twice_and_unpublish_a_draft_are_refused(
    store: Store, store_dir: Path
) -> None:
    with pytest.raises(AlreadyDone) as draft:  # already a draft
        await store.publishing.unpublish(SEED_ID, "mod")
    assert (draft.value.article_id, draft.value.publish) == (SEED_ID, False)
    await store.publishing.publish(SEED_ID, "mod")
    published_bytes = (store_dir / SEED_NAME).read_bytes()
    with pytest.raises(AlreadyDone) as twice:  # already published
        await store.publishing.publish(SEED_ID, "mod")
    assert (twice.value.article_id, twice.value.publish) == (SEED_ID, True)
    assert (store_dir / SEED_NAME).read_bytes() == published_bytes
    assert len(await store.publishing.audit_trail()) == 1


async def _db_state(store: Store) -> list[tuple[Any, ...]]:
    return await sql_rows(
        store, "SELECT id, published, file_mtime_ns, render_hash FROM articles ORDER BY id"
    ) + await sql_rows(store, "SELECT * FROM audit ORDER BY id")


async def test_publish_when_the_file_is_gone_changes_nothing(store: Store, store_dir: Path) -> None:
    (store_dir / SEED_NAME).unlink()
    before = await _db_state(store)
    with pytest.raises(FileNotWritable) as caught:  # "nothing was changed"
        await store.publishing.publish(SEED_ID, "mod")
    assert (caught.value.article_id, caught.value.publish) == (SEED_ID, True)
    assert (caught.value.file, caught.value.reason) == (SEED_NAME, os.strerror(errno.ENOENT))
    assert await _db_state(store) == before
    assert list(store_dir.iterdir()) == []
    assert ids(await store.articles.drafts()) == [SEED_ID]


async def test_publish_when_the_file_became_a_folder_changes_nothing(
    store: Store, store_dir: Path
) -> None:
    (store_dir / SEED_NAME).unlink()
    (store_dir / SEED_NAME).mkdir()
    before = await _db_state(store)
    with pytest.raises(FileChanged) as caught:  # not what the database read: nothing is written
        await store.publishing.publish(SEED_ID, "mod")
    assert (caught.value.article_id, caught.value.publish) == (SEED_ID, True)
    assert await _db_state(store) == before
    assert (store_dir / SEED_NAME).is_dir()


async def test_publish_when_the_write_fails_changes_nothing(
    store: Store, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = store_dir / SEED_NAME
    original = path.read_bytes()
    before = await _db_state(store)

    def refuse(src: Any, dst: Any) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(FileNotWritable) as caught:
        await store.publishing.publish(SEED_ID, "mod")
    monkeypatch.undo()
    assert (caught.value.article_id, caught.value.publish) == (SEED_ID, True)
    assert (caught.value.file, caught.value.reason) == (SEED_NAME, "Permission denied")
    assert path.read_bytes() == original
    assert [f.name for f in store_dir.iterdir()] == [SEED_NAME]  # temp file cleaned up
    assert await _db_state(store) == before
    assert (await store.articles.latest()).items == ()


async def test_publish_when_the_file_went_bad_changes_nothing(
    store: Store, store_dir: Path
) -> None:
    path = store_dir / SEED_NAME
    broken = b"---\ntitle: [\n---\n"
    path.write_bytes(broken)
    with pytest.raises(ArticleError) as parsing:
        parse_article_bytes(broken, SEED_NAME)
    before = await _db_state(store)
    with pytest.raises(FileChanged):  # changed since the database read it: nobody reviewed it
        await store.publishing.publish(SEED_ID, "mod")
    assert path.read_bytes() == broken
    assert await _db_state(store) == before
    await store.folder.sync()  # read now: a bad file, the last good version still served
    before = await _db_state(store)
    with pytest.raises(FileInvalid) as caught:  # the file is not valid now
        await store.publishing.publish(SEED_ID, "mod")
    assert (caught.value.article_id, caught.value.publish) == (SEED_ID, True)
    assert caught.value.reason == parsing.value.problem
    assert path.read_bytes() == broken
    assert await _db_state(store) == before


async def test_publish_inserts_a_missing_published_line(store: Store, store_dir: Path) -> None:
    path = write_article(store_dir, "noflag", published=None, body="Body text.\n")
    original = path.read_bytes()
    assert b"published:" not in original
    await store.folder.sync()
    assert ids(await store.articles.drafts())[0] == "noflag"

    await store.publishing.publish("noflag", "mod")
    after = path.read_bytes()
    head, sep, tail = original.rpartition(b"---\nBody text.\n")
    assert after == head + b"published: true\n" + sep + tail
    assert "noflag" in ids(await store.articles.latest())


async def test_publish_keeps_crlf_line_endings(store: Store, store_dir: Path) -> None:
    path = store_dir / "crlf.txt"
    text = (SEED_PATH.read_bytes()).replace(b"\n", b"\r\n")
    path.write_bytes(text)
    await store.folder.sync()
    await store.publishing.publish("crlf", "mod")
    after = path.read_bytes()
    assert after == text.replace(b"published: false", b"published: true")
    assert after.count(b"\n") == after.count(b"\r\n")


async def test_publish_inserts_a_crlf_published_line_in_a_crlf_file(
    store: Store, store_dir: Path
) -> None:
    path = write_article(store_dir, "crlf2", published=None)
    original = path.read_bytes().replace(b"\n", b"\r\n")
    path.write_bytes(original)
    await store.folder.sync()
    await store.publishing.publish("crlf2", "mod")
    after = path.read_bytes()
    closing = original.rindex(b"---\r\n")
    assert after == original[:closing] + b"published: true\r\n" + original[closing:]
    assert after.count(b"\n") == after.count(b"\r\n")


async def test_publish_keeps_a_byte_order_mark(store: Store, store_dir: Path) -> None:
    path = store_dir / "bom.txt"
    original = b"\xef\xbb\xbf" + SEED_PATH.read_bytes()
    path.write_bytes(original)
    await store.folder.sync()
    await store.publishing.publish("bom", "mod")
    assert path.read_bytes() == original.replace(b"published: false", b"published: true")


async def test_publish_then_edit_by_the_pipeline(store: Store, store_dir: Path) -> None:
    await store.publishing.publish(SEED_ID, "mod")
    path = store_dir / SEED_NAME
    rewrite(path, path.read_text(encoding="utf-8").replace("How Long", "How Much Longer"))
    report = await store.folder.sync()
    assert (report.changed, report.published) == (1, [])
    assert (await store.articles.get(SEED_ID)).title.startswith("How Much Longer")


# ----------------------------------------------------------------- arriving published


async def test_a_file_arriving_published_is_reported(store: Store, store_dir: Path) -> None:
    write_article(store_dir, "fresh", published=True)
    write_article(store_dir, "draft", published=False)
    report = await store.folder.sync()
    assert report.published == ["fresh"]
    assert ids(await store.articles.latest()) == ["fresh"]


async def test_a_draft_changed_to_published_by_the_pipeline_is_reported(
    store: Store, store_dir: Path
) -> None:
    path = store_dir / SEED_NAME
    rewrite(path, path.read_text(encoding="utf-8").replace("published: false", "published: true"))
    report = await store.folder.sync()
    assert report.published == [SEED_ID]
    assert ids(await store.articles.latest()) == [SEED_ID]


# ----------------------------------------------------------------- one story, one article


async def test_duplicate_web_url_serves_the_newer_file(store: Store, store_dir: Path) -> None:
    url = "https://example.com/one-story"
    newer = write_article(store_dir, "a_newer", title="Newer", webUrl=url, published=True)
    older = write_article(store_dir, "z_older", title="Older", webUrl=url, published=True)
    os.utime(older, (1_700_000_000, 1_700_000_000))
    os.utime(newer, (1_700_000_100, 1_700_000_100))

    report = await store.folder.sync()
    assert ids(await store.articles.latest()) == ["a_newer"]
    assert report.published == ["a_newer"]
    assert any("z_older" in w and "same webUrl" in w and "a_newer" in w for w in report.warnings)
    assert (await row_of(store, "z_older"))["duplicate_of"] == "a_newer"
    assert ids(await store.articles.search("older")) == []
    with pytest.raises(ArticleNotFound):
        await store.articles.get("z_older")
    with pytest.raises(ServedByDuplicate) as caught:
        await store.publishing.unpublish("z_older", "mod")
    assert (caught.value.article_id, caught.value.publish) == ("z_older", False)
    assert caught.value.served_by == "a_newer"

    newer.unlink()
    again = await store.folder.sync()
    assert ids(await store.articles.latest()) == ["z_older"]
    assert (await store.articles.get("z_older")).title == "Older"
    assert (await row_of(store, "z_older"))["duplicate_of"] is None
    assert again.published == []  # the same story, already announced: its post is edited


async def test_duplicate_web_url_newer_edit_takes_over(store: Store, store_dir: Path) -> None:
    url = "https://example.com/story-two"
    first = write_article(store_dir, "first", title="First", webUrl=url, published=True)
    second = write_article(store_dir, "second", title="Second", webUrl=url, published=True)
    os.utime(first, (1_700_000_100, 1_700_000_100))
    os.utime(second, (1_700_000_000, 1_700_000_000))
    await store.folder.sync()
    assert ids(await store.articles.latest()) == ["first"]
    second.write_text(second.read_text().replace("Second", "Second, updated"))
    os.utime(second, (1_700_000_200, 1_700_000_200))
    report = await store.folder.sync()
    assert ids(await store.articles.latest()) == ["second"]
    assert report.published == []  # the same story, still one post
    assert (await store.articles.get("second")).title == "Second, updated"


async def test_another_file_for_a_posted_story_posts_nothing_new(
    store: Store, store_dir: Path
) -> None:
    url = "https://example.com/posted-story"
    await store.feeds.subscribe(1, "", actor="tester")
    served = write_article(store_dir, "served", webUrl=url, published=True)
    os.utime(served, (1_700_000_100, 1_700_000_100))
    assert (await store.folder.sync()).published == ["served"]
    assert await store.outbox.posts(url) == {1: (DeliveryState.PENDING, None)}
    [pending] = await store.outbox.due()
    assert (pending.channel_id, pending.article_id, pending.state) == (
        1,
        "served",
        DeliveryState.PENDING,
    )
    await store.outbox.done(pending, 99)  # Discord answered: message 99
    await store.feeds.subscribe(2, "", actor="tester")  # from now on: the story came before

    older = write_article(store_dir, "older_copy", webUrl=url, published=True)
    os.utime(older, (1_700_000_000, 1_700_000_000))
    arrived = await store.folder.sync()
    assert arrived.published == []
    older.unlink()
    removed = await store.folder.sync()
    assert removed.published == []
    assert ids(await store.articles.latest()) == ["served"]
    assert await store.outbox.posts(url) == {1: (DeliveryState.SENT, 99)}
    assert await store.outbox.due() == []

    newer = write_article(store_dir, "newer_copy", title="Updated", webUrl=url, published=True)
    os.utime(newer, (1_700_000_200, 1_700_000_200))
    took_over = await store.folder.sync()
    assert took_over.published == []
    assert ids(await store.articles.latest()) == ["newer_copy"]
    assert await store.outbox.posts(url) == {1: (DeliveryState.EDIT, 99)}
    due = await store.outbox.due()
    assert [(d.channel_id, d.article_id, d.state, d.message_id) for d in due] == [
        (1, "newer_copy", DeliveryState.EDIT, 99)  # edited in place, never reposted
    ]


# ----------------------------------------------------------------- schema


@pytest.mark.sqlite_only
async def test_schema_version_and_wal(store: Store, db_path: Path) -> None:
    assert rows(db_path, "PRAGMA user_version") == [(schema.latest("sqlite"),)]
    assert rows(db_path, "PRAGMA journal_mode") == [("wal",)]
    tables = {r[0] for r in rows(db_path, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"articles", "files", "topics", "audit", "search_changes", "outbox"} <= tables
    assert "articles_fts" not in tables  # search is the search index's (migration 5)


async def test_reopening_does_not_migrate_again(
    db_path: Path, store_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.store")
    async with Store.open(db_path, store_dir) as first:
        await first.folder.sync()
        await first.publishing.publish(SEED_ID, "mod")
    # a fresh database takes every migration, said in one line
    migrated = [r.getMessage() for r in caplog.records if "migrated" in r.getMessage()]
    assert migrated == [f"migrated schema 0 → {schema.latest('sqlite')}"]
    caplog.clear()

    async with Store.open(db_path, store_dir) as second:
        assert ids(await second.articles.latest()) == [SEED_ID]
        report = await second.folder.sync()
        assert (report.unchanged, report.loaded) == (1, 0)
        audit = await second.publishing.audit_trail()
        assert [(e.actor, e.action) for e in audit] == [("mod", "publish")]
    assert not any("migrated" in r.getMessage() for r in caplog.records)
    assert rows(db_path, "PRAGMA user_version") == [(schema.latest("sqlite"),)]


# ----------------------------------------------------------------- 5,000 articles


def _corpus_writer() -> Callable[..., Any] | None:
    try:
        from tests.support.corpus import write_corpus
    except ImportError:  # pragma: no cover - the generator is not in this checkout
        return None
    return write_corpus


def _title(raw: bytes) -> str:
    return parse_article_bytes(raw, "sample.txt").title


@pytest.mark.slow  # 5,000 articles
async def test_five_thousand_articles(tmp_path: Path, database: Path | str) -> None:
    write_corpus = _corpus_writer()
    if write_corpus is None:
        pytest.skip("tests/support/corpus.py is not available")
    folder = tmp_path / "corpus"
    write_corpus(folder, 5000, seed=7, drafts_fraction=0.3, jobs=2)
    files = sorted(p for p in folder.iterdir() if p.suffix in (".txt", ".md"))
    assert len(files) == 5000
    raw = {p.stem: p.read_bytes() for p in files}
    flag = re.compile(rb"^published: (true|false)\r?$", re.MULTILINE)
    published_files = {i for i, b in raw.items() if flag.findall(b) == [b"true"]}
    draft_files = {i for i, b in raw.items() if flag.findall(b) == [b"false"]}
    assert len(published_files) + len(draft_files) == 5000

    async with Store.open(database, folder) as store:
        report = await store.folder.sync()
        assert report.errors == []
        assert (report.scanned, report.loaded, report.new) == (5000, 5000, 5000)
        counts = await store.articles.counts()
        # a story in two files is served once: the losers are neither published nor drafts
        losers = {
            r[0]
            for r in await sql_rows(store, "SELECT id FROM articles WHERE duplicate_of IS NOT NULL")
        }
        assert counts == Counts(
            articles=5000,
            published=len(published_files - losers),
            drafts=len(draft_files - losers),
        )
        assert sorted(report.published) == sorted(published_files - losers)
        assert await sql_rows(store, "SELECT COUNT(*) FROM articles WHERE published = 1") == [
            (len(published_files),)
        ]

        again = await store.folder.sync()
        assert (again.unchanged, again.loaded, again.deleted) == (5000, 0, 0)
        assert (again.errors, again.published) == ([], [])

        # the rarest word of one published article's title finds it (and only published ones)
        shown = re.compile(r"^(?:title|excerpt): (.*)$", re.MULTILINE)
        words = re.compile(r"[A-Za-z0-9]{4,}")
        df: dict[str, int] = {}
        for b in raw.values():
            for w in set(words.findall(" ".join(shown.findall(b.decode())).casefold())):
                df[w] = df.get(w, 0) + 1
        candidates = sorted(published_files - losers)[1234:]
        sample = next(i for i in candidates if words.findall(_title(raw[i])))
        word = min(set(words.findall(_title(raw[sample]).casefold())), key=lambda w: (df[w], w))
        found: list[str] = []
        page = await store.articles.search(word)
        while True:
            found += ids(page)
            assert all(a.published for a in page.items)
            if not page.has_next or len(found) > 500:
                break
            page = await store.articles.search(word, page=page.page + 1)
        assert sample in found
        assert set(found) <= published_files


async def test_an_id_sqlite_cannot_hold_names_no_article(store: Store) -> None:
    """A lone surrogate (valid JSON from Discord) is an unknown article, not a crash."""
    with pytest.raises(ArticleNotFound):
        await store.articles.get("abc\ud800")
    with pytest.raises(ArticleNotFound):
        await store.publishing.publish("abc\ud800", "tester")


async def test_an_emptied_store_folder_withdraws_nothing(store: Store, store_dir: Path) -> None:
    """An unmounted volume must not withdraw every article (and delete every post)."""
    write_article(store_dir, "live", published=True)
    await store.folder.sync()
    for path in store_dir.iterdir():
        path.unlink()
    report = await store.folder.sync()
    assert report.deleted == 0
    assert "the store folder is empty" in report.errors[0]
    assert [a.id for a in (await store.articles.latest()).items] == ["live"]
    write_article(store_dir, "other", published=True)
    report = await store.folder.sync()
    assert report.deleted == 2  # with a file back, the missing ones are withdrawn as usual
