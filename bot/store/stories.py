"""Stories in the store: each article's `story` (the id of the article that began it, or
the story an editor pinned it to), kept right as files come and change. What makes two
articles one story is bot/stories.py's; this module gathers the articles it needs and
writes what it decides.

`story_keys` holds each live article's keys (normalised URLs, near-duplicate bands) with
its time, so a new article finds the articles it may join with one indexed lookup. A batch
just written is clustered together with the stories its keys reach (each a settled group)
and, for a changed file, with the whole of its old story, which is decided again: the file
may have left it, or have been what held it together. A full re-cluster (`recluster`)
decides every live article at once, in memory: after an upgrade (once, automatically, see
`ensure_clustered`) and from `newsbot recluster`.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.store import story_keys as story_keys_table
from bot.store.database import Database, in_chunks
from bot.store.records import ARTICLE_COLUMNS, ArticleRows
from bot.stories import (
    BANDS,
    HASHES,
    ROWS,
    SHINGLE,
    THRESHOLD,
    WINDOW,
    Member,
    Signature,
    cluster,
    links,
    signature,
    story_keys,
)

log = logging.getLogger(__name__)

Prepared = tuple[tuple[str, ...], Signature]  # an article's story keys and signature

# What the keys in `story_keys` were made with: when it changes (or is missing, as after
# the upgrade that added stories) every article is clustered again, once.
VERSION = f"{SHINGLE}w/{HASHES}h/{BANDS}x{ROWS}/{THRESHOLD}/{WINDOW}s/keys2"
_META_KEY = "stories"
_TRIES = 3  # re-clusters computed before giving up on articles that keep changing
_TITLE, _EXCERPT, _ORIGINAL_URL = (
    ARTICLE_COLUMNS.index(c) for c in ("title", "excerpt", "original_url")
)
_RELATED_URL = 2  # in ArticleRows.related: (position, title, url, ...)
_MEMBER_COLUMNS = "a.rowid, a.id, a.published_at, a.title, a.excerpt, a.url, a.original_url"


@dataclass(slots=True, frozen=True)
class Reclustered:
    """What a full re-cluster did."""

    articles: int
    stories: int
    moved: int  # articles whose story changed
    seconds: float


class Stories:
    """Each article's story, decided as it is written (`assign`) or all at once
    (`recluster`)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._checked = False  # this process saw the keys made by this VERSION

    async def assign(
        self, articles: Sequence[ArticleRows], prepared: Mapping[str, Prepared] | None = None
    ) -> None:
        """Give each article just written its story (inside the writer's transaction,
        before its posts are queued): its keys replace any it had, then it joins what
        they link it to. `prepared`: the keys and signatures of some of them, made where
        they were parsed (a big load's worker processes)."""
        batch = list({a.id: a for a in articles}.values())
        if not batch:
            return
        known = await self._known([a.id for a in batch])
        pins = await self._pins_of([a.id for a in batch])
        ready = prepared or {}
        members = [
            Member(a.id, a.published_at, *(ready.get(a.id) or prepare(a)), pins.get(a.id))
            for a in batch
        ]
        changed = [known[a.id][0] for a in batch if known[a.id][1] is not None]
        await self.db.executemany(
            "DELETE FROM story_keys WHERE article_rowid = ?", [(r,) for r in changed]
        )
        await story_keys_table.insert(
            self.db,
            sorted((key, m.published_at, known[m.id][0]) for m in members for key in m.keys),
        )
        old = {s for a in batch if (s := known[a.id][1]) is not None}
        members += await self._story_members(sorted(old), {m.id for m in members})
        members += await self._settled(members, old)
        await self._write(members, cluster(members, links(members)))

    async def ensure_clustered(self) -> None:
        """Cluster every article once when the keys are not this VERSION's (a database
        just upgraded: each article alone, no keys). Only `articles.story` changes: nothing
        is posted again."""
        if self._checked:
            return
        if await self._version() != VERSION:
            done = await self.recluster(unless_current=True)
            if done is not None and done.articles:  # an empty database: nothing to say
                log.info(
                    "stories: %d articles clustered into %d stories (%d moved) in %.1f s",
                    done.articles,
                    done.stories,
                    done.moved,
                    done.seconds,
                )
        self._checked = True

    async def recluster(self, *, unless_current: bool = False) -> Reclustered | None:
        """Decide every live article's story anew, its keys too; the editors' pins hold.
        Computed outside any transaction (PostgreSQL ends a session idle in one for 8 s),
        then written in one, unless the articles or pins changed meanwhile: then again.
        None when `unless_current` and another process just did it."""
        started = time.perf_counter()
        for _ in range(_TRIES):
            current = await self._version()
            if unless_current and current == VERSION:
                return None
            seen = await _fingerprint(self.db)
            rows, related, pins = await _everything(self.db)
            members, stories, ordered = await asyncio.to_thread(
                _cluster_all, rows, related, pins, current != VERSION
            )
            async with self.db.transaction():
                if await _fingerprint(self.db) != seen or await self._version() != current:
                    continue  # changed meanwhile: this transaction writes nothing
                moved = await _write_all(self.db, rows, members, stories, ordered)
            self._checked = True
            return Reclustered(len(rows), len(set(stories)), moved, time.perf_counter() - started)
        raise RuntimeError(f"stories: articles changed during {_TRIES} re-clusters; try again")

    async def unsettle(self) -> None:
        """The keys are no longer this VERSION's: a first load writes its articles without
        keys or stories, and should it not finish, the next sync clusters them all."""
        async with self.db.transaction():
            await self.db.execute("DELETE FROM meta WHERE key = ?", [_META_KEY])
        self._checked = False

    async def _version(self) -> str | None:
        value = await self.db.fetchval("SELECT value FROM meta WHERE key = ?", [_META_KEY])
        return str(value) if value is not None else None

    # ------------------------------------------------------------------ gathering

    async def _known(self, ids: Sequence[str]) -> dict[str, tuple[int, str | None]]:
        """id -> (rowid, story before this write: None for an article just added)."""
        return {
            row[0]: (row[1], row[2])
            async for row in in_chunks(
                self.db, "SELECT id, rowid, story FROM articles WHERE id IN ({marks})", ids
            )
        }

    async def _pins_of(self, ids: Sequence[str]) -> dict[str, str]:
        return {
            row[0]: row[1]
            async for row in in_chunks(
                self.db,
                "SELECT article_id, story FROM story_pins WHERE article_id IN ({marks})",
                ids,
            )
        }

    async def _story_members(self, stories: Sequence[str], skip: set[str]) -> list[Member]:
        """The live members of `stories` (those a changed file was in), to decide again."""
        rows: list[tuple[Any, ...]] = [
            tuple(row[i] for i in range(7))
            async for row in in_chunks(
                self.db,
                f"SELECT {_MEMBER_COLUMNS} FROM articles a "
                "WHERE a.story IN ({marks}) AND a.deleted_at IS NULL",
                stories,
            )
            if row[1] not in skip
        ]
        if not rows:
            return []
        related: list[tuple[Any, ...]] = [
            (row[0], row[1])
            async for row in in_chunks(
                self.db,
                "SELECT article_rowid, url FROM related WHERE article_rowid IN ({marks})",
                [row[0] for row in rows],
            )
        ]
        pins = await self._pins_of([row[1] for row in rows])
        return _members(rows, related, pins)

    async def _settled(self, members: Sequence[Member], unsettled: set[str]) -> list[Member]:
        """The live articles the members' keys reach within WINDOW, outside the stories
        being decided: each stays in its story, which may join theirs as a whole."""
        ids = {m.id for m in members}
        found: dict[str, tuple[int, str, Signature, set[str]]] = {}
        for low, high, keys in _spans(members):
            async for row in in_chunks(
                self.db,
                "SELECT k.key, a.id, a.published_at, a.story, a.story_signature, a.title, "
                "a.excerpt FROM story_keys k JOIN articles a ON a.rowid = k.article_rowid "
                "WHERE k.key IN ({marks}) AND k.published_at BETWEEN ? AND ? "
                "AND a.deleted_at IS NULL",
                keys,
                (low, high),
            ):
                story = row[3] or row[1]
                if row[1] not in ids and story not in unsettled and row[1] not in found:
                    sig = unpacked(row[4]) if row[4] is not None else signature(row[5], row[6])
                    found[row[1]] = (row[2], story, sig, set())
                if row[1] in found:
                    found[row[1]][3].add(row[0])
        if not found:
            return []
        stories = sorted({story for _, story, _, _ in found.values()})
        firsts = await self._firsts(stories)
        pinned = {
            row[0]
            async for row in in_chunks(
                self.db, "SELECT DISTINCT story FROM story_pins WHERE story IN ({marks})", stories
            )
        }
        return [
            Member(
                article_id,
                published_at,
                sorted(keys),
                sig,
                story if story in pinned else None,
                story,
                (firsts.get(story, published_at), story),
            )
            for article_id, (published_at, story, sig, keys) in sorted(found.items())
        ]

    async def _firsts(self, stories: Sequence[str]) -> dict[str, int]:
        """When each story began: its earliest live article's time."""
        return {
            row[0]: row[1]
            async for row in in_chunks(
                self.db,
                "SELECT story, MIN(published_at) FROM articles "
                "WHERE story IN ({marks}) AND deleted_at IS NULL GROUP BY story",
                stories,
            )
        }

    # ------------------------------------------------------------------ writing

    async def _write(self, members: Sequence[Member], stories: Sequence[str]) -> None:
        """Settled stories joined into another are renamed first, then each article
        decided gets its story."""
        renamed = sorted(
            {
                m.group: s
                for m, s in zip(members, stories, strict=True)
                if m.group not in (None, s)
            }.items()
        )
        await self.db.executemany(
            "UPDATE articles SET story = ? WHERE story = ?", [(new, old) for old, new in renamed]
        )
        await self.db.executemany(
            "UPDATE articles SET story = ?, story_signature = ? WHERE id = ?",
            [
                (s, packed(m.signature), m.id)
                for m, s in zip(members, stories, strict=True)
                if m.group is None
            ],
        )


