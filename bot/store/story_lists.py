"""Lists show a story once: /news walks stories by their newest coverage and shows each
by its lead; search keeps each story's best-ranked hit. Either way the entry says how many
other published articles the story has ("+N more sources").

A story is `articles.story` (store/stories.py). Its lead is what a collapsed listing
shows: among its visible articles, the highest quality, then the earliest, then the
smallest id (LEAD_ORDER), whatever the listing's topic (a story is in a topic's listing
when one of its articles is; its lead is the story's all the same).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.store.database import Database, Row, in_chunks
from bot.store.records import READ_COLUMNS

LEAD_ORDER = "a.quality DESC, a.published_at, a.id"
# Rows the newest-first walk reads at a time, per story a page still needs: most stories
# are one article, so one read of twice the stories usually finds them all.
_WALK_ROWS_PER_STORY = 2


def story_of(row: Row) -> str:
    """A row's story (`story` column as `story_`): the article's own id if it has none."""
    return str(row["story_"] or row["id"])


def once_per_story(rows: Iterable[Row]) -> list[Row]:
    """The first row of each story, in the order given (each story's best-ranked hit)."""
    seen: set[str] = set()
    kept = []
    for row in rows:
        story = story_of(row)
        if story not in seen:
            seen.add(story)
            kept.append(row)
    return kept


async def newest_stories(db: Database, topic_key: str | None, wanted: int) -> list[str]:
    """The first `wanted` stories (fewer if there are not as many), ordered by their newest
    visible article (of the topic): a story moves up when new coverage joins it."""
    if topic_key:
        sql = (
            "SELECT a.id, a.story AS story_ FROM article_topics t "
            "JOIN articles a ON a.rowid = t.article_rowid "
            "WHERE t.topic_key = ? AND a.visible = 1 ORDER BY t.published_at DESC, a.id "
            "LIMIT ? OFFSET ?"
        )
        params: list[object] = [topic_key]
    else:
        sql = (
            "SELECT a.id, a.story AS story_ FROM articles a WHERE a.visible = 1 "
            "ORDER BY a.published_at DESC, a.id LIMIT ? OFFSET ?"
        )
        params = []
    stories: dict[str, None] = {}
    offset = 0
    while len(stories) < wanted:
        batch = (wanted - len(stories)) * _WALK_ROWS_PER_STORY
        rows = await db.fetch(sql, [*params, batch, offset])
        for row in rows:
            stories.setdefault(story_of(row))
        if len(rows) < batch:
            break
        offset += batch
    return list(stories)[:wanted]


async def leads(db: Database, stories: Sequence[str]) -> dict[str, tuple[Row, int]]:
    """Each story's lead (a row of READ_COLUMNS) and how many other visible articles the
    story has; a story with none visible (withdrawn meanwhile) is left out.

    Visibility orders and counts rather than filters: `visible = 1` in the WHERE clause
    would have SQLite walk every visible article instead of the story's own."""
    found: dict[str, tuple[Row, int]] = {}
    async for row in in_chunks(
        db,
        "SELECT * FROM (SELECT "
        f"{READ_COLUMNS}, a.story AS story_, a.visible AS visible_, ROW_NUMBER() OVER "
        f"(PARTITION BY a.story ORDER BY a.visible DESC, {LEAD_ORDER}) AS place_, "
        "SUM(a.visible) OVER (PARTITION BY a.story) AS members_ "
        "FROM articles a WHERE a.story IN ({marks})) s WHERE s.place_ = 1",
        list(stories),
    ):
        if row["visible_"]:
            found[row["story_"]] = (row, int(row["members_"]) - 1)
    return found
