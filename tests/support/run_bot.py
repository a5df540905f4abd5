"""Run the real `newsbot run` in a subprocess against the Discord stand-in.

As a program (``python -m tests.support.run_bot``) this is the launcher: it points discord.py's
REST base and gateway URL at the stand-in (NEWSBOT_TEST_API_BASE, NEWSBOT_TEST_GATEWAY)
and then calls ``bot.__main__.main(["run"])`` -- the shipped code path, configured by the
same environment variables as in production (DISCORD_TOKEN, NEWS_STORE_DIR, ...).

As a module, :class:`BotProcess` starts, waits for, kills and restarts that program for
the crash, sharding and soak tests and the benchmarks; :func:`bot_env` builds its
environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the launcher process itself must load only what `newsbot run` loads
    from tests.support.stand_in import StandIn

REPO = Path(__file__).resolve().parents[2]
READY_MARK = "bot.bot: ready:"  # NewsBot.on_ready logs it once the bot is connected
BOT_VARIABLES = (
    "DISCORD_TOKEN",
    "DISCORD_GUILD_ID",
    "NEWSROOM_GUILD_IDS",
    "NEWS_STORE_DIR",
    "NEWS_DB_PATH",
    "NEWS_DATABASE_URL",
    "NEWS_DB_POOL_SIZE",
    "NEWS_CHANNEL_ID",
    "NEWS_POLL_SECONDS",
    "MODERATOR_ROLE_IDS",
    "SHARD_COUNT",
    "SHARD_IDS",
    "DELIVERY",
    "LOG_LEVEL",
    "METRICS_PORT",
    "METRICS_HOST",
)


def main() -> int:
    """The launcher: only discord.py's two URLs differ from `newsbot run`."""
    import discord.gateway
    import discord.http
    import yarl

    from bot.__main__ import main as newsbot_main

    discord.http.Route.BASE = os.environ["NEWSBOT_TEST_API_BASE"]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["NEWSBOT_TEST_GATEWAY"])
    return newsbot_main(["run"])


def bot_env(
    stand_in: StandIn,
    store_dir: Path,
    db_path: Path,
    **variables: str | int | float | None,
) -> dict[str, str]:
    """The environment of one bot process pointed at `stand_in`: this one's, minus any bot
    settings, plus ours.

    ``variables`` are bot settings by name (``NEWS_POLL_SECONDS=0.5``); None leaves one out.
    """
    env = {k: v for k, v in os.environ.items() if k not in BOT_VARIABLES}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env |= {
        "NEWSBOT_TEST_API_BASE": stand_in.api_base,
        "NEWSBOT_TEST_GATEWAY": stand_in.gateway_url,
        "DISCORD_TOKEN": "test-token",
        "NEWS_STORE_DIR": str(store_dir),
        "NEWS_DB_PATH": str(db_path),
        "LOG_LEVEL": "INFO",
    }
    env |= {k: str(v) for k, v in variables.items() if v is not None}
    return env


async def follow_everything(
    db_path: Path | str,
    store_dir: Path,
    channels: Mapping[int, int],
    *,
    actor: str,
    kinds: Mapping[int, str] | None = None,
) -> None:
    """Before the bot starts: load the store, then make each channel (id -> guild id)
    follow every topic, so only what is published afterwards is posted. ``kinds`` names
    the channels that are forums or announcement channels (a ChannelKind value)."""
    from bot.store import ChannelKind, Store

    async with Store.open(db_path, store_dir) as store:
        await store.folder.sync()
        for channel, guild_id in channels.items():
            kind = ChannelKind((kinds or {}).get(channel, ChannelKind.TEXT))
            await store.feeds.subscribe(channel, "", actor=actor, guild_id=guild_id, kind=kind)


class BotProcess:
    """One `newsbot run` subprocess; its stderr (the bot's log) goes to ``log_path``.

    The working directory is the log's folder, so no developer `.env` leaks in.
    """

    def __init__(self, env: Mapping[str, str], log_path: Path) -> None:
        self.env = dict(env)
        self.log_path = log_path
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError("the bot process was not started")
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def start(self) -> None:
        """Start the process (again); the log is appended to, so restarts stay readable."""
        if self.running:
            raise RuntimeError("the bot process is already running")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts + 1} ---\n".encode())
            log.flush()
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.support.run_bot",
                env=self.env,
                cwd=self.log_path.parent,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        self.starts += 1

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def ready_count(self) -> int:
        return self.log().count(READY_MARK)

    async def wait_for_log(self, text: str, *, count: int = 1, timeout: float = 30.0) -> None:
        """Until ``text`` appears ``count`` times in the log; fails early if the process died."""
        deadline = time.monotonic() + timeout
        while self.log().count(text) < count:
            if self.proc is not None and self.proc.returncode is not None:
                raise RuntimeError(
                    f"the bot exited ({self.proc.returncode}) before logging {text!r}:\n"
                    + self.tail()
                )
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no {text!r} within {timeout} s:\n" + self.tail())
            await asyncio.sleep(0.05)

    async def wait_ready(self, timeout: float = 30.0) -> None:
        """Until this start of the process has logged that the bot is ready."""
        await self.wait_for_log(READY_MARK, count=self.starts, timeout=timeout)

    def kill(self) -> None:
        """SIGKILL, now: no cleanup runs, nothing is flushed, like a power cut."""
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)

    async def wait_exit(self, timeout: float = 10.0) -> int:
        assert self.proc is not None
        return await asyncio.wait_for(self.proc.wait(), timeout)

    async def stop(self, timeout: float = 10.0, sig: signal.Signals = signal.SIGINT) -> None:
        """Ctrl-C, or `sig` (a clean shutdown), then SIGKILL if it does not exit in time."""
        if not self.running:
            return
        assert self.proc is not None
        self.proc.send_signal(sig)
        try:
            await self.wait_exit(timeout)
        except TimeoutError:
            self.kill()
            with contextlib.suppress(TimeoutError):
                await self.wait_exit(timeout)

    @staticmethod
    async def kill_all(processes: Iterable[BotProcess]) -> None:
        """A test's teardown: every process killed, a frozen one (SIGSTOP) first woken so
        the kill is not left pending, then reaped."""
        processes = list(processes)
        for process in processes:
            if process.running:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGCONT)
            process.kill()
        for process in processes:
            with contextlib.suppress(Exception):
                await process.wait_exit()

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])


if __name__ == "__main__":
    sys.exit(main())
