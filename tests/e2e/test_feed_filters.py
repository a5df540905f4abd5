"""Feed filters (`/feed add filter:`), end to end on both backends, and at queueing time.

A filter is the follow language (words, "phrases", `prefix*`, `-word`, `-"phrase"`): a story
that does not match a channel's filter is not queued there, and one that does is posted once.
Matching is `/search`'s: case and accents folded, whole words, a phrase's words in order; a
story's title is text, never syntax (mentions, markdown); a hostile filter is refused, or
saved as its canonical text and matched as words.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from bot.filters import miss, read_filter
from bot.follow_query import BadQuery, FollowQuery
from bot.matcher import CorpusStats, Matcher, Story
from bot.store import Store
from tests.support.botenv import NewsEnv, content, news_bot, settled, two_rounds
from tests.support.helpers import card_title, write_article
from tests.support.stand_in import InteractionResult

E2E = pytest.mark.usefixtures("both_backends")
CHANNELS = ("news", "ai", "world")


async def feed(env: NewsEnv, sub: str, **options: Any) -> InteractionResult:
    return await env.discord.slash("feed", options, subcommand=sub, user_id=env.guild.admin)


async def feed_list(env: NewsEnv) -> list[str]:
    result = await feed(env, "list")
    return str(result.data["embeds"][0]["description"]).splitlines()


def publish(env: NewsEnv, name: str, title: str, **fields: Any) -> None:
    """A published story lands in the store folder (the watcher picks it up)."""
    fields.setdefault("topics", ["World"])
    write_article(env.store_dir, name, title=title, published=True, excerpt="", **fields)


def titles(env: NewsEnv, channel: str) -> list[str]:
    return sorted(card_title(m) for m in env.discord.messages(env.guild.channels[channel]))


async def all_settled(env: NewsEnv, names: list[str]) -> None:
    """Every story named is in the database and its posts are made."""

    async def indexed() -> bool:
        for name in names:
            try:
                await env.store.articles.get(name)
            except Exception:
                return False
        return True

    await env.discord.wait_for(indexed, 10)
    await settled(env)
    await two_rounds(env.bot)


# --- the word a story missed -------------------------------------------------------------


def test_the_missed_word_agrees_with_the_matcher_and_the_query() -> None:
    """`filters.miss` is None exactly when the story matches (the query on its own, and the
    matcher queueing uses); otherwise it names a required term the story lacks or an
    excluded one it holds."""
    rng = random.Random(18)
    words = ["ai", "chips", "open", "source", "café", "crypto", "robots", "chip", "x1"]
    matcher = Matcher(CorpusStats([]))
    queries: list[FollowQuery] = []
    for _ in range(300):
        picked = rng.sample(words, rng.randint(1, 4))
        excluded = [f"-{w}" for w in rng.sample(words, rng.randint(0, 2)) if w not in picked]
        typed = " ".join([*picked, *excluded]).replace("chip ", "chip* ")
        try:
            query = FollowQuery.parse(typed)
        except BadQuery:
            continue
        queries.append(query)
        matcher.add(query.text, query)
    for _ in range(300):
        title = " ".join(
            rng.choice([*words, "Open-Source", "CAFE", "Chipmakers"]) for _ in range(5)
        )
        story = Story(title, "", "Example News", ("World",))
        matched = matcher.match(story)
        for query in queries:
            found = miss(query.text, story)
            assert (found is None) == query.matches(story.columns) == (query.text in matched)
            if found is not None:
                terms = query.excluded if found.excluded else query.required
                assert found.term in {t.text for t in terms}


def test_what_feed_add_saves_of_a_typed_filter() -> None:
    assert read_filter(None) is None  # kept
    assert read_filter(" - ") == ""  # cleared
    assert read_filter('AI "open  source" -Crypto') == "ai open-source -crypto"
    with pytest.raises(BadQuery):
        read_filter("-crypto")


# --- at queueing time (the store alone) ----------------------------------------------------


async def test_a_filtered_feed_is_queued_only_what_matches(store: Store, store_dir: Path) -> None:
    await store.feeds.subscribe(1, "", actor="t", filter="chip* open-source -crypto")
    await store.feeds.subscribe(2, "", actor="t")  # unfiltered
    await store.feeds.subscribe(3, "World", actor="t", filter="cafe")  # canonical: folded
    stories = {
        "yes": "Open-source chips, at last",
        "crypto": "Open source chips for crypto",
        "order": "Source open chips",
        "cafe": "CAFE culture",
        "cafeteria": "Cafeteria chips",
    }
    for name, title in stories.items():
        write_article(store_dir, name, title=title, excerpt="", published=True, topics=["World"])
    await store.folder.sync()
    queued = {
        name: set((await store.outbox.posts(f"https://example.com/news/{name}")).keys())
        for name in stories
    }
    assert queued == {
        "yes": {1, 2},
        "crypto": {2},
        "order": {2},
        "cafe": {2, 3},
        "cafeteria": {2},
    }


async def test_a_new_filter_and_a_cleared_one_apply_to_the_next_story(
    store: Store, store_dir: Path
) -> None:
    """The matcher follows every filter saved (a version in the store), cleared ones too."""
    await store.feeds.subscribe(1, "", actor="t", filter="robots")
    write_article(store_dir, "a", title="Robots", published=True)
    await store.folder.sync()
    await store.feeds.subscribe(1, "", actor="t", filter="rockets")  # replaced
    write_article(store_dir, "b", title="Robots again", published=True)
    write_article(store_dir, "c", title="Rockets", published=True)
    await store.folder.sync()
    await store.feeds.subscribe(1, "", actor="t", min_quality=0)  # no filter given: kept
    write_article(store_dir, "d", title="Robots, the third", published=True)
    await store.folder.sync()
    await store.feeds.subscribe(1, "", actor="t", filter="")  # cleared
    write_article(store_dir, "e", title="Anything at all", published=True)
    await store.folder.sync()
    posted = [
        name
        for name in "abcde"
        if 1 in await store.outbox.posts(f"https://example.com/news/{name}")
    ]
    assert posted == ["a", "c", "e"]
    [sub] = await store.feeds.subscriptions(channel_id=1)
    assert sub.filter == ""


async def test_a_filter_saved_by_another_process_applies_at_once(
    database: Path | str, store_dir: Path
) -> None:
    """Each process keeps its own matcher of filters: one that queues stories (the scanner)
    sees a filter another process saved (a /feed add there) from its next story on."""
    async with Store.open(database, store_dir) as scanner, Store.open(database, store_dir) as other:
        await other.feeds.subscribe(1, "", actor="t", filter="robots")
        write_article(store_dir, "a", title="Robots", published=True)
        await scanner.folder.sync()  # its matcher is built: robots
        await other.feeds.subscribe(1, "", actor="t", filter="rockets")
        await other.feeds.subscribe(2, "", actor="t", filter="robots")
        write_article(store_dir, "b", title="Rockets and robots", published=True)
        write_article(store_dir, "c", title="Robots again", published=True)
        await scanner.folder.sync()
        posts = {
            name: set(await scanner.outbox.posts(f"https://example.com/news/{name}"))
            for name in "abc"
        }
        assert posts == {"a": {1}, "b": {1, 2}, "c": {2}}


# --- /feed add filter: over the stand-in ---------------------------------------------------


@E2E
async def test_filters_post_matching_stories_and_only_those(tmp_path: Path) -> None:
    async with news_bot(tmp_path, channels=CHANNELS) as env:
        ch = env.guild.channels
        added = await feed(env, "add", channel=ch["news"], filter='"Open Source" Chip* -crypto')
        assert content(added) == (
            f"<#{ch['news']}> will receive new articles on every topic matching "
            "`chip* open-source -crypto`, as cards, from now on."
        )
        await feed(env, "add", channel=ch["ai"], filter="Ünïcode CAFÉ")
        await feed(env, "add", channel=ch["world"], filter='-"hot dogs" dogs')
        publish(env, "match", "Open-source chips arrive")  # a hyphen is a phrase's separator
        publish(env, "excluded", "Open source chips and CRYPTO")
        publish(env, "order", "Source open chips")
        publish(env, "prefix", "Open source chipmakers")
        publish(env, "accents", "unicode cafe opens", provider={"name": "Café Unicode"})
        publish(env, "whole", "Unicodes cafeteria")
        publish(env, "dogs", "Dogs at the beach")
        publish(env, "hotdogs", "Hot dogs, and dogs")
        await all_settled(env, ["match", "accents", "whole", "dogs", "hotdogs"])
        assert titles(env, "news") == ["Open source chipmakers", "Open-source chips arrive"]
        assert titles(env, "ai") == ["unicode cafe opens"]
        assert titles(env, "world") == ["Dogs at the beach"]
        assert await feed_list(env) == [
            f"<#{ch['news']}>: all topics · filter `chip* open-source -crypto` · as cards",
            f"<#{ch['ai']}>: all topics · filter `cafe unicode` · as cards",
            f"<#{ch['world']}>: all topics · filter `dogs -hot-dogs` · as cards",
        ]


@E2E
async def test_a_title_with_mentions_and_markdown_is_matched_as_text(tmp_path: Path) -> None:
    async with news_bot(tmp_path) as env:
        news, ai = env.guild.channels["news"], env.guild.channels["ai"]
        await feed(env, "add", channel=news, filter="everyone bold")
        # `**bold**` is the prefix bold* (a trailing * is /search's), <@&123> the word 123
        await feed(env, "add", channel=ai, filter="**bold** <@&123>")
        publish(env, "loud", "@everyone **bold** news <@&123>")
        publish(env, "plain", "A bold move")
        await all_settled(env, ["loud", "plain"])
        [loud] = env.discord.messages(news)
        assert "everyone" in card_title(loud) and "bold" in card_title(loud)
        assert not loud.get("mention_everyone") and not loud.get("mention_roles")
        assert [card_title(m) for m in env.discord.messages(ai)] == [card_title(loud)]
        assert (await env.store.feeds.subscriptions(channel_id=ai))[0].filter == "123 bold*"


@E2E
async def test_bad_filters_are_refused_and_save_nothing(tmp_path: Path) -> None:
    async with news_bot(tmp_path) as env:
        news = env.guild.channels["news"]
        refused = {
            "***": "nothing to look for",
            '""': "nothing to look for",
            '-crypto -"hot dogs"': "not only words to leave out",
            " ".join(f"w{n}" for n in range(17)): "at most 16 words",
            "chip* -chip*": "both looked for and left out",
            "x" * 201: "at most 200 characters",
        }
        for typed, why in refused.items():
            result = await feed(env, "add", channel=news, filter=typed)
            assert result.ephemeral
            text = content(result)
            assert text.startswith("That filter cannot be used: "), text
            assert why in text and text.endswith("Nothing was changed.")
        both = content(await feed(env, "add", channel=news, filter="chip* -chip*"))
        assert "chip\\* is both" in both  # the term shown as text, never markdown
        assert await env.store.feeds.subscriptions() == []


@E2E
async def test_hostile_filters_are_saved_as_words_and_matched_safely(tmp_path: Path) -> None:
    async with news_bot(tmp_path, channels=CHANNELS) as env:
        ch = env.guild.channels
        hostile = {
            "news": "(a+)+$ '; DROP TABLE subscriptions; --",  # regex, SQL: plain words
            "ai": "%_% `x` \u202egnp",  # LIKE wildcards, a backtick, a bidi override
            "world": "[link](https://evil.example) ||spoiler||",  # markdown: a phrase, a word
        }
        for channel, typed in hostile.items():
            result = await feed(env, "add", channel=ch[channel], filter=typed)
            assert "will receive" in content(result), content(result)
        saved = {s.channel_id: s.filter for s in await env.store.feeds.subscriptions()}
        assert saved == {
            ch["news"]: "a drop subscriptions table",
            ch["ai"]: "gnp x",
            ch["world"]: "link-https-evil-example spoiler",
        }
        publish(env, "sql", "Drop table: a subscriptions story")
        publish(env, "evil", "See [link](https://evil.example), a ||spoiler||")
        publish(env, "nothing", "Percent signs % and _ underscores, x")
        await all_settled(env, ["sql", "evil", "nothing"])
        assert titles(env, "news") == ["Drop table: a subscriptions story"]
        assert titles(env, "ai") == []
        assert len(env.discord.messages(ch["world"])) == 1
        lines = await feed_list(env)
        assert f"<#{ch['ai']}>: all topics · filter `gnp x` · as cards" in lines


@E2E
async def test_a_feed_keeps_its_filter_without_the_option_and_a_dash_clears_it(
    tmp_path: Path,
) -> None:
    async with news_bot(tmp_path) as env:
        news = env.guild.channels["news"]
        await feed(env, "add", channel=news, filter="robots")
        await feed(env, "add", channel=news, min_quality=5)
        assert await feed_list(env) == [
            f"<#{news}>: all topics · quality ≥ 5 · filter `robots` · as cards"
        ]
        cleared = await feed(env, "add", channel=news, filter="-")
        assert "matching" not in content(cleared)
        assert await feed_list(env) == [f"<#{news}>: all topics · as cards"]


@E2E
async def test_a_filtered_and_an_unfiltered_feed_of_one_channel_post_once(tmp_path: Path) -> None:
    async with news_bot(tmp_path) as env:
        news = env.guild.channels["news"]
        publish(env, "seed-topic", "Topics exist", topics=["Space", "World"])
        await all_settled(env, ["seed-topic"])
        await feed(env, "add", channel=news, topic="World", filter="robots")
        await feed(env, "add", channel=news, topic="Space")
        publish(env, "both", "Robots in space", topics=["World", "Space"])
        publish(env, "space", "Just space", topics=["Space"])
        publish(env, "world", "Just the world", topics=["World"])
        await all_settled(env, ["both", "space", "world"])
        assert titles(env, "news") == ["Just space", "Robots in space"]
