"""`newsbot ...` as a user runs it: a real subprocess with a clean environment."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path


def newsbot(
    tmp_path: Path,
    *args: str,
    stdin: str = "",
    timeout: float = 120,
    memory_limit: int | None = None,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` in tmp_path, with a clean environment (no token, no .env).

    NEWS_STORE_DIR is tmp_path/store and NEWS_DB_PATH tmp_path/db.sqlite unless `env` says
    otherwise. `timeout` (seconds) fails a command that hangs; `memory_limit` (bytes of
    address space) stops one that would eat the machine's memory.
    """
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "NEWS_"))}
    environ.update(
        {"NEWS_STORE_DIR": str(tmp_path / "store"), "NEWS_DB_PATH": str(tmp_path / "db.sqlite")}
    )
    environ.update(env)
    limit: Callable[[], None] | None = None
    if memory_limit is not None:
        cap = memory_limit

        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=environ,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limit,
    )
