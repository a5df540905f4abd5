"""Hostile input: no file can stop the bot.

Every hostile entry of tests/support/hostile.py is a bad file, named (escaped) with what
is wrong, by the one reader that `newsbot check`, `newsbot load` (tests/hosts/
test_hostile_cli.py), every rescan and the running bot share; the good files beside it
load, and the bot keeps posting.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot import articles, frontmatter
from bot.articles import MAX_FILE_BYTES, Article, article_from_fields, parse_article, read_article
from bot.frontmatter import MAX_NESTING, ArticleError, preview, printable_name
from bot.store import Store
from bot.store.folder import read_file, scan_store
from tests.support.botenv import news_bot, store_with_seed, subscribe, two_rounds
from tests.support.helpers import SEED_NAME, card_title, examples, write_article
from tests.support.hostile import (
    POISONS,
    Poison,
    billion_laughs,
    deep_block,
    front,
    write_poisons,
)

ONE_LINE_MAX = 400  # an error line: the escaped name, ": ", a problem of at most 300


def listed_name(folder: Path) -> str:
    """The one entry beside the seed, as the store lists it (a name not UTF-8 is escaped)."""
    [name] = set(scan_store(folder)) - {SEED_NAME}
    return name


def refused(folder: Path, name: str) -> str:
    """The one-line error the reader gives the file `name` of `folder`."""
    with pytest.raises(ArticleError) as caught:
        read_article(folder, name)
    message = str(caught.value)
    assert "\n" not in message and len(message) < ONE_LINE_MAX, message
    return message


# ----------------------------------------------------------------- each kind, at the reader


@pytest.mark.parametrize("poison", POISONS, ids=[p.kind for p in POISONS])
def test_the_reader_names_each_hostile_file_and_what_is_wrong(
    tmp_path: Path, poison: Poison
) -> None:
    folder = store_with_seed(tmp_path)
    poison.make(folder)
    started = time.perf_counter()
    message = refused(folder, listed_name(folder))
    assert time.perf_counter() - started < 5
    assert message.startswith(f"{poison.shown}: "), message
    assert poison.problem in message, message
    # The sync's per-file read is the same reader, with the same words.
    assert read_file(str(folder / listed_name(folder))) == message
    assert isinstance(read_article(folder, SEED_NAME), Article)


def test_a_file_of_exactly_the_limit_is_read(tmp_path: Path) -> None:
    text = front(body="")
    exact = text + "x" * (MAX_FILE_BYTES - len(text))
    (tmp_path / "exact.txt").write_text(exact)
    (tmp_path / "over.txt").write_text(exact + "x")
    assert read_article(tmp_path, "exact.txt").body == "x" * (MAX_FILE_BYTES - len(text))
    assert "too big (1,048,577 bytes; the limit is 1 MiB)" in refused(tmp_path, "over.txt")


def test_a_symlink_inside_the_store_to_a_file_inside_it_is_served(tmp_path: Path) -> None:
    folder = store_with_seed(tmp_path)
    (folder / "archive").mkdir()
    write_article(folder / "archive", "kept", title="Kept in the archive")
    os.symlink(folder / "archive" / "kept.txt", folder / "kept.txt")
    os.symlink(SEED_NAME, folder / "alias.txt")  # relative, to a file beside it
    assert read_article(folder, "kept.txt").title == "Kept in the archive"
    assert read_article(folder, "alias.txt").id == "alias"
    os.symlink(os.path.join("..", folder.name, "archive", "kept.txt"), folder / "round.txt")
    assert read_article(folder, "round.txt").title == "Kept in the archive"


def test_a_symlink_out_through_another_symlink_is_refused(tmp_path: Path) -> None:
    folder = store_with_seed(tmp_path)
    (tmp_path / "elsewhere.txt").write_text(front())
    os.symlink(tmp_path / "elsewhere.txt", folder / "hop.txt")
    os.symlink(folder / "hop.txt", folder / "two-hops.txt")
    assert "a symbolic link leading outside the store folder" in refused(folder, "two-hops.txt")


def test_nesting_up_to_the_limit_is_fine_and_one_more_is_not() -> None:
    """The top mapping is level 1: `other: [[1]]` is three levels deep."""
    assert parse_article(deep_block(MAX_NESTING), "ok.txt").extra["other"]
    flow = "other: " + "[" * (MAX_NESTING - 1) + "1" + "]" * (MAX_NESTING - 1)
    assert parse_article(front(flow), "ok.txt").extra["other"]
    with pytest.raises(ArticleError, match=r"deep\.txt: line 38: nested deeper than 32 levels"):
        parse_article(deep_block(MAX_NESTING + 1), "deep.txt")
    flow = "other: " + "[" * MAX_NESTING + "1" + "]" * MAX_NESTING
    with pytest.raises(ArticleError, match="line 6: nested deeper than 32 levels"):
        parse_article(front(flow), "deep.txt")


@pytest.mark.parametrize(
    "value",
    ["9223372036854775807", "-9223372036854775808", "0x7fffffffffffffff", "0b1", "017",
     "1_000", "+12", "190:20:30", "0", "-0"],
)  # fmt: skip
def test_integers_within_64_bits_load_as_before(value: str) -> None:
    article = parse_article(front(f"other: {value}", f"quality: {value}"), "ok.txt")
    assert article.extra["other"] == article.quality == yaml.safe_load(value)


@pytest.mark.parametrize(
    "value",
    ["9223372036854775808", "-9223372036854775809", "0x8000000000000000", "0b1" + "0" * 64,
     "1" + "0" * 4400, "1:" * 20 + "0", "-" + "9" * 300_000],
)  # fmt: skip
def test_integers_outside_64_bits_anywhere_refuse_the_file(value: str) -> None:
    for lines in ([f"heat: {value}"], [f"other: {{a: [{value}]}}"], [f"? {value}", ": key"]):
        with pytest.raises(ArticleError, match="outside 64-bit integers") as caught:
            parse_article(front(*lines), "n.txt")
        assert len(str(caught.value)) < ONE_LINE_MAX


@pytest.mark.parametrize(
    "lines",
    [["other: &a x"], ["other: *a"], ["a: &a [1]", "b: *a"], ["other: !!str &a x"],
     ["other:", "  - &a {k: v}"], ["<<: &base {a: 1}"]],
)  # fmt: skip
def test_any_anchor_or_alias_refuses_the_file(lines: list[str]) -> None:
    with pytest.raises(ArticleError, match=r"anchors \(&\) and aliases \(\*\) are not allowed"):
        parse_article(front(*lines), "a.txt")


@pytest.mark.parametrize(
    "lines",
    [["title2: AT&T and S&P 500 *rally*"], ["other: Science & Tech"], ["other: a * b"],
     ['excerpt: "&quot; [1] {x}"'], ["other: '*not an alias*'"], ["topics: [AI, ML]"]],
)  # fmt: skip
def test_ampersands_stars_and_brackets_in_text_are_just_text(lines: list[str]) -> None:
    parse_article(front(*lines), "fine.txt")


def test_an_alias_bomb_is_refused_before_it_expands() -> None:
    started = time.perf_counter()
    with pytest.raises(ArticleError, match="line 6: l0: YAML anchors"):
        parse_article(billion_laughs(levels=12), "bomb.txt")
    assert time.perf_counter() - started < 1


def test_the_error_message_of_a_huge_or_deep_value_is_bounded() -> None:
    """Building the message costs no more for a huge value than for a small one."""
    deep: list[Any] = []
    for _ in range(100_000):  # deeper than any repr can go
        deep = [deep]
    base = {"title": "t", "publishedDateTime": "2024-01-01T00:00:00Z"}
    for value in (10**5000, deep, ["x" * 1000] * 100_000, {str(i): i for i in range(100_000)}):
        started = time.perf_counter()
        with pytest.raises(ArticleError) as caught:
            article_from_fields({**base, "webUrl": value}, "v.txt")
        assert time.perf_counter() - started < 0.05
        assert str(caught.value).startswith("v.txt: webUrl: must be an http(s) URL, got ")
        assert len(str(caught.value)) < 120
    assert preview(10**5000) == "<a 16610-bit number>"
    assert preview("x" * 10**6, 20) == "'" + "x" * 17 + "…'"
    assert preview(b"x" * 10**6, 20) == "b'" + "x" * 15 + "..."
    assert preview({"a": [1, [2, [3]]], "b": None}) == "{'a': [1, [...]], 'b': None}"
    assert preview(list(range(10**6))) == "[0, 1, 2, 3, ...]"


def test_printable_name_escapes_what_could_forge_or_hide_a_line() -> None:
    assert printable_name("plain café.txt") == "plain café.txt"
    assert printable_name("a\nb\r\tc\x1b[0m\x7f\x85.txt") == "a\\nb\\r\\tc\\x1b[0m\\x7f\\x85.txt"
    assert printable_name("cost\u202etxt.exe\u2028x.md") == "cost\\u202etxt.exe\\u2028x.md"
    assert printable_name(os.fsdecode(b"latin\xe9.txt")) == "latin\\xe9.txt"
    assert printable_name("lone\ud800.txt") == "lone\\ud800.txt"


def test_a_debug_log_shows_the_traceback_of_an_unexpected_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Any exception while reading a file is that file's error; DEBUG keeps its traceback."""
    folder = store_with_seed(tmp_path)

    def explode(data: dict[str, Any], source: str, body: str = "") -> Article:
        raise KeyError("a bug")

    monkeypatch.setattr(articles, "article_from_fields", explode)
    caplog.set_level(logging.DEBUG, logger="bot.articles")
    assert refused(folder, SEED_NAME) == f"{SEED_NAME}: could not be read (KeyError)"
    assert "Traceback" in caplog.text and "a bug" in caplog.text


