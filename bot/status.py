"""What an operator asks first, from any host and without Discord: which processes are
live, who holds the scanner and deliverer roles, how the outbox stands, which channels are
paused, the last rescan and the bad files. `newsbot status` prints it; /status shows the
processes and roles in the same words (`process_lines`, `lease_lines`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.store import Process, Store
from bot.store.leases import LeaseState
from bot.store.outbox_rows import ChannelHealth, DeliveryState

When = Callable[[float], str]  # a unix time, as the reader is shown it


@dataclass(frozen=True, slots=True)
class HostsStatus:
    database: str  # the database's name, password hidden
    elected: bool  # roles held by lease (PostgreSQL), or each process's own (SQLite)
    processes: list[Process]
    leases: list[LeaseState]
    outbox: dict[DeliveryState, int]
    paused: list[ChannelHealth]
    last_sync: dict[str, Any] | None
    bad_files: list[tuple[str, str]]
    now: float


async def gather(store: Store, database: str = "") -> HostsStatus:
    queue = await store.outbox.health()
    return HostsStatus(
        database=database,
        elected=store.leases.elected,
        processes=await store.processes.live(),
        leases=await store.leases.states(),
        outbox=await store.outbox.state_counts(),
        paused=[channel for channel in queue.channels if channel.paused_reason],
        last_sync=await store.articles.last_sync(),
        bad_files=await store.articles.bad_files(),
        now=store.clock(),
    )


def utc(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def process_lines(processes: list[Process], when: When) -> list[str]:
    """One line per live process, named as the leases name their holder (host:pid:id):
    its shards, the roles it runs for, when it started."""
    if not processes:
        return ["no live process (no bot runs on this database)"]
    return [
        f"{p.holder}: shards {p.shards}; roles {p.roles or 'none'}; started {when(p.started_at)}"
        for p in processes
    ]


def lease_lines(status: HostsStatus, when: When) -> list[str]:
    """Who holds each role, its epoch and expiry; on SQLite, that roles are not elected."""
    if not status.elected:
        return ["roles are not elected on SQLite: each process acts as configured"]
    lines = []
    for lease in status.leases:
        if lease.holder is None or lease.expires_at <= status.now:
            lines.append(f"{lease.role}: free (epoch {lease.epoch})")
            continue
        lines.append(
            f"{lease.role}: held by {lease.holder}, epoch {lease.epoch}, "
            f"expires {when(lease.expires_at)} unless renewed"
        )
    held = {lease.role for lease in status.leases}
    lines += [f"{role}: never taken" for role in ("deliverer", "scanner") if role not in held]
    return sorted(lines)


def outbox_line(outbox: dict[DeliveryState, int]) -> str:
    if not outbox:
        return "empty"
    return ", ".join(f"{outbox.get(state, 0)} {state}" for state in DeliveryState)


def status_text(status: HostsStatus) -> str:
    """`newsbot status`: plain lines, times in UTC."""
    lines = [f"database: {status.database}", "", "processes (host:pid:id):"]
    lines += [f"  {line}" for line in process_lines(status.processes, utc)]
    lines += ["", "roles:"] + [f"  {line}" for line in lease_lines(status, utc)]
    lines += ["", f"outbox: {outbox_line(status.outbox)}"]
    lines.append(f"paused channels: {len(status.paused) or 'none'}")
    lines += [f"  {c.channel_id}: {c.paused_reason}" for c in status.paused]
    last = status.last_sync
    if last:
        at = datetime.fromisoformat(last["at"]).astimezone(UTC).timestamp()
        lines.append(
            f"last rescan: {utc(at)}: {last['scanned']} files, {last['loaded']} read, "
            f"{len(status.bad_files)} bad"
        )
    else:
        lines.append("last rescan: never (the store is not loaded yet)")
    lines += [f"  bad: {error}" for _, error in status.bad_files]
    return "\n".join(lines)
