"""The story cards as Discord would receive them: every limit held by construction for any
article, hostile ones included, and the text inert; the console's reading of a card."""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any, cast

import discord
import pytest

from bot.articles import Article, RelatedLink
from bot.cards import (
    FOLLOW_STORY_PREFIX,
    PALETTE,
    RELATED_PREFIX,
    SAVE_PREFIX,
    accent,
    article_card,
    card_to_text,
    custom_id,
    link_line,
    picture,
    related_card,
    results_card,
)
from bot.embeds import BRAND_COLOUR
from bot.pictures import Image
from tests.support.card_limits import SEPARATOR, article_urls, beside, check_card

WHEN = datetime(2023, 5, 12, 13, 24, tzinfo=UTC)
STAMP = "<t:1683897840:f> (<t:1683897840:R>)"
URL = "https://www.govtech.com/artificial-intelligence/how-long-will-the-open-source-ai-boom-last"
MIT_URL = "https://www.technologyreview.com/2023/05/12/1072950/open-source-ai-google-openai-eleuther-meta/"
MIT_PICTURE = "https://wp.technologyreview.com/wp-content/uploads/2023/05/open-closed2.jpeg?w=3000"
VB_URL = (
    "https://venturebeat.com/ai/open-source-ai-continues-to-celebrate-as-big-tech-mulls-over-moats/"
)
PICTURE = "https://www.govtech.com/images/open-source-ai.jpg"
MIT_TITLE = "The open-source AI boom is built on Big Tech’s handouts. How long will it last?"
VB_TITLE = "Open source AI continues to celebrate as Big Tech mulls over moats"
EXCERPT = (
    "There are now smaller, cheaper versions of the best-in-class AI models created by the "
    "big firms that (almost) match them in performance — and they’re available to share "
    "for free."
)


def seed(**changes: Any) -> Article:
    """The seed article (its picture added): two related items, the first with a picture."""
    fields: dict[str, Any] = {
        "id": "000_b1e94322d9932e65",
        "title": "How Long Will the Open-Source AI Boom Last?",
        "url": URL,
        "published_at": WHEN,
        "excerpt": EXCERPT,
        "provider_name": "Government Technology",
        "provider_domain": "govtech.com",
        "topics": ("AI", "AI Ethics"),
        "image": Image(PICTURE, 1200, 675),
        "related": (
            RelatedLink(
                MIT_TITLE,
                MIT_URL,
                provider="MIT Technology Review",
                image=Image(MIT_PICTURE, 3000, 1688),
            ),
            RelatedLink(VB_TITLE, VB_URL, provider="VentureBeat"),
        ),
        "secured": "TOPSECRET-never-shown",
    }
    fields.update(changes)
    return Article(**fields)


def texts_of(component: dict[str, Any]) -> list[str]:
    """Every text display's content under `component`, in order."""
    found = [component["content"]] if component["type"] == 10 else []
    for child in (*component.get("components", ()), component.get("accessory") or {}):
        if child:
            found += texts_of(child)
    return found


# --- the seed as a card ---------------------------------------------------------------------


def test_the_seed_card_is_exactly_this() -> None:
    card = article_card(seed())
    check_card(card, urls=article_urls(seed()))
    assert card.to_components() == [
        {
            "type": 17,
            "accent_color": 0x276749,  # "AI" in the palette
            "spoiler": False,
            "components": [
                beside(
                    [
                        f"### [How Long Will the Open-Source AI Boom Last?]({URL})\n"
                        f"Government Technology · {STAMP}",
                        EXCERPT.replace("(almost)", "\\(almost\\)"),
                    ],
                    PICTURE,
                    "How Long Will the Open-Source AI Boom Last?",
                ),
                SEPARATOR,
                {"type": 10, "content": "**Related coverage**"},
                beside(
                    [f"[{MIT_TITLE}]({MIT_URL})\n-# MIT Technology Review"], MIT_PICTURE, MIT_TITLE
                ),
                {"type": 10, "content": f"[{VB_TITLE}]({VB_URL})\n-# VentureBeat"},
                {"type": 10, "content": "-# AI · AI Ethics"},
                {
                    "type": 1,
                    "components": [
                        {"type": 2, "style": 5, "disabled": False, "label": "Read", "url": URL},
                        {
                            "type": 2,
                            "style": 2,
                            "disabled": False,
                            "label": "Save",
                            "custom_id": "newsbot:save:000_b1e94322d9932e65",
                        },
                        {
                            "type": 2,
                            "style": 2,
                            "disabled": False,
                            "label": "Follow story",
                            "custom_id": "newsbot:follow-story:000_b1e94322d9932e65",
                        },
                    ],
                },
            ],
        }
    ]


