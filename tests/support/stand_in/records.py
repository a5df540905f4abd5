"""What the stand-in keeps about requests, messages and interactions, and the live
``InteractionResult`` view tests read."""

from __future__ import annotations

import asyncio
import copy
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "COMPONENTS_V2",
    "CROSSPOSTED",
    "EPHEMERAL",
    "LOADING",
    "SENDABLE_FLAGS",
    "SILENT",
    "SUPPRESS_EMBEDS",
    "Fault",
    "Files",
    "Handler",
    "InteractionNotAnswered",
    "InteractionRecord",
    "InteractionResult",
    "Params",
    "Recorded",
    "Reply",
    "StoredMessage",
]

# message flags
CROSSPOSTED = 1 << 0
SUPPRESS_EMBEDS, EPHEMERAL, LOADING, SILENT, COMPONENTS_V2 = (
    1 << 2,
    1 << 6,
    1 << 7,
    1 << 12,
    1 << 15,
)
SENDABLE_FLAGS = SUPPRESS_EMBEDS | EPHEMERAL | SILENT | COMPONENTS_V2


class InteractionNotAnswered(AssertionError):
    """The bot sent no callback in time (or every callback it sent was refused)."""


@dataclass
class Recorded:
    """One REST request as the stand-in saw it.

    ``status`` is what was answered (or would have been, for a request whose connection
    ``drop_after_commit`` cut: those also have ``dropped=True``); ``time`` is ``time.monotonic()``
    at arrival.
    """

    method: str
    path: str
    query: dict[str, str]
    json: Any | None
    status: int
    headers: dict[str, str]
    time: float
    dropped: bool = False
    answer_headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    """A queued ``fail_next`` / ``drop_after_commit``: consumed as matching requests arrive."""

    method: str
    pattern: re.Pattern[str]
    remaining: int
    status: int = 0
    retry_after: float = 0.3
    code: int = 0
    until: float = float("inf")  # time.monotonic() after which it matches nothing

    def matches(self, method: str, path: str) -> bool:
        return (
            self.remaining > 0
            and time.monotonic() < self.until
            and self.method in ("*", method)
            and self.pattern.search(path) is not None
        )


@dataclass
class StoredMessage:
    """A message as Discord stores it; ``data`` is the live payload that edits change."""

    data: dict[str, Any]
    in_channel: bool  # posted with POST /channels/{id}/messages (not an interaction reply)
    deleted: bool = False

    @property
    def id(self) -> int:
        return int(self.data["id"])

    @property
    def ephemeral(self) -> bool:
        return bool(int(self.data.get("flags") or 0) & EPHEMERAL)


@dataclass
class InteractionRecord:
    """One interaction sent to a bot and everything the bot answered for it."""

    id: int
    token: str
    kind: int  # 2 application command, 3 component, 4 autocomplete
    channel_id: int
    user_id: int
    sent_at: float
    source_message_id: int | None = None
    callback_type: int | None = None
    callback_data: dict[str, Any] = field(default_factory=dict)
    attempts: list[Recorded] = field(default_factory=list)
    original_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    edited: bool = False
    inflight: int = 0
    last_activity: float = 0.0
    guild_id: int = 0  # 0 in a DM or group DM
    shard: tuple[int, int] = (0, 1)  # the gateway session it was dispatched to
    context: int = 0  # 0 a server, 1 the DM with the bot, 2 a group DM (see installs)
    owners: dict[str, str] = field(default_factory=dict)  # authorizing_integration_owners
    forced_ephemeral: bool = False  # Discord makes every answer to it ephemeral


MessageLookup = Callable[[int | None], dict[str, Any] | None]


class InteractionResult:
    """A live view of one interaction: what the bot answered, edited and followed up with.

    Properties read the current state, so ``original`` reflects later PATCH @original edits.
    """

    def __init__(self, record: InteractionRecord, lookup: MessageLookup) -> None:
        self._rec = record
        self._lookup = lookup  # message id -> a copy of the current message (None: gone)

    @property
    def id(self) -> int:
        return self._rec.id

    @property
    def token(self) -> str:
        return self._rec.token

    @property
    def guild_id(self) -> int:
        return self._rec.guild_id

    @property
    def shard(self) -> tuple[int, int]:
        """(shard id, shard count) of the gateway session Discord dispatched it to."""
        return self._rec.shard

    @property
    def acknowledged(self) -> bool:
        return self._rec.callback_type is not None

    @property
    def type(self) -> int | None:
        """Accepted callback type: 4 message, 5 deferred, 6 deferred update, 7 update, 8 choices."""
        return self._rec.callback_type

    @property
    def data(self) -> dict[str, Any]:
        """The accepted callback's ``data`` (content, embeds, components, flags, choices...)."""
        return copy.deepcopy(self._rec.callback_data)

    @property
    def deferred(self) -> bool:
        return self._rec.callback_type in (5, 6)

    @property
    def ephemeral(self) -> bool:
        original = self._lookup(self._rec.original_id)
        if original is not None:
            return bool(int(original.get("flags") or 0) & EPHEMERAL)
        return bool(int(self._rec.callback_data.get("flags") or 0) & EPHEMERAL)

    @property
    def original(self) -> dict[str, Any] | None:
        """The current reply message (for 6/7: the message the component was on)."""
        return self._lookup(self._rec.original_id)

    @property
    def message(self) -> dict[str, Any] | None:
        """Alias of ``original``: the reply message (with ``id``), ready for ``click``."""
        return self.original

    @property
    def followups(self) -> list[dict[str, Any]]:
        out = [self._lookup(i) for i in self._rec.followup_ids]
        return [m for m in out if m is not None]

    @property
    def choices(self) -> list[dict[str, Any]]:
        return list(self.data.get("choices") or [])

    @property
    def answered_after(self) -> float | None:
        """Seconds from the dispatch (INTERACTION_CREATE) to the first accepted callback
        reaching Discord: what a user waits for. None when none was accepted."""
        accepted = [a.time for a in self._rec.attempts if 200 <= a.status < 300]
        return min(accepted) - self._rec.sent_at if accepted else None

    @property
    def attempts(self) -> list[Recorded]:
        """Every callback request for this interaction, accepted or refused."""
        return list(self._rec.attempts)

    def __repr__(self) -> str:
        return f"<InteractionResult id={self.id} type={self.type} ephemeral={self.ephemeral}>"


Params = dict[str, str]  # path parameters of a matched route
Files = list[dict[str, Any]]  # metadata of uploaded files
Reply = tuple[int, Any]  # status and JSON body (None: no body)
Handler = Callable[[Recorded, Params, Files], Awaitable[Reply]]


@dataclass
class Hold:
    """A queued ``hold_answer``: the request is applied, then its answer waits for release.

    Models a request in flight: Discord has done it, the bot has not heard back yet.
    """

    method: str
    pattern: re.Pattern[str]
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    taken: bool = False

    def matches(self, method: str, path: str) -> bool:
        return not self.taken and self.method == method and self.pattern.search(path) is not None

    def release(self) -> None:
        self.released.set()
