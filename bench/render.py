"""Rendering benchmark: what one post, page or digest costs to build, as a card, an embed
and a link line, for an ordinary story and for the worst a file may hold.

    python -m bench.render [--rounds N]

Each figure is the median wall time of building the message and serialising it to the
JSON Discord receives (`to_components()` / `to_dict()`), over N rounds, in microseconds;
the last column is the card's time over the embed's, measured in the same run (the
machines are noisy: compare ratios). The worst case is a 1 MiB excerpt, 200 related
items each with a picture, and titles and providers at their longest: a card must cost
about what an ordinary one does, because everything is cut to its budget before it is
escaped.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot import cards, embeds
from bot.articles import Article, RelatedLink
from bot.digest import Digest, Every, Period, Story
from bot.digest_post import digest_card, digest_embed, digest_text
from bot.pictures import Image

WHEN = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def ordinary(number: int = 0) -> Article:
    """A story like the seed: two related items, the first with a picture."""
    return Article(
        id=f"{number:03d}_b1e94322d9932e65",
        title="How Long Will the Open-Source AI Boom Last?",
        url=f"https://www.govtech.com/artificial-intelligence/open-source-ai-boom-{number}",
        published_at=WHEN,
        excerpt="There are now smaller, cheaper versions of the best-in-class AI models created "
        "by the big firms that (almost) match them in performance — and they're available "
        "to share for free.",
        provider_name="Government Technology",
        provider_domain="govtech.com",
        topics=("AI", "AI Ethics"),
        image=Image("https://img.example.com/boom.jpeg", 1200, 675),
        related=(
            RelatedLink(
                title="The open-source AI boom is built on Big Tech's handouts",
                url="https://www.technologyreview.com/2023/05/12/1072950/open-source-ai/",
                provider="MIT Technology Review",
                image=Image("https://wp.technologyreview.com/open-closed2.jpeg", 3000, 1688),
            ),
            RelatedLink(
                title="Open source AI continues to celebrate as Big Tech mulls over moats",
                url="https://venturebeat.com/ai/open-source-ai-continues-to-celebrate/",
                provider="VentureBeat",
            ),
        ),
    )


def worst() -> Article:
    """Everything at its longest: the budgets, not the file, bound the work."""
    long_title = "@everyone [masked](https://evil.example) \u202e" + "word " * 2000
    return Article(
        id="999_worst",
        title=long_title,
        url="https://example.com/" + "a" * 2000,
        published_at=WHEN,
        excerpt="An excerpt of a mebibyte. " * 40_000,
        provider_name="Provider " * 500,
        topics=tuple(f"Topic {n}" for n in range(50)),
        image=Image("https://img.example.com/" + "p" * 2000, 4000, 3000),
        related=tuple(
            RelatedLink(
                title=long_title,
                url=f"https://related.example.com/{n}/" + "r" * 400,
                provider="Provider " * 100,
                image=Image(f"https://img.example.com/{n}.jpeg", 800, 450),
            )
            for n in range(200)
        ),
    )


def digest_of(count: int) -> Digest:
    period = Period("2026-03-02", WHEN - timedelta(days=1), WHEN)
    stories = tuple(
        Story(
            article_id=f"{n:03d}",
            title=ordinary(n).title,
            url=ordinary(n).url,
            provider="Government Technology",
            heat=50,
            quality=40,
            published_at=WHEN - timedelta(hours=n),
            related=2,
            image=Image(f"https://img.example.com/{n}.jpeg", 1200, 675),
        )
        for n in range(count)
    )
    return Digest(Every.DAILY, "AI", period, stories, count * 3)


def card_post(article: Article) -> object:
    return cards.article_card(article, above="<@&1>").to_components()


def embed_post(article: Article) -> object:
    return embeds.article_embed(article).to_dict(), embeds.article_view(article).to_components()


def median_us(build: Callable[[], object], rounds: int) -> float:
    times: list[float] = []
    for _ in range(rounds):
        start = time.perf_counter()
        build()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=300)
    rounds = parser.parse_args().rounds
    page = [ordinary(n) for n in range(5)]
    digest = digest_of(10)
    Build = Callable[[], object]
    rows: list[tuple[str, Build, Build, Build | None]] = []  # a page has no link style
    for name, article in (("post, ordinary", ordinary()), ("post, worst file", worst())):
        rows.append(
            (
                name,
                functools.partial(card_post, article),
                functools.partial(embed_post, article),
                functools.partial(cards.link_line, article, "<@&1>"),
            )
        )
    rows.append(
        (
            "/news page of 5",
            lambda: cards.results_card("Latest", page, page=0, has_next=True).to_components(),
            lambda: embeds.results_embed("Latest", page, page=0, has_next=True).to_dict(),
            None,
        )
    )
    rows.append(
        (
            "digest of 10",
            lambda: digest_card(digest).to_components(),
            lambda: digest_embed(digest).to_dict(),
            lambda: digest_text(digest),
        )
    )
    print(f"median µs over {rounds} rounds (build + serialise)")
    print(f"{'message':<20} {'card':>9} {'embed':>9} {'link':>9} {'card/embed':>11}")
    for name, card, embed, link in rows:
        card_us, embed_us = median_us(card, rounds), median_us(embed, rounds)
        link_us = f"{median_us(link, rounds):.0f}" if link else "—"
        print(
            f"{name:<20} {card_us:>9.0f} {embed_us:>9.0f} {link_us:>9} {card_us / embed_us:>10.2f}x"
        )


if __name__ == "__main__":
    main()
