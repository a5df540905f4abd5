"""Pictures, from file to store and back: an article's own `images` and each related
item's, parsed from the file (a bad one dropped with a warning naming the file and the
field, never the article), stored in the database and read back by every read that builds an
article or a digest's story, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.articles import article_from_fields, parse_article
from bot.digest import Period
from bot.pictures import IMAGES_READ, MAX_IMAGE_URL, Image
from bot.store import DeliveryState, Store, schema
from bot.store.records import render_hash
from tests.support.cli import newsbot
from tests.support.helpers import (
    AFTER_CARDS,
    SEED_ID,
    SEED_PATH,
    article_text,
    write_article,
)

SEED_RELATED_IMAGE = Image(
    "https://wp.technologyreview.com/wp-content/uploads/2023/05/open-closed2.jpeg?w=3000",
    3000,
    1688,
)
LEAD = Image("https://cdn.example.com/lead.jpeg?w=1200", 1200, 675)
SIDE = Image("https://img.example.org/side.png", 640, 360)
URL = "https://example.com/news/story"
# The schema versions that brought pictures (and the rest of story cards).
SQLITE_CARDS, PG_CARDS = 9, 6


def entry(image: Image) -> dict[str, Any]:
    """An `images` entry as the editorial pipeline writes it."""
    return {"url": image.url, "width": image.width, "height": image.height, "isCached": True}


def pictured(images: Any) -> str:
    """An article file whose own `images` field is `images` (as YAML)."""
    return article_text("a.txt", images=images)


# ----------------------------------------------------------------- parsing


def test_the_seed_article_with_its_own_picture() -> None:
    """The seed's first related item has a picture, its second none; an `images` field
    added to the article itself is its own picture. Nothing is warned about."""
    text = SEED_PATH.read_text("utf-8").replace(
        "\nrelated:\n",
        f'\nimages:\n  - url: "{LEAD.url}"\n    width: 1200\n    height: 675\n'
        "    isCached: true\n\nrelated:\n",
        1,
    )
    article = parse_article(text, SEED_PATH.name)
    assert article.image == LEAD
    first, second = article.related
    assert first.image == SEED_RELATED_IMAGE
    assert second.title.startswith("Open source AI continues") and second.image is None
    assert article.warnings == ()
    assert "images" not in article.extra


def test_the_first_valid_entry_is_taken_and_those_before_it_are_warned_about() -> None:
    article = parse_article(
        pictured([{"url": "http://img.example.com/a.jpg"}, entry(LEAD), entry(SIDE)]), "a.txt"
    )
    assert article.image == LEAD
    assert article.warnings == ("a.txt: images[0]: dropped (url is not https)",)


@pytest.mark.parametrize(
    ("images", "warning"),
    [
        ([{"url": "http://img.example.com/a.jpg"}], "images[0]: dropped (url is not https)"),
        ([{"url": "javascript:alert(1)"}], "images[0]: dropped (url is not https)"),
        ([{"url": "data:image/png;base64,iVBORw0KGgo="}], "images[0]: dropped (url is not https)"),
        (
            [{"url": "https://img.example.com/" + "x" * (MAX_IMAGE_URL - 23)}],
            "images[0]: dropped (url is longer than 2,048 characters)",
        ),
        ([{"width": 10, "height": 10}], "images[0]: dropped (no url)"),
        ([{"url": ""}], "images[0]: dropped (no url)"),
        ([{"url": ["https://img.example.com/a.jpg"]}], "images[0]: dropped (url is not text)"),
        ([{"url": "https:///no-host.jpg"}], "images[0]: dropped (url is not a valid https URL)"),
        (
            [{"url": "https://img.example.com/a b.jpg"}],
            "images[0]: dropped (url is not a valid https URL)",
        ),
        (
            [{"url": "https://img.example.com/\u202egpj.exe"}],
            "images[0]: dropped (url is not a valid https URL)",
        ),
        (
            [{"url": "https://img.example.com:99999/a.jpg"}],
            "images[0]: dropped (url is not a valid URL)",
        ),
        ([{"url": "https://[::1/a.jpg"}], "images[0]: dropped (url is not a valid URL)"),
        (["https://img.example.com/a.jpg"], "images[0]: dropped (not a mapping)"),
        ([[[[{"url": "https://img.example.com/a.jpg"}]]]], "images[0]: dropped (not a mapping)"),
        ("https://img.example.com/a.jpg", "images: dropped (not a list)"),
        ({"url": "https://img.example.com/a.jpg"}, "images: dropped (not a list)"),
        (7, "images: dropped (not a list)"),
    ],
    ids=[
        "http",
        "javascript",
        "data",
        "2049 characters",
        "no url",
        "empty url",
        "url a list",
        "no host",
        "a space",
        "right-to-left override",
        "port out of range",
        "broken IPv6 host",
        "a string entry",
        "nested junk",
        "a string",
        "a mapping",
        "a number",
    ],
)
def test_a_bad_picture_is_dropped_with_a_warning_naming_file_and_field(
    images: Any, warning: str
) -> None:
    article = parse_article(pictured(images), "a.txt")
    assert article.title == "Title of a"  # the article itself loads
    assert article.image is None
    assert article.warnings == (f"a.txt: {warning}",)


def test_an_upper_case_scheme_is_kept_in_lower_case() -> None:
    """The card shows pictures whose URL starts with "https://": the same picture typed
    "HTTPS://" is that one."""
    article = parse_article(pictured([{"url": "HTTPS://img.example.com/A.jpg"}]), "a.txt")
    assert (article.image, article.warnings) == (Image("https://img.example.com/A.jpg"), ())


def test_a_url_of_exactly_2048_characters_is_kept() -> None:
    url = "https://img.example.com/" + "x" * (MAX_IMAGE_URL - 24)
    assert len(url) == MAX_IMAGE_URL
    article = parse_article(pictured([{"url": url}]), "a.txt")
    assert (article.image, article.warnings) == (Image(url), ())


def test_a_related_items_bad_picture_names_the_item() -> None:
    """The warning says which related item: the editor finds the line to fix."""
    related = [
        {"title": "One", "webUrl": "https://one.example/", "images": [entry(SIDE)]},
        {
            "title": "Two",
            "webUrl": "https://two.example/",
            "images": [{"url": "javascript:alert(1)"}],
        },
        {"title": "Three", "webUrl": "https://three.example/", "images": "not a list"},
    ]
    article = parse_article(article_text("r.txt", related=related), "r.txt")
    assert [(r.title, r.image) for r in article.related] == [
        ("One", SIDE),
        ("Two", None),
        ("Three", None),
    ]
    assert article.warnings == (
        "r.txt: related[1].images[0]: dropped (url is not https)",
        "r.txt: related[2].images: dropped (not a list)",
    )


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [
        (1200, 675, (1200, 675)),
        (None, None, (0, 0)),
        (True, False, (0, 0)),  # bool is not a size
        (-1, -675, (0, 0)),
        ("1200", 67.5, (0, 0)),
        (2**31, 2**40, (0, 0)),  # past what the INTEGER columns hold on PostgreSQL
    ],
)
def test_a_bad_or_missing_size_is_zero(width: Any, height: Any, expected: tuple[int, int]) -> None:
    article = parse_article(
        pictured([{"url": LEAD.url, "width": width, "height": height}]), "a.txt"
    )
    assert article.image == Image(LEAD.url, *expected)
    assert article.warnings == ()


class Counted(dict[str, Any]):
    """An `images` entry that counts how often it is looked into."""

    reads = 0

    def get(self, key: str, default: Any = None) -> Any:
        Counted.reads += 1
        return super().get(key, default)


def test_a_list_of_ten_thousand_entries_costs_what_ten_do() -> None:
    """Only the first IMAGES_READ entries are looked at: one warning for the length, one per
    entry read, whatever the list holds after them."""
    article = parse_article(
        pictured([{"url": f"http://img.example.com/{i}.jpg"} for i in range(10_000)]), "a.txt"
    )
    assert article.image is None
    assert article.warnings[0] == "a.txt: images: 10,000 entries, only the first 10 are read"
    assert len(article.warnings) == 1 + IMAGES_READ
    assert article.warnings[-1] == "a.txt: images[9]: dropped (url is not https)"

    Counted.reads = 0
    junk = [Counted(url="http://img.example.com/a.jpg") for _ in range(10_000)]
    fields = {"title": "t", "webUrl": URL, "publishedDateTime": "2024-01-01T00:00:00Z"}
    article = article_from_fields(fields | {"images": junk}, "a.txt")
    assert article.image is None and Counted.reads == IMAGES_READ


def test_newsbot_check_shows_the_warning_and_passes_the_file(tmp_path: Path) -> None:
    """What the editor sees: the file and the field, and the file counted good."""
    (tmp_path / "store").mkdir()
    write_article(tmp_path / "store", "bad", images=[{"url": "http://img.example.com/a.jpg"}])
    result = newsbot(tmp_path, "check")
    assert result.returncode == 0, result.stderr
    assert "warning: bad.txt: images[0]: dropped (url is not https)\n" in result.stdout
    assert "1 good, 0 bad" in result.stdout


# ----------------------------------------------------------------- the store


async def test_a_bad_picture_is_reported_by_the_load_and_the_article_served(
    store: Store, store_dir: Path
) -> None:
    related = [
        {"title": "R", "webUrl": "https://r.example/", "images": [{"url": "http://r.example/a"}]}
    ]
    write_article(
        store_dir, "bad", published=True, images=[{"url": "javascript:x"}], related=related
    )
    report = await store.folder.sync()
    assert report.errors == []
    assert report.warnings == [
        "bad.txt: related[0].images[0]: dropped (url is not https)",
        "bad.txt: images[0]: dropped (url is not https)",
    ]
    article = await store.articles.get("bad")
    assert (article.title, article.image, article.related[0].image) == ("Title of bad", None, None)


def story_fields(image: Image | None = LEAD, side: Image | None = SIDE) -> dict[str, Any]:
    """A published story with its own picture and two related items, the first pictured."""
    return {
        "published": True,
        "images": [entry(image)] if image else None,
        "related": [
            {
                "title": "Side one",
                "webUrl": "https://side.example/1",
                **({"images": [entry(side)]} if side else {}),
            },
            {"title": "Side two", "webUrl": "https://side.example/2"},
        ],
    }


def later(path: Path, seconds: int = 10) -> None:
    """Move a file's mtime forward, so a rewrite is seen even within one clock tick."""
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + seconds * 1_000_000_000))


