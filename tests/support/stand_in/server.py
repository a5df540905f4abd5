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
import copy
import http
import inspect
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp
from aiohttp import web

from .dms import DirectMessages
from .gateway import INTENT_GUILDS, INTENT_MEMBERS, Gateway
from .installs import Place, UserInstalls
from .ratelimit import RateLimiter, too_many_headers
from .records import (
    Fault,
    Files,
    Handler,
    Hold,
    InteractionNotAnswered,
    InteractionRecord,
    InteractionResult,
    Recorded,
    StoredMessage,
)
from .rest import RestRoutes, Route
from .threads import ThreadRoutes
from .validation import ApiError
from .world import ANNOUNCEMENT, FORUM, REQUIRE_TAG, TEXT, Channel, Snowflakes, World

__all__ = ["InteractionNotAnswered", "InteractionResult", "Recorded", "StandIn"]

API_PREFIX = "/api/v10"
QUIET = 0.2  # an interaction has "settled" after this long without webhook traffic
SELECT_TYPES = (3, 5, 6, 7, 8)
ERROR_MESSAGES = {  # what Discord says for the JSON error codes tests inject most
    10003: "Unknown Channel",
    10008: "Unknown Message",
    10015: "Unknown Webhook",
    10062: "Unknown interaction",
    40060: "Interaction has already been acknowledged.",
    50001: "Missing Access",
    50013: "Missing Permissions",
    50035: "Invalid Form Body",
}


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


async def _holds(predicate: Callable[[], bool | Awaitable[bool]]) -> bool:
    """A `wait_for` condition's value: async ones (e.g. a read through the store) awaited."""
    value = predicate()
    return bool(await value) if inspect.isawaitable(value) else bool(value)