def test_the_console_reads_the_seed_card_as_text() -> None:
    assert card_to_text(article_card(seed())) == (
        f"How Long Will the Open-Source AI Boom Last? <{URL}>\n"
        "Government Technology · 2023-05-12 13:24 UTC\n"
        f"{EXCERPT}\n"
        f"picture: <{PICTURE}>\n"
        "\n"
        "Related coverage\n"
        f"{MIT_TITLE} <{MIT_URL}>\n"
        "MIT Technology Review\n"
        f"picture: <{MIT_PICTURE}>\n"
        f"{VB_TITLE} <{VB_URL}>\n"
        "VentureBeat\n"
        "AI · AI Ethics\n"
        f"[Read] {URL}\n"
        "[Save]\n"
        "[Follow story]"
    )


def test_a_feeds_ping_is_its_own_text_display_above_the_card() -> None:
    card = article_card(seed(), above="<@&42>")
    check_card(card, urls=article_urls(seed()), ping="<@&42>")
    assert card.to_components()[0] == {"type": 10, "content": "<@&42>"}
    with pytest.raises(ValueError, match="above a card"):
        article_card(seed(), above="<@&1> " * 30)


def test_a_preview_has_publish_instead_of_the_reader_buttons() -> None:
    publish = discord.ui.Button[discord.ui.LayoutView](label="Publish", custom_id="newsbot:pub:x")
    card = article_card(seed(), related=False, save=False, extra=[publish])
    walk = check_card(card, urls=article_urls(seed()))
    assert [b["label"] for b in walk.buttons] == ["Read", "Publish"]


def test_the_time_is_each_readers_own_and_a_naive_time_is_utc() -> None:
    naive = article_card(seed(published_at=WHEN.replace(tzinfo=None)))
    [container] = naive.to_components()
    assert texts_of(container)[0].endswith(f"Government Technology · {STAMP}")


# --- cut to Discord's limits ----------------------------------------------------------------


def test_two_hundred_related_items_are_cut_and_the_related_button_shows_the_rest() -> None:
    related = tuple(
        RelatedLink(
            f"Related {i}",
            f"https://r{i}.example/a",
            provider=f"P{i}",
            image=Image(f"https://img.example/{i}.jpg"),
        )
        for i in range(200)
    )
    article = seed(related=related)
    walk = check_card(
        article_card(article, above="<@&1>"), urls=article_urls(article), ping="<@&1>"
    )
    shown = [t for t in walk.texts if t.startswith("[Related ")]
    assert shown == [f"[Related {i}](https://r{i}.example/a)\n-# P{i}" for i in range(len(shown))]
    assert walk.texts[-2:] == [f"…and {200 - len(shown)} more", "-# AI · AI Ethics"]
    # each picture beside its own item: the article's, then related 0, 1, 2 ... in order
    assert [t["media"]["url"] for t in walk.thumbnails] == [PICTURE] + [
        f"https://img.example/{i}.jpg" for i in range(len(shown))
    ]
    assert [b["label"] for b in walk.buttons] == ["Read", "Related", "Save", "Follow story"]
    assert walk.custom_ids == [
        RELATED_PREFIX + article.id,
        SAVE_PREFIX + article.id,
        FOLLOW_STORY_PREFIX + article.id,
    ]
    full = check_card(related_card(article), urls=article_urls(article))
    listed = [t for t in full.texts if t.startswith("[Related ")]
    assert len(listed) > len(shown) and full.texts[-1] == f"…and {200 - len(listed)} more"


def test_everything_fits_without_a_related_button_when_nothing_was_cut() -> None:
    walk = check_card(article_card(seed()), urls=article_urls(seed()))
    assert RELATED_PREFIX + seed().id not in walk.custom_ids