async def test_pictures_round_trip_through_the_index(store: Store, store_dir: Path) -> None:
    """The row holds each picture; every read that builds the article gives it back."""
    write_article(store_dir, "story", **story_fields())
    report = await store.folder.sync()
    assert report.warnings == []
    assert await store.db.fetch_tuples(
        "SELECT image_url, image_width, image_height FROM articles WHERE id = ?", ["story"]
    ) == [(LEAD.url, 1200, 675)]
    assert await store.db.fetch_tuples(
        "SELECT r.position, r.image_url, r.image_width, r.image_height FROM related r "
        "JOIN articles a ON a.rowid = r.article_rowid WHERE a.id = ? ORDER BY r.position",
        ["story"],
    ) == [(0, SIDE.url, 640, 360), (1, None, None, None)]

    article = await store.articles.get("story")
    assert article.image == LEAD
    assert [r.image for r in article.related] == [SIDE, None]
    [latest] = (await store.articles.latest()).items
    assert (latest.id, latest.image) == ("story", LEAD)
    [found] = (await store.articles.search("Title of story")).items
    assert (found.id, found.image) == ("story", LEAD)

    seed = await store.articles.get(SEED_ID, include_hidden=True)  # a draft
    assert seed.image is None and seed.related[0].image == SEED_RELATED_IMAGE
    [draft] = (await store.articles.drafts()).items
    assert (draft.id, draft.image) == (SEED_ID, None)


