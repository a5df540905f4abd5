"""The digest's one message, in each style (card, embed, the `link` style's lines):
numbered linked titles with their pictures, within Discord's limits, text inert."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import discord

from bot.cards import card_to_text
from bot.digest import MAX_SIZE, MIN_SIZE, Digest, Every, Story, latest_period
from bot.digest_post import digest_card, digest_embed, digest_text
from bot.pictures import Image
from tests.support.card_limits import SEPARATOR, SPACE, beside, check_card

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


def digest(stories: list[Story], topic: str = "", every: Every = Every.WEEKLY) -> Digest:
    return Digest(every, topic, PERIOD, tuple(stories), len(stories) + 7)


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


# --- the digest as one card, and the `link` style's lines ------------------------------------

PICTURE = "https://img.example/1.jpg"
PERIOD_TEXT = "Top 2 of 9 stories published 23 Feb 08:00 – 02 Mar 08:00 UTC"


def test_two_stories_the_first_with_its_picture() -> None:
    card = digest_card(digest([story(1, image=Image(PICTURE)), story(2)], topic="AI"))
    check_card(card, urls={"https://example.com/1", "https://example.com/2"})
    assert card.to_components() == [
        {
            "type": 17,
            "accent_color": 0x276749,  # the topic's colour, as on its stories' cards
            "spoiler": False,
            "components": [
                {"type": 10, "content": "## Weekly digest: AI"},
                SPACE,
                beside(
                    ["1. **[Story 1](https://example.com/1)** · Example · +1 related"],
                    PICTURE,
                    "Story 1",
                ),
                SEPARATOR,
                {
                    "type": 10,
                    "content": "2. **[Story 2](https://example.com/2)** · Example · +2 related",
                },
                SPACE,
                {"type": 10, "content": f"-# {PERIOD_TEXT}"},
            ],
        }
    ]
    assert card_to_text(card) == (
        "Weekly digest: AI\n"
        "\n"
        "1. Story 1 <https://example.com/1> · Example · +1 related\n"
        f"picture: <{PICTURE}>\n"
        "\n"
        "2. Story 2 <https://example.com/2> · Example · +2 related\n"
        "\n"
        f"{PERIOD_TEXT}"
    )


def test_every_size_fits_separators_and_then_pictures_giving_way_before_stories() -> None:
    huge = {"title": "word " * 2000, "provider": "P" * 5000, "related": 10**9}
    for size in range(MIN_SIZE, MAX_SIZE + 1):
        for pictured in (False, True):
            stories = [
                story(
                    n,
                    url=f"https://example.com/{n}/" + "a" * 400,
                    image=Image(f"https://img.example/{n}.jpg") if pictured else None,
                    **huge,
                )
                for n in range(1, size + 1)
            ]
            card = digest_card(digest(stories, topic="T" * 5000, every=Every.DAILY))
            walk = check_card(card, urls={s.url for s in stories})
            numbered = [t for t in walk.texts if t[:3].rstrip(" ").rstrip(".").isdigit()]
            assert [t.split(".")[0] for t in numbered] == [str(n) for n in range(1, size + 1)]
            assert len(walk.thumbnails) == (size if pictured else 0)  # no story lost its own
            separators = [c for c in card.to_components()[0]["components"] if c["type"] == 14]
            # between the stories and a space around them, while 4 * size + 1 <= 37 fit
            assert len(separators) == (size + 1 if size * 4 + 1 <= 37 or not pictured else 0)
            assert walk.texts[0].startswith("## Daily digest: TTT") and len(walk.texts[0]) <= 259


def test_hostile_stories_stay_text() -> None:
    hostile = story(
        1,
        title="[click](https://evil.example) @everyone <@&1> \u202eevil",
        provider="@here",
        url="javascript:alert(1)",
        image=Image("http://insecure.example/p.jpg"),
    )
    card = digest_card(digest([hostile], topic="**AI** @everyone"))
    walk = check_card(card)  # no link at all: javascript: is not linked
    assert walk.thumbnails == []
    assert walk.texts[:2] == [
        "## Weekly digest: \\*\\*AI\\*\\* @\u200beveryone",
        "1. **\\[click\\]\\(https://evil.example\\) @\u200beveryone <@\u200b&1> evil** · "
        "@\u200bhere · +1 related",
    ]


def test_the_link_style_is_plain_numbered_lines() -> None:
    assert digest_text(digest([story(1), story(2)], topic="AI")) == (
        "Weekly digest: AI\n"
        "1. Story 1 · Example · +1 related <https://example.com/1>\n"
        "2. Story 2 · Example · +2 related <https://example.com/2>\n"
        f"{PERIOD_TEXT}"
    )


def test_the_link_style_fits_a_message_for_ten_huge_stories() -> None:
    stories = [
        story(n, title="word " * 2000, url=f"https://x.example/{n}/" + "a" * (40 if n < 9 else 480))
        for n in range(10)
    ]
    text = digest_text(digest(stories, topic="T" * 5000))
    assert len(text) <= 2000
    lines = text.splitlines()
    assert len(lines) == 12 and lines[1].startswith("1. word word")
    assert all(line.endswith("aaa>") and "…" in line for line in lines[1:10])  # titles cut
    assert "https://" not in lines[10]  # a link too long for its share is left out
    hostile = [story(n, title="word " * 2000, provider="P" * 5000) for n in range(10)]
    assert len(digest_text(digest(hostile, topic="T" * 5000))) <= 2000


def test_random_digests_always_fit() -> None:
    rng = random.Random(17)
    alphabet = "aZ9 *_~|`>#-[]()<>@&!\\\n:.\u202e\u200bé漢😀"

    def text(most: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.choice((0, 5, most))))

    def url() -> str:
        return rng.choice(
            (
                "",
                "javascript:x",
                "https://h.example/(a)" + "v" * rng.randint(0, 3000),
                "http://h.example/ok",
            )
        )

    for _ in range(60):
        stories = [
            story(
                n,
                title=text(3000),
                provider=text(300),
                url=url(),
                related=rng.randint(0, 10**12),
                image=Image(url()) if rng.random() < 0.7 else None,
            )
            for n in range(rng.randint(MIN_SIZE, MAX_SIZE))
        ]
        made = digest(stories, topic=text(400), every=rng.choice(list(Every)))
        check_card(digest_card(made), urls={s.url for s in stories})
        assert len(digest_text(made)) <= 2000
