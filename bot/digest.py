"""Digests, pure: which period a digest covers, and how its stories are ranked.

No Discord, no SQL, no clock of its own: every function is given the time it works at,
so a test can ask about any hour of any year.

Periods: a daily digest is due every day at `hour` (UTC) and covers the 24 hours before;
a weekly one is due on Mondays at `hour` and covers the 7 days before. Once a digest has
been logged, its next period starts where the last one ended instead (`period_after`), so a
digest moved to another hour skips no story and shows none twice. A period is named by its
due time: the day ("2026-03-02") or the ISO week ("2026-W10"; ISO weeks, so the Monday
2025-12-29 starts "2026-W01"). The name is what makes a digest's delivery unique.

Stories, not articles: a period holds the stories one of whose articles became published
in it, each listed once, shown by its lead (the highest quality, then the earliest, then
the smallest id) with "+N more sources" for its other published articles (`gather`).

Score: Hacker News's gravity, (points - 1) ** 0.8 / (age_hours + 2) ** 1.8, of the
story's best article (the highest score), where points - 1 = max(heat, 0) + quality / 2
+ 20 * log2(sources) (heat and quality clamped to 0..100; an unknown heat, -1, counts as
0; sources = the distinct providers of the story's published articles, so one source
adds nothing and each doubling adds 20, a fifth of the hottest heat) and the age is
measured from that article's publishedDateTime to the digest's due time. Ties: newer
first, then by article id.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from bot.pictures import Image

DEFAULT_HOUR = 8
DEFAULT_SIZE = 5
MIN_SIZE = 3
MAX_SIZE = 10
WEEKLY_ANCHOR = 0  # weekly digests fall on Mondays (datetime.weekday)

GRAVITY = 1.8  # how fast age drags a story down
POINTS_EXPONENT = 0.8  # diminishing returns on points
AGE_OFFSET_HOURS = 2.0  # a brand-new story does not divide by zero
HEAT_WEIGHT = 1.0
QUALITY_WEIGHT = 0.5  # heat is what readers do now; quality is an editor's steady signal
SOURCES_WEIGHT = 20.0  # points per doubling of a story's distinct providers
SIGNAL_MAX = 100  # heat and quality are 0..100 in the store's files


class Every(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"

    @property
    def length(self) -> timedelta:
        return timedelta(days=1) if self is Every.DAILY else timedelta(weeks=1)


@dataclass(frozen=True, slots=True)
class Period:
    """What one digest covers: stories that became published in [start, end); due at `end`."""

    key: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Story:
    """A published story as a digest ranks and shows it: what is shown is its lead
    article's; heat, quality and age are its best article's (what it is scored by). The
    store gives one per article (`story` naming its story); `gather` makes them stories."""

    article_id: str
    title: str
    url: str
    provider: str
    heat: int
    quality: int
    published_at: datetime  # the story's publishedDateTime: its age
    related: int  # how many related links it carries
    image: Image | None = None  # the story's own picture (a digest card's small thumbnail)
    story: str = ""  # the story the article belongs to ("": a story of its own)
    sources: int = 1  # distinct providers that covered the story
    more: int = 0  # the story's other published articles: "+N more sources"


@dataclass(frozen=True, slots=True)
class Digest:
    """One digest's message, as data: the period's best stories, best first."""

    every: Every
    topic: str  # display name, "" = every topic
    period: Period
    stories: tuple[Story, ...]
    considered: int  # how many stories became published in the period


def compose(every: Every, topic: str, period: Period, articles: list[Story], size: int) -> Digest:
    """The digest of the period's stories (`articles`: every published article of each,
    see `gather`): the best `size`, scored at its due time."""
    stories = gather(articles, period.end)
    return Digest(every, topic, period, tuple(top(stories, size, period.end)), len(stories))


def gather(articles: Iterable[Story], at: datetime) -> list[Story]:
    """One entry per story from its articles: its lead shown (the highest quality, then
    the earliest, then the smallest id), scored as its best article at `at` with the
    story's distinct providers as `sources` and its other articles as `more`."""
    stories: dict[str, list[Story]] = {}
    for article in articles:
        stories.setdefault(article.story or article.article_id, []).append(article)
    gathered = []
    for members in stories.values():
        lead = min(members, key=lambda s: (-s.quality, utc(s.published_at), s.article_id))
        best = min(members, key=lambda s: _order(s, at))
        gathered.append(
            replace(
                lead,
                heat=best.heat,
                quality=best.quality,
                published_at=best.published_at,
                sources=len({_source(m) for m in members}),
                more=len(members) - 1,
            )
        )
    return gathered


