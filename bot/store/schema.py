"""The schema as SQL files shipped in the package: what an empty database is given, and
the numbered steps that upgrade a database an older bot left.

An empty database gets `schema.<backend>.sql` whole (so a reader sees the tables as they
are, not as the changes that made them) and is marked at the latest version. A database
at version N gets each `migrations/<backend>/NNN_<name>.sql` above N in turn, NNN being
the version it reaches. Every step is plain SQL, run in the caller's transaction.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Literal

Backend = Literal["sqlite", "postgres"]


@functools.cache
def current(backend: Backend) -> str:
    """The whole schema as it is now."""
    return resources.files("bot.store").joinpath(f"schema.{backend}.sql").read_text("utf-8")


@functools.cache
def steps(backend: Backend) -> dict[int, str]:
    """Each version's file by its number, from 1 (the first schema: what the others
    upgrade, never applied itself) to the latest. A gap or a repeat is refused: a database
    would be left short of a step without a word."""
    folder = resources.files("bot.store").joinpath("migrations").joinpath(backend)
    files = sorted(f.name for f in folder.iterdir() if f.name.endswith(".sql"))
    numbers = [int(name.split("_", 1)[0]) for name in files]
    if numbers != list(range(1, len(files) + 1)):
        raise RuntimeError(f"migrations/{backend} must be numbered 1 to N once each: {files}")
    return {
        n: folder.joinpath(name).read_text("utf-8") for n, name in zip(numbers, files, strict=True)
    }


def latest(backend: Backend) -> int:
    """The version `current` is at."""
    return len(steps(backend))


def upgrade(backend: Backend, version: int) -> list[tuple[int, str]]:
    """What brings a database at `version` (0: empty) to the latest, step by step: each
    script with the version the database is at once it has run."""
    if version == 0:
        return [(latest(backend), current(backend))]
    return [(n, steps(backend)[n]) for n in range(version + 1, latest(backend) + 1)]
