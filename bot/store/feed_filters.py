"""Feed filters at queueing time: which filtered subscriptions a new story is for.

A subscription's `filter` is the canonical text of a query in the follow language
(`bot.follow_query.FollowQuery.text`: required words, phrases and prefixes, `-` exclusions),
'' for none. `Outbox.enqueue` still builds its rows in one SQL statement from
`subscriptions`: an unfiltered subscription joins as before, a filtered one only when its
filter text is among those the story matches (`clause`), which this module works out in
Python with the matcher (`bot.matcher.Matcher`), exactly as `/search` decides a match
(the same folding, each column cut at FIELD_CHARS). So the filter never runs as SQL (no
LIKE, no regex), and a story is matched once against every distinct filter, whatever the
number of channels sharing it, inside the caller's one transaction.

The matcher is per process and kept current by a version in `meta` (VERSION_KEY), bumped
in the same transaction as any filter saved (`BUMP`): each enqueue reads it (one indexed
read) and, when it changed, rebuilds the matcher from the distinct filter texts, filing
each under its rarest word in a sample of recent stories. A rebuild costs one read of the
filter texts and a parse each (about 0.3 s for 10,000 distinct filters, once per
change, not per story); a filter removed stays in the matcher until the next rebuild,
harmlessly, since only the subscriptions that still hold a matched text join.

`bot.follow_query` and `bot.matcher` are imported when first needed: they import
`bot.store.ranking`, so importing them while `bot.store` itself loads would be a cycle.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.articles import TOPIC_SEPARATOR
from bot.store.database import Database, in_chunks

if TYPE_CHECKING:
    from bot.matcher import Matcher

log = logging.getLogger(__name__)

VERSION_KEY = "feed_filters"
# Bumped in the transaction that saves a filter: every process's matcher rebuilds on it.
BUMP = (
    f"INSERT INTO meta (key, value) VALUES ('{VERSION_KEY}', '1') ON CONFLICT (key) "
    "DO UPDATE SET value = CAST(CAST(meta.value AS BIGINT) + 1 AS TEXT)"
)
SAMPLE = 2000  # recent stories whose words rank a filter's words by rarity (speed only)
NO_HITS = "[]"


class FeedFilters:
    """The filters of every feed, as one per-process matcher (see the module's docstring)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._version: str | None = None
        self._matcher: Matcher | None = None
        # The filter texts a story matched, as a JSON list, read back in SQL as a set.
        listed = (
            "SELECT value FROM json_each(?)"
            if db.kind == "sqlite"
            else "SELECT jsonb_array_elements_text(CAST(? AS jsonb))"
        )
        self.clause = f"(s.filter = '' OR s.filter IN ({listed}))"
        """SQL for `subscriptions s`: unfiltered, or filtered by a text the story matched;
        its one parameter is `hits()`'s value for the story (NO_HITS when none)."""

    async def hits(self, stories: Sequence[tuple[str, str]]) -> dict[str, str]:
        """webUrl -> the filter texts the story (webUrl, article id) matches, as a JSON list;
        stories matching none are left out. Nothing is read when no feed has a filter."""
        matcher = await self._current()
        if not len(matcher):
            return {}
        from bot.matcher import Story

        url_of = {article_id: url for url, article_id in stories}
        found: dict[str, str] = {}
        async for row in in_chunks(
            self.db,
            "SELECT id, title, excerpt, provider_name, topics FROM articles WHERE id IN ({marks})",
            sorted(url_of),
        ):
            topics = tuple(row[4].split(TOPIC_SEPARATOR)) if row[4] else ()
            matched = matcher.match(Story(row[1], row[2], row[3], topics))
            if matched:
                found[url_of[row[0]]] = json.dumps(sorted(map(str, matched)))
        return found

    async def _current(self) -> Matcher:
        """The matcher, rebuilt when a filter was saved (by any process) since it was built."""
        version = await self.db.fetchval("SELECT value FROM meta WHERE key = ?", [VERSION_KEY])
        if self._matcher is None or str(version or "") != self._version:
            self._matcher = await self._build()
            self._version = str(version or "")
        return self._matcher

    async def _build(self) -> Matcher:
        """Every distinct filter text, filed under its key: the text itself."""
        from bot.follow_query import BadQuery, FollowQuery
        from bot.matcher import CorpusStats, Matcher, Story

        sample = await self.db.fetch_tuples(
            "SELECT title, excerpt, provider_name, topics FROM articles WHERE visible = 1 "
            "ORDER BY published_at DESC LIMIT ?",
            [SAMPLE],
        )
        matcher = Matcher(CorpusStats(Story(t, e, p, (topics,)) for t, e, p, topics in sample))
        texts = await self.db.fetch_tuples(
            "SELECT DISTINCT filter FROM subscriptions WHERE filter <> ''"
        )
        for (text,) in texts:
            try:
                query = FollowQuery.parse(text)
            except BadQuery:  # never saved by /feed add: such a feed matches nothing
                log.warning("feed filter %r cannot be read; it matches nothing", text)
                continue
            if query.text == text:  # the stored text is what a story must match in SQL
                matcher.add(text, query)
        return matcher