def utc(when: datetime) -> datetime:
    """Aware UTC; a naive time is UTC (the store's rule), never the host's local time."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def period_key(every: Every, due: datetime) -> str:
    due = utc(due)
    if every is Every.DAILY:
        return due.strftime("%Y-%m-%d")
    year, week, _ = due.isocalendar()
    return f"{year}-W{week:02d}"


def latest_period(every: Every, hour: int, now: datetime) -> Period:
    """The period whose due time is the latest at or before `now`."""
    now = utc(now)
    due = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    if due > now:
        due -= timedelta(days=1)
    if every is Every.WEEKLY:
        due -= timedelta(days=(due.weekday() - WEEKLY_ANCHOR) % 7)
    return Period(period_key(every, due), due - every.length, due)


def period_after(every: Every, hour: int, now: datetime, last_end: datetime | None) -> Period:
    """The period due latest at or before `now`, starting where the digest's last logged
    period ended: moving the hour then leaves no story out, and none in two digests. With
    none logged (or one logged long ago), it starts where hour arithmetic puts it, and it
    reaches back at most one length more."""
    period = latest_period(every, hour, now)
    if last_end is None:
        return period
    start = min(max(utc(last_end), period.start - every.length), period.end)
    return Period(period.key, start, period.end)


def next_due(every: Every, hour: int, now: datetime) -> datetime:
    """The first due time after `now`."""
    return latest_period(every, hour, now).end + every.length


def ending_at(every: Every, end: datetime) -> Period:
    """The day or week up to `end`: what `/digest now` covers."""
    end = utc(end)
    return Period(period_key(every, end), end - every.length, end)


def points(heat: int, quality: int) -> float:
    """Points as in Hacker News's formula (1 = nothing for it) from heat and quality."""
    return 1.0 + HEAT_WEIGHT * _signal(heat) + QUALITY_WEIGHT * _signal(quality)


def score(story: Story, at: datetime) -> float:
    """Gravity: points, raised by the story's sources, that decay with its age at `at` (a
    future date counts as 0)."""
    age_hours = max(0.0, (utc(at) - utc(story.published_at)).total_seconds() / 3600)
    bonus = SOURCES_WEIGHT * math.log2(max(story.sources, 1))
    earned = points(story.heat, story.quality) - 1.0 + bonus
    return float(earned**POINTS_EXPONENT / (age_hours + AGE_OFFSET_HOURS) ** GRAVITY)


def top(stories: Iterable[Story], size: int, at: datetime) -> list[Story]:
    """The `size` best stories by score at `at`; ties: newer first, then by article id."""
    return sorted(stories, key=lambda s: _order(s, at))[:size]


def _order(story: Story, at: datetime) -> tuple[float, float, str]:
    """Best first: the highest score at `at`, then the newest, then by article id."""
    return (-score(story, at), -utc(story.published_at).timestamp(), story.article_id)


def _source(article: Story) -> str:
    """Who covered it: the provider's name (any case); an article without one is its own."""
    return article.provider.casefold().strip() or f"\0{article.article_id}"


def _signal(value: int) -> int:
    return min(max(value, 0), SIGNAL_MAX)
