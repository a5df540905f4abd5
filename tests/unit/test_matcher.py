"""The matcher finds, for a new story, exactly the follows and filters that running each
query on its own would find, and what `/search` would find for the same words."""

from __future__ import annotations

import random
import time
from collections.abc import Hashable
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.follow_query import FollowQuery
from bot.matcher import CorpusStats, Matcher, Story, Topic
from bot.store import Store, ranking
from tests.support.helpers import examples, write_article

STORIES = [
    Story("Nvidia unveils AI chips", "The chipmaker said crypto demand fell.", "Reuters", ("AI",)),
    Story("Open-source models gain ground", "Café owners try naïve chatbots.", "Le Monde"),
    Story("Bitcoin mining slows", "Crypto miners sell chips.", "CoinDesk", ("Crypto",)),
]


def matcher(follows: dict[Hashable, FollowQuery | Topic] | None = None) -> Matcher:
    found = Matcher(CorpusStats(STORIES))
    for key, query in (follows or {}).items():
        found.add(key, query)
    return found


def q(typed: str) -> FollowQuery:
    return FollowQuery.parse(typed)


def test_words_phrases_prefixes_exclusions_case_and_accents() -> None:
    m = matcher(
        {
            "chips": q("CHIPS"),
            "phrase": q('"open source" models'),
            "prefix": q("chip*"),
            "not crypto": q("chips -crypto"),
            "not phrase": q('chips -"bitcoin mining"'),
            "accents": q("cafe NAIVE"),
            "provider": q("reuters"),
            "topic word": q("crypto"),
            "no": q("chips gpt"),
        }
    )
    assert m.match(STORIES[0]) == {"chips", "prefix", "not phrase", "provider", "topic word"}
    assert m.match(STORIES[1]) == {"phrase", "accents"}
    assert m.match(STORIES[2]) == {"chips", "prefix", "topic word"}


def test_topic_follows_match_any_spelling_of_the_topic() -> None:
    m = matcher({"a": Topic(" ai "), "b": Topic("Crypto"), "c": Topic("Science")})
    assert m.match(STORIES[0]) == {"a"}
    assert m.match(Story("Nothing", topics=("AI", "CRYPTO"))) == {"a", "b"}


def test_keys_follow_one_thing_and_removal_leaves_nothing_behind() -> None:
    m = matcher()
    for member in range(50):
        m.add(member, q("chips -crypto"))
        m.add(("topic", member), Topic("AI"))
    m.add(7, q("nvidia"))  # replaces member 7's follow
    assert len(m) == 100
    chips = Story("Cheaper chips", topics=("AI",))
    assert m.match(chips) == {member for member in range(50) if member != 7} | {
        ("topic", member) for member in range(50)
    }
    assert m.match(Story("Nvidia")) == {7}
    for member in range(50):
        m.remove(member)
        m.remove(("topic", member))
    m.remove("never added")
    assert len(m) == 0 and not m.match(chips)
    # nothing stays filed: not the queries, their phrases, their prefixes nor topics
    assert not (m._queries or m._words or m._prefixes or m._lengths or m._phrases)
    assert not (m._uses or m._topics or m._of)


def test_identical_follows_share_one_query_and_phrases_are_shared() -> None:
    m = matcher()
    for member in range(1000):
        m.add(member, q('"open source" -crypto' if member % 2 else "Open-Source -CRYPTO"))
    m.add("other", q("crypto* open-source"))
    assert len(m._queries) == 2
    assert len(m._phrases) == 3  # open-source, crypto, crypto*
    assert len(m.match(STORIES[1])) == 1000


def test_a_query_is_filed_under_its_rarest_word() -> None:
    m = matcher({"a": q("crypto chipmaker"), "b": q("chip* nvidia*"), "c": q("zyzzyva chips")})
    assert set(m._words) == {"chipmaker", "zyzzyva"}  # in 1 story; in none
    assert set(m._prefixes) == {"nvidia"}


def test_only_what_search_reads_of_a_column_is_matched() -> None:
    m = matcher({"late": q("zyzzyva")})
    assert m.match(Story("t", "x" * (ranking.FIELD_CHARS - 8) + " zyzzyva")) == {"late"}
    assert not m.match(Story("t", "x" * (ranking.FIELD_CHARS - 3) + " zyzzyva"))


