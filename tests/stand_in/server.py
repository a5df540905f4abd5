"""StandIn: an aiohttp server on 127.0.0.1 that real discord.py 2.7 logs in to.

It speaks enough REST v10 and Gateway v10 (plain JSON text frames) for a ``commands.Bot``
or ``AutoShardedBot`` to connect, sync app commands, receive interactions and post, edit
and delete messages, and it enforces Discord's rules (body limits, one callback per
interaction within 3 s, nonces, permissions, rate limits) so tests catch what Discord
would refuse. Tests drive the bot with :meth:`StandIn.slash`, :meth:`StandIn.click` and
:meth:`StandIn.autocomplete`, and read what happened from ``requests``, ``messages()``
and ``gateway_log``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import http
import json
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from .ratelimit import RateLimiter, too_many_headers
from .validation import ApiError, validate_choices, validate_commands, validate_message
from .world import Channel, Perm, Snowflakes, World, iso_now

__all__ = ["InteractionNotAnswered", "InteractionResult", "Recorded", "StandIn"]

API_PREFIX = "/api/v10"
HEARTBEAT_INTERVAL_MS = 41250
INTERACTION_DEADLINE = 3.0  # seconds Discord waits for the initial callback
NONCE_WINDOW = 300.0  # enforce_nonce de-duplicates within 5 minutes
QUIET = 0.2  # an interaction has "settled" after this long without webhook traffic

INTENT_GUILDS, INTENT_MEMBERS, INTENT_GUILD_MESSAGES = 1 << 0, 1 << 1, 1 << 9
SUPPRESS_EMBEDS, EPHEMERAL, LOADING, SILENT, COMPONENTS_V2 = (
    1 << 2,
    1 << 6,
    1 << 7,
    1 << 12,
    1 << 15,
)
SENDABLE_FLAGS = SUPPRESS_EMBEDS | EPHEMERAL | SILENT | COMPONENTS_V2
CALLBACK_TYPES = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}}  # interaction type -> allowed callbacks
SELECT_TYPES = (3, 5, 6, 7, 8)


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
class _Fault:
    method: str
    pattern: re.Pattern[str]
    remaining: int
    status: int = 0
    retry_after: float = 0.3
    code: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (
            self.remaining > 0
            and self.method in ("*", method)
            and self.pattern.search(path) is not None
        )


@dataclass
class _Message:
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
class _Interaction:
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


class _Session:
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


class InteractionResult:
    """A live view of one interaction: what the bot answered, edited and followed up with.

    Properties read the current state, so ``original`` reflects later PATCH @original edits.
    """

    def __init__(self, stand_in: StandIn, record: _Interaction) -> None:
        self._stand_in = stand_in
        self._rec = record

    @property
    def id(self) -> int:
        return self._rec.id

    @property
    def token(self) -> str:
        return self._rec.token

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
        original = self._stand_in._message_data(self._rec.original_id)
        if original is not None:
            return bool(int(original.get("flags") or 0) & EPHEMERAL)
        return bool(int(self._rec.callback_data.get("flags") or 0) & EPHEMERAL)

    @property
    def original(self) -> dict[str, Any] | None:
        """The current reply message (for 6/7: the message the component was on)."""
        return self._stand_in._message_data(self._rec.original_id)

    @property
    def message(self) -> dict[str, Any] | None:
        """Alias of ``original``: the reply message (with ``id``), ready for ``click``."""
        return self.original

    @property
    def followups(self) -> list[dict[str, Any]]:
        out = [self._stand_in._message_data(i) for i in self._rec.followup_ids]
        return [m for m in out if m is not None]

    @property
    def choices(self) -> list[dict[str, Any]]:
        return list(self.data.get("choices") or [])

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


def _find_component(components: Sequence[Any], custom_id: str) -> dict[str, Any] | None:
    for comp in components:
        if not isinstance(comp, dict):
            continue
        if comp.get("custom_id") == custom_id:
            return comp
        for key in ("components", "accessory"):
            inner = comp.get(key)
            found = _find_component(inner if isinstance(inner, list) else [inner], custom_id)
            if found is not None:
                return found
    return None


class StandIn:
    """Discord for tests: ``async with StandIn() as d:``, or ``start()`` / ``close()``."""

    def __init__(
        self, *, rate_limits: bool = False, latency: float = 0.0, recommended_shards: int = 1
    ) -> None:
        self.rate_limits = rate_limits
        self.latency = latency
        self.recommended_shards = recommended_shards
        self._ids = Snowflakes()
        self.application_id = self._ids.next()
        self.bot_user_id = self.application_id  # like a modern Discord app: bot user id == app id
        self.world = World(self._ids, self.bot_user_id, "newsbot")
        self.guild_id = self.world.guild_id
        self.requests: list[Recorded] = []
        self.gateway_log: list[dict[str, Any]] = []
        self.sync_count = 0
        self.rate_limited_count = 0
        self._commands: dict[int | None, list[dict[str, Any]]] = {}
        self._messages: dict[int, _Message] = {}
        self._nonces: dict[tuple[int, int, str], tuple[int, float]] = {}
        self._interactions: dict[int, _Interaction] = {}
        self._by_token: dict[str, _Interaction] = {}
        self._faults: list[_Fault] = []
        self._drops: list[_Fault] = []
        self._sessions: list[_Session] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._limiter = RateLimiter()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._routes: list[tuple[str, re.Pattern[str], str, Handler]] = []
        self._build_routes()

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/", self._gateway)
        app.router.add_route("*", "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def close(self) -> None:
        for session in list(self._sessions):
            with contextlib.suppress(Exception):
                await session.ws.close(code=1001, message=b"stand-in closing")
        for task in list(self._tasks):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> StandIn:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- the guild --------------------------------------------------------------------------

    def add_channel(
        self, name: str, *, bot_can_send: bool = True, bot_can_embed: bool = True
    ) -> int:
        """A text channel; the bot is denied SEND_MESSAGES / EMBED_LINKS there when asked."""
        channel = self.world.add_channel(
            name, bot_can_send=bot_can_send, bot_can_embed=bot_can_embed
        )
        self._broadcast("CHANNEL_CREATE", self.world.channel_payload(channel), INTENT_GUILDS)
        return channel.id

    def delete_channel(self, channel_id: int) -> None:
        """Later REST calls to it answer 404 10003; connected bots get CHANNEL_DELETE."""
        channel = self.world.channels[channel_id]
        payload = self.world.channel_payload(channel)
        channel.deleted = True
        self._broadcast("CHANNEL_DELETE", payload, INTENT_GUILDS)

    def add_role(self, name: str, permissions: int = 0) -> int:
        role = self.world.add_role(name, permissions)
        self._broadcast(
            "GUILD_ROLE_CREATE",
            {"guild_id": str(self.guild_id), "role": self.world.role_payload(role)},
            INTENT_GUILDS,
        )
        return role.id

    def add_member(self, name: str, *, permissions: int = 0, roles: Sequence[int] = ()) -> int:
        """A guild member (returns the user id); ``permissions`` come through a role of its own."""
        role_ids = list(roles)
        if permissions:
            role_ids.append(self.add_role(f"{name} permissions", permissions))
        member = self.world.add_member(name, role_ids)
        payload = self.world.member_payload(member) | {"guild_id": str(self.guild_id)}
        self._broadcast("GUILD_MEMBER_ADD", payload, INTENT_MEMBERS)
        return member.id

    # --- what happened ----------------------------------------------------------------------

    def messages(
        self, channel_id: int, *, include_interactions: bool = False
    ) -> list[dict[str, Any]]:
        """Current messages in the channel, oldest first: channel posts only, unless
        ``include_interactions`` adds the non-ephemeral interaction replies and follow-ups."""
        out = [
            copy.deepcopy(m.data)
            for m in self._messages.values()
            if not m.deleted
            and int(m.data["channel_id"]) == channel_id
            and (m.in_channel or (include_interactions and not m.ephemeral))
        ]
        return sorted(out, key=lambda d: int(d["id"]))

    def all_posts(self) -> dict[int, list[dict[str, Any]]]:
        """channel_id -> current channel posts, for every channel that has at least one."""
        ids = {
            int(m.data["channel_id"])
            for m in self._messages.values()
            if m.in_channel and not m.deleted
        }
        return {cid: self.messages(cid) for cid in sorted(ids)}

    def commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        """Registered application commands: global when ``guild_id`` is None."""
        return copy.deepcopy(self._commands.get(guild_id, []))

    def _message_data(self, message_id: int | None) -> dict[str, Any] | None:
        msg = self._messages.get(message_id) if message_id is not None else None
        return None if msg is None or msg.deleted else copy.deepcopy(msg.data)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10) -> None:
        """Poll ``predicate`` until it holds; TimeoutError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            await asyncio.sleep(0.02)

    # --- faults -------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        *,
        times: int = 1,
        retry_after: float = 0.3,
        code: int = 0,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` without applying them."""
        self._faults.append(
            _Fault(method.upper(), re.compile(path_regex), times, status, retry_after, code)
        )

    def drop_after_commit(self, method: str, path_regex: str, *, times: int = 1) -> None:
        """Apply the next ``times`` matching requests, then cut the connection unanswered."""
        self._drops.append(_Fault(method.upper(), re.compile(path_regex), times))

    async def drop_gateway(self, *, code: int = 4000) -> int:
        """Close every gateway connection as an outage would; returns how many were closed.

        discord.py then tries RESUME, is told INVALID_SESSION and IDENTIFYs afresh (after
        its ``before_identify_hook``, which sleeps 5 s by default).
        """
        sessions = list(self._sessions)
        for session in sessions:
            await session.ws.close(code=code, message=b"stand-in dropped the connection")
        return len(sessions)

    @staticmethod
    def _take(faults: list[_Fault], method: str, path: str) -> _Fault | None:
        for fault in faults:
            if fault.matches(method, path):
                fault.remaining -= 1
                return fault
        return None

    def _fault_answer(self, fault: _Fault) -> tuple[int, Any, dict[str, str]]:
        status = fault.status
        if status == 429:
            body: dict[str, Any] = {
                "message": "You are being rate limited.",
                "retry_after": fault.retry_after,
                "global": False,
            }
            if fault.code:
                body["code"] = fault.code
            headers = too_many_headers(fault.retry_after, "user") | {
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{time.time() + fault.retry_after:.3f}",
                "X-RateLimit-Reset-After": f"{fault.retry_after:.3f}",
            }
            return status, body, headers
        phrase = (
            http.HTTPStatus(status).phrase
            if status in http.HTTPStatus._value2member_map_
            else "Error"
        )
        message = "Missing Permissions" if fault.code == 50013 else f"{status}: {phrase}"
        return status, {"message": message, "code": fault.code}, {}

    # --- REST plumbing ------------------------------------------------------------------------

    def _build_routes(self) -> None:
        table: list[tuple[str, str, Handler]] = [
            ("GET", "/gateway", self._get_gateway),
            ("GET", "/gateway/bot", self._get_gateway_bot),
            ("GET", "/users/@me", self._get_me),
            ("GET", "/oauth2/applications/@me", self._get_application),
            ("GET", "/applications/@me", self._get_application),
            ("GET", "/applications/{application_id}/commands", self._get_commands),
            ("PUT", "/applications/{application_id}/commands", self._put_commands),
            ("POST", "/applications/{application_id}/commands", self._post_command),
            ("GET", "/applications/{application_id}/commands/{command_id}", self._get_command),
            (
                "DELETE",
                "/applications/{application_id}/commands/{command_id}",
                self._delete_command,
            ),
            (
                "GET",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                self._get_commands,
            ),
            (
                "PUT",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                self._put_commands,
            ),
            (
                "POST",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                self._post_command,
            ),
            (
                "GET",
                "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}",
                self._get_command,
            ),
            (
                "DELETE",
                "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}",
                self._delete_command,
            ),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self._callback),
            ("POST", "/webhooks/{application_id}/{token}", self._post_followup),
            (
                "GET",
                "/webhooks/{application_id}/{token}/messages/{message_id}",
                self._get_webhook_message,
            ),
            (
                "PATCH",
                "/webhooks/{application_id}/{token}/messages/{message_id}",
                self._patch_webhook_message,
            ),
            (
                "DELETE",
                "/webhooks/{application_id}/{token}/messages/{message_id}",
                self._delete_webhook_message,
            ),
            ("GET", "/channels/{channel_id}", self._get_channel),
            ("GET", "/channels/{channel_id}/messages", self._get_messages),
            ("POST", "/channels/{channel_id}/messages", self._post_message),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._get_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._patch_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self._delete_message),
            ("POST", "/channels/{channel_id}/typing", self._typing),
            ("GET", "/guilds/{guild_id}", self._get_guild),
            ("GET", "/guilds/{guild_id}/channels", self._get_guild_channels),
            ("GET", "/guilds/{guild_id}/roles", self._get_guild_roles),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self._get_member),
        ]
        for method, template, handler in table:
            pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
            self._routes.append((method, re.compile(f"^{pattern}$"), template, handler))

    def _match(self, method: str, path: str) -> tuple[str, Handler, dict[str, str]] | None:
        for route_method, pattern, template, handler in self._routes:
            if route_method != method:
                continue
            m = pattern.match(path)
            if m is not None:
                return template, handler, m.groupdict()
        return None

    @staticmethod
    async def _read_body(request: web.Request) -> tuple[Any, list[dict[str, Any]]]:
        """JSON body, or a multipart form's ``payload_json`` plus its files' metadata."""
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            payload: Any = None
            files: list[dict[str, Any]] = []
            while (part := await reader.next()) is not None:
                if not isinstance(part, aiohttp.BodyPartReader):
                    continue
                if part.name == "payload_json":
                    payload = json.loads(await part.text())
                else:
                    raw = await part.read()
                    files.append(
                        {
                            "filename": part.filename or "file",
                            "size": len(raw),
                            "content_type": part.headers.get(
                                "Content-Type", "application/octet-stream"
                            ),
                        }
                    )
            return payload, files
        raw = await request.read()
        if not raw:
            return None, []
        try:
            return json.loads(raw), []
        except ValueError:
            return None, []

    def _touch(self, path: str, delta: int) -> None:
        """Track webhook/callback traffic per interaction so results know when it settles."""
        m = re.match(r"^/(?:interactions/\d+|webhooks/\d+)/([^/]+)", path)
        rec = self._by_token.get(m.group(1)) if m else None
        if rec is not None:
            rec.inflight += delta
            rec.last_activity = time.monotonic()

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        method = request.method.upper()
        path = (
            request.path[len(API_PREFIX) :] if request.path.startswith(API_PREFIX) else request.path
        )
        body, files = await self._read_body(request)
        rec = Recorded(
            method, path, dict(request.query), body, 0, dict(request.headers), time.monotonic()
        )
        self.requests.append(rec)
        self._touch(path, +1)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            status, answer, headers = await self._answer(request, rec, files)
        finally:
            self._touch(path, -1)
        rec.status, rec.answer_headers = status, dict(headers)
        if status == 429:
            self.rate_limited_count += 1
        if status != 429 and self._take(self._drops, method, path) is not None:
            rec.dropped = True
            if request.transport is not None:
                request.transport.abort()
            raise web.HTTPInternalServerError()  # never reaches the client: the socket is gone
        if answer is None:
            return web.Response(status=status, headers=headers)
        return web.Response(
            status=status,
            body=json.dumps(answer).encode(),
            headers=headers | {"Content-Type": "application/json"},
        )

    async def _answer(
        self, request: web.Request, rec: Recorded, files: list[dict[str, Any]]
    ) -> tuple[int, Any, dict[str, str]]:
        fault = self._take(self._faults, rec.method, rec.path)
        if fault is not None:
            return self._fault_answer(fault)
        matched = self._match(rec.method, rec.path)
        if matched is None:
            return 404, {"message": "404: Not Found", "code": 0}, {}
        template, handler, params = matched
        interaction_route = template.startswith(("/interactions/", "/webhooks/"))
        if not interaction_route:
            auth = request.headers.get("Authorization", "")
            if not auth.startswith("Bot ") or not auth[4:].strip():
                return 401, {"message": "401: Unauthorized", "code": 0}, {}
        headers: dict[str, str] = {}
        if self.rate_limits:
            major = "+".join(
                params[k]
                for k in ("channel_id", "guild_id", "application_id", "token")
                if k in params
            )
            verdict = self._limiter.check(
                f"{rec.method} {template}", major, exempt_from_global=interaction_route
            )
            headers = verdict.headers
            if not verdict.allowed:
                return (
                    429,
                    {
                        "message": "You are being rate limited.",
                        "retry_after": round(verdict.retry_after, 3),
                        "global": verdict.is_global,
                    },
                    headers,
                )
        try:
            status, answer = await handler(rec, params, files)
        except ApiError as exc:
            return exc.status, exc.body(), headers
        return status, answer, headers

    # --- gateway ------------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        if not web.WebSocketResponse().can_prepare(request).ok:
            return await self._rest(request)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        session = _Session(ws)
        self._sessions.append(session)
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
                self.gateway_log.append(frame)
                await self._on_frame(session, frame)
        finally:
            self._sessions.remove(session)
        return ws

    async def _on_frame(self, session: _Session, frame: dict[str, Any]) -> None:
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

    async def _identify(self, session: _Session, data: dict[str, Any]) -> None:
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
        owns = session.owns(self.guild_id)
        ready: dict[str, Any] = {
            "v": 10,
            "user": dict(self.world.bot_user),
            "guilds": [{"id": str(self.guild_id), "unavailable": True}] if owns else [],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
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
        if owns:
            await session.dispatch("GUILD_CREATE", self.world.guild_payload(full=True))
        session.ready, session.identified_at = True, time.monotonic()

    async def _request_members(self, session: _Session, data: dict[str, Any]) -> None:
        members = list(self.world.members.values())
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
                "guild_id": str(self.guild_id),
                "members": [self.world.member_payload(m) for m in members],
                "chunk_index": 0,
                "chunk_count": 1,
                "not_found": [],
                "nonce": data.get("nonce"),
            },
        )

    def _guild_sessions(self) -> list[_Session]:
        return [s for s in self._sessions if s.ready and not s.ws.closed and s.owns(self.guild_id)]

    def _broadcast(self, event: str, data: dict[str, Any], intent: int) -> None:
        """Send an event to every session that owns the guild's shard and asked for the intent."""
        targets = [s for s in self._guild_sessions() if s.intents & intent]
        if not targets:
            return
        for session in targets:
            task = asyncio.get_running_loop().create_task(
                session.dispatch(event, copy.deepcopy(data))
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _owner_session(self, timeout: float) -> _Session:
        deadline = time.monotonic() + timeout
        while True:
            sessions = self._guild_sessions()
            if sessions:
                return max(sessions, key=lambda s: s.identified_at)
            if time.monotonic() >= deadline:
                raise RuntimeError("no connected bot session owns the guild's shard")
            await asyncio.sleep(0.02)

    # --- driving the bot ----------------------------------------------------------------------

    def _find_command(self, name: str) -> dict[str, Any]:
        for scope in (self.guild_id, None):
            for cmd in self._commands.get(scope, []):
                if cmd["name"] == name and int(cmd.get("type", 1)) == 1:
                    return cmd
        raise ValueError(f"no slash command /{name} is registered (did the bot sync its tree?)")

    def _option_value(self, kind: int, value: Any, *, raw: bool) -> Any:
        if raw:  # the option being typed in an autocomplete: Discord sends it as typed
            return value if isinstance(value, str) else str(value)
        if kind == 3:
            return str(value)
        if kind == 4:
            return int(value)
        if kind == 5:
            return bool(value)
        if kind == 10:
            return float(value)
        return str(int(value))  # user / channel / role / mentionable / attachment: a snowflake

    def _resolve_into(
        self, resolved: dict[str, dict[str, Any]], kind: int, value: str, user_id: int
    ) -> None:
        """Add what Discord puts in ``data.resolved`` for a user/channel/role option."""
        snowflake = int(value)
        invoker = self.world.members[user_id]
        if kind in (6, 9) and snowflake in self.world.members:
            member = self.world.members[snowflake]
            resolved.setdefault("users", {})[value] = dict(member.user)
            member_payload = self.world.member_payload(member, with_user=False)
            member_payload["permissions"] = str(self.world.base_permissions(member))
            resolved.setdefault("members", {})[value] = member_payload
        elif kind in (8, 9) and snowflake in self.world.roles:
            resolved.setdefault("roles", {})[value] = self.world.role_payload(
                self.world.roles[snowflake]
            )
        elif kind == 7 and snowflake in self.world.channels:
            channel = self.world.channels[snowflake]
            resolved.setdefault("channels", {})[value] = {
                "id": value,
                "name": channel.name,
                "type": 0,
                "guild_id": str(self.guild_id),
                "parent_id": None,
                "topic": None,
                "nsfw": False,
                "position": channel.position,
                "rate_limit_per_user": 0,
                "flags": 0,
                "permissions": str(self.world.channel_permissions(invoker, channel)),
            }

    def _build_options(
        self,
        cmd: dict[str, Any],
        values: dict[str, Any],
        subcommand: str | None,
        *,
        user_id: int,
        focused: str | None = None,
    ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        """Typed (and nested, for subcommands) options from the registered definition."""
        defs: list[dict[str, Any]] = cmd.get("options") or []
        wrappers: list[dict[str, Any]] = []
        for part in (subcommand or "").split():
            found = next((d for d in defs if d["name"] == part and d["type"] in (1, 2)), None)
            if found is None:
                raise ValueError(f"/{cmd['name']} has no subcommand (group) {part!r}")
            wrappers.append(found)
            defs = found.get("options") or []
        if any(d["type"] in (1, 2) for d in defs):
            raise ValueError(f"/{cmd['name']} needs a subcommand: {[d['name'] for d in defs]}")
        resolved: dict[str, dict[str, Any]] = {}
        leaf: list[dict[str, Any]] = []
        names = dict(values)
        if focused is not None:
            names.setdefault(focused, "")
        for name, value in names.items():
            spec = next((d for d in defs if d["name"] == name), None)
            if spec is None:
                raise ValueError(
                    f"/{cmd['name']} has no option {name!r}; it has {[d['name'] for d in defs]}"
                )
            kind = int(spec["type"])
            option: dict[str, Any] = {
                "name": name,
                "type": kind,
                "value": self._option_value(kind, value, raw=name == focused),
            }
            if name == focused:
                option["focused"] = True
            elif kind in (6, 7, 8, 9):
                self._resolve_into(resolved, kind, option["value"], user_id)
            leaf.append(option)
        options = leaf
        for wrapper in reversed(wrappers):
            options = [{"name": wrapper["name"], "type": wrapper["type"], "options": options}]
        return options, resolved

    async def _send_interaction(
        self,
        kind: int,
        data: dict[str, Any],
        *,
        user_id: int,
        channel_id: int | None,
        message: dict[str, Any] | None = None,
        timeout: float,
    ) -> _Interaction:
        member = self.world.members.get(user_id)
        if member is None:
            raise ValueError(f"user {user_id} is not a member of the guild (use add_member)")
        if channel_id is None:
            live = self.world.live_channels()
            if not live:
                raise ValueError(
                    "the guild has no channel to run the interaction in (use add_channel)"
                )
            channel_id = live[0].id
        channel: Channel = self.world.channels[channel_id]
        perms = self.world.channel_permissions(member, channel)
        interaction_id, token = self._ids.next(), "tok_" + secrets.token_urlsafe(32)
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "data": data,
            "guild_id": str(self.guild_id),
            "guild": {"id": str(self.guild_id), "locale": "en-US", "features": []},
            "channel_id": str(channel_id),
            "channel": self.world.channel_payload(channel) | {"permissions": str(perms)},
            "member": self.world.member_payload(member) | {"permissions": str(perms)},
            "token": token,
            "version": 1,
            "app_permissions": str(self.world.bot_permissions(channel)),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(self.guild_id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if message is not None:
            payload["message"] = message
        session = await self._owner_session(timeout)
        now = time.monotonic()
        rec = _Interaction(
            interaction_id,
            token,
            kind,
            channel_id,
            user_id,
            now,
            source_message_id=int(message["id"]) if message else None,
            last_activity=now,
        )
        self._interactions[interaction_id] = rec
        self._by_token[token] = rec
        await session.dispatch("INTERACTION_CREATE", payload)
        return rec

    async def _settle(self, rec: _Interaction, timeout: float) -> None:
        """Wait for the callback, then for follow-ups to go quiet (a deferral waits for one)."""
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            idle = rec.inflight == 0 and now - rec.last_activity >= QUIET
            if rec.callback_type is not None:
                awaiting = rec.callback_type == 5 and not rec.followup_ids and not rec.edited
                if (idle and not awaiting) or now >= deadline:
                    return
            elif rec.attempts and idle:
                return  # every callback was refused and the bot went quiet
            elif now >= deadline:
                raise InteractionNotAnswered(
                    f"the bot sent no callback for interaction {rec.id} within {timeout} s"
                )
            await asyncio.sleep(0.01)

    async def slash(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        user_id: int,
        channel_id: int | None = None,
        subcommand: str | None = None,
        resolved: dict[str, Any] | None = None,
        timeout: float = 10.0,
    ) -> InteractionResult:
        """Run ``/name`` as ``user_id`` and wait for the answer.

        ``subcommand`` is "sub" or "group sub"; option types come from the synced definition.
        """
        cmd = self._find_command(name)
        opts, auto = self._build_options(cmd, options or {}, subcommand, user_id=user_id)
        for key, block in (resolved or {}).items():
            auto.setdefault(key, {}).update(block)
        data: dict[str, Any] = {"id": cmd["id"], "name": name, "type": 1, "options": opts}
        if "guild_id" in cmd:
            data["guild_id"] = cmd["guild_id"]
        if auto:
            data["resolved"] = auto
        rec = await self._send_interaction(
            2, data, user_id=user_id, channel_id=channel_id, timeout=timeout
        )
        await self._settle(rec, timeout)
        return InteractionResult(self, rec)

    async def autocomplete(
        self,
        name: str,
        options: dict[str, Any],
        focused: str,
        *,
        user_id: int,
        subcommand: str | None = None,
        channel_id: int | None = None,
        timeout: float = 10.0,
    ) -> list[dict[str, Any]]:
        """Type into option ``focused`` of ``/name`` and return the choices the bot offered."""
        cmd = self._find_command(name)
        opts, _ = self._build_options(cmd, options, subcommand, user_id=user_id, focused=focused)
        data: dict[str, Any] = {"id": cmd["id"], "name": name, "type": 1, "options": opts}
        if "guild_id" in cmd:
            data["guild_id"] = cmd["guild_id"]
        rec = await self._send_interaction(
            4, data, user_id=user_id, channel_id=channel_id, timeout=timeout
        )
        await self._settle(rec, timeout)
        if rec.callback_type != 8:
            refused = [(a.status, a.json) for a in rec.attempts]
            raise InteractionNotAnswered(
                f"autocomplete for /{name} was not answered; attempts: {refused}"
            )
        return list(rec.callback_data.get("choices") or [])

    async def click(
        self,
        custom_id: str,
        *,
        message: dict[str, Any],
        user_id: int,
        channel_id: int | None = None,
        values: Sequence[str] | None = None,
        timeout: float = 10.0,
    ) -> InteractionResult:
        """Press the component ``custom_id`` on ``message`` (``values`` for select menus)."""
        stored = self._messages.get(int(message["id"]))
        if stored is not None and stored.deleted:
            raise ValueError(f"message {message['id']} was deleted")
        current = copy.deepcopy(stored.data if stored is not None else message)
        component = _find_component(current.get("components") or [], custom_id)
        if component is None:
            raise ValueError(
                f"message {current['id']} has no component with custom_id {custom_id!r}"
            )
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled and cannot be used")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": int(component["type"])}
        if data["component_type"] in SELECT_TYPES:
            data["values"] = list(values or [])
        rec = await self._send_interaction(
            3,
            data,
            user_id=user_id,
            channel_id=channel_id or int(current["channel_id"]),
            message=current,
            timeout=timeout,
        )
        await self._settle(rec, timeout)
        return InteractionResult(self, rec)

    # --- messages -------------------------------------------------------------------------------

    def _attachments(self, channel_id: int, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for f in files:
            aid = self._ids.next()
            url = f"https://cdn.discordapp.com/attachments/{channel_id}/{aid}/{f['filename']}"
            out.append(
                {
                    "id": str(aid),
                    "filename": f["filename"],
                    "size": f["size"],
                    "url": url,
                    "proxy_url": url,
                    "content_type": f["content_type"],
                }
            )
        return out

    def _create_message(
        self,
        channel_id: int,
        body: dict[str, Any],
        files: list[dict[str, Any]],
        *,
        in_channel: bool,
        msg_type: int = 0,
        interaction: _Interaction | None = None,
    ) -> _Message:
        content = "" if body.get("content") is None else str(body["content"])
        allowed = body.get("allowed_mentions")
        data: dict[str, Any] = {
            "id": str(self._ids.next()),
            "channel_id": str(channel_id),
            "guild_id": str(self.guild_id),
            "author": dict(self.world.bot_user),
            "content": content,
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts")),
            **self.world.mentions(content, allowed),
            "mention_channels": [],
            "attachments": self._attachments(channel_id, files),
            "embeds": copy.deepcopy(body.get("embeds") or []),
            "reactions": [],
            "pinned": False,
            "type": msg_type,
            "flags": int(body.get("flags") or 0) & (SENDABLE_FLAGS | LOADING),
            "components": copy.deepcopy(body.get("components") or []),
            "allowed_mentions": copy.deepcopy(allowed),  # as sent; not a Discord field
        }
        if body.get("nonce") is not None:
            data["nonce"] = body["nonce"]
        reference = body.get("message_reference")
        if isinstance(reference, dict) and reference.get("message_id"):
            data["type"] = 19
            data["message_reference"] = {
                "type": 0,
                "message_id": str(reference["message_id"]),
                "channel_id": str(reference.get("channel_id") or channel_id),
                "guild_id": str(self.guild_id),
            }
        if interaction is not None:
            invoker = self.world.members[interaction.user_id]
            data["webhook_id"] = str(self.application_id)
            data["application_id"] = str(self.application_id)
            data["interaction_metadata"] = {
                "id": str(interaction.id),
                "type": interaction.kind,
                "user": dict(invoker.user),
                "authorizing_integration_owners": {"0": str(self.guild_id)},
            }
        message = _Message(data, in_channel)
        self._messages[message.id] = message
        if not message.ephemeral:
            self._emit_message("MESSAGE_CREATE", message)
        return message

    def _apply_edit(
        self, message: _Message, body: dict[str, Any], files: list[dict[str, Any]]
    ) -> None:
        d = message.data
        if "allowed_mentions" in body:
            d["allowed_mentions"] = copy.deepcopy(body["allowed_mentions"])
        if "content" in body:
            d["content"] = "" if body["content"] is None else str(body["content"])
            d.update(self.world.mentions(d["content"], d.get("allowed_mentions")))
        for key in ("embeds", "components"):
            if key in body:
                d[key] = copy.deepcopy(body[key] or [])
        if body.get("flags") is not None:
            keep = int(d.get("flags") or 0) & (EPHEMERAL | COMPONENTS_V2)
            d["flags"] = keep | (int(body["flags"]) & (SUPPRESS_EMBEDS | COMPONENTS_V2))
        if "attachments" in body:
            kept = {str(a.get("id")) for a in body["attachments"] or []}
            d["attachments"] = [a for a in d["attachments"] if a["id"] in kept]
        d["attachments"] = d["attachments"] + self._attachments(int(d["channel_id"]), files)
        d["flags"] = int(d.get("flags") or 0) & ~LOADING
        d["edited_timestamp"] = iso_now()
        if not message.ephemeral:
            self._emit_message("MESSAGE_UPDATE", message)

    def _delete(self, message: _Message) -> None:
        message.deleted = True
        if not message.ephemeral:
            self._broadcast(
                "MESSAGE_DELETE",
                {
                    "id": message.data["id"],
                    "channel_id": message.data["channel_id"],
                    "guild_id": str(self.guild_id),
                },
                INTENT_GUILD_MESSAGES,
            )

    def _emit_message(self, event: str, message: _Message) -> None:
        payload = {k: v for k, v in message.data.items() if k != "allowed_mentions"}
        payload["member"] = self.world.member_payload(
            self.world.members[self.bot_user_id], with_user=False
        )
        self._broadcast(event, payload, INTENT_GUILD_MESSAGES)

    def _channel_or_404(self, params: dict[str, str]) -> Channel:
        channel = (
            self.world.channel(int(params["channel_id"]))
            if params["channel_id"].isdigit()
            else None
        )
        if channel is None:
            raise ApiError(404, 10003, "Unknown Channel")
        if not self.world.bot_permissions(channel) & Perm.VIEW_CHANNEL:
            raise ApiError(403, 50001, "Missing Access")
        return channel

    def _channel_message_or_404(self, params: dict[str, str]) -> _Message:
        channel = self._channel_or_404(params)
        msg = (
            self._messages.get(int(params["message_id"]))
            if params["message_id"].isdigit()
            else None
        )
        if msg is None or msg.deleted or msg.ephemeral or int(msg.data["channel_id"]) != channel.id:
            raise ApiError(404, 10008, "Unknown Message")
        return msg

    @staticmethod
    def _body(rec: Recorded) -> dict[str, Any]:
        return rec.json if isinstance(rec.json, dict) else {}

    # --- REST handlers: session and application ------------------------------------------------

    async def _get_gateway(self, rec: Recorded, p: Params, files: Files) -> Reply:
        return 200, {"url": self.gateway_url}

    async def _get_gateway_bot(self, rec: Recorded, p: Params, files: Files) -> Reply:
        return 200, {
            "url": self.gateway_url,
            "shards": self.recommended_shards,
            "session_start_limit": {
                "total": 1000,
                "remaining": 1000,
                "reset_after": 0,
                "max_concurrency": 1,
            },
        }

    async def _get_me(self, rec: Recorded, p: Params, files: Files) -> Reply:
        return 200, dict(self.world.bot_user)

    async def _get_application(self, rec: Recorded, p: Params, files: Files) -> Reply:
        owner = {
            "id": str(self.world.owner_id),
            "username": "owner",
            "discriminator": "0",
            "global_name": "owner",
            "avatar": None,
            "public_flags": 0,
        }
        return 200, {
            "id": str(self.application_id),
            "name": self.world.bot_user["username"],
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": owner,
            "team": None,
            "verify_key": "0" * 64,
            "flags": 0,
            "bot": dict(self.world.bot_user),
            "interactions_endpoint_url": None,
            "redirect_uris": [],
            "approximate_guild_count": 1,
        }

    def _command_scope(self, p: dict[str, str]) -> int | None:
        if p["application_id"] != str(self.application_id):
            raise ApiError(404, 10002, "Unknown Application")
        if "guild_id" not in p:
            return None
        if p["guild_id"] != str(self.guild_id):
            raise ApiError(404, 10004, "Unknown Guild")
        return self.guild_id

    def _build_command(self, raw: dict[str, Any], scope: int | None) -> dict[str, Any]:
        kind = int(raw.get("type", 1))
        old = next(
            (
                c
                for c in self._commands.get(scope, [])
                if c["name"] == raw["name"] and c["type"] == kind
            ),
            None,
        )
        cmd: dict[str, Any] = {
            "id": old["id"] if old else str(self._ids.next()),
            "application_id": str(self.application_id),
            "version": str(self._ids.next()),
            "type": kind,
            "name": raw["name"],
            "name_localizations": raw.get("name_localizations"),
            "description": raw.get("description", ""),
            "description_localizations": raw.get("description_localizations"),
            "options": copy.deepcopy(raw.get("options") or []),
            "default_member_permissions": raw.get("default_member_permissions"),
            "dm_permission": raw.get("dm_permission", True),
            "contexts": raw.get("contexts"),
            "integration_types": raw.get("integration_types") or [0],
            "nsfw": bool(raw.get("nsfw", False)),
        }
        if scope is not None:
            cmd["guild_id"] = str(scope)
        return cmd

    async def _get_commands(self, rec: Recorded, p: Params, files: Files) -> Reply:
        return 200, self.commands(self._command_scope(p))

    async def _put_commands(self, rec: Recorded, p: Params, files: Files) -> Reply:
        scope = self._command_scope(p)
        raw_commands = rec.json if isinstance(rec.json, list) else None
        validate_commands(raw_commands)
        assert raw_commands is not None  # validate_commands refuses anything but a list
        self._commands[scope] = [self._build_command(raw, scope) for raw in raw_commands]
        self.sync_count += 1
        return 200, self.commands(scope)

    async def _post_command(self, rec: Recorded, p: Params, files: Files) -> Reply:
        scope = self._command_scope(p)
        validate_commands([self._body(rec)])
        cmd = self._build_command(self._body(rec), scope)
        existing = self._commands.setdefault(scope, [])
        for i, old in enumerate(existing):
            if old["id"] == cmd["id"]:
                existing[i] = cmd
                return 200, copy.deepcopy(cmd)
        existing.append(cmd)
        return 201, copy.deepcopy(cmd)

    def _command_or_404(self, p: dict[str, str]) -> tuple[list[dict[str, Any]], int]:
        existing = self._commands.get(self._command_scope(p), [])
        for i, cmd in enumerate(existing):
            if cmd["id"] == p["command_id"]:
                return existing, i
        raise ApiError(404, 10063, "Unknown application command")

    async def _get_command(self, rec: Recorded, p: Params, files: Files) -> Reply:
        existing, i = self._command_or_404(p)
        return 200, copy.deepcopy(existing[i])

    async def _delete_command(self, rec: Recorded, p: Params, files: Files) -> Reply:
        existing, i = self._command_or_404(p)
        del existing[i]
        return 204, None

    # --- REST handlers: interactions -------------------------------------------------------------

    async def _callback(self, rec: Recorded, p: Params, files: Files) -> Reply:
        inter = (
            self._interactions.get(int(p["interaction_id"]))
            if p["interaction_id"].isdigit()
            else None
        )
        if inter is None or inter.token != p["token"]:
            raise ApiError(404, 10062, "Unknown interaction")
        inter.attempts.append(rec)
        if inter.callback_type is not None:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        if rec.time - inter.sent_at > INTERACTION_DEADLINE:
            raise ApiError(404, 10062, "Unknown interaction")
        body = self._body(rec)
        ctype = body.get("type")
        raw_data = body.get("data")
        data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
        if ctype not in CALLBACK_TYPES[inter.kind]:
            raise ApiError(
                400,
                50035,
                "Invalid Form Body",
                {
                    "type": {
                        "_errors": [
                            {
                                "code": "INTERACTION_RESPONSE_TYPE_INVALID",
                                "message": f"Callback {ctype} is invalid here",
                            }
                        ]
                    }
                },
            )
        message: _Message | None = None
        if ctype == 4:
            validate_message(data, creating=True, prefix=("data",), files=len(files))
            message = self._create_message(
                inter.channel_id,
                data,
                files,
                in_channel=False,
                msg_type=20 if inter.kind == 2 else 0,
                interaction=inter,
            )
        elif ctype == 5:
            flags = LOADING | (int(data.get("flags") or 0) & EPHEMERAL)
            message = self._create_message(
                inter.channel_id,
                {"content": "", "flags": flags},
                [],
                in_channel=False,
                msg_type=20 if inter.kind == 2 else 0,
                interaction=inter,
            )
        elif ctype in (6, 7):
            message = self._messages.get(inter.source_message_id or 0)
            if message is None or message.deleted:
                raise ApiError(404, 10008, "Unknown Message")
            if ctype == 7:
                validate_message(data, creating=False, prefix=("data",))
                self._apply_edit(message, data, files)
        elif ctype == 8:
            validate_choices(data.get("choices"))
        inter.callback_type, inter.callback_data = int(ctype), copy.deepcopy(data)
        inter.original_id = message.id if message is not None else None
        answer: dict[str, Any] = {
            "interaction": {
                "id": str(inter.id),
                "type": inter.kind,
                "response_message_id": message.data["id"] if message is not None else None,
                "response_message_loading": ctype == 5,
                "response_message_ephemeral": bool(message is not None and message.ephemeral),
            }
        }
        if message is not None and ctype in (4, 5, 7):
            answer["resource"] = {"type": ctype, "message": copy.deepcopy(message.data)}
        if rec.query.get("with_response", "").lower() not in ("1", "true"):
            return 204, None
        return 200, answer

    def _webhook_interaction(self, p: dict[str, str]) -> _Interaction:
        inter = self._by_token.get(p["token"])
        if (
            p["application_id"] != str(self.application_id)
            or inter is None
            or inter.callback_type is None
        ):
            raise ApiError(404, 10015, "Unknown Webhook")
        return inter

    def _webhook_message(self, p: dict[str, str]) -> tuple[_Interaction, _Message]:
        inter = self._webhook_interaction(p)
        target = (
            inter.original_id
            if p["message_id"] == "@original"
            else (int(p["message_id"]) if p["message_id"].isdigit() else None)
        )
        message = self._messages.get(target) if target is not None else None
        if (
            message is None
            or message.deleted
            or (target != inter.original_id and target not in inter.followup_ids)
        ):
            raise ApiError(404, 10008, "Unknown Message")
        return inter, message

    async def _post_followup(self, rec: Recorded, p: Params, files: Files) -> Reply:
        inter = self._webhook_interaction(p)
        body = self._body(rec)
        validate_message(body, creating=True, files=len(files))
        original = self._messages.get(inter.original_id or 0)
        if (
            inter.callback_type == 5
            and original is not None
            and int(original.data["flags"]) & LOADING
        ):
            self._apply_edit(
                original, body, files
            )  # the first follow-up replaces the "thinking" message
            message = original
        else:
            message = self._create_message(
                inter.channel_id, body, files, in_channel=False, interaction=inter
            )
        inter.followup_ids.append(message.id)
        if rec.query.get("wait", "").lower() not in ("1", "true"):
            return 204, None
        return 200, copy.deepcopy(message.data)

    async def _get_webhook_message(self, rec: Recorded, p: Params, files: Files) -> Reply:
        _, message = self._webhook_message(p)
        return 200, copy.deepcopy(message.data)

    async def _patch_webhook_message(self, rec: Recorded, p: Params, files: Files) -> Reply:
        inter, message = self._webhook_message(p)
        body = self._body(rec)
        validate_message(body, creating=False)
        self._apply_edit(message, body, files)
        inter.edited = True
        return 200, copy.deepcopy(message.data)

    async def _delete_webhook_message(self, rec: Recorded, p: Params, files: Files) -> Reply:
        _, message = self._webhook_message(p)
        self._delete(message)
        return 204, None

    # --- REST handlers: channels and guild -------------------------------------------------------

    async def _get_channel(self, rec: Recorded, p: Params, files: Files) -> Reply:
        return 200, self.world.channel_payload(self._channel_or_404(p))

    async def _get_messages(self, rec: Recorded, p: Params, files: Files) -> Reply:
        channel = self._channel_or_404(p)
        if not self.world.bot_permissions(channel) & Perm.READ_MESSAGE_HISTORY:
            return 200, []
        limit = max(1, min(100, int(rec.query.get("limit", "50"))))
        found = self.messages(channel.id, include_interactions=True)
        if "before" in rec.query:
            found = [m for m in found if int(m["id"]) < int(rec.query["before"])]
        if "after" in rec.query:
            found = [m for m in found if int(m["id"]) > int(rec.query["after"])]
            return 200, list(reversed(found[:limit]))
        return 200, list(reversed(found[-limit:]))

    async def _post_message(self, rec: Recorded, p: Params, files: Files) -> Reply:
        channel = self._channel_or_404(p)
        perms = self.world.bot_permissions(channel)
        if not perms & Perm.SEND_MESSAGES:
            raise ApiError(403, 50013, "Missing Permissions")
        body = dict(self._body(rec))
        body["flags"] = int(body.get("flags") or 0) & ~EPHEMERAL
        validate_message(body, creating=True, files=len(files))
        if body.get("embeds") and not perms & Perm.EMBED_LINKS:
            if not (body.get("content") or body.get("components") or files):
                raise ApiError(403, 50013, "Missing Permissions")
            body["embeds"] = []  # with content, Discord posts the message without its embeds
        nonce = body.get("nonce")
        key = (channel.id, self.bot_user_id, str(nonce))
        if nonce is not None and body.get("enforce_nonce"):
            hit = self._nonces.get(key)
            if hit is not None and rec.time - hit[1] < NONCE_WINDOW:
                existing = self._messages.get(hit[0])
                if existing is not None and not existing.deleted:
                    return 200, copy.deepcopy(existing.data)
        reference = body.get("message_reference")
        if isinstance(reference, dict) and reference.get("message_id"):
            target = self._messages.get(int(reference["message_id"]))
            if (target is None or target.deleted) and reference.get("fail_if_not_exists", True):
                raise ApiError(
                    400,
                    50035,
                    "Invalid Form Body",
                    {
                        "message_reference": {
                            "_errors": [
                                {"code": "REPLIES_UNKNOWN_MESSAGE", "message": "Unknown message"}
                            ]
                        }
                    },
                )
        message = self._create_message(channel.id, body, files, in_channel=True)
        if nonce is not None and body.get("enforce_nonce"):
            self._nonces[key] = (message.id, rec.time)
        return 200, copy.deepcopy(message.data)

    async def _get_message(self, rec: Recorded, p: Params, files: Files) -> Reply:
        return 200, copy.deepcopy(self._channel_message_or_404(p).data)

    async def _patch_message(self, rec: Recorded, p: Params, files: Files) -> Reply:
        message = self._channel_message_or_404(p)
        body = self._body(rec)
        validate_message(body, creating=False)
        self._apply_edit(message, body, files)
        return 200, copy.deepcopy(message.data)

    async def _delete_message(self, rec: Recorded, p: Params, files: Files) -> Reply:
        self._delete(self._channel_message_or_404(p))
        return 204, None

    async def _typing(self, rec: Recorded, p: Params, files: Files) -> Reply:
        self._channel_or_404(p)
        return 204, None

    def _guild_or_404(self, p: dict[str, str]) -> None:
        if p["guild_id"] != str(self.guild_id):
            raise ApiError(404, 10004, "Unknown Guild")

    async def _get_guild(self, rec: Recorded, p: Params, files: Files) -> Reply:
        self._guild_or_404(p)
        return 200, self.world.guild_payload(full=False)

    async def _get_guild_channels(self, rec: Recorded, p: Params, files: Files) -> Reply:
        self._guild_or_404(p)
        return 200, [self.world.channel_payload(c) for c in self.world.live_channels()]

    async def _get_guild_roles(self, rec: Recorded, p: Params, files: Files) -> Reply:
        self._guild_or_404(p)
        return 200, [self.world.role_payload(r) for r in self.world.roles.values()]

    async def _get_member(self, rec: Recorded, p: Params, files: Files) -> Reply:
        self._guild_or_404(p)
        member = self.world.members.get(int(p["user_id"])) if p["user_id"].isdigit() else None
        if member is None:
            raise ApiError(404, 10007, "Unknown Member")
        return 200, self.world.member_payload(member)