def test_a_rescan_that_fails_for_the_whole_folder_changes_nothing(tmp_path: Path) -> None:
    folder = store_with_seed(tmp_path)
    write_article(folder, "story", published=True)

    async def scenario() -> None:
        async with Store.open(tmp_path / "db.sqlite", folder) as store:
            await store.folder.sync()
            before = await store.articles.latest()
            folder.rename(tmp_path / "gone")
            with pytest.raises(OSError):
                await store.folder.sync()
            assert await store.articles.latest() == before

    asyncio.run(scenario())


# ----------------------------------------------------------------- any hostile front matter

_SCALARS = st.one_of(
    st.sampled_from(
        ["x", "~", "null", "true", "1e999", ".nan", "2023-02-30", "0001-01-01T00:00:00+01:00",
         "!!binary aGk=", "!!set {a, b}", "!!omap [a: 1]", "!!python/object:os.system ls",
         "!!int abc", '!!int ""', "!!float x", "!!timestamp 2024-99-99", "'\\x07'",
         '"\\x1b[2J\\u202e"', "|\n  block", "? [a]", "*undefined", "&a x", "<<: {a: 1}",
         "!<tag:%0Aforged> x", "\t", "[a, b", "{a: [b}", "- - - x"]
    ),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.builds(lambda n, p: p + "9" * n, st.integers(15, 6000), st.sampled_from(["", "-", "+"])),
    st.builds(lambda n, p: p + "f" * n, st.integers(10, 6000), st.sampled_from(["0x", "-0x"])),
    st.builds(lambda n: "0b" + "1" * n, st.integers(60, 3000)),
    st.builds(lambda n: ":".join(["59"] * n), st.integers(2, 400)),
    st.text(st.characters(codec="utf-8"), max_size=20).map(lambda t: yaml.safe_dump(t).strip()),
)  # fmt: skip