class StandIn(UserInstalls, DirectMessages, ThreadRoutes, RestRoutes):
    """Discord for tests: ``async with StandIn() as d:``, or ``start()`` / ``close()``.

    ``rate_limits`` enforces Discord's buckets (5 message creates per 5 s per channel, 50
    requests/s globally; interaction callbacks and follow-ups exempt) with the headers
    discord.py paces itself by. ``latency`` delays every REST answer; a request is still
    applied after the delay even if the client has gone, as Discord would.
    ``recommended_shards`` is what ``GET /gateway/bot`` tells an AutoShardedBot.
    Forums, threads and crossposts: see ``threads``; ``advance(seconds)`` moves the clock
    its hourly crosspost limit counts by. DMs (``dms``, ``close_dms``): see ``dms``.
    User installs, servers without the app and where commands may be used (``slash``'s
    ``where``): see ``installs``; ``user_install`` is the Developer Portal's switch that
    lets users install the app to their account.
    """

    def __init__(
        self,
        *,
        rate_limits: bool = False,
        latency: float = 0.0,
        recommended_shards: int = 1,
        user_install: bool = True,
    ) -> None:
        self.rate_limits = rate_limits
        self.latency = latency
        self.recommended_shards = recommended_shards
        self._ids = Snowflakes()
        self.application_id = self._ids.next()
        self.bot_user_id = self.application_id  # like a modern Discord app: bot user id == app id
        self.world = World(self._ids, self.bot_user_id, "newsbot")
        self.guild_id = self.world.guild_id
        self.worlds: dict[int, World] = {self.guild_id: self.world}  # add_guild adds more
        self.outside: dict[int, World] = {}  # servers without the app: add_outside_guild
        self.user_install = user_install
        self.user_installs: set[int] = set()  # install_for_user
        self.requests: list[Recorded] = []
        self._gateway = Gateway(self.worlds, self.application_id, lambda: self.gateway_url)
        self.gateway_log: list[dict[str, Any]] = self._gateway.log  # every frame bots sent
        self.sync_count = 0
        self.rate_limited_count = 0
        self._commands: dict[int | None, list[dict[str, Any]]] = {}
        self._messages: dict[int, StoredMessage] = {}
        self._nonces: dict[tuple[int, int, str], tuple[int, float]] = {}
        self._interactions: dict[int, InteractionRecord] = {}
        self._by_token: dict[str, InteractionRecord] = {}
        self._dm_channels: dict[int, Channel] = {}
        self._faults: list[Fault] = []
        self._drops: list[Fault] = []
        self._holds: list[Hold] = []
        self._limiter = RateLimiter()
        self._crossposts: dict[int, list[float]] = {}  # channel -> when each crosspost was made
        self.clock_offset = 0.0  # advance(): seconds added to the crosspost limit's clock
        self._runner: web.AppRunner | None = None
        # Called with each REST request as it arrives, before the latency and before it is
        # applied: a test can act at an exact point (e.g. SIGKILL the bot on the Nth post).
        self.on_request: Callable[[Recorded], None] | None = None
        self.port = 0  # set before `start` to listen there (a bot pointed at it before)
        self._routes: list[Route] = self._build_routes()

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/", self._websocket)
        app.router.add_route("*", "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)  # 0: any free port
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def close(self) -> None:
        await self._gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> StandIn:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- the guild --------------------------------------------------------------------------

    def add_guild(self, name: str = "Second Guild", *, shard: tuple[int, int] | None = None) -> int:
        """Another guild the bot is in (returns its id), on shard ``(shard_id, shard_count)``
        when given. Channels, roles and members take ``guild_id=`` to be created in it; the
        gateway sends its GUILD_CREATE to the session owning its shard."""
        guild_id = self._ids.next_on_shard(*shard) if shard is not None else self._ids.next()
        world = World(self._ids, self.bot_user_id, "newsbot", guild_id=guild_id, name=name)
        self.worlds[guild_id] = world
        self._gateway.broadcast(
            "GUILD_CREATE", world.guild_payload(full=True), INTENT_GUILDS, guild_id
        )
        return guild_id

    def _guild(self, guild_id: int | None) -> World:
        if guild_id is None:
            return self.world
        if guild_id in self.outside:
            return self.outside[guild_id]
        if guild_id not in self.worlds:
            raise ValueError(f"no guild {guild_id} (use add_guild)")
        return self.worlds[guild_id]

    def add_channel(
        self,
        name: str,
        *,
        bot_can_send: bool = True,
        bot_can_embed: bool = True,
        guild_id: int | None = None,
        kind: int = TEXT,
        bot_allow: int = 0,
    ) -> int:
        """A text channel (or ``kind`` ANNOUNCEMENT); the bot is denied SEND_MESSAGES /
        EMBED_LINKS there when asked, and granted ``bot_allow`` (e.g. Perm.MANAGE_CHANNELS)."""
        world = self._guild(guild_id)
        channel = world.add_channel(
            name, bot_can_send=bot_can_send, bot_can_embed=bot_can_embed, kind=kind
        )
        world.set_bot_overwrite(
            channel, can_send=bot_can_send, can_embed=bot_can_embed, allow=bot_allow
        )
        self._gateway.broadcast(
            "CHANNEL_CREATE", world.channel_payload(channel), INTENT_GUILDS, world.guild_id
        )
        return channel.id

    def add_announcement(self, name: str, **options: Any) -> int:
        """An announcement channel (type 5): its messages may be crossposted."""
        return self.add_channel(name, kind=ANNOUNCEMENT, **options)

    def add_forum(
        self,
        name: str,
        *,
        tags: Sequence[str] = (),
        require_tag: bool = False,
        bot_allow: int = 0,
        guild_id: int | None = None,
    ) -> int:
        """A forum channel (type 15) with these tags; ``require_tag`` sets REQUIRE_TAG."""
        world = self._guild(guild_id)
        channel = world.add_channel(name, bot_can_send=True, bot_can_embed=True, kind=FORUM)
        world.set_bot_overwrite(channel, can_send=True, can_embed=True, allow=bot_allow)
        channel.flags = REQUIRE_TAG if require_tag else 0
        channel.available_tags = [self._new_tag(t) for t in tags]
        self._gateway.broadcast(
            "CHANNEL_CREATE", world.channel_payload(channel), INTENT_GUILDS, world.guild_id
        )
        return channel.id

    def advance(self, seconds: float) -> None:
        """Move the stand-in's clock on (the crosspost limit's hour), as tests move the bot's."""
        self.clock_offset += seconds

    def delete_channel(self, channel_id: int) -> None:
        """Later REST calls to it answer 404 10003; connected bots get CHANNEL_DELETE."""
        world = self._world_of_channel(channel_id)
        channel = world.channels[channel_id]
        payload = world.channel_payload(channel)
        channel.deleted = True
        self._gateway.broadcast("CHANNEL_DELETE", payload, INTENT_GUILDS, world.guild_id)

    def set_bot_permissions(
        self, channel_id: int, *, can_send: bool = True, can_embed: bool = True
    ) -> None:
        """Change what the bot may do in a channel later on (sends CHANNEL_UPDATE)."""
        world = self._world_of_channel(channel_id)
        channel = world.channels[channel_id]
        world.set_bot_overwrite(channel, can_send=can_send, can_embed=can_embed)
        self._gateway.broadcast(
            "CHANNEL_UPDATE", world.channel_payload(channel), INTENT_GUILDS, world.guild_id
        )

    def delete_message(self, channel_id: int, message_id: int) -> None:
        """Delete a post as a moderator would: later edits or deletes of it answer 404 10008."""
        message = self._messages.get(message_id)
        if message is None or int(message.data["channel_id"]) != channel_id:
            raise KeyError(f"no message {message_id} in channel {channel_id}")
        self._delete(message)

    def add_role(self, name: str, permissions: int = 0, *, guild_id: int | None = None) -> int:
        world = self._guild(guild_id)
        role = world.add_role(name, permissions)
        self._gateway.broadcast(
            "GUILD_ROLE_CREATE",
            {"guild_id": str(world.guild_id), "role": world.role_payload(role)},
            INTENT_GUILDS,
            world.guild_id,
        )
        return role.id

    def add_member(
        self,
        name: str,
        *,
        permissions: int = 0,
        roles: Sequence[int] = (),
        guild_id: int | None = None,
    ) -> int:
        """A guild member (returns the user id); ``permissions`` come through a role of its own."""
        world = self._guild(guild_id)
        role_ids = list(roles)
        if permissions:
            role_ids.append(
                self.add_role(f"{name} permissions", permissions, guild_id=world.guild_id)
            )
        member = world.add_member(name, role_ids)
        payload = world.member_payload(member) | {"guild_id": str(world.guild_id)}
        self._gateway.broadcast("GUILD_MEMBER_ADD", payload, INTENT_MEMBERS, world.guild_id)
        return member.id

    # --- what happened ----------------------------------------------------------------------

    def messages(
        self, channel_id: int, *, include_interactions: bool = False
    ) -> list[dict[str, Any]]:
        """Current messages in the channel, oldest first: channel posts only, unless
        ``include_interactions`` adds the non-ephemeral interaction replies and follow-ups."""
        return self._current_messages(channel_id, include_interactions=include_interactions)

    def all_posts(self) -> dict[int, list[dict[str, Any]]]:
        """channel_id -> current channel posts, for every guild channel that has at least one
        (DMs: ``dms``)."""
        ids = {
            int(m.data["channel_id"])
            for m in self._messages.values()
            if m.in_channel and not m.deleted and int(m.data["channel_id"]) not in self._dm_channels
        }
        return {cid: self.messages(cid) for cid in sorted(ids)}

    def commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        """Registered application commands: global when ``guild_id`` is None."""
        return copy.deepcopy(self._commands.get(guild_id, []))

    async def wait_for(
        self, predicate: Callable[[], bool | Awaitable[bool]], timeout: float = 10
    ) -> None:
        """Poll ``predicate`` (plain or async) until it holds; TimeoutError after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while not await _holds(predicate):
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
            Fault(method.upper(), re.compile(path_regex), times, status, retry_after, code)
        )

    def fail_for(
        self,
        seconds: float,
        method: str,
        path_regex: str,
        status: int,
        *,
        retry_after: float = 0.3,
        code: int = 0,
    ) -> None:
        """A burst: for the next ``seconds``, answer every matching request with ``status``
        (a 429 with ``retry_after``, a 5xx as an outage) without applying it."""
        self._faults.append(
            Fault(
                method.upper(),
                re.compile(path_regex),
                2**62,
                status,
                retry_after,
                code,
                until=time.monotonic() + seconds,
            )
        )

    def drop_after_commit(self, method: str, path_regex: str, *, times: int = 1) -> None:
        """Apply the next ``times`` matching requests, then cut the connection unanswered."""
        self._drops.append(Fault(method.upper(), re.compile(path_regex), times))

    def hold_answer(self, method: str, path_regex: str) -> Hold:
        """Apply the next matching request, then keep its answer until ``release()``."""
        hold = Hold(method.upper(), re.compile(path_regex))
        self._holds.append(hold)
        return hold

    async def drop_gateway(self, *, code: int = 4000) -> int:
        """Close every gateway connection as an outage would; returns how many were closed.

        discord.py then tries RESUME, is told INVALID_SESSION and IDENTIFYs afresh (after
        its ``before_identify_hook``, which sleeps 5 s by default).
        """
        return await self._gateway.drop(code)

    @staticmethod
    def _take(faults: list[Fault], method: str, path: str) -> Fault | None:
        for fault in faults:
            if fault.matches(method, path):
                fault.remaining -= 1
                return fault
        return None

    def _fault_answer(self, fault: Fault) -> tuple[int, Any, dict[str, str]]:
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
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        message = ERROR_MESSAGES.get(fault.code, f"{status}: {phrase}")
        return status, {"message": message, "code": fault.code}, {}

    @staticmethod
    async def _read_body(request: web.Request) -> tuple[Any, Files]:
        """JSON body, or a multipart form's ``payload_json`` plus its files' metadata."""
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            payload: Any = None
            files: Files = []
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

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if not web.WebSocketResponse().can_prepare(request).ok:
            return await self._rest(request)  # a plain GET / is an unknown REST route
        return await self._gateway.handle(request)

    def _match(self, method: str, path: str) -> tuple[str, Handler, dict[str, str]] | None:
        for route_method, pattern, template, handler in self._routes:
            if route_method != method:
                continue
            m = pattern.match(path)
            if m is not None:
                return template, handler, m.groupdict()
        return None

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
        if self.on_request is not None:
            self.on_request(rec)
        self._touch(path, +1)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            status, answer, headers = await self._answer(request, rec, files)
            hold = next((h for h in self._holds if h.matches(method, path)), None)
            if hold is not None and status < 300:
                hold.taken = True
                hold.arrived.set()
                await hold.released.wait()
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
        self, request: web.Request, rec: Recorded, files: Files
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
            return exc.status, exc.body(), headers | exc.headers
        return status, answer, headers

    # --- driving the bot ----------------------------------------------------------------------

    def _interaction_world(self, guild_id: int | None, channel_id: int | None) -> World:
        if channel_id is not None and guild_id is None:
            return self._world_of_channel(channel_id)
        return self._guild(guild_id)

    def _find_command(
        self,
        name: str,
        guild_id: int | None = None,
        *,
        registered_in: int | None = None,
        place: Place | None = None,
        global_command: bool = False,
    ) -> dict[str, Any]:
        """The definition a member of ``guild_id`` invokes: its guild's, else the global one
        (in a DM or group DM, the global one alone). ``registered_in`` looks among that
        guild's commands only, whoever invokes it; ``global_command`` among the global ones
        (Discord's picker lists both when a guild command and a global one share a name)."""
        scopes: tuple[int | None, ...] = (
            (registered_in,)
            if registered_in is not None
            else (self.guild_id if guild_id is None else guild_id, None)
        )
        if global_command or (place is not None and place.world is None and registered_in is None):
            scopes = (None,)
        for scope in scopes:
            for cmd in self._commands.get(scope, []):
                if cmd["name"] == name and int(cmd.get("type", 1)) == 1:
                    return cmd
        raise ValueError(f"no slash command /{name} is registered (did the bot sync its tree?)")

    def _owners(
        self, cmd: dict[str, Any], place: Place, user_id: int, *, forged: bool
    ) -> dict[str, str]:
        """Who authorizes ``cmd`` there (``installs``); a forged interaction is sent even
        where Discord would not offer the command, with the owners it would have had."""
        try:
            return self.available_owners(cmd, place, user_id)
        except ValueError:
            if not forged:
                raise
        if place.installed and place.world is not None:
            return {"0": str(place.world.guild_id)}
        return {"1": str(user_id)}

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
        self,
        resolved: dict[str, dict[str, Any]],
        kind: int,
        value: str,
        user_id: int,
        world: World,
    ) -> None:
        """Add what Discord puts in ``data.resolved`` for a user/channel/role option."""
        snowflake = int(value)
        invoker = world.members[user_id]
        if kind in (6, 9) and snowflake in world.members:
            member = world.members[snowflake]
            resolved.setdefault("users", {})[value] = dict(member.user)
            member_payload = world.member_payload(member, with_user=False)
            member_payload["permissions"] = str(world.base_permissions(member))
            resolved.setdefault("members", {})[value] = member_payload
        elif kind in (8, 9) and snowflake in world.roles:
            resolved.setdefault("roles", {})[value] = world.role_payload(world.roles[snowflake])
        elif kind == 7 and snowflake in world.channels:
            channel = world.channels[snowflake]
            resolved.setdefault("channels", {})[value] = {
                "id": value,
                "name": channel.name,
                "type": channel.type,
                "guild_id": str(world.guild_id),
                "parent_id": None,
                "topic": None,
                "nsfw": False,
                "position": channel.position,
                "rate_limit_per_user": 0,
                "flags": channel.flags,
                "permissions": str(world.channel_permissions(invoker, channel)),
            }

    def _build_options(
        self,
        cmd: dict[str, Any],
        values: dict[str, Any],
        subcommand: str | None,
        *,
        user_id: int,
        world: World,
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
                self._resolve_into(resolved, kind, option["value"], user_id, world)
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
        place: Place,
        owners: dict[str, str],
        message: dict[str, Any] | None = None,
        timeout: float,
    ) -> InteractionRecord:
        """Dispatch one interaction of ``user_id`` at ``place`` (a server's channel, the DM
        with the bot or a group DM), authorized by ``owners``, to the session that owns it."""
        interaction_id, token = self._ids.next(), "tok_" + secrets.token_urlsafe(32)
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "data": data,
            **self.context_payload(place, user_id),
            "token": token,
            "version": 1,
            "locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": dict(owners),
            "context": place.context,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if message is not None:
            payload["message"] = message
        guild_id = place.world.guild_id if place.world is not None else 0
        session = await self._gateway.owner(timeout, guild_id)
        now = time.monotonic()
        rec = InteractionRecord(
            interaction_id,
            token,
            kind,
            place.channel.id,
            user_id,
            now,
            source_message_id=int(message["id"]) if message else None,
            last_activity=now,
            guild_id=guild_id,
            shard=session.shard,
            context=place.context,
            owners=dict(owners),
            forced_ephemeral=self.forced_ephemeral(place, owners, user_id),
        )
        self._interactions[interaction_id] = rec
        self._by_token[token] = rec
        await session.dispatch("INTERACTION_CREATE", payload)
        return rec

    async def _settle(self, rec: InteractionRecord, timeout: float, quiet: float = QUIET) -> None:
        """Wait for the callback, then for follow-ups to go quiet (a deferral waits for one)."""
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            idle = rec.inflight == 0 and now - rec.last_activity >= quiet
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
        guild_id: int | None = None,
        registered_in: int | None = None,
        quiet: float = QUIET,
        where: str = "guild",
        forged: bool = False,
        global_command: bool = False,
    ) -> InteractionResult:
        """Run ``/name`` as ``user_id`` and wait for the answer.

        ``subcommand`` is "sub" or "group sub"; option types come from the synced definition
        and user/channel/role options get their ``resolved`` entries from the guild. Raises
        InteractionNotAnswered when no callback arrives within ``timeout``; a result whose
        callbacks were all refused comes back with ``acknowledged`` False and ``attempts``.
        The guild is the channel's, else ``guild_id``, else the primary guild.

        ``registered_in`` forges what Discord would not send: the command registered in that
        guild, invoked from another (``data.guild_id`` names the guild a command is
        registered to, the interaction's ``guild_id`` the guild it was sent from), to test
        that the bot checks where it was used and does not trust its registration alone.

        ``quiet``: how long the interaction must go without webhook traffic to count as
        settled; a load generator passes 0 to hand its slot on as soon as the answer lands.

        ``global_command``: the global command of that name where the guild has one too.

        ``where``: "guild" (a server's channel: a server without the app is one made by
        ``add_outside_guild``), "dm" (the user's DM with the bot: no guild, ``user`` instead of
        ``member``, context 1) or "private" (a group DM the bot is not in, context 2). A
        command Discord would not offer there (its ``contexts``, ``integration_types``, no
        installation authorizing it: see ``installs``) raises ValueError, unless ``forged``.
        """
        world = self._interaction_world(guild_id, channel_id)
        place = self.place(where, user_id, world, channel_id)
        cmd = self._find_command(
            name,
            world.guild_id,
            registered_in=registered_in,
            place=place,
            global_command=global_command,
        )
        owners = self._owners(cmd, place, user_id, forged=forged or registered_in is not None)
        opts, auto = self._build_options(
            cmd, options or {}, subcommand, user_id=user_id, world=world
        )
        for key, block in (resolved or {}).items():
            auto.setdefault(key, {}).update(block)
        data: dict[str, Any] = {"id": cmd["id"], "name": name, "type": 1, "options": opts}
        if "guild_id" in cmd:
            data["guild_id"] = cmd["guild_id"]
        if auto:
            data["resolved"] = auto
        rec = await self._send_interaction(
            2, data, user_id=user_id, place=place, owners=owners, timeout=timeout
        )
        await self._settle(rec, timeout, quiet)
        return InteractionResult(rec, self._message_data)

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
        guild_id: int | None = None,
        registered_in: int | None = None,
        where: str = "guild",
        global_command: bool = False,
    ) -> list[dict[str, Any]]:
        """Type into option ``focused`` of ``/name`` and return the choices the bot offered
        (``registered_in``: a forged interaction, ``global_command``: as for ``slash``)."""
        world = self._interaction_world(guild_id, channel_id)
        place = self.place(where, user_id, world, channel_id)
        cmd = self._find_command(
            name,
            world.guild_id,
            registered_in=registered_in,
            place=place,
            global_command=global_command,
        )
        owners = self._owners(cmd, place, user_id, forged=registered_in is not None)
        opts, _ = self._build_options(
            cmd, options, subcommand, user_id=user_id, world=world, focused=focused
        )
        data: dict[str, Any] = {"id": cmd["id"], "name": name, "type": 1, "options": opts}
        if "guild_id" in cmd:
            data["guild_id"] = cmd["guild_id"]
        rec = await self._send_interaction(
            4, data, user_id=user_id, place=place, owners=owners, timeout=timeout
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
        channel_id = channel_id or int(current["channel_id"])
        place = self.place_of_channel(channel_id, self._interaction_world(None, channel_id))
        # A component is authorized by the installation(s) that made its message.
        made_by = (current.get("interaction_metadata") or {}).get("authorizing_integration_owners")
        guild_key = {"0": str(place.world.guild_id)} if place.installed and place.world else {}
        rec = await self._send_interaction(
            3,
            data,
            user_id=user_id,
            place=place,
            owners=dict(made_by or guild_key),
            message=current,
            timeout=timeout,
        )
        await self._settle(rec, timeout)
        return InteractionResult(rec, self._message_data)
