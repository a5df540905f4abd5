"""Stories: which articles are one story (bot/stories.py, bot/store/stories.py).

URL normalisation and near-duplicate detection are pure; everything else runs on a real
store (both backends) and is read back from `articles.story`, the column every reader of
stories (posts, /story, search, digests) uses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.articles import read_article
from bot.store import Store
from bot.stories import (
    HASHES,
    THRESHOLD,
    Member,
    band_keys,
    cluster,
    links,
    normalise_url,
    signature,
    similarity,
    url_keys,
    words,
)
from tests.support.cli import newsbot
from tests.support.corpus import STORY_BLOCK, planted_story, write_corpus
from tests.support.helpers import examples, write_article

# ----------------------------------------------------------------- URLs

SAME_PAGE = [
    "https://example.com/news/story",
    "http://example.com/news/story",
    "HTTPS://WWW.Example.COM/news/story/",
    "https://m.example.com/news/story",
    "https://amp.example.com/news/story",
    "https://example.com:443/news/story",
    "http://example.com:80/news/story#comments",
    "https://example.com/news/story?utm_source=rss&utm_medium=feed",
    "https://example.com/news/story?fbclid=abc&gclid=def&dclid=1&msclkid=2",
    "https://example.com/news/story?mc_cid=1&mc_eid=2&igshid=3&ref=tw&ref_src=x",
    "https://example.com/news/story?cmpid=1&ocid=2&_ga=3&UTM_Campaign=spring",
    "https://example.com/amp/news/story",
    "https://example.com/news/story/amp/",
    "https://example.com/news/story.amp",
    "https://example.com/news/story?amp=1",
    "https://example.com/news/story?amp",
    "https://example.com/news/story?output=amp",
    "https://example.com/news/story?outputType=amp",
    "  https://www.example.com//news//story//  ",
]


@pytest.mark.parametrize("url", SAME_PAGE)
def test_one_page_under_many_addresses_is_one_url(url: str) -> None:
    assert normalise_url(url) == "https://example.com/news/story"


def test_the_query_that_names_the_page_stays_sorted() -> None:
    assert normalise_url("https://example.com/a?b=2&utm_source=x&a=1") == (
        "https://example.com/a?a=1&b=2"
    )
    assert normalise_url("https://example.com/a?id=1") != normalise_url(
        "https://example.com/a?id=2"
    )
    assert normalise_url("https://example.com/a?output=print") == (
        "https://example.com/a?output=print"
    )


def test_different_pages_stay_different() -> None:
    assert normalise_url("https://example.com:8080/a") == "https://example.com:8080/a"
    assert normalise_url("https://example.com/A") != normalise_url("https://example.com/a")
    assert normalise_url("https://example.org/a") != normalise_url("https://example.com/a")
    assert normalise_url("https://example.com/amplifier") == "https://example.com/amplifier"


@pytest.mark.parametrize(
    "hostile",
    [
        "",
        "   ",
        "not a url",
        "mailto:someone@example.com",
        "https://",
        "https://[::1",
        "https://example.com:99999999999999/a",
        "https://example.com:abc/a",
        "https://exämple.com/ünïcode/路径?q=värde#frag",
        "https://example.com/" + "a" * 5000 + "?" + "&".join(f"k{i}=v" for i in range(500)),
        "https://user:pass@example.com/a",
        "http://%zz/%%%?%%=%%",
        "\x00\x1b[2J https://example.com/a",
        "https://example.com/a?utm_source=" + "x" * 3000,
    ],
)
def test_normalising_any_string_never_raises(hostile: str) -> None:
    assert isinstance(normalise_url(hostile), str)
    assert isinstance(url_keys([hostile]), list)


@settings(max_examples=examples(300), deadline=None)
@given(
    st.text()
    | st.builds(
        lambda host, path, query: f"https://{host}/{path}?{query}",
        st.text(min_size=1),
        st.text(),
        st.text(),
    )
)
def test_normalising_is_total(text: str) -> None:
    assert isinstance(normalise_url(text), str)
    assert isinstance(url_keys([text]), list)


def test_a_site_home_page_is_no_key() -> None:
    """A related link to a front page would join every story that lists it."""
    assert url_keys(["https://www.example.com/", "https://example.com", None, ""]) == []
    [key] = url_keys(["https://example.com/a", "http://www.example.com/a/"])
    assert url_keys(["https://example.com/a?utm_source=x"]) == [key]
    assert url_keys(["https://example.com/b"]) != [key]


# ----------------------------------------------------------------- near-duplicates

WIRE = (
    "Regulators in Brussels opened a formal investigation into the chipmaker's pricing on "
    "Tuesday, saying the company may have squeezed smaller rivals out of the market for "
    "data-center accelerators over the past two years."
)


def test_the_same_wire_text_under_another_title_is_a_near_duplicate() -> None:
    a = signature("EU opens probe into chipmaker pricing", WIRE)
    b = signature("Brussels investigates chip giant over prices", WIRE)
    assert len(a) == HASHES and similarity(a, b) >= THRESHOLD
    assert set(band_keys(a)) & set(band_keys(b))


def test_accents_case_and_punctuation_do_not_matter() -> None:
    a = signature("Café owners in Zürich protest", "Dozens of café owners protested, again.")
    b = signature("CAFE OWNERS IN ZURICH PROTEST!", "Dozens of cafe owners -- protested again")
    assert similarity(a, b) == 1.0


def test_unrelated_texts_sharing_common_words_are_not() -> None:
    a = signature("Nvidia unveils new AI chips", WIRE)
    b = signature(
        "Nvidia unveils new AI chips for laptops",
        "The company showed thinner gaming machines at its annual event in Taipei, with "
        "batteries that last a full day and prices starting under a thousand dollars.",
    )
    assert similarity(a, b) < THRESHOLD


def test_a_text_too_short_finds_no_near_duplicates() -> None:
    assert len(signature("Breaking", "")) == 0
    assert band_keys(signature("Breaking", "")) == []


def _pair_at(target: float) -> tuple[str, str, float]:
    """Two texts sharing a first run of words and differing after it, whose estimated
    similarity is exactly `target` (the estimate varies with the words: several are tried)."""
    base = WIRE.split()
    a = " ".join(base)
    for salt in range(100):
        for keep in range(3, len(base)):
            b = " ".join(base[:keep] + [f"x{salt}y{i}" for i in range(len(base) - keep)])
            found = similarity(signature("", a), signature("", b))
            if found == target:
                return a, b, found
    raise AssertionError(f"no pair at {target}")


def _member(i: int, text: str, at: int = 0) -> Member:
    sig = signature("", text)
    return Member(f"a{i}", at, band_keys(sig), sig)


def test_near_duplicates_join_just_at_the_threshold_and_not_just_under() -> None:
    least = math.ceil(THRESHOLD * HASHES) / HASHES  # the least similarity estimated over it
    over_a, over_b, over = _pair_at(least)
    under_a, under_b, under = _pair_at(least - 1 / HASHES)
    assert over == least >= THRESHOLD > under == least - 1 / HASHES
    joined = [_member(0, over_a), _member(1, over_b)]
    assert cluster(joined, links(joined)) == ["a0", "a0"]
    apart = [_member(0, under_a), _member(1, under_b)]
    assert cluster(apart, links(apart)) == ["a0", "a1"]


# ----------------------------------------------------------------- in the store

HOUR = 3600


def at(hours: int) -> str:
    day, hour = divmod(hours, 24)
    return f"2024-03-{1 + day:02d}T{hour:02d}:00:00Z"


def plant(folder: Path, name: str, hours: int = 0, **fields: Any) -> None:
    """A published article `hours` after 2024-03-01 00:00 (its own URLs unless given)."""
    fields.setdefault("webUrl", f"https://news.example/{name}")
    fields.setdefault("excerpt", f"Nothing like any other: {name} {name}-a {name}-b {name}-c.")
    write_article(folder, name, published=True, publishedDateTime=at(hours), **fields)


async def stories(store: Store, ids: Sequence[str] = ()) -> dict[str, str]:
    rows = await store.db.fetch_tuples("SELECT id, story FROM articles ORDER BY id")
    return {i: s for i, s in rows if not ids or i in ids}


async def test_articles_sharing_a_normalised_url_are_one_story(store: Store) -> None:
    folder = store.store_dir
    plant(folder, "wire", originalUrl="https://www.wire.example/world/story-1")
    plant(folder, "copy", 5, originalUrl="http://wire.example/world/story-1/?utm_source=rss")
    plant(folder, "amp", 9, originalUrl="https://wire.example/amp/world/story-1#top")
    plant(
        folder,
        "follow",
        30,
        related=[{"title": "Earlier", "webUrl": "https://m.wire.example/world/story-1?fbclid=x"}],
    )
    plant(folder, "other", 1, originalUrl="https://wire.example/world/story-2")
    await store.folder.sync()
    found = await stories(store, ["wire", "copy", "amp", "follow", "other"])
    assert found == {
        "wire": "wire",
        "copy": "wire",
        "amp": "wire",
        "follow": "wire",
        "other": "other",
    }


async def test_the_same_wire_text_from_two_providers_is_one_story(store: Store) -> None:
    plant(store.store_dir, "ap", 0, title="EU opens probe into chipmaker pricing", excerpt=WIRE)
    plant(
        store.store_dir,
        "local",
        20,
        title="Brussels investigates chip giant over prices",
        excerpt=WIRE,
        provider={"name": "Local Paper", "domain": "local.example"},
    )
    await store.folder.sync()
    assert await stories(store, ["ap", "local"]) == {"ap": "ap", "local": "ap"}


async def test_near_duplicates_in_the_store_join_at_the_threshold(store: Store) -> None:
    least = math.ceil(THRESHOLD * HASHES) / HASHES
    over, under = _pair_at(least), _pair_at(least - 1 / HASHES)
    for name, text, hours in (
        ("over1", over[0], 0),
        ("over2", over[1], 1),
        ("under1", under[0], 200),  # days later: no link to the first pair
        ("under2", under[1], 201),
    ):
        title, excerpt = text.split(" ", 1)  # read as one text: the same shingles
        plant(store.store_dir, name, hours, title=title, excerpt=excerpt)
    await store.folder.sync()
    assert await stories(store, ["over1", "over2", "under1", "under2"]) == {
        "over1": "over1",
        "over2": "over1",
        "under1": "under1",
        "under2": "under2",
    }


async def test_73_hours_apart_is_two_stories_and_72_is_one(store: Store) -> None:
    url = "https://wire.example/world/story-1"
    plant(store.store_dir, "first", 0, originalUrl=url)
    plant(store.store_dir, "in_time", 72, originalUrl=url)
    await store.folder.sync()
    plant(store.store_dir, "late", 73 + 72, originalUrl=url)  # 73 h after in_time
    await store.folder.sync()
    assert await stories(store, ["first", "in_time", "late"]) == {
        "first": "first",
        "in_time": "first",
        "late": "late",
    }


async def test_links_are_transitive_within_the_window(store: Store) -> None:
    """A~B and B~C: one story though A and C share nothing and are 100 h apart."""
    plant(store.store_dir, "a", 0, originalUrl="https://wire.example/x")
    plant(
        store.store_dir,
        "b",
        50,
        originalUrl="https://wire.example/x?utm_campaign=1",
        related=[{"title": "Next", "webUrl": "https://other.example/y"}],
    )
    plant(store.store_dir, "c", 100, originalUrl="https://www.other.example/y/")
    await store.folder.sync()
    assert await stories(store, ["a", "b", "c"]) == {"a": "a", "b": "a", "c": "a"}


async def test_an_article_bridging_two_stories_merges_them(store: Store) -> None:
    folder = store.store_dir
    plant(folder, "left", 0, originalUrl="https://one.example/story")
    plant(folder, "left2", 2, originalUrl="https://one.example/story?ref=x")
    plant(folder, "right", 1, originalUrl="https://two.example/story")
    plant(folder, "right2", 3, originalUrl="https://two.example/story?ocid=y")
    await store.folder.sync()
    assert set((await stories(store, ["left", "left2", "right", "right2"])).values()) == {
        "left",
        "right",
    }
    plant(
        folder,
        "bridge",
        4,
        originalUrl="https://one.example/story",
        related=[{"title": "Also", "webUrl": "https://two.example/story"}],
    )
    await store.folder.sync()
    found = await stories(store, ["left", "left2", "right", "right2", "bridge"])
    assert set(found.values()) == {"left"}  # the earliest article's id


async def test_an_earlier_article_arriving_late_begins_the_story(store: Store) -> None:
    plant(store.store_dir, "later", 10, originalUrl="https://one.example/story")
    await store.folder.sync()
    plant(store.store_dir, "earlier", 2, originalUrl="https://one.example/story")
    await store.folder.sync()
    assert await stories(store, ["later", "earlier"]) == {"later": "earlier", "earlier": "earlier"}


async def test_a_changed_file_is_assigned_again(store: Store) -> None:
    folder = store.store_dir
    plant(folder, "a", 0, originalUrl="https://one.example/story")
    plant(folder, "b", 1, originalUrl="https://one.example/story")
    plant(folder, "c", 2, originalUrl="https://two.example/story")
    await store.folder.sync()
    assert await stories(store, ["a", "b", "c"]) == {"a": "a", "b": "a", "c": "c"}
    plant(folder, "a", 0, originalUrl="https://two.example/story")  # now about c's story
    await store.folder.sync()
    assert await stories(store, ["a", "b", "c"]) == {"a": "a", "b": "b", "c": "a"}


async def test_a_withdrawn_article_links_nothing_new(store: Store) -> None:
    plant(store.store_dir, "gone", 0, originalUrl="https://one.example/story")
    await store.folder.sync()
    (store.store_dir / "gone.txt").unlink()
    await store.folder.sync()
    plant(store.store_dir, "new", 1, originalUrl="https://one.example/story")
    await store.folder.sync()
    assert (await stories(store, ["new"]))["new"] == "new"


# ----------------------------------------------------------------- editors' pins


async def pin(store: Store, story: str, *ids: str) -> None:
    """What /story split and merge write (bot/store/story_pins.py): each article pinned to
    `story`, and its story set at once."""
    async with store.db.transaction():
        await store.db.executemany(
            "INSERT INTO story_pins (article_id, story, pinned_by, pinned_at) "
            "VALUES (?, ?, 'editor', 0) ON CONFLICT (article_id) DO UPDATE SET story = ?",
            [(i, story, story) for i in ids],
        )
        await store.db.executemany(
            "UPDATE articles SET story = ? WHERE id = ?", [(story, i) for i in ids]
        )


async def reopened(database: Path | str, store: Store) -> dict[str, str]:
    """The stories after a restart (the Store opened again) and a sync."""
    async with Store.open(database, store.store_dir) as again:
        await again.folder.sync()
        return await stories(again)


async def test_a_split_story_stays_split(database: Path | str, store_dir: Path) -> None:
    url = "https://wire.example/world/story-1"
    for n, name in enumerate(["a", "b", "c"]):
        plant(store_dir, name, n, originalUrl=url)
    async with Store.open(database, store_dir) as store:
        await store.folder.sync()
        assert set((await stories(store, "abc")).values()) == {"a"}
        await pin(store, "b", "b")  # /story split b: b alone, the rest keep the story
        await pin(store, "a", "a", "c")
        plant(store_dir, "d", 4, originalUrl=url)  # linked to all three
        plant(store_dir, "c", 2, originalUrl=url, title="c, changed")
        await store.folder.sync()
        found = await stories(store, "abcd")
        assert (found["a"], found["b"], found["c"]) == ("a", "b", "a")
        assert found["d"] in ("a", "b")  # joins one side, bridges nothing
        await store.folder.writer.stories.recluster()
        again = await stories(store, "abcd")
        assert again == found
        assert await reopened(database, store) == await stories(store)


async def test_a_merged_story_stays_merged(database: Path | str, store_dir: Path) -> None:
    plant(store_dir, "x1", 0, originalUrl="https://one.example/story")
    plant(store_dir, "x2", 1, originalUrl="https://one.example/story")
    plant(store_dir, "y1", 5, originalUrl="https://two.example/other")
    async with Store.open(database, store_dir) as store:
        await store.folder.sync()
        assert await stories(store, ["x1", "x2", "y1"]) == {"x1": "x1", "x2": "x1", "y1": "y1"}
        await pin(store, "x1", "x1", "x2", "y1")  # /story merge y1 x1
        await store.folder.writer.stories.recluster()
        assert set((await stories(store, ["x1", "x2", "y1"])).values()) == {"x1"}
        # an unpinned article linked to a pinned one takes that pin's story
        plant(store_dir, "y2", 6, originalUrl="https://two.example/other?utm_source=x")
        await store.folder.sync()
        assert (await stories(store, ["y2"]))["y2"] == "x1"
        assert set((await reopened(database, store)).values()) >= {"x1"}
        assert set((await reopened(database, store)).values()) - {"x1"} == {
            "000_b1e94322d9932e65"
        }  # the seed article, alone


async def test_an_unpinned_story_never_bridges_two_pinned_ones(store: Store) -> None:
    folder = store.store_dir
    plant(folder, "p", 0, originalUrl="https://one.example/story")
    plant(folder, "q", 1, originalUrl="https://two.example/story")
    await store.folder.sync()
    await pin(store, "p", "p")
    await pin(store, "q", "q")
    plant(  # shares a URL with both: joins one, merges nothing
        folder,
        "both",
        2,
        originalUrl="https://one.example/story",
        related=[{"title": "Also", "webUrl": "https://two.example/story"}],
    )
    await store.folder.sync()
    found = await stories(store, ["p", "q", "both"])
    assert (found["p"], found["q"]) == ("p", "q") and found["both"] in ("p", "q")
    await store.folder.writer.stories.recluster()
    assert (await stories(store, ["p", "q"])) == {"p": "p", "q": "q"}


# ----------------------------------------------------------------- upgrade and re-cluster


async def test_an_upgraded_database_is_clustered_once_and_posts_nothing_again(
    database: Path | str, store_dir: Path
) -> None:
    url = "https://wire.example/world/story-1"
    plant(store_dir, "a", 0, originalUrl=url)
    plant(store_dir, "b", 3, originalUrl=url + "?utm_source=rss")
    async with Store.open(database, store_dir) as store:
        await store.feeds.subscribe(1, "", actor="t")
        await store.folder.sync()
        outbox = await store.db.fetch_tuples("SELECT * FROM outbox ORDER BY id")
        assert len(outbox) == 2
        async with store.db.transaction():  # as the migration left it: alone, no keys
            await store.db.execute("UPDATE articles SET story = id, story_signature = NULL")
            await store.db.execute("DELETE FROM story_keys")
            await store.db.execute("DELETE FROM meta WHERE key = 'stories'")
    async with Store.open(database, store_dir) as store:
        await store.folder.sync()
        assert await stories(store, ["a", "b"]) == {"a": "a", "b": "a"}
        assert await store.db.fetch_tuples("SELECT * FROM outbox ORDER BY id") == outbox
        assert await store.db.fetchval("SELECT COUNT(*) FROM story_keys") > 0
        # a later article finds the upgraded ones by their keys
        plant(store_dir, "c", 5, originalUrl=url + "#more")
        await store.folder.sync()
        assert (await stories(store, ["c"]))["c"] == "a"
        keys = await store.db.fetch_tuples("SELECT * FROM story_keys ORDER BY 1, 2, 3")
        done = await store.folder.writer.stories.recluster()  # newsbot recluster: no change
        assert done is not None and done.moved == 0
        assert await store.db.fetch_tuples("SELECT * FROM story_keys ORDER BY 1, 2, 3") == keys


def test_newsbot_recluster_decides_every_story_again(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    plant(folder, "a", 0, originalUrl="https://wire.example/world/story-1")
    plant(folder, "b", 1, originalUrl="https://wire.example/amp/world/story-1")
    plant(folder, "c", 1, originalUrl="https://wire.example/world/story-2")
    done = newsbot(tmp_path, "recluster")
    assert done.returncode == 0, done.stderr
    assert "3 articles in 2 stories; 0 moved to another story" in done.stdout
    again = newsbot(tmp_path, "recluster")
    assert "3 articles in 2 stories; 0 moved to another story" in again.stdout


# ----------------------------------------------------------------- the planted corpus


def test_the_corpus_plants_stories_a_reader_can_parse(tmp_path: Path) -> None:
    """Planted stories are well-formed articles; their members carry what links them, and
    the articles of no story are the plain corpus's."""
    write_corpus(tmp_path, 400, stories=True)
    write_corpus(tmp_path / "plain", 400)
    by_story: dict[int, list[Any]] = {}
    for path in sorted(tmp_path.glob("*.txt")):
        index = int(path.name.split("_", 1)[0])
        by_story.setdefault(planted_story(0, index), []).append(read_article(tmp_path, path.name))
        if index % STORY_BLOCK == 0:  # a story's root is the plain corpus's article
            assert path.read_bytes() == (tmp_path / "plain" / path.name).read_bytes()
    groups = [g for g in by_story.values() if len(g) > 1]
    assert len(groups) >= 15 and sum(map(len, groups)) >= 50
    for root, *others in groups:
        for other in others:
            assert 0 <= (other.published_at - root.published_at).total_seconds() <= 60 * HOUR
            urls = {normalise_url(u) for u in (other.original_url, *(r.url for r in other.related))}
            mine = set(words(f"{root.title} {root.excerpt}"))
            theirs = set(words(f"{other.title} {other.excerpt}"))
            assert normalise_url(root.url) in urls or len(mine & theirs) > len(mine | theirs) / 3