def test_a_one_mebibyte_excerpt_is_cut() -> None:
    article = seed(excerpt="word " * (1024 * 1024 // 5))
    walk = check_card(article_card(article), urls=article_urls(article))
    excerpt = walk.texts[1]
    assert excerpt.startswith("word word") and excerpt.endswith("word…")
    assert len(excerpt) <= 1500


def test_urls_too_long_to_link_are_not_linked_and_pictures_too_long_are_dropped() -> None:
    long_url = "https://example.com/" + "a" * 600
    article = seed(
        url=long_url,
        image=Image("https://example.com/" + "p" * 2029),  # 2,049 characters
        related=(RelatedLink("Far", long_url, image=Image("https://example.com/" + "q" * 2028)),),
    )
    walk = check_card(article_card(article), urls=article_urls(article))
    assert walk.texts[0].startswith("### How Long Will")  # the title, not linked
    assert walk.texts[3] == "Far"
    assert [len(t["media"]["url"]) for t in walk.thumbnails] == [2048]  # the related one
    assert [b["label"] for b in walk.buttons] == ["Save", "Follow story"]  # no Read: over 512


def test_hostile_text_stays_text() -> None:
    hostile = (
        "@everyone <@&1> <@!2> @here [masked](https://evil.example) \u202egpj.exe "
        "zero\u200bwidth\u2060joined\ufeff"
    )
    article = seed(
        title=hostile,
        excerpt=hostile,
        provider_name=hostile,
        topics=(hostile,),
        related=(
            RelatedLink(
                hostile,
                "https://ok.example/r",
                provider=hostile,
                image=Image("javascript:alert(1)"),
            ),
            RelatedLink(
                "plain http picture",
                "https://ok.example/s",
                image=Image("http://insecure.example/p.jpg"),
            ),
        ),
        image=Image("http://insecure.example/a.jpg"),
    )
    card = article_card(article)
    walk = check_card(card, urls=article_urls(article))
    assert walk.thumbnails == []  # javascript: and http: pictures are dropped
    sent = "\n".join(walk.texts) + "".join(t.get("description") or "" for t in walk.thumbnails)
    assert "](https://evil.example)" not in sent  # the masked link stays text
    for invisible in ("\u202e", "\u2060", "\ufeff"):
        assert invisible not in sent + card_to_text(card)
    assert "zerowidthjoined" in card_to_text(card)  # zero-width characters are dropped
    assert walk.texts[0].startswith(
        "### [@\u200beveryone <@\u200b&1> <@\u200b!2> @\u200bhere \\[masked\\]\\(https://evil"
    )


def test_a_title_of_invisible_characters_is_untitled() -> None:
    article = seed(title="\u200b\u202e\u2066\ufeff", image=None)
    walk = check_card(article_card(article), urls=article_urls(article))
    assert walk.texts[0].startswith(f"### [Untitled]({URL})\n")


def test_an_article_with_no_topics_provider_or_url() -> None:
    article = seed(topics=(), provider_name="", provider_domain="", url="", related=(), image=None)
    card = article_card(article)
    walk = check_card(card)
    assert card.to_components()[0]["accent_color"] == BRAND_COLOUR.value
    assert walk.texts == [
        f"### How Long Will the Open-Source AI Boom Last?\n{STAMP}",
        EXCERPT.replace("(almost)", "\\(almost\\)"),
    ]
    assert [b["label"] for b in walk.buttons] == ["Save", "Follow story"]


def test_an_article_id_too_long_for_a_custom_id_has_no_reader_buttons() -> None:
    assert custom_id(SAVE_PREFIX, "x" * 87) == SAVE_PREFIX + "x" * 87  # 100 characters
    assert custom_id(SAVE_PREFIX, "x" * 88) is None
    walk = check_card(article_card(seed(id="x" * 200)), urls=article_urls(seed()))
    assert walk.custom_ids == []


def test_pictures_are_https_with_a_host_and_at_most_2048_characters() -> None:
    assert picture(Image("https://a.example/p.jpg")) == "https://a.example/p.jpg"
    for bad in (
        "http://a.example/p.jpg",
        "javascript:alert(1)",
        "https:///nohost",
        "https://a.example/" + "p" * 2031,
        "https://a.example/with space.jpg",
    ):
        assert picture(Image(bad)) is None, bad
    assert picture(None) is None


# --- any article -----------------------------------------------------------------------------

_ALPHABET = "aZ9 *_~|`>#-[]()<>@&!\\\n:.\u202e\u200b\u2066é漢😀"


def _random_text(rng: random.Random, most: int) -> str:
    size = rng.choice((0, 1, 10, 100, most))
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, size)))


def _random_url(rng: random.Random) -> str:
    return rng.choice(
        (
            "",
            "javascript:x",
            "http://h.example/" + "u" * rng.randint(0, 700),
            "https://h.example/(a)" + "v" * rng.randint(0, 3000),
            "https://h.example/ok",
        )
    )