@st.composite
def _nested(draw: st.DrawFn) -> str:
    """A value nested a few or many levels, flow or block, with or without anchors."""
    depth = draw(st.integers(1, 60))
    leaf = str(draw(_SCALARS)).replace("\n", " ")
    style = draw(st.sampled_from(["flow-seq", "flow-map", "block", "anchored"]))
    if style == "flow-seq":
        return "[" * depth + leaf + "]" * depth
    if style == "flow-map":
        return "{a: " * depth + leaf + "}" * depth
    if style == "anchored":
        return f"&x [{leaf}]" if draw(st.booleans()) else f"[&x [{leaf}, {leaf}], [*x, *x]]"
    lines = "\n".join(f"{'  ' * level}k{level}:" for level in range(1, depth))
    return f"\n{lines} {leaf}"


_HOSTILE_LINES = st.lists(
    st.one_of(
        st.builds(lambda k, v: f"{k}: {v}", st.sampled_from(
            ["other", "quality", "heat", "webUrl", "topics", "related", "published", "secured",
             "provider", "title"]), st.one_of(_SCALARS, _nested())),
        st.builds(lambda v: f"related:\n  - title: R\n    webUrl: https://r.example/\n"
                            f"    quality: {v}", _SCALARS),
        st.text(max_size=30),
    ),
    max_size=6,
)  # fmt: skip
_HOSTILE_NAMES = st.one_of(
    st.just("fuzz.txt"),
    st.text(st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1, max_size=12)
    .filter(lambda n: not n.startswith("."))
    .map(lambda n: n + ".txt"),
    st.binary(min_size=1, max_size=8)
    .filter(lambda b: b"/" not in b and b"\x00" not in b and not b.startswith(b"."))
    .map(lambda b: os.fsdecode(b + b".md")),
)


