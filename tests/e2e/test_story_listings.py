"""Search, /news and digests show a story once: its lead (or, for search, its best hit)
with "+N more sources", never once per article; pages never repeat a story.

End to end (the real bot over the stand-in's wire) and at the store, on both backends.
Stories are planted as the store tells them apart: articles sharing an `originalUrl`
(with webUrls of their own) are one story.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.console import Console
from bot.store import Store, articles
from tests.support.botenv import NewsEnv, news_bot
from tests.support.helpers import card_buttons, card_texts, is_card, write_article
from tests.support.stand_in import InteractionResult

QUAKE = "https://wire.example/2024/03/quake"


def quake_store(folder: Path) -> None:
    """One story of three articles (three providers, one `originalUrl`) and two unrelated
    articles. Every title holds "quake" once except the story's best (Blog's, quality 95),
    and every article is as long as the others: a search for "quake" ranks by quality."""
    folder.mkdir(exist_ok=True)
    planted = [
        ("quake-wire", "Quake shakes coast", "Wire copy from the scene.", 50, 8, QUAKE),
        ("quake-paper", "Quake damage counted", "Paper report from the scene.", 80, 10, QUAKE),
        ("quake-blog", "Coast towns rebuild", "Blog notes from the scene.", 95, 12, QUAKE),
        ("quake-drill", "Quake drill held", "Schools practise for the day.", 70, 9, None),
        ("quake-cover", "Quake insurance rises", "Premiums climb along the coast.", 60, 11, None),
    ]
    for name, title, excerpt, quality, hour, original in planted:
        provider = excerpt.split()[0]  # Wire, Paper, Blog, Schools, Premiums: one word each
        write_article(
            folder,
            name,
            title=title,
            excerpt=excerpt,
            provider={"name": provider, "domain": f"{provider.lower()}.example"},
            quality=quality,
            publishedDateTime=f"2024-03-01T{hour:02d}:00:00Z",
            originalUrl=original,
            topics=["Quakes"],
            published=True,
        )


def chip_stories(folder: Path, stories: int = 7) -> None:
    """`stories` stories of two articles each (a wire's and a paper's), the newer story
    numbered higher, all about chips in AI; and one other topic's story."""
    folder.mkdir(exist_ok=True)
    for n in range(1, stories + 1):
        for source, minutes in (("wire", 0), ("paper", 30)):
            write_article(
                folder,
                f"chip{n}-{source}",
                title=f"Chip story {n} {source}",
                excerpt="Chips again.",
                originalUrl=f"https://wire.example/chips/{n}",
                provider={"name": source.title(), "domain": f"{source}.example"},
                publishedDateTime=f"2024-02-{n:02d}T10:{minutes:02d}:00Z",
                topics=["AI"],
                published=True,
            )
    write_article(folder, "other", title="Chip shortage", topics=["World"], published=True)


# --- reading a list page back -------------------------------------------------------------