async def _fingerprint(db: Database) -> tuple[Any, ...]:
    """What changes when an article is written, withdrawn or pinned: a re-cluster computed
    from an older read is not written."""
    articles = await db.fetch_tuples(
        "SELECT COUNT(*), MAX(rowid), SUM(file_mtime_ns % 1000003) FROM articles "
        "WHERE deleted_at IS NULL"
    )
    pins = await db.fetch_tuples("SELECT COUNT(*), MAX(pinned_at) FROM story_pins")
    return (*articles[0], *pins[0])


async def _everything(
    db: Database,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], dict[str, str]]:
    """Every live article (_MEMBER_COLUMNS and its story), their related URLs and the
    pins."""
    rows = await db.fetch_tuples(
        f"SELECT {_MEMBER_COLUMNS}, a.story FROM articles a WHERE a.deleted_at IS NULL"
    )
    related = await db.fetch_tuples(
        "SELECT r.article_rowid, r.url FROM related r JOIN articles a "
        "ON a.rowid = r.article_rowid WHERE a.deleted_at IS NULL"
    )
    pins = dict(await db.fetch_tuples("SELECT article_id, story FROM story_pins"))
    return rows, related, pins


async def _write_all(
    db: Database,
    rows: Sequence[tuple[Any, ...]],
    members: Sequence[Member],
    stories: Sequence[str],
    ordered: list[list[tuple[str, int, int]]] | None,
) -> int:
    """A re-cluster's writes: keys (all anew when `ordered`, else only the changed),
    stories, the VERSION. Returns how many articles moved. (Signatures are stored as
    articles are written; one missing is made again where it is needed.)"""
    if ordered is None:
        keys = {row[0]: (m.published_at, m.keys) for m, row in zip(members, rows, strict=True)}
        await story_keys_table.replace_changed(db, keys)
    else:
        await story_keys_table.rebuild(db, ordered)
    moved = [(s, row[1]) for s, row in zip(stories, rows, strict=True) if s != row[-1]]
    await db.executemany("UPDATE articles SET story = ? WHERE id = ?", moved)
    await mark_current(db)
    return len(moved)


