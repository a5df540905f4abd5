"""The gateway side of the stand-in: HELLO, IDENTIFY, READY, GUILD_CREATE, heartbeats,
and dispatching events to the session that owns the guild's shard (each guild's, when the
stand-in hosts more than one)."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web

from .world import World

__all__ = [
    "DM_SHARD_KEY",
    "INTENT_DIRECT_MESSAGES",
    "INTENT_GUILDS",
    "INTENT_GUILD_MESSAGES",
    "INTENT_MEMBERS",
    "Gateway",
    "Session",
]

HEARTBEAT_INTERVAL_MS = 41250
INTENT_GUILDS, INTENT_MEMBERS, INTENT_GUILD_MESSAGES = 1 << 0, 1 << 1, 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
DM_SHARD_KEY = 0  # DM events go to shard 0: broadcast them as for a guild whose id is 0


class Session:
    """One gateway connection (one bot process, or one shard of an AutoShardedBot)."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.seq = 0
        self.session_id = ""
        self.shard: tuple[int, int] = (0, 1)
        self.shard_given = False
        self.intents = 0
        self.ready = False
        self.identified_at = 0.0
        self._lock = asyncio.Lock()

    def owns(self, guild_id: int) -> bool:
        return (guild_id >> 22) % self.shard[1] == self.shard[0]

    async def send(self, payload: dict[str, Any]) -> None:
        async with self._lock:
            if not self.ws.closed:
                await self.ws.send_str(json.dumps(payload))

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        async with self._lock:
            if self.ws.closed:
                return
            self.seq += 1
            await self.ws.send_str(json.dumps({"op": 0, "t": event, "s": self.seq, "d": data}))


class Gateway:
    """Every connected session, the frames bots sent (``log``), and event dispatch."""

    def __init__(
        self, worlds: dict[int, World], application_id: int, url: Callable[[], str]
    ) -> None:
        self.worlds = worlds  # guild id -> guild, shared with the StandIn (the first is primary)
        self.world = next(iter(worlds.values()))
        self.application_id = application_id
        self._url = url  # the gateway URL is known only once the server listens
        self.log: list[dict[str, Any]] = []
        self.sessions: list[Session] = []
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return self._url()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve one websocket connection until the bot (or the stand-in) closes it."""
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        session = Session(ws)
        self.sessions.append(session)
        try:
            await session.send(
                {"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}, "s": None, "t": None}
            )
            async for msg in ws:
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    continue
                try:
                    frame = json.loads(msg.data)
                except ValueError:
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                self.log.append(frame)
                await self._on_frame(session, frame)
        finally:
            self.sessions.remove(session)
        return ws

    async def _on_frame(self, session: Session, frame: dict[str, Any]) -> None:
        op, data = frame.get("op"), frame.get("d")
        if op == 1:
            await session.send({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2 and isinstance(data, dict):
            await self._identify(session, data)
        elif op == 6:  # no resume support: tell the client to IDENTIFY afresh
            await session.send({"op": 9, "d": False, "s": None, "t": None})
        elif op == 8 and isinstance(data, dict):
            await self._request_members(session, data)
        elif op not in (3, 4):
            await session.ws.close(code=4001, message=b"Unknown opcode.")

    async def _identify(self, session: Session, data: dict[str, Any]) -> None:
        if session.session_id:
            await session.ws.close(code=4005, message=b"Already authenticated.")
            return
        if not data.get("token"):
            await session.ws.close(code=4004, message=b"Authentication failed.")
            return
        shard = data.get("shard")
        if shard is not None:
            shard_id, count = int(shard[0]), int(shard[1])
            if count < 1 or not 0 <= shard_id < count:
                await session.ws.close(code=4010, message=b"Invalid shard.")
                return
            session.shard, session.shard_given = (shard_id, count), True
        session.intents = int(data.get("intents") or 0)
        session.session_id = uuid.uuid4().hex
        owned = [w for w in self.worlds.values() if session.owns(w.guild_id)]
        ready: dict[str, Any] = {
            "v": 10,
            "user": dict(self.world.bot_user),
            "guilds": [{"id": str(w.guild_id), "unavailable": True} for w in owned],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self._url(),
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
        }
        if session.shard_given:
            ready["shard"] = list(session.shard)
        await session.dispatch("READY", ready)
        for world in owned:
            await session.dispatch("GUILD_CREATE", world.guild_payload(full=True))
        session.ready, session.identified_at = True, time.monotonic()

    async def _request_members(self, session: Session, data: dict[str, Any]) -> None:
        world = self.worlds.get(int(data.get("guild_id") or 0), self.world)
        members = list(world.members.values())
        wanted = data.get("user_ids")
        if wanted:
            ids = {int(u) for u in (wanted if isinstance(wanted, list) else [wanted])}
            members = [m for m in members if m.id in ids]
        elif data.get("query"):
            query = str(data["query"]).lower()
            members = [m for m in members if str(m.user["username"]).lower().startswith(query)]
        if data.get("limit"):
            members = members[: int(data["limit"])]
        await session.dispatch(
            "GUILD_MEMBERS_CHUNK",
            {
                "guild_id": str(world.guild_id),
                "members": [world.member_payload(m) for m in members],
                "chunk_index": 0,
                "chunk_count": 1,
                "not_found": [],
                "nonce": data.get("nonce"),
            },
        )

    def guild_sessions(self, guild_id: int | None = None) -> list[Session]:
        """Identified sessions that own the guild's shard (the primary guild by default)."""
        guild_id = self.world.guild_id if guild_id is None else guild_id
        return [s for s in self.sessions if s.ready and not s.ws.closed and s.owns(guild_id)]

    def broadcast(
        self, event: str, data: dict[str, Any], intent: int, guild_id: int | None = None
    ) -> None:
        """Send an event to every session that owns the guild's shard and asked for the intent
        (none for a server the bot is not in: `StandIn.add_outside_guild`)."""
        if guild_id and guild_id not in self.worlds:
            return
        targets = [s for s in self.guild_sessions(guild_id) if s.intents & intent]
        if not targets:
            return
        for session in targets:
            task = asyncio.get_running_loop().create_task(
                session.dispatch(event, copy.deepcopy(data))
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def owner(self, timeout: float, guild_id: int | None = None) -> Session:
        """The session interactions go to: the newest one that owns the guild's shard."""
        deadline = time.monotonic() + timeout
        while True:
            sessions = self.guild_sessions(guild_id)
            if sessions:
                return max(sessions, key=lambda s: s.identified_at)
            if time.monotonic() >= deadline:
                raise RuntimeError("no connected bot session owns the guild's shard")
            await asyncio.sleep(0.02)

    async def drop(self, code: int) -> int:
        sessions = list(self.sessions)
        for session in sessions:
            await session.ws.close(code=code, message=b"stand-in dropped the connection")
        return len(sessions)

    async def close(self) -> None:
        for session in list(self.sessions):
            with contextlib.suppress(Exception):
                await session.ws.close(code=1001, message=b"stand-in closing")
        for task in list(self._tasks):
            task.cancel()
