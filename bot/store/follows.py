"""store.follows: what members follow (a topic, a saved search, or one story), and the one
matcher per process that tells which members a new story is for.

**Story follows** (the Follow story button) hold the followed article's id. They are
matched in SQL, not by the matcher: an article that becomes visible in the story of a
followed article (`articles.story`, read at match time, so an editor's split or merge is
followed), and is not that article, is for the member. A story follow is dropped
STORY_FOLLOW_DAYS after it was made once nothing has joined its story for that long (no
article of it became visible since): a story that quiet is over.

A follow is unique by (member, kind, canonical text): `/follow` typed twice is one row. At
most MAX_FOLLOWS a member, counted in the transaction that adds one. A member's follows are
paused together (with the reason: their DMs are closed) and resumed together by the next
`/follow`; a paused follow matches nothing.

**The matcher.** Each process keeps one `Matcher` of every unpaused follow, built on first
use. Every change of a follow (add, remove, pause, resume) bumps a counter
(`follows_version`) in its own transaction. Before matching, a process compares the
counter with the one its matcher was built at, one indexed read: equal, the matcher is
current; different, it is rebuilt from the table (another host changed a follow). This
process's own changes are applied to its matcher after their commit, key by key, when the
counter they bumped is the next one the matcher knows (no change of another host in
between); otherwise the matcher is marked stale and rebuilt at the next match. A stale
matcher can never queue an alert for a member with no unpaused follow: the insert checks
the table too (`store.alerts`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.articles import TOPIC_SEPARATOR
from bot.follow_query import FollowQuery
from bot.matcher import CorpusStats, Matcher, Story, Topic
from bot.store.database import Clock, Database, Row, in_chunks

MAX_FOLLOWS = 25  # a member's follows, at most (story follows count)
STORY_FOLLOW_DAYS = 30
STATS_SAMPLE = 5000  # the latest stories whose words decide where a query is filed


class FollowKind(StrEnum):
    TOPIC = "topic"
    QUERY = "query"
    STORY = "story"  # text: the followed article's id; typed: its title


class Added(StrEnum):
    """What `Follows.add` did."""

    ADDED = "added"
    ALREADY = "already"  # the member already follows that (it is resumed if paused)
    FULL = "full"  # the member has MAX_FOLLOWS already: nothing saved


@dataclass(frozen=True, slots=True)
class Follow:
    id: int
    member_id: int
    kind: FollowKind
    text: str  # canonical: a topic's key, or FollowQuery.text
    typed: str  # shown: the topic's name, or the query as the member typed it
    created_at: int
    paused_reason: str | None = None

    def target(self) -> FollowQuery | Topic:
        """What the matcher files this follow as (never a story follow: SQL matches it)."""
        if self.kind == FollowKind.TOPIC:
            return Topic(self.typed)
        return FollowQuery.parse(self.text)


_COLUMNS = "id, member_id, kind, text, typed, created_at, paused_reason"


def _follow(row: Row) -> Follow:
    return Follow(
        int(row[0]),
        int(row[1]),
        FollowKind(row[2]),
        str(row[3]),
        str(row[4]),
        int(row[5]),
        None if row[6] is None else str(row[6]),
    )


def _topics(joined: object) -> tuple[str, ...]:
    """The articles table's topics column (display names joined) as a story's topics."""
    return tuple(t for t in str(joined or "").split(TOPIC_SEPARATOR) if t)


class Follows:
    """Follows' rows and this process's matcher of them."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._matcher: Matcher | None = None
        self._version = -1  # the counter the matcher is current with; -1: rebuild
        self._keys: dict[int, set[Hashable]] = {}  # member -> their keys in the matcher

    # ------------------------------------------------------------------ the member's side

    async def of(self, member_id: int) -> list[Follow]:
        """The member's follows, oldest first."""
        rows = await self.db.fetch(
            f"SELECT {_COLUMNS} FROM follows WHERE member_id = ? ORDER BY id", [member_id]
        )
        return [_follow(r) for r in rows]

    async def add(self, member_id: int, kind: FollowKind, text: str, typed: str) -> Added:
        """Follow `text` (canonical) for the member, unless they have MAX_FOLLOWS already.
        Any follow of theirs that was paused is resumed: following again is asking for
        alerts again."""
        async with self.db.transaction():
            exists = await self.db.fetchval(
                "SELECT 1 FROM follows WHERE member_id = ? AND kind = ? AND text = ?",
                [member_id, kind, text],
            )
            count = int(
                await self.db.fetchval(
                    "SELECT COUNT(*) FROM follows WHERE member_id = ?", [member_id]
                )
                or 0
            )
            if exists is None and count >= MAX_FOLLOWS:
                return Added.FULL
            if exists is None:
                await self.db.execute(
                    "INSERT INTO follows (member_id, kind, text, typed, created_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (member_id, kind, text) DO NOTHING",
                    [member_id, kind, text, typed, int(self.clock())],
                )
            await self.db.execute(
                "UPDATE follows SET paused_reason = NULL WHERE member_id = ? "
                "AND paused_reason IS NOT NULL",
                [member_id],
            )
            await self._changed(member_id)
        return Added.ALREADY if exists is not None else Added.ADDED

    async def follows_story_of(self, member_id: int, article_id: str) -> bool:
        """Does the member follow the story `article_id` is in (by any of its articles)?"""
        found = await self.db.fetchval(
            "SELECT 1 FROM follows f JOIN articles s ON s.id = f.text "
            "JOIN articles a ON a.story = s.story "
            f"WHERE f.member_id = ? AND f.kind = '{FollowKind.STORY}' AND a.id = ?",
            [member_id, article_id],
        )
        return found is not None

    async def remove(self, member_id: int, follow_id: int) -> bool:
        """Remove one follow, only if it is the member's own."""
        async with self.db.transaction():
            removed = await self.db.execute(
                "DELETE FROM follows WHERE id = ? AND member_id = ?", [follow_id, member_id]
            )
            if removed:
                await self._changed(member_id)
        return removed > 0

    async def remove_all(self, member_id: int) -> int:
        """Everything kept about the member: their follows and their alerts (pending ones,
        and the record of those sent: DMs already sent are no longer edited or deleted)."""
        async with self.db.transaction():
            removed = await self.db.execute("DELETE FROM follows WHERE member_id = ?", [member_id])
            await self.db.execute("DELETE FROM alerts WHERE member_id = ?", [member_id])
            await self._changed(member_id)
        return removed

    async def pause(self, member_id: int, reason: str) -> None:
        """Inside the caller's (fenced) transaction: the member's follows match nothing
        until they `/follow` again."""
        await self.db.execute(
            "UPDATE follows SET paused_reason = ? WHERE member_id = ?", [reason, member_id]
        )
        await self._changed(member_id)

    async def count(self) -> int:
        """How many follows there are, over every member (what /status may show)."""
        return int(await self.db.fetchval("SELECT COUNT(*) FROM follows") or 0)

    # ------------------------------------------------------------------ matching

    async def members_for(self, stories: Sequence[tuple[str, str]]) -> list[tuple[str, str, int]]:
        """(url, article id, member) for each story and each member with a follow it
        matches. Called inside the transaction that made the stories visible."""
        if not stories:
            return []
        ids = {article_id: url for url, article_id in stories}
        found = await self._story_members(ids)
        matcher = await self._current()
        if not len(matcher):
            return found
        async for row in in_chunks(
            self.db,
            "SELECT id, title, excerpt, provider_name, topics FROM articles WHERE id IN ({marks})",
            sorted(ids),
        ):
            story = Story(str(row[1]), str(row[2] or ""), str(row[3] or ""), _topics(row[4]))
            members = {key[0] for key in matcher.match(story)}  # type: ignore[index]
            found.extend((ids[row[0]], row[0], member) for member in sorted(members))
        return list(dict.fromkeys(found))

    async def _story_members(self, ids: dict[str, str]) -> list[tuple[str, str, int]]:
        """(url, article id, member) for each new article joining a story a member
        follows, after dropping the story follows that are over. Nothing but one indexed
        look when nobody follows a story (a big load pays no join)."""
        story = f"kind = '{FollowKind.STORY}'"
        # MIN over the partial index follows_story: one look (SQLite would scan the
        # table's unique index for "SELECT 1 ... LIMIT 1").
        if await self.db.fetchval(f"SELECT MIN(text) FROM follows WHERE {story}") is None:
            return []
        cutoff = int(self.clock()) - STORY_FOLLOW_DAYS * 86400
        await self.db.execute(
            f"DELETE FROM follows WHERE {story} AND created_at < ? "
            "AND NOT EXISTS (SELECT 1 FROM articles f JOIN articles a ON a.story = f.story "
            "WHERE f.id = follows.text AND a.visible = 1 AND a.visible_since >= ?)",
            [cutoff, cutoff],
        )
        found: list[tuple[str, str, int]] = []
        async for row in in_chunks(
            self.db,
            "SELECT DISTINCT a.id, f.member_id FROM articles a "
            "JOIN articles s ON s.story = a.story AND s.id <> a.id "
            f"JOIN follows f ON f.kind = '{FollowKind.STORY}' AND f.text = s.id "
            "AND f.paused_reason IS NULL WHERE a.id IN ({marks}) ORDER BY a.id, f.member_id",
            sorted(ids),
        ):
            found.append((ids[row[0]], row[0], int(row[1])))
        return found

    async def load(self) -> None:
        """Build the matcher now (at start), not at the first story that needs it."""
        await self._current()

    async def _current(self) -> Matcher:
        """The matcher, rebuilt first if any process changed a follow since it was built."""
        version = int(await self.db.fetchval("SELECT version FROM follows_version") or 0)
        if self._matcher is None or version != self._version:
            await self._rebuild(version)
        assert self._matcher is not None
        return self._matcher

    async def _rebuild(self, version: int) -> None:
        rows = await self.db.fetch(
            "SELECT title, excerpt, provider_name, topics FROM articles WHERE visible = 1 "
            "ORDER BY published_at DESC LIMIT ?",
            [STATS_SAMPLE],
        )
        stats = CorpusStats(
            Story(str(r[0]), str(r[1] or ""), str(r[2] or ""), _topics(r[3])) for r in rows
        )
        matcher = Matcher(stats)
        keys: dict[int, set[Hashable]] = {}
        follows = await self.db.fetch(
            f"SELECT {_COLUMNS} FROM follows WHERE paused_reason IS NULL ORDER BY id"
        )
        for follow in map(_follow, follows):
            if follow.kind == FollowKind.STORY:
                continue
            key = (follow.member_id, follow.id)
            matcher.add(key, follow.target())
            keys.setdefault(follow.member_id, set()).add(key)
        self._matcher, self._keys, self._version = matcher, keys, version

    async def _changed(self, member_id: int) -> None:
        """Inside a transaction that changed the member's follows: bump the counter, and
        once committed, bring this process's matcher up to date with the member."""
        version = int(
            await self.db.fetchval(
                "UPDATE follows_version SET version = version + 1 WHERE id = 1 RETURNING version"
            )
        )
        rows = await self.db.fetch(
            f"SELECT {_COLUMNS} FROM follows WHERE member_id = ? AND paused_reason IS NULL",
            [member_id],
        )
        self.db.after_commit(self._apply(member_id, [_follow(r) for r in rows], version))

    def _apply(self, member_id: int, follows: list[Follow], version: int) -> Callable[[], None]:
        def apply() -> None:
            matcher = self._matcher
            if matcher is None or version != self._version + 1:
                self._version = -1  # another host's change in between: rebuild
                return
            for key in self._keys.pop(member_id, set()):
                matcher.remove(key)
            keys: set[Hashable] = set()
            for follow in follows:
                if follow.kind == FollowKind.STORY:
                    continue
                key = (member_id, follow.id)
                matcher.add(key, follow.target())
                keys.add(key)
            if keys:
                self._keys[member_id] = keys
            self._version = version

        return apply
