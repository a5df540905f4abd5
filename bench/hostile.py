"""Hostile-store benchmark: `newsbot check` and `newsbot load` over the shipped seeds plus
one hostile entry of each kind (tests/support/hostile.py: huge integers, deep nesting, an
alias bomb, a file over 1 MiB, links out of the store and to /dev/zero, a FIFO, names
with control characters or not UTF-8, ...).

    python -m bench.hostile [--keep DIR]

Each command runs as a real subprocess, as a user runs it; its wall time and peak RSS
(os.wait4's rusage of that one child) are printed with the command line. Targets
(no file can stop the bot or blow up): load under 60 s and 400 MB. A
command that misses a target, hangs, fails or does not name every hostile file makes the
benchmark exit 1. Each child runs under a 4 GiB address-space cap and a 120 s timeout,
so a regression fails here instead of taking the machine down.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.hostile import POISONS, write_poisons

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
TARGET_SECONDS = 60.0
TARGET_MB = 400.0
ADDRESS_SPACE_CAP = 4 * 1024**3
TIMEOUT = 120.0


@dataclass
class Run:
    command: str
    seconds: float
    rss_mb: float
    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_CAP, ADDRESS_SPACE_CAP))


def run(args: list[str], env: dict[str, str], cwd: Path) -> Run:
    """Run one command; its own peak RSS comes from wait4, not from this process's children."""
    out_path, err_path = cwd / "stdout.txt", cwd / "stderr.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        child = subprocess.Popen(
            args, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
            preexec_fn=_cap_memory,
        )  # fmt: skip
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            child.send_signal(signal.SIGKILL)

        timer = threading.Timer(TIMEOUT, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)  # reaped here: Popen never waits
        finally:
            timer.cancel()
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
    return Run(
        command=shlex.join(args),
        seconds=seconds,
        rss_mb=usage.ru_maxrss / 1024,  # KiB on Linux
        exit_code=child.returncode,
        stdout=out_path.read_text("utf-8", "replace"),
        stderr=err_path.read_text("utf-8", "replace"),
        timed_out=killed.is_set(),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="build the store in this (new) folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="newsbot-hostile-") as tmp:
        work = Path(tmp)
        folder = args.keep or work / "store"
        folder.mkdir(parents=True)
        seeds = sorted(SEEDS.glob("*.txt")) + sorted(SEEDS.glob("*.md"))
        for seed in seeds:
            shutil.copy2(seed, folder / seed.name)
        write_poisons(folder)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "NEWS_"))}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        env["NEWS_DB_PATH"] = str(work / "news.db")
        env["LOG_LEVEL"] = "WARNING"
        runs = {
            verb: run([sys.executable, "-m", "bot", *args], env, work)
            for verb, args in (
                ("check", ["check", str(folder)]),
                ("load", ["load", "--replace-with", str(folder)]),
            )
        }
    print(
        f"store: {len(seeds)} shipped seed(s) + {len(POISONS)} hostile entries "
        f"({', '.join(p.kind for p in POISONS)})"
    )
    failures: list[str] = []
    for verb, result in runs.items():
        print(
            f"{verb + ':':7}{result.seconds:7.2f} s  peak RSS {result.rss_mb:6.1f} MB  "
            f"exit {result.exit_code}  $ {result.command}"
        )
        errors = [
            ln for ln in (result.stdout + result.stderr).splitlines() if ln.startswith("error: ")
        ]
        unnamed = [
            p.kind
            for p in POISONS
            if not any(ln.startswith(f"error: {p.shown}: ") for ln in errors)
        ]
        if result.timed_out:
            failures.append(f"{verb}: killed after {TIMEOUT:.0f} s")
        if result.exit_code != (1 if verb == "check" else 0):
            failures.append(f"{verb}: exit {result.exit_code}: {result.stderr.strip()[-300:]}")
        if unnamed or len(errors) != len(POISONS):
            failures.append(f"{verb}: {len(errors)} errors; not named: {unnamed}")
    load = runs["load"]
    print(f"targets for load: under {TARGET_SECONDS:.0f} s and {TARGET_MB:.0f} MB")
    if load.seconds >= TARGET_SECONDS:
        failures.append(f"load took {load.seconds:.1f} s (target {TARGET_SECONDS:.0f} s)")
    if load.rss_mb >= TARGET_MB:
        failures.append(f"load peaked at {load.rss_mb:.0f} MB (target {TARGET_MB:.0f} MB)")
    for failure in failures:
        print(f"FAILED: {failure}")
    print("ok" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
