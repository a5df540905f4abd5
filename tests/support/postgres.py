"""A throwaway PostgreSQL server for the tests and benchmarks, from the machine's binaries.

`initdb` into a temp folder, `pg_ctl start` on a free loopback port with its unix socket in
that folder; as root the server runs as the unprivileged `postgres` account. Each test gets
a fresh database, copied from a migrated template (`CREATE DATABASE … TEMPLATE`, fast).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

USER = "postgres"  # the database superuser, and the account the server runs as under root
PASSWORD = "s3cret-pg-pass"  # in every URL: the tests check it never reaches a log
TEMPLATE = "newsbot_template"


def server_binaries() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, or None."""
    candidates = []
    if shutil.which("pg_config"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                ["pg_config", "--bindir"], capture_output=True, text=True, check=True
            )
            candidates.append(Path(out.stdout.strip()))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(os.path.realpath(initdb)).parent)
    for folder in candidates:
        if all((folder / name).exists() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One server in a temp folder; `url(name)` for a database on it."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="newsbot-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self._names = itertools.count(1)
        self._as_user: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            self._as_user = ["runuser", "-u", USER, "--"]
            account = pwd.getpwnam(USER)
            os.chown(self.folder, account.pw_uid, account.pw_gid)

    def url(self, database: str, *, password: bool = True) -> str:
        secret = f":{PASSWORD}" if password else ""
        return f"postgresql://{USER}{secret}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as_user, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        pwfile = self.folder / "pw"
        pwfile.write_text(PASSWORD)
        if self._as_user:
            shutil.chown(pwfile, USER)
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            USER,
            f"--pwfile={pwfile}",
            "-A",
            "scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        self.resume()

    def resume(self) -> None:
        """Start the server (again, after `halt`) on the same port and data."""
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=300 -c shared_buffers=64MB"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "server.log"),
            "-o",
            options,
            "-w",
            "start",
        )

    def halt(self, mode: str = "immediate") -> None:
        """Stop the server at once, as a crash or an outage would, keeping its data.

        "immediate" is a crash: with synchronous_commit off the last commits (~200 ms) are
        lost. "fast" cuts every client off too but keeps what was committed, as a real
        server's outage would (bench.chaos)."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "stop")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    async def admin(self, sql: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.url("postgres"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def make_template(self) -> None:
        """A database migrated once: every test's fresh database is a copy of it."""
        from bot.store.postgres import PostgresDatabase

        await self.admin(f"CREATE DATABASE {TEMPLATE}")
        async with PostgresDatabase.open(self.url(TEMPLATE), 2) as db:
            # A sequence caches 32 values it logged ahead; a copy of the template inherits
            # that count and would hand them out without logging, so a crash (`halt`) would
            # bring it back to the template's value and repeat them. setval logs it anew.
            await db.execute(
                "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, "
                "COALESCE(last_value, 1), last_value IS NOT NULL) FROM pg_sequences"
            )

    async def new_database(self) -> str:
        """A fresh, migrated, empty database; its URL (with the password)."""
        name = f"t{os.getpid()}_{next(self._names)}"
        await self.admin(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return self.url(name)

    async def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with contextlib.suppress(Exception):
            await self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.contextmanager
def throwaway_server(bindir: Path) -> Iterator[PostgresServer]:
    """Started, with its template database; stopped and removed on exit."""
    server = PostgresServer(bindir)
    try:
        server.start()
        asyncio.run(server.make_template())
        yield server
    finally:
        server.stop()