async def test_a_draft_and_a_digest_story_carry_their_picture(
    store: Store, store_dir: Path
) -> None:
    write_article(store_dir, "draft", **(story_fields() | {"published": False}))
    write_article(store_dir, "plain", published=True)
    write_article(store_dir, "story", **story_fields(SIDE))
    await store.folder.sync()
    drafts = {a.id: a.image for a in (await store.articles.drafts()).items}
    assert drafts == {"draft": LEAD, SEED_ID: None}

    now = datetime.now(UTC)
    period = Period("now", now - timedelta(hours=1), now + timedelta(hours=1))
    stories = {s.article_id: s.image for s in await store.digests.stories(period)}
    assert stories == {"story": SIDE, "plain": None}


async def test_changing_only_a_picture_edits_the_sent_post(store: Store, store_dir: Path) -> None:
    """A picture is part of what a post shows: the article's or a related item's changing
    edits the post in place; a field no post shows (`isCached`) does not."""
    await store.feeds.subscribe(1, "", actor="t")
    path = write_article(store_dir, "story", **story_fields())
    await store.folder.sync()
    [row] = await store.outbox.due()
    await store.outbox.done(row, 1001)
    hashes = [await store.articles.version("story")]

    for step, (own, side) in enumerate([(SIDE, SIDE), (SIDE, LEAD), (SIDE, None)], start=1):
        write_article(store_dir, "story", **story_fields(own, side))
        later(path, step * 10)
        await store.folder.sync()
        [edit] = await store.outbox.due()
        assert (edit.state, edit.message_id) == (DeliveryState.EDIT, 1001)
        await store.outbox.done(edit, 1001)
        article = await store.articles.get("story")
        assert (article.image, article.related[0].image) == (own, side)
        hashes.append(await store.articles.version("story"))
    assert len(set(hashes)) == 4

    path.write_text(path.read_text("utf-8").replace("isCached: true", "isCached: false"))
    later(path, 40)
    report = await store.folder.sync()
    assert report.changed == 1
    assert await store.outbox.due() == []
    assert await store.articles.version("story") == hashes[-1]


