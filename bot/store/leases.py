"""Roles by lease: exactly one process scans the store folder and exactly one delivers.

On PostgreSQL, the `leases` table holds the two roles. A process takes a free lease (or
one not renewed for LEASE_SECONDS) at start and renews it every RENEW_SECONDS; a standby
tries every TRY_SECONDS, so a dead holder's role is taken over within LEASE_SECONDS + 1 s.

Every change of holder bumps the lease's epoch: the fencing token. The deliverer's outbox
writes check it in their own transaction (`fence`), so a process that lost its lease (one
frozen, then resumed) has every write refused. It also stops acting on its own: a holder
trusts its lease only until MARGIN seconds before anyone could take it over (`holds`),
measured from the moment it asked to renew on a clock that keeps counting while the process
is frozen or the host suspended (`_elapsed`). That is enough to fence Discord requests
without a database round trip each: a standby takes over only once the lease went
unrenewed for LEASE_SECONDS by the database's clock, counted from a renewal that happened
after we asked, so our trust always ends first. A delivery checks it (`check`) right before
every Discord request.

On SQLite (one host) there is nothing to elect: the roles are the process's own, as
configured, and `holds` answers from that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from enum import StrEnum

from bot.errors import DeskUnavailable
from bot.store.database import Database

log = logging.getLogger(__name__)

LEASE_SECONDS = 12.0  # not renewed for this long: taken over (within LEASE_SECONDS + TRY_SECONDS)
RENEW_SECONDS = 2.0  # the holder renews this often
TRY_SECONDS = 1.0  # a standby tries to take the lease this often
MARGIN = 3.0  # the holder stops acting this long before its lease could be taken


class Role(StrEnum):
    SCANNER = "scanner"  # the one process that reads and writes the store folder
    DELIVERER = "deliverer"  # the one process that sends posts


class LeaseLost(Exception):
    """This process no longer holds the role: the write was refused (fenced)."""

    def __init__(self, role: Role) -> None:
        super().__init__(f"the {role} lease is held by another process")
        self.role = role


def _elapsed() -> float:
    """Seconds on a clock that also counts a suspended host (CLOCK_BOOTTIME; monotonic
    elsewhere): a lease trusted by a clock that stood still would outlive its term."""
    if hasattr(time, "CLOCK_BOOTTIME"):
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    return time.monotonic()


@dataclass(frozen=True, slots=True)
class LeaseState:
    """One role's lease as the database has it (`newsbot status`, /status)."""

    role: Role
    holder: str | None  # None: released, free to take
    epoch: int
    expires_at: float  # unix seconds: another process may take it over from then


@dataclass(slots=True)
class _Held:
    epoch: int
    trusted_until: float  # by _elapsed()


