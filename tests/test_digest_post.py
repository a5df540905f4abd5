"""The digest's one message: numbered linked titles within Discord's limits, text inert."""

from __future__ import annotations

from datetime import UTC, datetime

import discord

from bot.digest import Digest, Every, Story, latest_period
from bot.digest_post import digest_embed

PERIOD = latest_period(Every.WEEKLY, 8, datetime(2026, 3, 5, tzinfo=UTC))


def story(n: int, **changes: object) -> Story:
    fields: dict[str, object] = {
        "article_id": f"s{n}",
        "title": f"Story {n}",
        "url": f"https://example.com/{n}",
        "provider": "Example",
        "heat": 10,
        "quality": 10,
        "published_at": PERIOD.start,
        "related": n,
    }
    fields.update(changes)
    return Story(**fields)  # type: ignore[arg-type]


def digest(stories: list[Story], topic: str = "") -> Digest:
    return Digest(Every.WEEKLY, topic, PERIOD, tuple(stories), len(stories) + 7)


def test_a_numbered_list_of_linked_titles_with_provider_and_related() -> None:
    embed = digest_embed(digest([story(1), story(2)], topic="AI"))
    assert embed.title == "Weekly digest: AI"
    assert embed.description == (
        "1. **[Story 1](https://example.com/1)** · Example · +1 related\n"
        "2. **[Story 2](https://example.com/2)** · Example · +2 related"
    )
    assert embed.footer.text == "Top 2 of 9 stories published 23 Feb 08:00 – 02 Mar 08:00 UTC"
    assert embed.timestamp == PERIOD.end


def test_hostile_text_stays_text_and_only_http_links_are_made() -> None:
    hostile = story(
        1,
        title="[click](https://evil.example) @everyone <@&1> 1. **bold**",
        provider="@here [x](y)",
        url="javascript:alert(1)",
    )
    line = digest_embed(digest([hostile], topic="**AI** @everyone")).description or ""
    assert "](https://evil.example)" not in line and "\\[click\\]" in line
    assert "@everyone" not in line and "@here" not in line and "<@&1>" not in line
    assert "javascript:" not in line  # not linked, and not shown
    assert line.startswith("1. **\\[click\\]")


def test_ten_huge_stories_fit_discords_limits() -> None:
    huge = [
        story(
            n,
            title="word " * 2000,
            provider="P" * 5000,
            # a long URL still gets its link; one too long for a tenth of the room would not
            url="https://example.com/" + "a" * (180 if n < 9 else 480),
            related=10**9,
        )
        for n in range(10)
    ]
    embed = digest_embed(digest(huge, topic="T" * 5000))
    assert len(embed.title or "") <= 256
    description = embed.description or ""
    assert len(description) <= 4096 and len(embed) <= 6000
    lines = description.splitlines()
    assert [line.split(".")[0] for line in lines] == [str(n) for n in range(1, 11)]
    assert all("](https://example.com/aaa" in line and "…" in line for line in lines[:9])
    assert "https://" not in lines[9] and lines[9].startswith("10. **word word")
    assert isinstance(embed, discord.Embed) and len(embed.footer.text or "") <= 2048