def _random_article(rng: random.Random, index: int) -> Article:
    def image() -> Image | None:
        return Image(_random_url(rng)) if rng.random() < 0.6 else None

    related = tuple(
        RelatedLink(
            _random_text(rng, 400), _random_url(rng), provider=_random_text(rng, 100), image=image()
        )
        for _ in range(rng.choice((0, 1, 2, 15, 60)))
    )
    return Article(
        id=f"r{index}" * rng.choice((1, 30)),
        title=_random_text(rng, 600),
        url=_random_url(rng),
        published_at=WHEN.replace(tzinfo=None) if rng.random() < 0.5 else WHEN,  # naive: UTC
        excerpt=_random_text(rng, 6000),
        provider_name=_random_text(rng, 200),
        topics=tuple(_random_text(rng, 50) for _ in range(rng.randint(0, 40))),
        related=related,
        image=image(),
    )


def test_random_articles_always_make_cards_within_discords_limits() -> None:
    rng = random.Random(17)
    articles = [_random_article(rng, i) for i in range(150)]
    publish = discord.ui.Button[discord.ui.LayoutView](label="Publish", custom_id="p")
    for article in articles:
        urls = article_urls(article)
        check_card(article_card(article), urls=urls)
        check_card(
            article_card(article, above="<@&123456789012345678>", extra=[publish]),
            urls=urls,
            ping="<@&123456789012345678>",
        )
        check_card(related_card(article), urls=urls)
        assert len(link_line(article, "<@&123456789012345678>")) <= 2000
    for start in range(0, len(articles), 10):
        page = articles[start : start + rng.choice((1, 5, 12, 40))]
        urls = {u for a in page for u in article_urls(a)}
        buttons = [
            discord.ui.Button[discord.ui.LayoutView](label=f"b{i}", custom_id=f"b{i}")
            for i in range(rng.randint(0, 7))
        ]
        accessories = [
            discord.ui.Button[discord.ui.LayoutView](label="Publish", custom_id=f"p{i}")
            if rng.random() < 0.3
            else None
            for i in range(len(page))
        ]
        check_card(
            results_card(
                _random_text(rng, 300),
                page,
                page=3,
                has_next=True,
                note=_random_text(rng, 900),
                accessories=accessories,
                buttons=buttons,
            ),
            urls=urls,
        )


# --- accent colours ---------------------------------------------------------------------------


def test_each_topic_has_its_own_stable_colour() -> None:
    assert accent(["AI"]) == accent([" ai "]) == accent(["Ai", "Space"]) == discord.Colour(0x276749)
    assert accent(["Space"]) == discord.Colour(0xB7791F)
    assert accent(["Climate"]) == discord.Colour(0x6B46C1)
    assert accent(["", "  ", "Space"]) == accent(["Space"])  # the first named topic
    assert accent([]) == BRAND_COLOUR
    assert {accent([f"topic {i}"]) for i in range(200)} == set(PALETTE)


def test_a_topics_colour_is_the_same_in_every_process() -> None:
    script = "from bot.cards import accent; print(accent(['Space']).value, accent(['AI']).value)"
    seen = {
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": str(seed_)},
        ).stdout
        for seed_ in (1, 2, 3)
    }
    assert seen == {f"{0xB7791F} {0x276749}\n"}


# --- list pages and the link line -------------------------------------------------------------


def _page_article(i: int) -> Article:
    return seed(
        id=f"a{i}",
        title=f"Story {i}",
        url=f"https://example.com/{i}",
        related=(),
        excerpt="",
        image=Image(f"https://img.example/{i}.jpg"),
    )


def test_a_results_page_gives_up_separators_then_pictures_then_articles() -> None:
    previous = discord.ui.Button[discord.ui.LayoutView](label="Previous", custom_id="prev")
    # 35 components for the list: 5 articles with pictures, the 4 separators between them
    # and a space around them take 21; 10 take 30 without separators; 12 take 12 without
    # pictures; of 40, 34 are listed and "…and 6 more".
    for count, separators, pictures, listed in (
        (5, 6, 5, 5),
        (10, 0, 10, 10),
        (12, 0, 0, 12),
        (40, 0, 0, 34),
    ):
        page = [_page_article(i) for i in range(count)]
        card = results_card("Latest news", page, page=0, has_next=True, buttons=[previous])
        walk = check_card(card, urls={a.url for a in page})
        [container] = card.to_components()
        kinds = [c["type"] for c in container["components"]]
        assert kinds.count(14) == separators and len(walk.thumbnails) == pictures, count
        assert sum(t.startswith("**[Story") for t in walk.texts) == listed, count
        assert walk.texts[-1] == "-# Page 1 · more on the next page"
        if listed < count:
            assert walk.texts[-2] == f"…and {count - listed} more"


