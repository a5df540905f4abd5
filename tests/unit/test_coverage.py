"""A story's post with many sources, hostile ones among them: "More coverage" as a card, an
embed and a plain line receive it, inside every Discord limit, inert, the best source
leading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import discord

from bot import cards, coverage, embeds
from bot.articles import Article, RelatedLink
from tests.support.card_limits import check_card

START = datetime(2024, 1, 1, 12, tzinfo=UTC)


def source(n: int, **fields: object) -> Article:
    values: dict[str, object] = {
        "id": f"s{n:02d}",
        "title": f"@everyone <@&123> **Flood** barriers hold, source {n} " + "x" * 180,
        "url": f"https://example.com/news/s{n:02d}?" + "q" * 300,
        "published_at": START + timedelta(hours=n),
        "quality": 10,
        "provider_name": f"Provider {n} " + "p" * 90,
        "excerpt": "e " * 900,
        "related": tuple(
            RelatedLink(f"Related {i}", f"https://example.org/{i}", "", "Someone")
            for i in range(30)
        ),
    }
    values.update(fields)
    return Article(**values)  # type: ignore[arg-type]


def test_the_best_source_leads_and_the_rest_follow_oldest_first() -> None:
    first, better, later = source(1), source(2, quality=80), source(3, quality=80)

    lead, more = coverage.lead_and_more([later, first, better])

    assert lead is better  # the highest quality, then the earliest
    assert more == [first, later]


def test_forty_sources_fit_a_card_an_embed_and_a_line() -> None:
    lead, *rest = [source(n) for n in range(40)]
    urls = {a.url for a in (lead, *rest)} | {link.url for link in lead.related}

    more_text = coverage.card_text(rest)
    card = cards.article_card(lead, above="<@&42>", more=more_text)
    check_card(card, urls=urls, ping="<@&42>")  # every limit; mentions inert; only these links
    assert more_text.startswith("**More coverage**\n- [")
    assert len(more_text) <= coverage.CARD_MAX
    assert more_text.endswith("more") and "…and " in more_text.rsplit("\n", 1)[1]

    embed = coverage.add_field(embeds.article_embed(lead), rest)
    assert len(embed) <= 6000 and embed.fields[-1].name == "More coverage"
    assert len(embed.fields[-1].value or "") <= 1024

    line = coverage.with_line(cards.link_line(lead, "<@&42>"), rest)
    assert len(line) <= 2000 and line.split("\n")[1].startswith("More coverage: Provider 1")


def test_a_post_with_one_source_shows_no_more_coverage() -> None:
    lead = source(1)

    assert coverage.card_text([]) == ""
    assert coverage.with_line("line", []) == "line"
    assert coverage.add_field(discord.Embed(title="t"), []).fields == []
    assert isinstance(cards.article_card(lead), discord.ui.LayoutView)
