"""The process's Prometheus metrics, in one place: what each one counts, and the few helpers
the code that counts calls.

The hot paths only increment or observe (a lock and an add); what needs the database or
another part's state (the outbox's depth, the oldest due post, follows and alerts, the
leases held, how long the loop has been blocked) is read when Prometheus scrapes, through
`LiveCollector`. Labels are bounded (kinds, outcomes, command names, roles, task names):
never a channel, a member or an article, whose numbers grow without end.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:  # the store counts here (bad files, rebuilds): no cycle, and no discord
    import discord

    from bot.store import Readings, Role

DELIVERIES = Counter(
    "newsbot_deliveries",
    "Delivery steps finished, by kind (post, reply, edit, delete, crosspost, thread, "
    "digest, alert) and outcome (done, retry, wait, pause, lost, give_up)",
    ["kind", "outcome"],
)
INTERACTIONS = Histogram(
    "newsbot_interaction_seconds",
    "Slash commands from the bot's receipt to the end of their answer, by command",
    ["command"],
    buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0),
)
LOOP_LAG = Histogram(
    "newsbot_event_loop_lag_seconds",
    "How late the event loop woke a task sleeping 0.1 s (everything waits that long)",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
DATABASE_ERRORS = Counter(
    "newsbot_database_errors",
    "Rounds of background work the database could not serve, by task",
    ["task"],
)
OUTAGE_SECONDS = Counter(
    "newsbot_database_outage_seconds",
    "Seconds background work was held back by the database, counted when it answers again",
)
RESCANS = Counter("newsbot_store_rescans", "Full rescans of the store folder by this process")
BAD_FILES = Counter("newsbot_store_bad_files", "Store files skipped as bad, each time one was read")
ROUNDS = Counter(
    "newsbot_task_rounds",
    "Rounds of background work completed, by task (deliveries, alerts, digests, store "
    "rescan, publish requests); a deliverer's loop goes round at least once a poll",
    ["task"],
)
LAST_ROUND = Gauge(
    "newsbot_task_last_round_timestamp_seconds",
    "When each background task of this process last completed a round (Unix time)",
    ["task"],
)
SEARCH_GENERATION = Gauge(
    "newsbot_search_index_generation",
    "The last database change this process's search index applied",
)
SEARCH_REBUILDS = Counter(
    "newsbot_search_index_rebuilds", "Full rebuilds of this process's search index"
)

STARTED = "newsbot.received"  # interaction.extras key: when the bot received it


def received(interaction: discord.Interaction[Any]) -> None:
    """The start of an interaction's time, as the command tree takes it."""
    interaction.extras[STARTED] = time.perf_counter()


def answered(interaction: discord.Interaction[Any]) -> None:
    """A slash command's time, once it answered (or failed): observed by its name."""
    started = interaction.extras.get(STARTED)
    command = interaction.command
    if started is None or command is None:
        return
    INTERACTIONS.labels(command.qualified_name).observe(time.perf_counter() - started)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a scrape reads of the live process; `readings` is None when the database did
    not answer in time (or is not open yet)."""

    readings: Readings | None
    leases: dict[Role, int | None]  # the epoch each role is held at here; None: not held
    held_back: float  # seconds background work has waited for the database so far
    blocked: float  # seconds since the event loop last ran its stall monitor
    ready: bool


class LiveCollector(Collector):
    """Gauges read on each scrape through `read` (called in the scraping thread)."""

    def __init__(self, read: Callable[[], Snapshot]) -> None:
        self.read = read

    def describe(self) -> list[Metric]:
        """Nothing: registering must not read (the default would collect once, on the
        loop that the reads themselves need)."""
        return []

    def collect(self) -> Iterator[Metric]:
        now = self.read()
        yield _gauge("newsbot_ready", "1 when /readyz answers 200", now.ready)
        yield _gauge(
            "newsbot_event_loop_blocked_seconds",
            "Seconds since the event loop last ran (0 while it runs)",
            now.blocked,
        )
        yield _gauge(
            "newsbot_database_held_back_seconds",
            "Seconds background work has waited for the database so far (0: not waiting)",
            now.held_back,
        )
        held = GaugeMetricFamily(
            "newsbot_lease_held", "1 while this process holds the role", labels=["role"]
        )
        epoch = GaugeMetricFamily(
            "newsbot_lease_epoch",
            "The epoch this process holds the role's lease at (0 on SQLite); absent: not held",
            labels=["role"],
        )
        for role, at in sorted(now.leases.items()):
            held.add_metric([role.value], float(at is not None))
            if at is not None:
                epoch.add_metric([role.value], float(at))
        yield held
        yield epoch
        if now.readings is None:
            return
        depth = GaugeMetricFamily(
            "newsbot_outbox_rows",
            "Outbox rows waiting, by state (followup: a sent post owing its crosspost or thread)",
            labels=["state"],
        )
        for state, count in sorted(now.readings.outbox.items()):
            depth.add_metric([state], float(count))
        yield depth
        yield _gauge(
            "newsbot_outbox_oldest_due_seconds",
            "How long the oldest post due to be sent has waited (0: none)",
            now.readings.oldest_due,
        )
        yield _gauge("newsbot_follows", "Members' follows, all kinds", now.readings.follows)
        yield _gauge(
            "newsbot_alerts_waiting", "Alert DMs waiting to be sent", now.readings.alerts_waiting
        )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value))
