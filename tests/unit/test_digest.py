"""The pure digest rules: period windows (days, ISO weeks, time zones) and the score."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.digest import (
    Every,
    Period,
    Story,
    compose,
    ending_at,
    gather,
    latest_period,
    next_due,
    period_key,
    points,
    score,
    top,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


NOW = at("2026-03-02T08:00:00+00:00")


def story(
    article_id: str,
    *,
    heat: int = -1,
    quality: int = 0,
    hours_old: float = 0.0,
    of: str = "",
    provider: str = "Example",
) -> Story:
    return Story(
        article_id=article_id,
        title=f"Title {article_id}",
        url=f"https://example.com/{article_id}",
        provider=provider,
        heat=heat,
        quality=quality,
        published_at=NOW - timedelta(hours=hours_old),
        related=0,
        story=of,
    )


# --- periods -------------------------------------------------------------------------------


def test_a_daily_digest_covers_the_24_hours_before_its_hour() -> None:
    period = latest_period(Every.DAILY, 8, at("2026-03-02T09:15:00+00:00"))
    assert period == Period(
        "2026-03-02", at("2026-03-01T08:00:00+00:00"), at("2026-03-02T08:00:00+00:00")
    )


def test_the_due_hour_itself_is_that_days_period_and_a_second_before_is_the_day_before() -> None:
    assert latest_period(Every.DAILY, 8, at("2026-03-02T08:00:00+00:00")).key == "2026-03-02"
    assert latest_period(Every.DAILY, 8, at("2026-03-02T07:59:59+00:00")).key == "2026-03-01"


def test_hours_are_utc_whatever_the_zone_of_the_time_given() -> None:
    new_york = timezone(timedelta(hours=-5))
    # 03:30 in New York is 08:30 UTC: the 08:00 UTC digest of that day is due.
    period = latest_period(Every.DAILY, 8, datetime(2026, 3, 2, 3, 30, tzinfo=new_york))
    assert period.end == at("2026-03-02T08:00:00+00:00") and period.key == "2026-03-02"
    # 23:30 on 1 March in New York is already 2 March 04:30 UTC: the 00:00 UTC digest of
    # 2 March is due, though it is still 1 March on the caller's clock.
    late = latest_period(Every.DAILY, 0, datetime(2026, 3, 1, 23, 30, tzinfo=new_york))
    assert late.key == "2026-03-02" and late.start == at("2026-03-01T00:00:00+00:00")
    tokyo = timezone(timedelta(hours=9))
    # 08:30 on 2 March in Tokyo is 23:30 UTC on 1 March: hour 23's digest of 1 March.
    east = latest_period(Every.DAILY, 23, datetime(2026, 3, 2, 8, 30, tzinfo=tokyo))
    assert east.key == "2026-03-01" and east.end == at("2026-03-01T23:00:00+00:00")


def test_a_naive_time_is_utc() -> None:
    naive = datetime(2026, 3, 2, 8, 0)  # noqa: DTZ001 - the store's rule: naive is UTC
    assert latest_period(Every.DAILY, 8, naive).end == at("2026-03-02T08:00:00+00:00")


def test_a_weekly_digest_is_due_on_mondays_and_covers_the_week_before() -> None:
    # Thursday 5 March 2026: the latest Monday at 08:00 is 2 March (ISO week 10).
    period = latest_period(Every.WEEKLY, 8, at("2026-03-05T12:00:00+00:00"))
    assert period == Period(
        "2026-W10", at("2026-02-23T08:00:00+00:00"), at("2026-03-02T08:00:00+00:00")
    )
    # Monday before the hour: still the week before.
    assert latest_period(Every.WEEKLY, 8, at("2026-03-02T07:00:00+00:00")).key == "2026-W09"
    assert latest_period(Every.WEEKLY, 8, at("2026-03-02T08:00:00+00:00")).key == "2026-W10"


def test_a_weekly_digest_across_the_year_boundary_uses_iso_weeks() -> None:
    # Monday 29 December 2025 is in ISO week 1 of 2026; its digest covers 22-29 December.
    period = latest_period(Every.WEEKLY, 8, at("2026-01-01T10:00:00+00:00"))
    assert period == Period(
        "2026-W01", at("2025-12-22T08:00:00+00:00"), at("2025-12-29T08:00:00+00:00")
    )
    # 2026 has 53 ISO weeks: Monday 28 December 2026 is 2026-W53, not 2027-W01 or W52.
    assert latest_period(Every.WEEKLY, 8, at("2027-01-03T23:59:59+00:00")).key == "2026-W53"
    # ...and the next Monday, 4 January 2027, starts 2027-W01, covering 28 Dec - 4 Jan.
    period = latest_period(Every.WEEKLY, 8, at("2027-01-04T08:00:00+00:00"))
    assert period == Period(
        "2027-W01", at("2026-12-28T08:00:00+00:00"), at("2027-01-04T08:00:00+00:00")
    )
    assert next_due(Every.WEEKLY, 8, at("2026-12-31T00:00:00+00:00")) == at(
        "2027-01-04T08:00:00+00:00"
    )


def test_a_daily_key_follows_the_calendar_year_and_weekly_keys_never_repeat() -> None:
    assert period_key(Every.DAILY, at("2027-01-01T00:00:00+00:00")) == "2027-01-01"
    mondays = [at("2024-01-01T08:00:00+00:00") + timedelta(weeks=n) for n in range(53 * 4)]
    keys = [period_key(Every.WEEKLY, m) for m in mondays]
    assert len(set(keys)) == len(keys)  # e.g. 2024-12-30 is 2025-W01, never 2024-W01 again


def test_next_due_is_strictly_after_now() -> None:
    assert next_due(Every.DAILY, 8, at("2026-03-02T08:00:00+00:00")) == at(
        "2026-03-03T08:00:00+00:00"
    )
    assert next_due(Every.DAILY, 8, at("2026-03-02T07:59:00+00:00")) == at(
        "2026-03-02T08:00:00+00:00"
    )


def test_digest_now_covers_the_day_or_week_up_to_now() -> None:
    now = at("2026-03-02T15:20:00+00:00")
    assert ending_at(Every.DAILY, now).start == now - timedelta(days=1)
    assert ending_at(Every.WEEKLY, now) == Period("2026-W10", now - timedelta(weeks=1), now)


# --- score ---------------------------------------------------------------------------------


def test_points_combine_heat_and_half_the_quality_clamped() -> None:
    assert points(heat=-1, quality=0) == 1.0  # nothing for it
    assert points(heat=40, quality=30) == 1 + 40 + 15
    assert points(heat=10**12, quality=-5) == 1 + 100  # out-of-range values are clamped


def test_the_score_is_hacker_news_gravity() -> None:
    now = NOW
    fresh = story("a", heat=50, quality=20, hours_old=3)
    assert score(fresh, now) == pytest.approx((61 - 1) ** 0.8 / (3 + 2) ** 1.8)
    assert score(story("b", hours_old=1), now) == 0.0
    future = story("c", heat=10, hours_old=-5)  # dated ahead: as new as can be, not newer
    assert score(future, now) == pytest.approx(10**0.8 / 2**1.8)


def test_age_drags_a_hot_story_below_a_fresher_cooler_one() -> None:
    now = NOW
    old_hot = story("old", heat=100, hours_old=48)
    new_warm = story("new", heat=20, hours_old=1)
    assert [s.article_id for s in top([old_hot, new_warm], 5, now)] == ["new", "old"]


def test_ties_are_broken_newer_first_then_by_id() -> None:
    now = NOW
    same = [story("b"), story("a"), story("c", hours_old=2)]
    assert [s.article_id for s in top(same, 5, now)] == ["a", "b", "c"]
    assert [s.article_id for s in top(reversed(same), 2, now)] == ["a", "b"]


def test_compose_keeps_the_best_size_stories_scored_at_the_due_time() -> None:
    period = latest_period(Every.DAILY, 8, at("2026-03-02T09:00:00+00:00"))
    stories = [story(str(n), heat=n * 10, hours_old=5) for n in range(7)]
    digest = compose(Every.DAILY, "AI", period, stories, 3)
    assert [s.article_id for s in digest.stories] == ["6", "5", "4"]
    assert digest.considered == 7 and digest.topic == "AI" and digest.period == period
    assert digest.period.end.tzinfo is UTC


# --- stories -------------------------------------------------------------------------------


def test_each_doubling_of_a_storys_sources_adds_twenty_points() -> None:
    one = story("a", heat=50, quality=40, hours_old=1)
    four = replace(one, sources=4)
    assert score(four, NOW) == pytest.approx((70 + 40) ** 0.8 / 3**1.8)
    hotter = story("b", heat=80, quality=40, hours_old=1)  # 100 points: above one source,
    assert score(one, NOW) < score(hotter, NOW) < score(four, NOW)  # below four


def test_a_story_is_shown_by_its_lead_and_scored_by_its_best_article_once() -> None:
    articles = [
        story("w", heat=50, quality=40, hours_old=2, of="s", provider="Wire"),
        story("p", heat=20, quality=60, hours_old=3, of="s", provider="Paper"),
        story("q", heat=10, quality=60, hours_old=2, of="s", provider="paper "),  # Paper again
        story("r", heat=30, quality=40, hours_old=2.5, of="s", provider=""),  # a source alone
        story("alone", heat=60, quality=40, hours_old=2),
    ]
    gathered = {s.article_id: s for s in gather(articles, NOW)}
    assert set(gathered) == {"p", "alone"}  # the lead: quality 60, then the earliest
    lead = gathered["p"]
    assert (lead.title, lead.url, lead.provider) == ("Title p", "https://example.com/p", "Paper")
    # Scored as its best article: "w" (50 + 20 points, 2 hours old).
    assert (lead.heat, lead.quality, lead.published_at) == (50, 40, NOW - timedelta(hours=2))
    assert (lead.sources, lead.more) == (3, 3)
    assert (gathered["alone"].sources, gathered["alone"].more) == (1, 0)
    digest = compose(Every.DAILY, "", ending_at(Every.DAILY, NOW), articles, 5)
    assert [s.article_id for s in digest.stories] == ["p", "alone"]
    assert digest.considered == 2
