"""Article files: what parses, what is refused and how the refusal reads."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot import frontmatter
from bot.articles import Article, is_http_url, parse_article, parse_article_bytes, topic_key
from bot.frontmatter import ArticleError, set_published, split_front_matter
from tests.support.helpers import SEED_ID, SEED_NAME, SEED_PATH, article_text, examples

GOOD = (
    "---\n"
    "title: A title\n"
    "webUrl: https://example.com/a\n"
    "publishedDateTime: 2024-03-01T10:00:00Z\n"
    "---\n"
)


def refusal(text: str, source: str = "bad.txt") -> str:
    """The error message a bad file gets (it must be an ArticleError)."""
    with pytest.raises(ArticleError) as caught:
        parse_article(text, source)
    message = str(caught.value)
    assert message.startswith(f"{source}: "), message
    return message


def with_line(line: str, drop: str | None = None) -> str:
    """GOOD with one front-matter line added (and optionally one line removed)."""
    lines = GOOD.splitlines(keepends=True)
    if drop is not None:
        lines = [ln for ln in lines if not ln.startswith(drop)]
    lines.insert(-1, line + "\n")
    return "".join(lines)


# ----------------------------------------------------------------- the seed


def test_seed_parses_with_every_field() -> None:
    article = parse_article_bytes(SEED_PATH.read_bytes(), SEED_NAME)

    assert article.id == SEED_ID
    assert article.title == "How Long Will the Open-Source AI Boom Last?"
    assert article.url == (
        "https://www.govtech.com/artificial-intelligence/how-long-will-the-open-source-ai-boom-last"
    )
    assert article.original_url == article.url
    assert article.published_at == datetime(2023, 5, 12, 13, 24, tzinfo=UTC)
    assert article.published_at.utcoffset() is not None
    assert article.excerpt.startswith("There are now smaller, cheaper versions")
    assert article.excerpt.endswith("available to share for free.")
    assert (article.provider_name, article.provider_domain) == (
        "Government Technology",
        "govtech.com",
    )
    assert article.category == "news"
    assert article.type == "article"
    assert article.topics == ("AI", "AI Ethics")
    assert article.quality == 19
    assert article.heat == -1
    assert article.published is False
    assert [(r.provider, r.quality) for r in article.related] == [
        ("MIT Technology Review", 55),
        ("VentureBeat", 47),
    ]
    first = article.related[0]
    assert first.title.startswith("The open-source AI boom is built on Big Tech")
    assert first.url.startswith("https://www.technologyreview.com/2023/05/12/")
    assert first.published_at == datetime(2023, 5, 12, 8, 48, tzinfo=UTC)
    assert article.warnings == ()
    assert article.extra == {}


def test_seed_secured_is_kept_but_never_in_repr() -> None:
    article = parse_article_bytes(SEED_PATH.read_bytes(), SEED_NAME)
    assert article.secured is not None
    assert article.secured.startswith("zdjAJ/nC3FH0MzP8")
    assert article.secured.endswith(";nbDY8ZfuMsAqi2BDSM2DhA==")
    shown = repr(article) + str(article)
    assert "zdjAJ" not in shown
    assert "nbDY8Z" not in shown
    assert "secured" not in shown


# ----------------------------------------------------------------- good variations


def test_minimal_file_gets_the_defaults() -> None:
    article = parse_article(GOOD, "minimal.md")
    assert article.id == "minimal"
    assert article.excerpt == ""
    assert article.quality == 0
    assert article.heat == -1
    assert article.published is False
    assert article.topics == ()
    assert article.related == ()
    assert article.secured is None
    assert article.original_url is None


def test_naive_datetime_is_utc() -> None:
    text = with_line("publishedDateTime: 2024-03-01T10:00:00", drop="publishedDateTime")
    assert parse_article(text, "a.txt").published_at == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


def test_quoted_naive_datetime_is_utc() -> None:
    text = with_line('publishedDateTime: "2024-03-01T10:00:00"', drop="publishedDateTime")
    assert parse_article(text, "a.txt").published_at == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


def test_offset_datetime_is_converted_to_utc() -> None:
    text = with_line("publishedDateTime: 2024-03-01T12:00:00+02:00", drop="publishedDateTime")
    published_at = parse_article(text, "a.txt").published_at
    assert published_at == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    assert published_at.utcoffset() is not None
    assert published_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_date_only_is_midnight_utc() -> None:
    text = with_line("publishedDateTime: 2024-03-01", drop="publishedDateTime")
    assert parse_article(text, "a.txt").published_at == datetime(2024, 3, 1, tzinfo=UTC)


def test_published_true() -> None:
    assert parse_article(with_line("published: true"), "a.txt").published is True


def test_topic_spellings_merge_into_the_first_written() -> None:
    text = with_line('topics: ["AI", "ai ", "Ai", "  Open   Source ", "open source"]')
    assert parse_article(text, "a.txt").topics == ("AI", "Open Source")


def test_topic_key_is_case_and_space_insensitive() -> None:
    assert topic_key("AI") == topic_key("ai ") == topic_key("Ai") == "ai"
    assert topic_key(" Open\tSource ") == topic_key("open source")


def test_related_without_title_or_http_url_dropped_with_warning_naming_index() -> None:
    text = with_line(
        "related:\n"
        "  - title: Kept one\n"
        "    webUrl: https://kept.example/1\n"
        "    provider: {name: Kept News, domain: kept.example}\n"
        "  - webUrl: https://no-title.example/\n"
        "  - title: Bad link\n"
        "    webUrl: javascript:alert(1)\n"
        "  - title: '   '\n"
        "    webUrl: https://blank-title.example/\n"
        "  - title: Kept two\n"
        "    webUrl: http://kept.example/2\n"
    )
    article = parse_article(text, "rel.txt")
    assert [(r.title, r.url, r.provider) for r in article.related] == [
        ("Kept one", "https://kept.example/1", "Kept News"),
        ("Kept two", "http://kept.example/2", ""),
    ]
    assert len(article.warnings) == 3
    assert "related[1]" in article.warnings[0] and "title" in article.warnings[0]
    assert "related[2]" in article.warnings[1] and "webUrl" in article.warnings[1]
    assert "related[3]" in article.warnings[2]
    assert all(w.startswith("rel.txt: ") for w in article.warnings)


def test_unknown_fields_are_kept_in_extra() -> None:
    text = with_line("isCached: true\nvideos:\n  - url: https://img.example/1.mp4\n    width: 3")
    article = parse_article(text, "a.txt")
    assert article.extra == {
        "isCached": True,
        "videos": [{"url": "https://img.example/1.mp4", "width": 3}],
    }


def test_body_after_closing_fence_is_kept() -> None:
    article = parse_article(GOOD + "\nSome body text.\n\nSecond paragraph.\n", "a.txt")
    assert article.body == "Some body text.\n\nSecond paragraph.\n"


def test_crlf_file_parses() -> None:
    article = parse_article(GOOD.replace("\n", "\r\n") + "body\r\n", "a.txt")
    assert article.title == "A title"
    assert article.body == "body\r\n"


def test_utf8_bom_is_accepted() -> None:
    assert parse_article_bytes(b"\xef\xbb\xbf" + GOOD.encode(), "a.txt").title == "A title"


def test_helper_writes_a_file_that_parses() -> None:
    article = parse_article(article_text("helper", published=True, topics=["X"]), "helper.txt")
    assert article.title == "Title of helper"
    assert article.published is True
    assert article.topics == ("X",)


# ----------------------------------------------------------------- bad files


def test_not_utf8_names_file_and_line() -> None:
    raw = GOOD.replace("A title", "Caf\xe9").encode("latin-1")
    with pytest.raises(ArticleError) as caught:
        parse_article_bytes(raw, "latin.txt")
    message = str(caught.value)
    assert message.startswith("latin.txt: ")
    assert "line 2" in message
    assert "UTF-8" in message


def test_no_front_matter() -> None:
    message = refusal("title: A title\nwebUrl: https://example.com/a\n")
    assert "front matter" in message
    assert "line 1" in message


def test_empty_file() -> None:
    assert "front matter" in refusal("")


def test_unclosed_front_matter() -> None:
    assert "closing" in refusal("---\ntitle: A title\n")


def test_yaml_error_names_the_right_line() -> None:
    text = GOOD.replace("webUrl: https://example.com/a\n", "webUrl: a: b: c\n")
    message = refusal(text)  # webUrl is on line 3 of the file
    assert "line 3:" in message
    assert "YAML" in message


def test_yaml_error_on_a_later_line() -> None:
    text = with_line("quality: 3\nexcerpt: fine\n  oops: : bad")  # the bad line is file line 7
    assert "line 7:" in refusal(text)


def test_unclosed_quote_points_at_where_the_quote_starts() -> None:
    text = GOOD.replace("title: A title", 'title: "A title')  # line 2; noticed at the end
    assert "line 2" in refusal(text)


@pytest.mark.parametrize("char", ["\x07", "\x8b", "\ufffe"])
def test_a_control_character_is_one_line_naming_its_line(char: str) -> None:
    text = with_line(f"excerpt: caf\u00e9 {char} text")  # the excerpt is file line 5
    message = refusal(text)
    assert "\n" not in message
    assert "line 5:" in message
    assert f"#x{ord(char):04x}" in message


def test_front_matter_that_is_not_a_mapping() -> None:
    assert "mapping" in refusal("---\n- a\n- b\n---\n")


def test_missing_title() -> None:
    message = refusal(GOOD.replace("title: A title\n", ""))
    assert "title" in message and "missing" in message


@pytest.mark.parametrize("value", ['""', "'   '", "null"])
def test_empty_title(value: str) -> None:
    assert "title" in refusal(GOOD.replace("title: A title", f"title: {value}"))


def test_missing_web_url() -> None:
    assert "webUrl" in refusal(GOOD.replace("webUrl: https://example.com/a\n", ""))


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://example.com/file",
        "/relative/path",
        "example.com/no-scheme",
        "https://",
        "https://exa mple.com/",
        "mailto:editor@example.com",
    ],
)
def test_non_http_web_url(url: str) -> None:
    message = refusal(GOOD.replace("https://example.com/a", f"'{url}'"))
    assert "webUrl" in message
    assert "http" in message


def test_non_http_original_url() -> None:
    assert "originalUrl" in refusal(with_line("originalUrl: javascript:alert(1)"))


def test_is_http_url() -> None:
    assert is_http_url("https://example.com/x?y=1")
    assert is_http_url("http://example.com")
    assert not is_http_url("javascript:alert(1)")
    assert not is_http_url(None)
    assert not is_http_url(42)


def test_published_maybe() -> None:
    message = refusal(with_line('published: "maybe"'))
    assert "published" in message and "maybe" in message


def test_quality_high() -> None:
    message = refusal(with_line("quality: high"))
    assert "quality" in message and "high" in message


def test_quality_bool_is_not_a_number() -> None:
    assert "quality" in refusal(with_line("quality: true"))


def test_quality_beyond_sqlite_integer_is_refused() -> None:
    assert "quality" in refusal(with_line("quality: 99999999999999999999999"))


def test_related_quality_beyond_sqlite_integer_refuses_the_file() -> None:
    """A number outside 64-bit integers, anywhere, makes the file bad."""
    text = with_line(
        "related:\n  - title: R\n    webUrl: https://r.example/\n    quality: 99999999999999999999"
    )
    assert refusal(text) == (
        "bad.txt: line 8: quality: 99999999999999999999 is outside 64-bit integers"
    )


def test_heat_text() -> None:
    assert "heat" in refusal(with_line("heat: hot"))


def test_missing_published_date_time() -> None:
    message = refusal(GOOD.replace("publishedDateTime: 2024-03-01T10:00:00Z\n", ""))
    assert "publishedDateTime" in message and "missing" in message


@pytest.mark.parametrize("value", ["yesterday", "'2024-13-01'", "12345", "'2024/03/01 10:00'"])
def test_unparseable_date(value: str) -> None:
    text = GOOD.replace("2024-03-01T10:00:00Z", value)
    assert "publishedDateTime" in refusal(text)


@pytest.mark.parametrize("value", ["2023-02-30T10:00:00Z", "2023-02-30", "0000-01-01"])
def test_impossible_calendar_date_names_the_field(value: str) -> None:
    text = GOOD.replace("2024-03-01T10:00:00Z", value)
    assert "publishedDateTime" in refusal(text)


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_date_out_of_range_in_utc_is_an_article_error(value: str) -> None:
    text = GOOD.replace("2024-03-01T10:00:00Z", value)
    assert "publishedDateTime" in refusal(text)


def test_impossible_date_in_a_related_item_only_drops_its_date() -> None:
    text = with_line(
        "related:\n  - title: R\n    webUrl: https://r.example/\n    publishedDateTime: 2023-02-30"
    )
    article = parse_article(text, "a.txt")
    assert [(r.title, r.published_at) for r in article.related] == [("R", None)]


def test_provider_not_a_mapping() -> None:
    assert "provider" in refusal(with_line("provider: Some Name"))


def test_topics_not_a_list() -> None:
    assert "topics" in refusal(with_line("topics: {a: 1}"))


def test_secured_not_a_string_is_refused_without_echoing_it() -> None:
    message = refusal(with_line("secured: [s3cr3t-value]"))
    assert "secured" in message
    assert "s3cr3t" not in message


# ----------------------------------------------------------------- set_published


def test_set_published_touches_only_the_top_level_line() -> None:
    raw = (
        b"---\ntitle: t\nrelated:\n  - title: r\n    published: false\n"
        b"published: false  # reviewed\n---\npublished: false\n"
    )
    assert set_published(raw, True) == raw.replace(
        b"published: false  # reviewed", b"published: true  # reviewed"
    )
    with pytest.raises(ValueError):
        set_published(b"no front matter", True)


def test_set_published_round_trips_the_seed() -> None:
    original = SEED_PATH.read_bytes()
    published = set_published(original, True)
    assert published == original.replace(b"published: false", b"published: true")
    assert parse_article_bytes(published, SEED_NAME).published is True
    assert set_published(published, False) == original
    assert set_published(original, False) == original


def test_set_published_inserts_a_missing_line_before_the_closing_fence() -> None:
    raw = article_text("noflag", published=None, body="Body text.\n").encode()
    assert b"published:" not in raw
    head, fence, tail = raw.rpartition(b"---\nBody text.\n")
    assert set_published(raw, True) == head + b"published: true\n" + fence + tail
    assert parse_article_bytes(set_published(raw, False), "noflag.txt").published is False


def test_set_published_keeps_crlf_line_endings() -> None:
    raw = SEED_PATH.read_bytes().replace(b"\n", b"\r\n")
    after = set_published(raw, True)
    assert after == raw.replace(b"published: false", b"published: true")
    assert after.count(b"\n") == after.count(b"\r\n")


def test_set_published_inserts_a_crlf_line_in_a_crlf_file() -> None:
    raw = article_text("crlf", published=None).encode().replace(b"\n", b"\r\n")
    after = set_published(raw, True)
    closing = raw.rindex(b"---\r\n")
    assert after == raw[:closing] + b"published: true\r\n" + raw[closing:]
    assert after.count(b"\n") == after.count(b"\r\n")


def test_set_published_keeps_a_byte_order_mark() -> None:
    raw = b"\xef\xbb\xbf" + SEED_PATH.read_bytes()
    after = set_published(raw, True)
    assert after == raw.replace(b"published: false", b"published: true")
    assert parse_article_bytes(after, SEED_NAME).published is True


def test_set_published_in_an_empty_front_matter() -> None:
    assert set_published(b"---\n---\nbody\n", True) == b"---\npublished: true\n---\nbody\n"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"", "no front matter"),
        (b"title: t\n---\n", "no front matter"),
        (b"\n---\ntitle: t\n---\n", "no front matter"),
        (b"---\ntitle: t\npublished: false\n", "no closing '---' line"),
    ],
)
def test_set_published_refuses_a_file_without_front_matter(raw: bytes, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        set_published(raw, True)


@pytest.mark.parametrize(
    "text",
    [
        "---\n---\n",
        "---  \n---\t\n",
        "---\r\n---\r\n",
        "\ufeff---\n---\n",
        "---\ntitle: t\n---",
        "",
        "---",
        "---\n",
        "----\n---\n",
        "--- x\n---\n",
        "x\n---\n---\n",
        "---\n ---\n",
        "---\n----\n",
    ],
)
def test_set_published_and_the_parser_agree_on_the_fences(text: str) -> None:
    """A file the parser can split, set_published can write; one it refuses, set_published too."""
    try:
        split_front_matter(text, "a.txt")
    except ArticleError:
        with pytest.raises(ValueError):
            set_published(text.encode(), True)
    else:
        assert b"published: true" in set_published(text.encode(), True)


# ----------------------------------------------------------------- any input


def _parses_or_refuses(text: str) -> None:
    try:
        result = parse_article(text, "fuzz.txt")
    except ArticleError as exc:
        assert str(exc).startswith("fuzz.txt: ")
        assert "\n" not in str(exc), "one line per bad file"
    else:
        assert isinstance(result, Article)
        assert result.title.strip()
        assert is_http_url(result.url)
        assert result.published_at.tzinfo is not None


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_any_text_parses_or_raises_article_error(text: str) -> None:
    _parses_or_refuses(text)


_KEYS = st.sampled_from(
    [
        "title",
        "webUrl",
        "publishedDateTime",
        "excerpt",
        "originalUrl",
        "quality",
        "heat",
        "published",
        "provider",
        "topics",
        "related",
        "secured",
        "category",
        "other",
        "? [a]",
        "- x",
        "",
    ]
)
_VALUES = st.one_of(
    st.sampled_from(
        [
            "",
            "x",
            "https://example.com/a",
            "javascript:alert(1)",
            "2024-03-01T10:00:00Z",
            "2023-02-30",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-14:00",
            "1e999",
            "-.inf",
            ".nan",
            "99999999999999999999999",
            "true",
            "null",
            "~",
            "[a, b",
            "{name: x, domain: y}",
            "[{title: t, webUrl: 'https://r.example/'}]",
            "[{title: t, webUrl: 'https://r.example/', publishedDateTime: 0001-01-01}]",
            '"unclosed',
            "&a [*a]",
            "*nope",
            "!!binary aGk=",
            "!!python/object:os.system ls",
            "!!timestamp 2024-99-99",
            "|\n  block",
            ": :",
            "\t",
        ]
    ),
    st.text(max_size=30),
)
_LINE = st.builds(lambda k, v, ind: f"{'  ' * ind}{k}: {v}", _KEYS, _VALUES, st.integers(0, 2))
_VALID = {
    "title": "A title",
    "webUrl": "https://example.com/a",
    "publishedDateTime": "2024-03-01T10:00:00Z",
}
# The required fields are usually valid, so the fuzzing reaches the later fields too.
_REQUIRED = st.tuples(
    *(
        st.one_of(st.just(f"{k}: {v}"), st.builds(lambda v, k=k: f"{k}: {v}", _VALUES), st.just(""))
        for k, v in _VALID.items()
    )
)
_YAMLISH = st.builds(
    lambda req, rest: "\n".join([*req, *rest]),
    _REQUIRED,
    st.lists(st.one_of(_LINE, st.text(max_size=20)), max_size=10),
)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_YAMLISH, st.booleans(), st.text(max_size=20))
def test_any_front_matter_parses_or_raises_article_error(
    front: str, close: bool, body: str
) -> None:
    text = "---\n" + front + ("\n---\n" + body if close else "")
    _parses_or_refuses(text)


@settings(max_examples=examples(200), deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_parse_or_raise_article_error(raw: bytes) -> None:
    try:
        parse_article_bytes(b"---\n" + raw, "fuzz.txt")
    except ArticleError as exc:
        assert str(exc).startswith("fuzz.txt: ")


def _read_both(front: str) -> tuple[object, object]:
    """(fast path, PyYAML's generic constructor): each a value or the error's type."""
    results: list[object] = []
    for read in (frontmatter._load_plain, partial(yaml.load, Loader=frontmatter._ArticleLoader)):
        try:
            results.append(read(front))
        except Exception as exc:  # the two must fail alike
            results.append(type(exc))
    return results[0], results[1]


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_YAMLISH)
def test_the_plain_front_matter_path_reads_what_pyyaml_reads(front: str) -> None:
    assume(not frontmatter._needs_structure_check(front))
    fast, generic = _read_both(front)
    assert fast == generic


@pytest.mark.parametrize(
    "front",
    [
        "title: A\nquality: 9\nheat: -3\nratio: 0.5\nok: yes\nnothing: ~\n",
        "when: 2024-03-01T10:00:00Z\nday: 2023-02-30\nlist:\n  - a\n  - 2\n",
        "base:\n  a: 1\n<<:\n  b: 2\n",  # a merge key: left to PyYAML
        "? - a\n  - b\n: value\n",  # a sequence as a key: PyYAML's own refusal
        "big: 99999999999999999999\n",
        "",
    ],
)
def test_the_plain_path_agrees_on_unusual_yaml(front: str) -> None:
    fast, generic = _read_both(front)
    assert fast == generic
