"""/story end to end (the real bot over the stand-in's wire, on both backends): a story's
timeline (every published article, oldest first, with provider and time) and its source
mix, with and without the store's providers.yaml; a draft of the story never shown, a
draft asked about answered as an unknown id; a story of 200 articles one valid message;
the console's text."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.articles import Article
from bot.console import Console
from bot.providers import Mix
from bot.store import Store
from bot.story_answers import story_card
from bot.story_desk import Story
from tests.support.botenv import NewsEnv, content, news_bot
from tests.support.card_limits import check_card
from tests.support.helpers import card_buttons, card_texts, write_article

on_both = pytest.mark.usefixtures("both_backends")  # the end-to-end tests' backends

WIRE = "https://apnews.com/article/quake-coast-0001"
# (id, provider, its domain, webUrl, publishedDateTime, quality): one story, by its shared
# originalUrl; ids out of time order, so the timeline's order is the times'.
SOURCES = (
    ("quake-c", "Associated Press", "apnews.com", WIRE, "2024-03-01T08:00:00Z", 10),
    (
        "quake-a",
        "The New York Times",
        "nytimes.com",
        "https://www.nytimes.com/2024/03/01/world/quake.html",
        "2024-03-01T09:30:00Z",
        40,
    ),
    (
        "quake-e",
        "CNN",
        "edition.cnn.com",
        "https://edition.cnn.com/2024/03/01/world/quake",
        "2024-03-01T11:00:00Z",
        20,
    ),
    (
        "quake-b",
        "The Washington Post",
        "washingtonpost.com",
        "https://www.washingtonpost.com/world/2024/03/02/quake/",
        "2024-03-02T07:15:00Z",
        30,
    ),
    (
        "quake-d",
        "The Boston Globe",
        "bostonglobe.com",
        "https://www.bostonglobe.com/2024/03/03/world/quake/",
        "2024-03-03T18:00:00Z",
        5,
    ),
)
PROVIDERS = """\
# kinds and countries of the sources
apnews.com: {kind: wire, country: US}
nytimes.com: {kind: national, country: us}
cnn.com: {kind: national, country: US}
washingtonpost.com:
  kind: national
  country: US
