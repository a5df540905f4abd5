"""tests.support.corpus: deterministic, parseable, and realistically skewed.

Benchmarks and load tests trust these properties; if they drift, the figures
stop being comparable between runs and machines.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.articles import parse_article
from tests.support.corpus import TOPIC_NAMES, main, make_article, write_corpus

NAME_RE = re.compile(r"^(\d{3,})_([0-9a-f]{16})\.txt$")
TOP_KEYS = [
    "category",
    "title",
    "excerpt",
    "publishedDateTime",
    "originalUrl",
    "webUrl",
    "type",
    "quality",
    "heat",
    "published",
    "provider",
    "topics",
]


def read_dir(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def by_index(files: dict[str, bytes]) -> dict[int, tuple[str, bytes]]:
    """{index: (hex id, bytes)}, ignoring the zero-padding width of the names."""
    out: dict[int, tuple[str, bytes]] = {}
    for name, data in files.items():
        m = NAME_RE.match(name)
        assert m, name
        out[int(m[1])] = (m[2], data)
    return out


def front_matter(text: str) -> dict[str, Any]:
    assert text.startswith("---\n") and text.endswith("\n---\n")
    doc = yaml.load(text[4:-4], Loader=yaml.CSafeLoader)
    assert isinstance(doc, dict)
    return doc


@pytest.fixture(scope="module")
def corpus300(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("c300")
    total = write_corpus(folder, 300)
    files = read_dir(folder)
    assert total == sum(len(b) for b in files.values())
    return files


@pytest.fixture(scope="module")
def docs300(corpus300: dict[str, bytes]) -> list[dict[str, Any]]:
    return [front_matter(b.decode("utf-8")) for b in corpus300.values()]


def test_same_seed_gives_same_bytes_for_any_jobs(
    tmp_path: Path, corpus300: dict[str, bytes]
) -> None:
    # 300 files are enough for write_corpus to use two worker processes.
    write_corpus(tmp_path / "again", 300, jobs=2)
    assert read_dir(tmp_path / "again") == corpus300
    write_corpus(tmp_path / "other", 20, seed=1)
    other = by_index(read_dir(tmp_path / "other"))
    mine = by_index(corpus300)
    assert all(other[i] != mine[i] for i in range(20))


def test_a_smaller_count_is_a_prefix(tmp_path: Path, corpus300: dict[str, bytes]) -> None:
    write_corpus(tmp_path, 40)
    assert read_dir(tmp_path) == {n: corpus300[n] for n in sorted(corpus300)[:40]}


def test_only_the_name_width_depends_on_count(tmp_path: Path) -> None:
    # The tail of a 1001-file corpus: 4-digit names, same articles as make_article.
    write_corpus(tmp_path, 1001, start=985)
    expected = {}
    for i in range(985, 1001):
        hexid, text = make_article(0, i)
        expected[f"{i:04d}_{hexid}.txt"] = text.encode("utf-8")
    assert read_dir(tmp_path) == expected


def test_start_writes_only_the_tail(tmp_path: Path, corpus300: dict[str, bytes]) -> None:
    write_corpus(tmp_path, 300, start=295)
    assert read_dir(tmp_path) == {n: corpus300[n] for n in sorted(corpus300)[295:]}


def test_make_article_matches_the_file(corpus300: dict[str, bytes]) -> None:
    hexid, text = make_article(0, 42)
    assert corpus300[f"042_{hexid}.txt"] == text.encode("utf-8")


def test_every_file_parses_with_the_required_fields(
    corpus300: dict[str, bytes], docs300: list[dict[str, Any]]
) -> None:
    assert len(docs300) == len(corpus300) == 300
    for name, doc in zip(corpus300, docs300, strict=True):
        assert list(doc)[: len(TOP_KEYS)] == TOP_KEYS, name
        assert isinstance(doc["title"], str) and doc["title"]
        assert re.match(r"https?://[^/\s]+/", doc["webUrl"])
        assert name.endswith(hashlib.sha256(doc["webUrl"].encode()).hexdigest()[:16] + ".txt")
        when = doc["publishedDateTime"]
        assert isinstance(when, datetime) and when.tzinfo is not None
        assert 2022 <= when.year <= 2024
        assert doc["category"] == "news" and doc["type"] == "article"
        assert 0 <= doc["quality"] <= 100 and -1 <= doc["heat"] <= 100
        assert isinstance(doc["published"], bool)
        assert set(doc["provider"]) == {"name", "domain"}
        assert 1 <= len(doc["topics"]) <= 4 and set(doc["topics"]) <= set(TOPIC_NAMES)
        assert 0 <= len(doc.get("related", [])) <= 6
        ciphertext, iv = doc["secured"].split(";")
        assert len(iv) == 24 and len(ciphertext) % 4 == 0


@pytest.mark.parametrize(
    ("fraction", "n", "low", "high"), [(0.0, 40, 0, 0), (0.5, 400, 150, 250), (1.0, 40, 40, 40)]
)
def test_drafts_fraction_is_respected(fraction: float, n: int, low: int, high: int) -> None:
    docs = [front_matter(make_article(3, i, fraction)[1]) for i in range(n)]
    drafts = sum(1 for d in docs if d["published"] is False)
    assert low <= drafts <= high


def test_topics_have_a_long_tail(docs300: list[dict[str, Any]]) -> None:
    counts = Counter(t for d in docs300 for t in d["topics"])
    n = len(docs300)
    top, top_count = counts.most_common(1)[0]
    assert top == TOPIC_NAMES[0]
    assert top_count > 0.2 * n
    assert min(counts.values()) < 0.03 * n
    assert len(TOPIC_NAMES) == len(set(TOPIC_NAMES)) == 42
    assert "Arts & Culture" in TOPIC_NAMES
    assert any(" " in t for t in counts)


def test_text_is_realistically_messy(
    corpus300: dict[str, bytes], docs300: list[dict[str, Any]]
) -> None:
    texts = [b.decode("utf-8") for b in corpus300.values()]
    assert sum(1 for t in texts if not t.isascii()) > 100
    assert any("’" in t for t in texts) and any("—" in t for t in texts)
    assert any('\\"' in t for t in texts)
    providers = {d["provider"]["name"] for d in docs300}
    assert len(providers) > 60
    assert any(not p.isascii() for p in providers) or any("'" in p for p in providers)
    assert any("ampWebUrl" in r for d in docs300 for r in d.get("related", []))
    assert any("images" in r for d in docs300 for r in d.get("related", []))


def test_a_share_of_stories_and_related_items_have_pictures_that_load(
    corpus300: dict[str, bytes],
) -> None:
    """The card renderer and the store's picture columns are exercised by generated stores
    too: about 60% of stories carry their own picture, a share of related items theirs,
    and every one of them is a picture the loader keeps (no warning)."""
    articles = [parse_article(raw.decode("utf-8"), name) for name, raw in corpus300.items()]
    pictured = [a for a in articles if a.image is not None]
    assert 0.5 * len(articles) < len(pictured) < 0.7 * len(articles)
    related = [r for a in articles for r in a.related]
    assert 0.3 * len(related) < sum(1 for r in related if r.image) < 0.5 * len(related)
    assert all(a.warnings == () for a in articles)
    image = pictured[0].image
    assert image is not None and image.url.startswith("https://") and image.width > image.height


def test_cli_writes_the_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path), "--count", "4", "--seed", "2", "-q"]) == 0
    assert capsys.readouterr().err == ""
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"{i:03d}_{make_article(2, i)[0]}.txt" for i in range(4)]


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_corpus(tmp_path, -1)
    with pytest.raises(ValueError):
        write_corpus(tmp_path, 3, drafts_fraction=1.5)
    with pytest.raises(ValueError):
        make_article(-1, 0)
    with pytest.raises(SystemExit):
        main([str(tmp_path), "--count", "3", "--jobs", "0"])
