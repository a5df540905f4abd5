"""The follow language: `/search`'s words, phrases and prefixes plus exclusions, checked
and kept in one canonical text; anything typed is text, never syntax."""

from __future__ import annotations

import time

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.follow_query import MAX_CHARS, MAX_TERMS, BadQuery, FollowQuery, Term
from bot.store import ranking
from tests.support.helpers import examples


def canonical(typed: str) -> str:
    return FollowQuery.parse(typed).text


def refusal(typed: str) -> str:
    with pytest.raises(BadQuery) as caught:
        FollowQuery.parse(typed)
    return str(caught.value)


def test_the_same_follow_typed_twice_is_one_text() -> None:
    assert canonical('AI -Crypto "open source"') == "ai open-source -crypto"
    assert canonical('"open  source"  ai -crypto ai') == "ai open-source -crypto"
    assert canonical("open-source AI -CRYPTO") == "ai open-source -crypto"
    assert canonical("Café NAÏVE*") == "cafe naive*"


def test_exclusions_words_phrases_and_prefixes() -> None:
    query = FollowQuery.parse('chips -"bitcoin mining" -crypto* -e-mail*')
    assert query.required == (Term(("chips",), False),)
    assert query.excluded == (
        Term(("bitcoin", "mining"), False),
        Term(("crypto",), True),
        Term(("e", "mail"), True),
    )
    assert query.text == "chips -bitcoin-mining -crypto* -e-mail*"


def test_a_minus_inside_a_word_or_a_phrase_is_a_separator() -> None:
    assert FollowQuery.parse("gpt-4").required == (Term(("gpt", "4"), False),)
    assert FollowQuery.parse('"ai -crypto"').excluded == ()
    assert canonical("ai - crypto") == "ai crypto"  # a lone minus excludes nothing
    assert canonical("ai --crypto") == "ai -crypto"


def test_without_exclusions_a_follow_is_what_search_reads() -> None:
    typed = 'Nvidia "AI chips" sem* gpt-4 Zoë’s'
    assert {(t.words, t.prefix) for t in FollowQuery.parse(typed).required} == {
        (p.words, p.prefix) for p in ranking.parse(typed)
    }


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "nothing to look for"),
        ("   ", "nothing to look for"),
        ("*", "nothing to look for"),
        ('"" -- ** !!', "nothing to look for"),
        ('-crypto -"bitcoin mining"', "not only words to leave out"),
        ("x" * (MAX_CHARS + 1), f"at most {MAX_CHARS} characters"),
        ("\u0f43" * 150, f"at most {MAX_CHARS} characters"),  # folded, it is 299 long
        (" ".join(f"w{i}" for i in range(MAX_TERMS + 1)), f"at most {MAX_TERMS} words"),
        (" ".join(f"w{i}" for i in range(MAX_TERMS)) + " -x", f"at most {MAX_TERMS} words"),
        ("ai -AI", "both looked for and left out"),
    ],
)
def test_bad_queries_say_why(typed: str, says: str) -> None:
    assert says in refusal(typed)


def test_limits_count_distinct_terms_and_exact_characters() -> None:
    assert len(FollowQuery.parse(" ".join(["ai"] * 60)).required) == 1
    assert FollowQuery.parse("x" * MAX_CHARS).text == "x" * MAX_CHARS
    assert FollowQuery.parse(" ".join(f"w{i}" for i in range(MAX_TERMS)))


@pytest.mark.parametrize(
    "typed",
    [
        "@everyone <@123> <@&456> <#789> ai",
        "**bold** __under__ ~~gone~~ ||spoiler|| `code` [link](https://e.x/) # ai",
        "\u202eevil\u202c \u2066ai\u2069 \u200bzero\u200b",
        '"' * 200,
        "* ** *** ai",
        "\ud800 lone surrogate ai",
        "ai\x00chips\nnews\tday",
    ],
)
def test_hostile_text_is_words_and_never_syntax(typed: str) -> None:
    try:
        query = FollowQuery.parse(typed)
    except BadQuery as refused:
        assert str(refused).isprintable()
        return
    text = query.text
    assert all(ch.isalnum() or ch in " -*" for ch in text), text
    assert FollowQuery.parse(text) == query


def test_a_huge_input_is_refused_before_it_is_read() -> None:
    for typed in ["a " * (1 << 19), '"' * 10_000, "@everyone" * 100_000]:
        started = time.perf_counter()
        assert "at most" in refusal(typed)
        assert time.perf_counter() - started < 0.01


_PIECES = st.sampled_from(
    ["ai", "AI", "Café", "cafe", "naïve", "ZOË", "open", "source", "chip", "-", "*", '"',
     " ", "  ", ".", "_", "’", "@", "\u202e", "ß", "5g", "発表", "-\"", "e-mail"]
)  # fmt: skip


def reads_back(typed: str) -> None:
    """A valid query's canonical text is no longer than what was typed and parses to
    the same query and the same text."""
    try:
        query = FollowQuery.parse(typed)
    except BadQuery:
        return
    assert len(query.text) <= MAX_CHARS
    assert len(query.text) <= len(typed) or any("\u0f00" <= ch <= "\u0fff" for ch in typed)
    again = FollowQuery.parse(query.text)
    assert again == query
    assert again.text == query.text


@settings(max_examples=examples(500), deadline=None)
@given(st.lists(_PIECES, max_size=40).map("".join))
@example('-"a b" "c d"*  x-y* -z*')
def test_the_canonical_text_reads_back_as_the_same_query(typed: str) -> None:
    reads_back(typed)


@settings(max_examples=examples(1000), deadline=None)
@given(st.text(max_size=60))
def test_any_text_reads_back_as_the_same_query(typed: str) -> None:
    reads_back(typed)