def _read_or_refuse(folder: Path, name: str) -> Article | None:
    """The reader's contract: an Article, or an ArticleError naming the file on one line."""
    try:
        return read_article(folder, name)
    except ArticleError as exc:
        message = str(exc)
        assert message.startswith(printable_name(name) + ": "), message
        assert "\n" not in message and len(message) < ONE_LINE_MAX + len(name) * 6, message
        return None


@settings(
    max_examples=examples(150),
    deadline=timedelta(seconds=3),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(lines=_HOSTILE_LINES, name=_HOSTILE_NAMES)
def test_any_hostile_front_matter_is_an_article_or_this_files_error(
    tmp_path: Path, lines: list[str], name: str
) -> None:
    folder = tmp_path / "fuzz"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    try:
        (folder / name).write_bytes(front(*lines).encode("utf-8", "surrogateescape"))
    except OSError:  # a name this file system refuses
        assume(False)
    [listed] = scan_store(folder)
    result = _read_or_refuse(folder, listed)
    assert result is None or isinstance(result, Article)
    outcome = read_file(str(folder / listed))  # the sync's read: the same answer
    assert isinstance(outcome, str) == (result is None)


@settings(
    max_examples=examples(25),
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow],
)
@given(lines=_HOSTILE_LINES, name=_HOSTILE_NAMES)
def test_a_good_file_beside_any_hostile_one_loads_in_a_real_sync(
    lines: list[str], name: str
) -> None:
    with tempfile.TemporaryDirectory(prefix="newsbot-hostile-") as tmp:
        folder = Path(tmp) / "store"
        folder.mkdir()
        assume(name != "good.txt")
        write_article(folder, "good", published=True, title="Still here")
        try:
            (folder / name).write_bytes(front(*lines).encode("utf-8", "surrogateescape"))
        except OSError:
            assume(False)

        async def sync() -> tuple[Any, Any]:
            async with Store.open(Path(tmp) / "news.db", folder) as store:
                report = await store.folder.sync()
                return report, await store.articles.get("good")

        report, good = asyncio.run(sync())
        assert good.title == "Still here"
        assert report.scanned == 2
        assert all("\n" not in e for e in report.errors)


# ----------------------------------------------------------------- the fast path is sound


_KINDS = ["indentless", "indentless", "indentless", "map", "seq-next", "seq-compact", "key"]