def test_an_article_without_pictures_keeps_its_render_hash() -> None:
    """Rows written before pictures keep their hash when their file is read again: an
    upgrade edits no post that shows no picture."""
    article = parse_article(article_text("a.txt", related=story_fields()["related"][1:]), "a.txt")
    # the hash of this article as the database computed it before pictures existed
    assert render_hash(article) == "ea7851f35ed6b149"


# ----------------------------------------------------------------- an upgrade


async def downgrade_to_before_cards(store: Store) -> None:
    """The schema before story cards (SQLite's 8, PostgreSQL's 5), as an operator's
    database was: no picture columns, no styles, no saves."""
    assert "image_url" in schema.steps("sqlite")[SQLITE_CARDS]
    assert "image_url" in schema.steps("postgres")[PG_CARDS]
    statements = list(AFTER_CARDS)  # the later migrations first
    statements += [
        f"ALTER TABLE {table} DROP COLUMN {column}"
        for table in ("articles", "related")
        for column in ("image_url", "image_width", "image_height")
    ]
    statements += [
        f"ALTER TABLE {t} DROP COLUMN style" for t in ("subscriptions", "outbox", "digests")
    ]
    statements.append("DROP TABLE saves")
    if store.db.kind == "sqlite":
        statements.append(f"PRAGMA user_version = {SQLITE_CARDS - 1}")
    else:
        statements.append("DELETE FROM schema_version")  # a fresh database has one row
        statements.append(f"INSERT INTO schema_version (version) VALUES ({PG_CARDS - 1})")
    async with store.db.transaction():
        for statement in statements:
            await store.db.execute(statement)


async def test_a_database_from_before_pictures_opens_and_reads_without_them(
    database: Path | str, store_dir: Path
) -> None:
    write_article(store_dir, "story", **story_fields())
    async with Store.open(database, store_dir) as store:
        await store.folder.sync()
        await downgrade_to_before_cards(store)
    async with Store.open(database, store_dir) as upgraded:
        article = await upgraded.articles.get("story")
        assert article.title == "Title of story"
        assert article.image is None and [r.image for r in article.related] == [None, None]
        assert [a.image for a in (await upgraded.articles.latest()).items] == [None]
        # the files are unchanged: the next scan reads nothing; a changed file brings its pictures
        assert (await upgraded.folder.sync()).loaded == 0
        later(store_dir / "story.txt")
        await upgraded.folder.sync()
        again = await upgraded.articles.get("story")
        assert (again.image, again.related[0].image) == (LEAD, SIDE)