def test_a_drafts_page_keeps_each_publish_button_beside_its_article() -> None:
    page = [_page_article(i) for i in range(12)]
    publish = [
        discord.ui.Button[discord.ui.LayoutView](label="Publish", custom_id=f"pub:{i}")
        for i in range(12)
    ]
    walk = check_card(
        results_card("Drafts awaiting review", page, page=0, has_next=False, accessories=publish),
        urls={a.url for a in page},
    )
    assert walk.custom_ids == [f"pub:{i}" for i in range(12)] and walk.thumbnails == []


def test_a_results_page_as_the_console_prints_it() -> None:
    article = seed(related=(), excerpt="Short.")
    card = results_card("Search: open", [article], page=1, has_next=False, note="**2** found")
    assert card_to_text(card) == (
        "Search: open\n2 found\n\n"
        f"How Long Will the Open-Source AI Boom Last? <{URL}>\n"
        "Government Technology · 2023-05-12 13:24 UTC\nShort.\n"
        f"picture: <{PICTURE}>\n\n"
        "Page 2"
    )


def test_the_link_line_is_plain_and_inert() -> None:
    assert link_line(seed()) == (
        f"How Long Will the Open-Source AI Boom Last? · Government Technology <{URL}>"
    )
    hostile = seed(title="@everyone [x](https://evil.example)", provider_name="\u202eP")
    assert link_line(hostile, "<@&7>") == (
        f"<@&7> @\u200beveryone \\[x\\]\\(https://evil.example\\) · P <{URL}>"
    )


# --- the checker itself ----------------------------------------------------------------------

V = discord.ui.LayoutView


def _breach(kind: str) -> discord.ui.LayoutView:
    """A card breaking one rule `check_card` holds cards to (discord.py builds them all)."""
    text, button, row = discord.ui.TextDisplay[V], discord.ui.Button[V], discord.ui.ActionRow[V]

    def beside(picture: discord.ui.Thumbnail[V]) -> discord.ui.Section[V]:
        return discord.ui.Section[V](text("t"), accessory=picture)

    parts: dict[str, list[discord.ui.Item[V]]] = {
        "text over 4,000": [text("a" * 2001), text("b" * 2000)],
        "http picture": [beside(discord.ui.Thumbnail[V]("http://a.example/p.jpg"))],
        "alt text over 1,024": [
            beside(discord.ui.Thumbnail[V]("https://a.example/p.jpg", description="d" * 1025))
        ],
        "label over 80": [row(button(label="l" * 81, custom_id="c"))],
        "link over 512": [row(button(label="Read", url="https://a.example/" + "u" * 500))],
        "a live mention": [text("hello @everyone")],
        "a foreign masked link": [text("[x](https://evil.example)")],
        "a custom_id twice": [
            row(button(label="a", custom_id="c"), button(label="b", custom_id="c"))
        ],
    }
    view = discord.ui.LayoutView()
    for item in parts[kind]:
        view.add_item(item)
    return view


@pytest.mark.parametrize(
    "kind",
    [
        "text over 4,000",
        "http picture",
        "alt text over 1,024",
        "label over 80",
        "link over 512",
        "a live mention",
        "a foreign masked link",
        "a custom_id twice",
    ],
)
def test_the_checker_catches_each_breach(kind: str) -> None:
    with pytest.raises(AssertionError):
        check_card(_breach(kind), urls={"https://ok.example"})


class PublishButton(discord.ui.DynamicItem[discord.ui.Button[V]], template=r"pub:(?P<id>\w+)"):
    """A persistent button as the drafts page gives it (discord.py's DynamicItem)."""

    def __init__(self, article_id: str) -> None:
        super().__init__(discord.ui.Button(label="Publish", custom_id=f"pub:{article_id}"))


def test_a_persistent_publish_button_is_read_as_a_button() -> None:
    article = seed(related=(), excerpt="")
    publish = cast(discord.ui.Item[V], PublishButton("a1"))
    card = results_card(
        "Drafts awaiting review", [article], page=0, has_next=False, accessories=[publish]
    )
    walk = check_card(card, urls=article_urls(article))
    assert walk.custom_ids == ["pub:a1"] and walk.thumbnails == []
    assert card_to_text(card).splitlines()[2:5] == [
        f"How Long Will the Open-Source AI Boom Last? <{URL}>",
        "Government Technology · 2023-05-12 13:24 UTC",
        "[Publish]",
    ]