def test_a_huge_hostile_story_costs_what_its_searched_part_costs() -> None:
    m = matcher({"a": q("chips"), "b": q('"bold claim" -everyone'), "c": q("every*")})
    hostile = '"**@everyone <@&1> \u202e' * ((1 << 20) // 20)  # 1 MiB of markup
    started = time.perf_counter()
    assert m.match(Story("AI chips", hostile, hostile, ("AI",) * 100)) == {"a", "c"}
    assert time.perf_counter() - started < 0.1


def test_corpus_stats_count_stories_and_prefixes() -> None:
    stats = CorpusStats(STORIES)
    assert stats.documents("chips") == 2  # once a story, however often it says it
    assert stats.documents("crypto") == 2 and stats.documents("zyzzyva") == 0
    assert stats.starting("chip") == 3  # chips twice, chipmaker once: an upper bound
    assert stats.starting("zz") == 0


def test_markdown_and_mentions_in_a_story_are_text() -> None:
    m = matcher({"everyone": q("everyone"), "bold": q('"bold claim"'), "star": q("x* -y")})
    story = Story("@everyone **Bold** claim <@123> __x__", "`code`")
    assert m.match(story) == {"everyone", "bold", "star"}
    assert m.match(Story("**bold claim** x ||y||")) == {"bold"}


def test_hostile_queries_are_saved_and_matched_as_text() -> None:
    hostile = {
        "mention": "@everyone <@123>",
        "markdown": "**AI** __chips__",
        "rtl": "\u202eAI\u202c chips",
        "quotes": '"' * 150 + "chips",
        "star": "* chips *",
        "regex": "(a+)+$ chips .*",
    }
    m = matcher({key: q(typed) for key, typed in hostile.items()})
    story = Story("Everyone at <@123> talks AI chips", "a a a a a a a a a a a a a a a a a")
    assert m.match(story) == {"mention", "markdown", "rtl", "quotes", "star", "regex"}
    assert m.match(Story("Chips")) == {"quotes", "star"}


# ------------------------------------------------------------------ property

_WORDS = ["AI", "ai", "Café", "cafe", "naïve", "NAIVE", "open", "source", "chip", "chips",
          "chipmaker", "crypto", "Zoë", "zoe", "straße", "5G", "発表", "the", "x"]  # fmt: skip
_SEPARATORS = [" ", " ", " ", "-", ". ", "’", "_", " @", "**", " — "]
_TOPICS = ["AI", "Big Tech", "Crypto"]


def _text(draw: st.DrawFn, most: int) -> str:
    words = draw(st.lists(st.sampled_from(_WORDS), max_size=most))
    return "".join(w + draw(st.sampled_from(_SEPARATORS)) for w in words)


@st.composite
def stories(draw: st.DrawFn) -> Story:
    return Story(
        _text(draw, 8),
        _text(draw, 14),
        draw(st.sampled_from(["Reuters", "Le Monde", "Zoë Daily", ""])),
        tuple(draw(st.lists(st.sampled_from(_TOPICS), max_size=2, unique=True))),
    )


@st.composite
def typed_queries(draw: st.DrawFn) -> str:
    """What a member might type: words, phrases, prefixes, exclusions, junk."""
    terms = []
    for _ in range(draw(st.integers(1, 4))):
        word = draw(st.sampled_from(_WORDS))
        kind = draw(st.sampled_from(["word", "prefix", "phrase", "hyphen", "junk"]))
        if kind == "prefix":
            term = word[: draw(st.integers(1, len(word)))] + "*"
        elif kind == "phrase":
            term = f'"{word} {draw(st.sampled_from(_WORDS))}"'
        elif kind == "hyphen":
            term = f"{word}-{draw(st.sampled_from(_WORDS))}"
        else:
            term = word if kind == "word" else draw(st.sampled_from(["*", "-", '"', "@", "**"]))
        terms.append(("-" if draw(st.integers(0, 3)) == 0 else "") + term)
    return " ".join(terms)


def valid(typed: str) -> FollowQuery | None:
    try:
        return FollowQuery.parse(typed)
    except ValueError:
        return None


class _Stats:
    """Arbitrary statistics: which word a query is filed under never changes a match."""

    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts

    def documents(self, word: str) -> int:
        return self.counts.get(word, 5)

    def starting(self, prefix: str) -> int:
        return self.counts.get(prefix, 7)


@settings(max_examples=examples(300), deadline=None)
@given(
    st.lists(typed_queries(), min_size=1, max_size=30),
    st.lists(stories(), min_size=1, max_size=8),
    st.dictionaries(st.sampled_from([ranking.fold(w) for w in _WORDS] + ["c", "o", "na"]),
                    st.integers(0, 10)),
)  # fmt: skip
def test_matching_is_running_each_query(
    typed: list[str], batch: list[Story], counts: dict[str, int]
) -> None:
    queries = {i: query for i, text in enumerate(typed) if (query := valid(text)) is not None}
    m = Matcher(_Stats(counts))
    for key, query in queries.items():
        m.add(key, query)
    for story in batch:
        expected = {key for key, query in queries.items() if query.matches(story.columns)}
        assert m.match(story) == expected
        for key, query in queries.items():
            if query.excluded:
                continue
            # what /search decides for the canonical text, and for the typed text when it
            # has no minus (/search reads `-"a b"` as the word `-"a` and the word `b"`)
            for text in {query.text, typed[key]} if "-" not in typed[key] else {query.text}:
                phrases = ranking.parse(text)
                score = ranking.score(phrases, [1.0] * len(phrases), story.columns, 1, 1.0)
                assert (key in expected) == (score is not None), text


_ODD = 'aAéE\u0301ßSSİı\u0f43\u0fb7発表_-’ *"@\u202e5'


@settings(max_examples=examples(300), deadline=None)
@given(
    st.lists(st.text(_ODD, min_size=1, max_size=12), min_size=1, max_size=12),
    st.lists(st.text(_ODD, max_size=40), min_size=1, max_size=4),
)
def test_odd_unicode_matches_as_each_query_alone(typed: list[str], texts: list[str]) -> None:
    """Combining accents, ß, dotted I, Tibetan and CJK: the matcher's shortcuts (a word
    as a set lookup, a prefix as a cut) agree with each query's own check."""
    queries = {i: query for i, text in enumerate(typed) if (query := valid(text)) is not None}
    m = Matcher(CorpusStats([Story(text) for text in texts]))
    for key, query in queries.items():
        m.add(key, query)
    for text in texts:
        story = Story(text, text[::-1])
        assert m.match(story) == {k for k, query in queries.items() if query.matches(story.columns)}


async def test_matching_finds_what_search_finds(tmp_path: Path) -> None:
    """Through the store (SQLite) and its engine: every page of /search for a query
    without exclusions holds exactly the stories the matcher gives for it."""
    rng = random.Random(18)
    folder = tmp_path / "store"
    folder.mkdir()
    batch: dict[str, Story] = {}
    for i in range(24):  # fewer than a first page's candidates: pages are exact
        words = [rng.choice(_WORDS) + rng.choice(_SEPARATORS) for _ in range(12)]
        story = Story("".join(words[:5]).strip() or "x", "".join(words[5:]), "Reuters")
        write_article(
            folder, f"s{i}", title=story.title, excerpt=story.excerpt, published=True,
            provider={"name": "Reuters", "domain": "reuters.com"}, topics=["AI"],
        )  # fmt: skip
        batch[f"s{i}"] = Story(story.title, story.excerpt, "Reuters", ("AI",))
    async with Store.open(tmp_path / "news.db", folder) as store:
        await store.folder.sync()
        matched = 0
        for trial in range(150):
            typed = " ".join(
                rng.choice(_WORDS)[: rng.randint(1, 4)] + "*"
                if rng.random() < 0.3
                else rng.choice(_WORDS)
                for _ in range(rng.randint(1, 3))
            )
            m = Matcher(CorpusStats(batch.values()))
            m.add("q", q(typed))
            expected = {key for key, story in batch.items() if m.match(story)}
            found: set[str] = set()
            page, more = 0, True
            while more:
                result = await store.articles.search(typed, page=page)
                found |= {article.id for article in result.items}
                page, more = page + 1, result.has_next
            assert found == expected, (trial, typed)
            matched += bool(found)
        assert matched > 75  # most queries find something: the comparison is not empty