@st.composite
def _block_yaml(draw: st.DrawFn) -> str:
    """Block-style YAML nested as tightly as YAML allows: indentless sequences as mapping
    values, items on the next line one column in, compact "- - " items, "? " keys."""

    def render(depth: int, column: int) -> list[str]:
        pad = " " * column
        if depth == 0:
            return [pad + "leaf"]
        kind = draw(st.sampled_from(_KINDS))
        step = draw(st.sampled_from([1, 1, 1, 2]))  # the tightest nesting is the likeliest
        if kind == "map":
            return [pad + "k:", *render(depth - 1, column + step)]
        if kind == "indentless":  # a mapping whose value is a sequence at its own column
            child = render(depth - 2, column + step) if depth >= 2 else [pad + " leaf"]
            return [pad + "k:", pad + "-", *child]
        if kind == "seq-compact":
            child = render(depth - 1, column + 2)
            return [pad + "- " + child[0][column + 2 :], *child[1:]]
        if kind == "seq-next":
            return [pad + "-", *render(depth - 1, column + step)]
        child = render(depth - 1, column + 2)  # a complex key: "? " and its value
        return [pad + "? " + child[0][column + 2 :], *child[1:], pad + ": v"]

    return "\n" + "\n".join(render(draw(st.integers(20, 48)), 0)) + "\n"


def _depth(text: str) -> int:
    depth = deepest = 0
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            deepest = max(deepest, depth)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return deepest


@settings(max_examples=examples(400), deadline=None)
@given(_block_yaml())
def test_the_fast_path_never_skips_a_file_nested_too_deep(text: str) -> None:
    """The cheap text test lets libyaml read a file alone only when it cannot nest deeper
    than MAX_NESTING: checked against libyaml's own events on the tightest nestings."""
    try:
        depth = _depth(text)
    except yaml.YAMLError:
        assume(False)
    if depth > MAX_NESTING:
        assert frontmatter._needs_structure_check(text)


def _tightest(depth: int) -> str:
    """`depth` levels in as few columns as YAML allows: a mapping, its value a sequence at
    the mapping's own column, the sequence's item one column in, and again."""
    lines: list[str] = []
    column = level = 0
    while level < depth:
        pad = " " * column
        lines += [pad + "k:", pad + "-"] if depth - level >= 2 else [pad + "k:"]
        level += 2 if depth - level >= 2 else 1
        column += 1
    return "\n" + "\n".join([*lines, " " * column + "leaf"]) + "\n"


@pytest.mark.parametrize("depth", range(MAX_NESTING - 2, MAX_NESTING + 4))
def test_the_tightest_nesting_is_caught_at_the_limit(depth: int) -> None:
    text = _tightest(depth)
    assert _depth(text) == depth
    if depth > MAX_NESTING:
        assert frontmatter._needs_structure_check(text)
        with pytest.raises(ArticleError, match="nested deeper than 32 levels"):
            frontmatter.load_front_matter(text, "tight.txt")
    else:
        assert frontmatter.load_front_matter(text, "tight.txt")


# ----------------------------------------------------------------- the running bot


async def test_a_bot_started_on_a_poisoned_store_keeps_posting(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A restart with every hostile file in the store: it starts, and posts what comes."""
    folder = tmp_path / "store"
    folder.mkdir()
    write_poisons(folder)
    async with news_bot(tmp_path) as env:
        d, news = env.discord, env.guild.channels["news"]
        await subscribe(env, "news")
        write_article(env.store_dir, "next", title="The next good file", published=True)
        await d.wait_for(lambda: len(d.messages(news)) == 1, 10)
        assert card_title(d.messages(news)[0]) == "The next good file"
        bad = await env.store.articles.bad_files()
        assert len(bad) == len(POISONS)
    assert "store rescan failed" not in caplog.text


async def test_a_poison_file_dropped_into_a_running_bot_does_not_stop_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "store").mkdir()
    async with news_bot(tmp_path) as env:
        d, news = env.discord, env.guild.channels["news"]
        await subscribe(env, "news")
        write_article(env.store_dir, "first", title="Before the poison", published=True)
        await d.wait_for(lambda: len(d.messages(news)) == 1, 10)
        write_poisons(env.store_dir)
        await two_rounds(env.bot, "store rescan")  # rescans that met the poison
        write_article(env.store_dir, "after", title="After the poison", published=True)
        await d.wait_for(lambda: len(d.messages(news)) == 2, 10)
        assert card_title(d.messages(news)[1]) == "After the poison"
    assert "store rescan failed" not in caplog.text
    assert "evil\\nerror: forged.txt" in caplog.text
    assert not [ln for ln in caplog.text.splitlines() if ln.startswith("error: forged")]