class Leases:
    """This process's roles: held by lease (PostgreSQL) or simply its own (SQLite)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.elected = db.kind == "postgresql"
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._wanted: set[Role] = set()
        self.competing = False  # inside `holding()`: a bot process, not a one-off command
        self._held: dict[Role, _Held] = {}
        self._gained = {role: asyncio.Event() for role in Role}

    def holds(self, role: Role) -> bool:
        """May this process act in `role` right now?"""
        if not self.elected:
            return role in self._wanted
        held = self._held.get(role)
        return held is not None and _elapsed() < held.trusted_until

    def epoch(self, role: Role) -> int | None:
        """The epoch this process holds `role` at (0 where roles are not elected), or None
        when it may not act in that role now (metrics show it)."""
        if not self.holds(role):
            return None
        held = self._held.get(role)
        return held.epoch if held is not None else 0

    def check(self, role: Role) -> None:
        """Raise LeaseLost unless this process may act in `role` right now: called before
        each Discord request a delivery makes, which no database write can fence."""
        if not self.holds(role):
            raise LeaseLost(role)

    async def wait_for(self, role: Role) -> None:
        """Until this process holds `role`."""
        while not self.holds(role):
            self._gained[role].clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._gained[role].wait(), TRY_SECONDS)

    @contextlib.asynccontextmanager
    async def holding(self, roles: Iterable[Role]) -> AsyncIterator[None]:
        """Compete for `roles` while the block runs (a first try before it starts); released
        on exit, so a standby takes over at once after a clean shutdown."""
        self._wanted = set(roles)
        if not self.elected:
            yield
            return
        wanted = ", ".join(sorted(self._wanted)) or "no role"
        log.info("competing for %s as lease holder %s", wanted, self.holder)
        self.competing = True
        for role in sorted(self._wanted):
            with contextlib.suppress(Exception):
                await self._try(role)
        tasks = [asyncio.create_task(self._keep(r), name=f"lease-{r}") for r in self._wanted]
        try:
            yield
        finally:
            self.competing = False
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for role in list(self._held):
                with contextlib.suppress(Exception):
                    await self._release(role)

    async def holders(self) -> dict[Role, str | None]:
        """Who holds each role now, by the database (operators and tests ask)."""
        if not self.elected:
            return {}
        rows = await self.db.fetch("SELECT role, holder FROM leases ORDER BY role")
        return {Role(r[0]): r[1] for r in rows}

    async def states(self) -> list[LeaseState]:
        """Each role's lease: who holds it, its epoch and when it could be taken over.
        Empty where roles are not elected (SQLite)."""
        if not self.elected:
            return []
        rows = await self.db.fetch(
            "SELECT role, holder, epoch, renewed_at FROM leases ORDER BY role"
        )
        return [LeaseState(Role(r[0]), r[1], r[2], r[3] + LEASE_SECONDS) for r in rows]

    async def fence(self, role: Role) -> None:
        """Inside a write transaction: refuse it (LeaseLost) unless this process still holds
        `role` with the epoch it took it at. A no-op where roles are not elected."""
        if not self.elected or role not in self._wanted:
            return  # roles are not elected here, or this process never competes for it
        held = self._held.get(role)
        row = await self.db.fetch("SELECT holder, epoch FROM leases WHERE role = ?", [role])
        if held is None or not row or (row[0][0], row[0][1]) != (self.holder, held.epoch):
            self._lose(role)
            raise LeaseLost(role)

    # ------------------------------------------------------------------ the lease itself

    async def _keep(self, role: Role) -> None:
        while True:
            try:
                await self._try(role)
            except asyncio.CancelledError:
                raise
            except DeskUnavailable:  # said once a minute by the backend and the deliverer
                pass
            except Exception as exc:  # trusted_until runs out alone
                log.warning("could not renew or take the %s lease: %s", role, exc)
            await asyncio.sleep(RENEW_SECONDS if role in self._held else TRY_SECONDS)

    async def _try(self, role: Role) -> bool:
        """Renew the lease we hold, or take a free or expired one."""
        asked_at = _elapsed()
        held = self._held.get(role)
        async with self.db.transaction():
            now = await self.db.clock()
            rows = await self.db.fetch(
                "SELECT holder, epoch, renewed_at FROM leases WHERE role = ?", [role]
            )
            if held is not None and rows and (rows[0][0], rows[0][1]) == (self.holder, held.epoch):
                await self.db.execute(
                    "UPDATE leases SET renewed_at = ? WHERE role = ?", [now, role]
                )
                epoch = held.epoch
            elif rows and rows[0][0] is not None and rows[0][2] > now - LEASE_SECONDS:
                epoch = 0  # another process holds it
            else:
                epoch = (rows[0][1] if rows else 0) + 1
                await self.db.execute(
                    "INSERT INTO leases (role, holder, epoch, renewed_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (role) DO UPDATE SET holder = excluded.holder, "
                    "epoch = excluded.epoch, renewed_at = excluded.renewed_at",
                    [role, self.holder, epoch, now],
                )
        if not epoch:
            self._lose(role)
            return False
        if held is None or held.epoch != epoch:
            log.info("took the %s lease (epoch %d)", role, epoch)
        self._held[role] = _Held(epoch, asked_at + LEASE_SECONDS - MARGIN)
        self._gained[role].set()
        return True

    async def _release(self, role: Role) -> None:
        held = self._held.pop(role, None)
        if held is None:
            return
        async with self.db.transaction():
            await self.db.execute(
                "UPDATE leases SET holder = NULL, renewed_at = 0 "
                "WHERE role = ? AND holder = ? AND epoch = ?",
                [role, self.holder, held.epoch],
            )
        log.info("released the %s lease", role)

    def _lose(self, role: Role) -> None:
        if self._held.pop(role, None) is not None:
            log.warning("lost the %s lease: another process holds it now", role)
        self._gained[role].clear()
