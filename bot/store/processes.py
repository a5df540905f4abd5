"""The live processes: each bot process writes a heartbeat row, so an operator on any host
(`newsbot status`, /status) sees which processes run where, with which shards and roles.

A row not renewed for EXPIRE_SECONDS is a dead process's (killed, host gone): it is no
longer shown, and the next heartbeat of any process deletes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

from bot.store.database import Clock, Database

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0  # each process renews its row this often
EXPIRE_SECONDS = 30  # a row not renewed for this long belongs to a dead process


@dataclass(frozen=True, slots=True)
class Process:
    holder: str  # the process's lease holder name: matches `leases.holder`
    host: str
    pid: int
    shards: str  # "all", or "0, 2 of 4"
    roles: str  # the roles it competes for (PostgreSQL) or has (SQLite), comma-separated
    started_at: int
    last_seen: int


class Processes:
    def __init__(self, db: Database, clock: Clock, holder: str) -> None:
        self.db = db
        self.clock = clock
        self.holder = holder

    @contextlib.asynccontextmanager
    async def registered(self, shards: str, roles: str) -> AsyncIterator[None]:
        """This process shown as live while the block runs; its row deleted on a clean exit."""
        started = int(self.clock())
        await self._beat(shards, roles, started)
        task = asyncio.create_task(self._keep(shards, roles, started), name="heartbeat")
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            with contextlib.suppress(Exception):  # else it expires by itself
                async with self.db.transaction():
                    await self.db.execute("DELETE FROM processes WHERE holder = ?", [self.holder])

    async def live(self) -> list[Process]:
        """The processes seen within EXPIRE_SECONDS, by host then start."""
        rows = await self.db.fetch(
            "SELECT holder, host, pid, shards, roles, started_at, last_seen FROM processes "
            "WHERE last_seen >= ? ORDER BY host, started_at, pid",
            [int(self.clock()) - EXPIRE_SECONDS],
        )
        return [Process(*(r[i] for i in range(7))) for r in rows]

    async def _keep(self, shards: str, roles: str, started: int) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await self._beat(shards, roles, started)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database away: the outage is said elsewhere
                log.debug("heartbeat not written: %s", exc)

    async def _beat(self, shards: str, roles: str, started: int) -> None:
        now = int(self.clock())
        async with self.db.transaction():
            await self.db.execute(
                "DELETE FROM processes WHERE last_seen < ?", [now - EXPIRE_SECONDS]
            )
            await self.db.execute(
                "INSERT INTO processes (holder, host, pid, shards, roles, started_at, last_seen) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (holder) DO UPDATE SET "
                "shards = excluded.shards, roles = excluded.roles, last_seen = excluded.last_seen",
                [self.holder, socket.gethostname(), os.getpid(), shards, roles, started, now],
            )