async def mark_current(db: Database) -> None:
    """Every article's keys and story are this VERSION's (no re-cluster at next start)."""
    await db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (_META_KEY, VERSION),
    )


def _spans(members: Sequence[Member]) -> list[tuple[int, int, list[str]]]:
    """(low, high, keys): the members' keys to look up, in spans of time at most WINDOW
    wide, each widened by WINDOW: one span for a single article; for a big load's batch,
    whose articles are spread over years, a span per few days (a common band's articles
    over years are thousands; within a few days, a few)."""
    spans: list[tuple[int, int, list[str]]] = []
    keys: set[str] = set()
    start = end = 0
    for member in sorted(members, key=lambda m: m.published_at):
        if keys and member.published_at - start > WINDOW:
            spans.append((start - WINDOW, end + WINDOW, sorted(keys)))
            keys = set()
        if not keys:
            start = member.published_at
        end = member.published_at
        keys.update(member.keys)
    if keys:
        spans.append((start - WINDOW, end + WINDOW, sorted(keys)))
    return spans


def packed(sig: Signature) -> bytes:
    """A signature as stored (`articles.story_signature`): little-endian on every host."""
    if sys.byteorder == "big":
        sig = array("I", sig)
        sig.byteswap()
    return sig.tobytes()


def unpacked(blob: bytes) -> Signature:
    sig = array("I", bytes(blob))
    if sys.byteorder == "big":
        sig.byteswap()
    return sig


def prepare(article: ArticleRows) -> Prepared:
    """An article's story keys and signature: pure, so a parse worker can make them."""
    values = article.values
    sig = signature(values[_TITLE], values[_EXCERPT])
    related = [r[_RELATED_URL] for r in article.related]
    return tuple(story_keys(article.url, values[_ORIGINAL_URL], related, sig)), sig


def _members(
    rows: Sequence[tuple[Any, ...]],
    related: Iterable[tuple[Any, ...]],
    pins: dict[str, str],
) -> list[Member]:
    """Members (with their keys) of article rows (_MEMBER_COLUMNS) and their related URLs."""
    urls: dict[int, list[str]] = {}
    for rowid, url in related:
        urls.setdefault(rowid, []).append(url)
    members = []
    for rowid, article_id, published_at, title, excerpt, url, original_url, *_ in rows:
        sig = signature(title, excerpt)
        keys = story_keys(url, original_url, urls.get(rowid, ()), sig)
        members.append(Member(article_id, published_at, keys, sig, pins.get(article_id)))
    return members


def _cluster_all(
    rows: Sequence[tuple[Any, ...]],
    related: Iterable[tuple[Any, ...]],
    pins: dict[str, str],
    every_key: bool,
) -> tuple[list[Member], list[str], list[list[tuple[str, int, int]]] | None]:
    """Every live article's member and story, and (`every_key`) all their keys in order:
    the pure, CPU-bound part of a re-cluster."""
    members = _members(rows, related, pins)
    ordered = story_keys_table.in_key_order(rows, members) if every_key else None
    return members, cluster(members, links(members)), ordered