bostonglobe.com: {kind: regional, country: US}
adage.com: {kind: trade, country: US}
"""


def title(article_id: str) -> str:
    return f"Strong quake hits the coast, report {article_id[-1]}"


def quake_story(folder: Path) -> None:
    """The five sources (published), a sixth of the story still a draft, and another
    story."""
    folder.mkdir(exist_ok=True)
    for article_id, name, domain, url, when, quality in SOURCES:
        write_article(
            folder,
            article_id,
            title=title(article_id),
            webUrl=url,
            originalUrl=WIRE,
            publishedDateTime=when,
            provider={"name": name, "domain": domain},
            quality=quality,
            published=True,
        )
    write_article(
        folder,
        "quake-f",
        title="Secret draft about the quake",
        webUrl="https://example.org/quake-draft",
        originalUrl=WIRE,
        publishedDateTime="2024-03-02T00:00:00Z",
    )
    write_article(folder, "other", title="Gardening today", published=True)


def stamp(when: str) -> int:
    return int(datetime.fromisoformat(when).timestamp())


def line(article_id: str, provider: str, url: str, when: str) -> str:
    return f"<t:{stamp(when)}:f> · {provider} · [{title(article_id)}]({url})"


async def story(env: NewsEnv, article_id: str) -> dict[str, Any]:
    """/story as the reader: its public answer."""
    result = await env.discord.slash(
        "story", {"article": article_id}, user_id=env.guild.reader, global_command=True
    )
    assert result.type == 4 and not result.ephemeral, result.data
    assert result.data["allowed_mentions"] == {"parse": []}
    return result.data


@on_both
async def test_a_five_source_story_is_its_timeline_oldest_first_and_its_mix(
    tmp_path: Path,
) -> None:
    quake_story(tmp_path / "store")
    async with news_bot(tmp_path) as env:
        data = await story(env, "quake-e")
        head, mix, timeline = card_texts(data)
        # The lead: the highest quality (the Times'), linked.
        assert head == (
            f"### Full coverage: [{title('quake-a')}](https://www.nytimes.com/2024/03/01/"
            "world/quake.html)"
        )
        assert mix == "**5 articles** from 5 providers, 5 domains"  # no providers.yaml
        expected = [line(i, name, url, when) for i, name, _, url, when, _ in SOURCES]
        assert timeline.split("\n") == ["**Timeline**", *expected]
        assert "Secret draft" not in str(data) and "Gardening" not in str(data)
        buttons = {b["label"]: b for b in card_buttons(data)}
        assert buttons["Read"]["url"] == "https://www.nytimes.com/2024/03/01/world/quake.html"
        assert buttons["Follow story"]["custom_id"] == "newsbot:follow-story:quake-e"

        # Asked from any of its articles, it is the same story.
        again = await story(env, "quake-c")
        assert card_texts(again)[1:] == [mix, timeline]


@on_both
async def test_a_one_article_story(tmp_path: Path) -> None:
    quake_story(tmp_path / "store")
    async with news_bot(tmp_path) as env:
        data = await story(env, "other")
        head, mix, timeline = card_texts(data)
        assert head == "### Full coverage: [Gardening today](https://example.com/news/other)"
        assert mix == "**1 article** from 1 provider, 1 domain"
        [only] = timeline.split("\n")[1:]
        assert re.fullmatch(
            r"<t:1704110400:f> · Example News · \[Gardening today\]\(https://example\.com/"
            r"news/other\)",
            only,
        )


@on_both
async def test_a_draft_is_not_a_story_to_readers(tmp_path: Path) -> None:
    quake_story(tmp_path / "store")
    async with news_bot(tmp_path) as env:
        d, reader = env.discord, env.guild.reader
        result = await d.slash("story", {"article": "quake-f"}, user_id=reader, global_command=True)
        assert result.ephemeral and content(result) == "No article with id `quake-f`."
        choices = await d.autocomplete(
            "story", {"article": "quake"}, "article", user_id=reader, global_command=True
        )
        assert {c["value"] for c in choices} == {i for i, *_ in SOURCES}  # no draft


@on_both
async def test_the_mix_with_providers_yaml_follows_the_file_as_it_changes(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "store"
    quake_story(folder)
    (folder / "providers.yaml").write_text(PROVIDERS, encoding="utf-8")
    async with news_bot(tmp_path) as env:
        mix = card_texts(await story(env, "quake-b"))[1]
        # Each kind the file uses, 0 included; CNN's edition.cnn.com is cnn.com's.
        assert mix == (
            "**5 articles** from 5 providers, 5 domains\n"
            "1 wire, 3 national, 1 regional, 0 trade; no source from outside US"
        )

        changed = PROVIDERS.replace("cnn.com: {kind: national, country: US}", "") + (
            "edition.cnn.com: {kind: national, country: GB}\n"
            "small.blog: {kind: blog, country: DE}\n"
        )
        changed = changed.replace("bostonglobe.com: {kind: regional, country: US}\n", "")
        (folder / "providers.yaml").write_text(changed, encoding="utf-8")
        expected = (
            "**5 articles** from 5 providers, 5 domains\n"
            "1 wire, 3 national, 0 trade, 0 blog; from 2 countries: US 3, GB 1; "
            "1 domain not in providers.yaml"
        )

        async def shown() -> bool:
            return card_texts(await story(env, "quake-b"))[1] == expected

        await env.discord.wait_for(shown, 10)  # the watcher read the file again


async def test_a_member_who_installed_the_app_asks_in_a_dm_and_where_the_app_is_not(
    tmp_path: Path,
) -> None:
    """As the other reader commands: public in the DM with the bot; ephemeral in a server
    without the app whose member lacks Use External Apps."""
    quake_story(tmp_path / "store")
    async with news_bot(tmp_path) as env:
        d = env.discord
        outside = d.add_outside_guild()
        d.add_channel("general", guild_id=outside)
        fan = d.add_member("fan", guild_id=outside)
        d.install_for_user(fan)
        in_dm = await d.slash("story", {"article": "quake-a"}, user_id=fan, where="dm")
        assert in_dm.type == 4 and not in_dm.ephemeral
        assert card_texts(in_dm.data)[1] == "**5 articles** from 5 providers, 5 domains"
        there = await d.slash("story", {"article": "quake-a"}, user_id=fan, guild_id=outside)
        assert there.type == 4 and there.ephemeral


def many(count: int) -> tuple[Article, ...]:
    """`count` articles of one story, a minute apart, with long titles and URLs."""
    start = datetime(2024, 3, 1, tzinfo=UTC).timestamp()
    return tuple(
        Article(
            id=f"a{n:03d}",
            title=f"Source {n:03d} on the quake: " + "a long headline " * 12,
            url=f"https://site{n}.example/{'path/' * 40}{n}",
            published_at=datetime.fromtimestamp(start + 60 * n, UTC),
            provider_name=f"Provider {n:03d} " + "x" * 70,
        )
        for n in range(count)
    )


def test_a_story_of_200_articles_is_one_valid_message_cut_at_its_end() -> None:
    articles = many(200)
    card = story_card(Story(articles, Mix(200, 200), "a007"))
    walk = check_card(card, urls=[a.url for a in articles])
    texts = walk.texts
    timeline = texts[2].split("\n")[1:]
    shown = len(timeline)
    assert 3 <= shown < 200
    assert [re.search(r"Source (\d{3})", t)[1] for t in timeline] == [  # type: ignore[index]
        f"{n:03d}" for n in range(shown)
    ]  # oldest first, the newest cut
    assert texts[3] == f"…and {200 - shown} more"
    assert [b["label"] for b in walk.buttons] == ["Read", "Follow story"]


async def test_the_console_prints_the_story_as_text(store: Store, store_dir: Path) -> None:
    quake_story(store_dir)
    await store.folder.sync()
    out = io.StringIO()
    text = await Console(store, out).execute("/story quake-d")
    assert text.startswith(f"Full coverage: {title('quake-a')} <https://www.nytimes.com/")
    assert "5 articles from 5 providers, 5 domains" in text
    assert f"2024-03-01 08:00 UTC · Associated Press · {title('quake-c')} <{WIRE}>" in text
    assert text.index("Associated Press") < text.index("The Boston Globe")
    assert "[Follow story]" in text
    missing = await Console(store, out).execute("/story quake-f")
    assert missing == "No article with id `quake-f`."
