"""Hostile input on the command line: `newsbot check` and `newsbot load`, each a real
process, name every hostile file of tests/support/hostile.py in the same words, and load
the good file beside it (the reader itself: tests/e2e/test_hostile.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.botenv import store_with_seed
from tests.support.cli import newsbot
from tests.support.hostile import POISONS, Poison, front, write_poisons

CLI_TIMEOUT = 60  # seconds: `check` on a FIFO used to wait for a writer forever
CLI_MEMORY = 2 * 1024**3  # bytes of address space: `check` on /dev/zero used to eat it all


@pytest.mark.parametrize("poison", POISONS, ids=[p.kind for p in POISONS])
def test_check_and_load_name_each_hostile_file(tmp_path: Path, poison: Poison) -> None:
    folder = store_with_seed(tmp_path)
    poison.make(folder)
    line = f"error: {poison.shown}: "
    checked = newsbot(tmp_path, "check", str(folder), timeout=CLI_TIMEOUT, memory_limit=CLI_MEMORY)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert f"checked 2 files in {folder}: 1 good, 1 bad" in checked.stdout
    [error] = [ln for ln in checked.stdout.splitlines() if ln.startswith("error: ")]
    assert error.startswith(line) and poison.problem in error, error
    assert "Traceback" not in checked.stderr
    loaded = newsbot(tmp_path, "load", timeout=CLI_TIMEOUT, memory_limit=CLI_MEMORY)
    assert loaded.returncode == 0, loaded.stderr
    assert "2 files: 1 new, 0 changed, 0 withdrawn, 0 unchanged, 1 bad" in loaded.stdout
    errors = [ln for ln in loaded.stderr.splitlines() if ln.startswith("error: ")]
    assert errors == [error], loaded.stderr  # the very same words as `check`
    assert all(ln.startswith(("error: ", "loading ", "20")) for ln in loaded.stderr.splitlines())


def test_check_and_load_agree_on_a_store_of_every_hostile_file(tmp_path: Path) -> None:
    folder = store_with_seed(tmp_path)
    write_poisons(folder)
    checked = newsbot(tmp_path, "check", str(folder), timeout=CLI_TIMEOUT, memory_limit=CLI_MEMORY)
    total = len(POISONS) + 1
    assert checked.returncode == 1
    assert f"checked {total} files in {folder}: 1 good, {len(POISONS)} bad" in checked.stdout
    checked_errors = sorted(ln for ln in checked.stdout.splitlines() if ln.startswith("error: "))
    assert len(checked_errors) == len(POISONS)
    for poison in POISONS:
        [line] = [ln for ln in checked_errors if ln.startswith(f"error: {poison.shown}: ")]
        assert poison.problem in line, line
    loaded = newsbot(tmp_path, "load", timeout=CLI_TIMEOUT, memory_limit=CLI_MEMORY)
    assert f"{total} files: 1 new, 0 changed, 0 withdrawn, 0 unchanged, {len(POISONS)} bad" in (
        loaded.stdout
    )
    assert sorted(ln for ln in loaded.stderr.splitlines() if ln.startswith("error: ")) == (
        checked_errors
    )
    again = newsbot(tmp_path, "load", timeout=CLI_TIMEOUT, memory_limit=CLI_MEMORY)
    assert f"0 new, 0 changed, 0 withdrawn, {total} unchanged, {len(POISONS)} bad" in again.stdout


def test_the_log_names_a_bad_file_on_one_escaped_line(tmp_path: Path) -> None:
    folder = store_with_seed(tmp_path)
    (folder / "evil\nERROR bot: forged.txt").write_text(front())
    loaded = newsbot(tmp_path, "load", LOG_LEVEL="INFO")
    assert "skipped evil\\nERROR bot: forged.txt: the file name has" in loaded.stderr
    assert not [ln for ln in loaded.stderr.splitlines() if ln.startswith("ERROR bot: forged")]
