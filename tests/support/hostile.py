"""Hostile store files: one of each kind, for the tests and bench/hostile.py.

Each `Poison` writes one entry into a store folder and says how the reader must refuse
it: the file name as `check` and `load` print it (escaped) and a piece of the problem.
None of them may stop a load, a rescan, `newsbot check` or the bot.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HEAD = (
    "---\n"
    "title: A poisoned article\n"
    "webUrl: https://example.com/poison\n"
    "publishedDateTime: 2024-03-01T10:00:00Z\n"
    "published: true\n"
)
MiB = 1024 * 1024


def front(*lines: str, body: str = "") -> str:
    """A file whose required fields are fine, with `lines` added to its front matter."""
    return HEAD + "".join(line + "\n" for line in lines) + "---\n" + body


def billion_laughs(levels: int = 9, fan: int = 9) -> str:
    """The alias bomb: a few hundred bytes naming fan**levels strings."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * fan)}]"]
    for level in range(1, levels + 1):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * fan)}]")
    return front(*lines)


def deep_block(depth: int) -> str:
    """An unknown field nested `depth` mappings deep, in block style (indentation)."""
    lines = ["other:"] + [f"{'  ' * level}k{level}:" for level in range(1, depth)]
    return front(*lines[:-1], lines[-1] + " leaf")


@dataclass(frozen=True)
class Poison:
    kind: str
    shown: str  # the name as `check` and `load` print it
    problem: str  # a piece of the one-line error
    make: Callable[[Path], None]  # writes the entry into a store folder


def _text(name: str, text: str) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        (folder / name).write_text(text, encoding="utf-8")

    return make


def _raw_name(name: bytes, text: str) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        with open(os.path.join(os.fsencode(folder), name), "wb") as handle:
            handle.write(text.encode())

    return make


def _fifo(name: str) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        os.mkfifo(folder / name)

    return make


def _link(name: str, target: Callable[[Path], Path]) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        os.symlink(target(folder), folder / name)

    return make


def _outside_article(folder: Path) -> Path:
    """A good article beside the store folder (not in it): a link to it must not serve it."""
    outside = folder.parent / f"{folder.name}-outside"
    outside.mkdir(exist_ok=True)
    path = outside / "secret.txt"
    path.write_text(front(), encoding="utf-8")
    return path


BAD_NAME = "the file name has control characters"
POISONS = [
    Poison("huge int", "huge-int.txt", "line 6: quality: 9999", _text(
        "huge-int.txt", front("quality: " + "9" * 5000))),
    Poison("huge hex int in an unknown field", "huge-hex.txt", "outside 64-bit integers", _text(
        "huge-hex.txt", front("other: 0x" + "f" * 20_000))),
    Poison("huge int in a related entry", "huge-related.txt", "outside 64-bit integers", _text(
        "huge-related.txt", front(
            "related:", "  - title: R", "    webUrl: https://r.example/",
            "    quality: 0b" + "1" * 200))),
    Poison("deep flow nesting", "deep-flow.txt", "nested deeper than 32 levels", _text(
        "deep-flow.txt", front("other: " + "{a: " * 700 + "1" + "}" * 700))),
    Poison("deep block nesting", "deep-block.txt", "nested deeper than 32 levels", _text(
        "deep-block.txt", deep_block(600))),
    Poison("alias bomb", "bomb.txt", "anchors (&) and aliases (*) are not allowed", _text(
        "bomb.txt", billion_laughs())),
    Poison("file over 1 MiB", "big.md", "too big", _text(
        "big.md", front(body="x" * MiB))),
    Poison("huge value", "huge-value.txt", "webUrl: must be an http(s) URL, got 'xxx", _text(
        "huge-value.txt", front(body="").replace(
            "https://example.com/poison", "x" * (MiB - 200)))),
    Poison("symlink out of the store", "outside.txt", "a symbolic link leading outside", _link(
        "outside.txt", _outside_article)),
    Poison("link to /dev/zero", "zero.txt", "a symbolic link leading outside", _link(
        "zero.txt", lambda folder: Path("/dev/zero"))),
    Poison("dangling link", "dangling.md", "cannot read (No such file or directory)", _link(
        "dangling.md", lambda folder: folder / "nowhere.txt")),
    Poison("FIFO", "fifo.txt", "not a regular file (a FIFO)", _fifo("fifo.txt")),
    Poison("newline in the name", "evil\\nerror: forged.txt", BAD_NAME, _text(
        "evil\nerror: forged.txt", front())),
    Poison("terminal escape in the name", "\\x1b[2Jclear.txt", BAD_NAME, _text(
        "\x1b[2Jclear.txt", front())),
    Poison("name not UTF-8", "latin\\xe9.txt", BAD_NAME, _raw_name(
        b"latin\xe9.txt", front())),
]  # fmt: skip


def write_poisons(folder: Path, poisons: list[Poison] = POISONS) -> None:
    for poison in poisons:
        poison.make(folder)