def entries(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(linked title, its "+N more sources" line or "") of each entry, top to bottom."""
    found = []
    for text in card_texts(message):
        title = re.match(r"\*\*\[(.+?)\]\(", text)
        if title:
            more = re.search(r"^-# (\+\d+ more sources?)$", text, re.MULTILINE)
            found.append((title[1], more[1] if more else ""))
    return found


def footer(message: dict[str, Any]) -> str:
    return next(t for t in reversed(card_texts(message)) if t.startswith("-# Page"))


async def ask(env: NewsEnv, command: str, **options: Any) -> InteractionResult:
    result = await env.discord.slash(command, options, user_id=env.guild.reader)
    assert result.type == 4 and is_card(result.data), result.data
    assert result.data["allowed_mentions"] == {"parse": []}
    return result


async def pages(env: NewsEnv, first: InteractionResult) -> list[dict[str, Any]]:
    """Every page of a list answer, turning them with Next as the reader."""
    assert first.message is not None
    seen = [first.data]
    while True:
        [following] = [b for b in card_buttons(seen[-1]) if b.get("label") == "Next"]
        if following.get("disabled"):
            return seen
        turned = await env.discord.click(
            following["custom_id"], message=first.message, user_id=env.guild.reader
        )
        assert turned.type == 7
        seen.append(turned.data)


# --- /search and /news --------------------------------------------------------------------


@pytest.mark.usefixtures("both_backends")
async def test_search_shows_a_story_once_by_its_best_hit_with_its_other_sources(
    tmp_path: Path,
) -> None:
    quake_store(tmp_path / "store")
    async with news_bot(tmp_path) as env:
        found = await ask(env, "search", query="quake")
        # The story's best hit (Paper's, quality 80; Blog's never says "quake"), then the
        # two unrelated articles; Wire's, a hit too, is the story's and is not listed again.
        assert entries(found.data) == [
            ("Quake damage counted", "+2 more sources"),
            ("Quake drill held", ""),
            ("Quake insurance rises", ""),
        ]
        assert footer(found.data) == "-# Page 1"


@pytest.mark.usefixtures("both_backends")
async def test_news_shows_a_story_once_by_its_lead_where_its_newest_coverage_puts_it(
    tmp_path: Path,
) -> None:
    quake_store(tmp_path / "store")
    async with news_bot(tmp_path) as env:
        expected = [
            ("Coast towns rebuild", "+2 more sources"),  # the lead: the highest quality
            ("Quake insurance rises", ""),
            ("Quake drill held", ""),
        ]
        latest = await ask(env, "news")
        assert entries(latest.data) == expected
        assert entries((await ask(env, "news", topic="quakes")).data) == expected
        # Blog's leaves: Paper's (quality 80) leads, and the story, its newest coverage now
        # Paper's at 10:00, moves below the insurance article (11:00).
        (env.store_dir / "quake-blog.txt").unlink()
        await env.store.folder.sync()
        assert entries((await ask(env, "news")).data) == [
            ("Quake insurance rises", ""),
            ("Quake damage counted", "+1 more source"),
            ("Quake drill held", ""),
        ]


@pytest.mark.usefixtures("both_backends")
@pytest.mark.parametrize("command", ["news", "search"])
async def test_pages_of_stories_never_repeat_a_story(tmp_path: Path, command: str) -> None:
    chip_stories(tmp_path / "store")
    async with news_bot(tmp_path) as env:
        options = {"topic": "ai"} | ({"query": "chip"} if command == "search" else {})
        shown = await pages(env, await ask(env, command, **options))
        assert [footer(page) for page in shown] == [
            "-# Page 1 · more on the next page",
            "-# Page 2",
        ]
        listed = [entry for page in shown for entry in entries(page)]
        stories = [int(title.split()[2]) for title, _ in listed]
        assert sorted(stories) == list(range(1, 8))  # each of the 7 stories, once
        assert {more for _, more in listed} == {"+1 more source"}
        if command == "news":
            # Newest coverage first, each story by its lead: the earlier (wire's) article,
            # both being of one quality.
            assert [title for title, _ in listed] == [
                f"Chip story {n} wire" for n in range(7, 0, -1)
            ]


@pytest.mark.usefixtures("both_backends")
async def test_a_story_crowding_the_candidates_still_fills_the_page(tmp_path: Path) -> None:
    """30 articles of one story are the best hits: the engine is asked for more until five
    stories fill the page, and a next page is known to exist."""
    folder = tmp_path / "store"
    folder.mkdir()
    for n in range(30):
        write_article(
            folder,
            f"flood{n:02d}",
            title="Flood flood flood",
            excerpt="Flood.",
            originalUrl="https://wire.example/flood",
            provider={"name": f"Provider {n}", "domain": f"p{n}.example"},
            publishedDateTime=f"2024-03-01T{n % 24:02d}:00:00Z",
            published=True,
        )
    for n in range(6):
        write_article(folder, f"aside{n}", title=f"Aside {n} flood", published=True)
    async with news_bot(tmp_path) as env:
        first = await ask(env, "search", query="flood")
        listed = entries(first.data)
        assert listed[0] == ("Flood flood flood", "+29 more sources")
        assert len(listed) == 5 and all(more == "" for _, more in listed[1:])
        shown = await pages(env, first)
        assert len(shown) == 2
        titles = [title for page in shown for title, _ in entries(page)]
        assert sorted(titles[1:]) == [f"Aside {n} flood" for n in range(6)]


async def test_a_story_past_the_candidates_bound_leaves_the_page_short(
    store: Store, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search costs a bounded amount whatever one story holds: the engine is asked for
    at most CANDIDATES_MAX candidates, and a page shows the stories they hold."""
    for n in range(12):
        write_article(
            store_dir,
            f"flood{n:02d}",
            title="Flood flood flood",
            originalUrl="https://wire.example/flood",
            quality=20 if n == 0 else 10,  # the story's best hit
            published=True,
        )
    write_article(store_dir, "aside", title="Aside flood", published=True)
    await store.folder.sync()
    asked: list[int] = []
    find = store.articles.search_index.find

    async def counted(*args: Any) -> Any:
        asked.append(args[-1])
        return await find(*args)

    monkeypatch.setattr(store.articles.search_index, "find", counted)
    monkeypatch.setattr(articles, "CANDIDATE_ROOM", 0)
    monkeypatch.setattr(articles, "CANDIDATES_MAX", 10)
    page = await store.articles.search("flood")
    assert asked == [6, 10]  # the page and one more, then up to the bound: no further
    assert [a.id for a in page.items] == ["flood00"] and page.more_sources == (11,)
    assert not page.has_next
    monkeypatch.setattr(articles, "CANDIDATES_MAX", 24)
    asked.clear()
    page = await store.articles.search("flood")
    assert asked == [6, 24]
    assert [a.id for a in page.items] == ["flood00", "aside"]


async def test_the_console_lists_a_story_once_too(store: Store, store_dir: Path) -> None:
    quake_store(store_dir)
    await store.folder.sync()
    console = Console(store, io.StringIO())
    answer = await console.execute("/search quake")
    assert answer.count("Quake damage counted") == 1
    assert "+2 more sources" in answer
    assert "Quake shakes coast" not in answer
    assert "quake-paper" in answer and "quake-wire" not in answer  # the ids listed
    latest = await console.execute("/news")
    assert "Coast towns rebuild" in latest and "+2 more sources" in latest


# --- digests ------------------------------------------------------------------------------


def hours_ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat()


def digest_store(folder: Path) -> None:
    """A story from four providers, its best article's heat 50 (scored 50 + 40 / 2 + 20 ×
    log2 4 = 110), led by Paper's (quality 60, heat 20); a lone article hotter than any
    of its articles (80 + 20 = 100); and a lone article as warm as its best (70)."""
    folder.mkdir(exist_ok=True)
    big = [("wire", 50, 40), ("paper", 20, 60), ("radio", 30, 40), ("blog", 10, 40)]
    for source, heat, quality in big:
        write_article(
            folder,
            f"big-{source}",
            title=f"Big story told by {source.title()}",
            originalUrl="https://wire.example/big",
            provider={"name": source.title(), "domain": f"{source}.example"},
            heat=heat,
            quality=quality,
            publishedDateTime=hours_ago(1),
            published=True,
        )
    for name, heat in (("hot", 80), ("warm", 50)):
        write_article(
            folder,
            name,
            title=f"Lone {name} article",
            heat=heat,
            quality=40,
            publishedDateTime=hours_ago(1),
            published=True,
        )


@pytest.mark.usefixtures("both_backends")
async def test_a_digest_ranks_stories_with_a_bonus_for_their_sources_and_lists_each_once(
    tmp_path: Path,
) -> None:
    digest_store(tmp_path / "store")
    async with news_bot(tmp_path) as env:
        d, news = env.discord, env.guild.channels["news"]
        result = await d.slash(
            "digest",
            {"channel": news, "size": 5, "style": "embed"},
            subcommand="now",
            user_id=env.guild.admin,
        )
        assert result.ephemeral and result.deferred
        assert (
            result.followups[-1]["content"] == f"Posted the daily digest (3 stories) in <#{news}>."
        )
        [message] = d.messages(news)
        [embed] = message["embeds"]
        assert str(embed["description"]).splitlines() == [
            "1. **[Big story told by Paper](https://example.com/news/big-paper)** · Paper"
            " · +3 more sources · +0 related",
            "2. **[Lone hot article](https://example.com/news/hot)** · Example News · +0 related",
            "3. **[Lone warm article](https://example.com/news/warm)** · Example News · +0 related",
        ]
        assert embed["footer"]["text"].startswith("Top 3 of 3 stories published ")
