"""The REST routes of the stand-in (applications, interactions, webhooks, channels, guild),
as a mixin of StandIn so handlers share its state."""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

from .components import text_displays
from .gateway import DM_SHARD_KEY, INTENT_DIRECT_MESSAGES, INTENT_GUILD_MESSAGES, Gateway
from .records import (
    COMPONENTS_V2,
    CROSSPOSTED,
    EPHEMERAL,
    LOADING,
    SENDABLE_FLAGS,
    SILENT,
    SUPPRESS_EMBEDS,
    Files,
    Handler,
    InteractionRecord,
    Params,
    Recorded,
    Reply,
    StoredMessage,
)
from .validation import ApiError, validate_choices, validate_commands, validate_message
from .world import DM, Channel, Perm, Snowflakes, World, iso_now

__all__ = ["RestRoutes", "Route", "compile_routes"]

INTERACTION_DEADLINE = 3.0  # seconds Discord waits for the initial callback
NONCE_WINDOW = 300.0  # enforce_nonce de-duplicates within 5 minutes
CALLBACK_TYPES = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}}  # interaction type -> allowed callbacks
Route = tuple[str, re.Pattern[str], str, Handler]  # method, path pattern, template, handler


def shown_text(content: str, components: Any) -> str:
    """What a message shows as text, where its mentions are found: the content and, for a
    V2 message, every text display."""
    return "\n".join([content, *text_displays(components)])


def compile_routes(table: list[tuple[str, str, Handler]]) -> list[Route]:
    """(method, "/path/{param}", handler) rows -> routes matched by anchored patterns."""
    routes: list[Route] = []
    for method, template, handler in table:
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        routes.append((method, re.compile(f"^{pattern}$"), template, handler))
    return routes


class RestRoutes:
    """Route handlers; StandIn inherits them and owns the state declared here."""

    world: World
    worlds: dict[int, World]
    application_id: int
    bot_user_id: int
    guild_id: int
    recommended_shards: int
    sync_count: int
    _ids: Snowflakes
    _gateway: Gateway
    _commands: dict[int | None, list[dict[str, Any]]]
    _messages: dict[int, StoredMessage]
    _nonces: dict[tuple[int, int, str], tuple[int, float]]
    _interactions: dict[int, InteractionRecord]
    _by_token: dict[str, InteractionRecord]
    _dm_channels: dict[int, Channel]  # DM channel id -> channel (see dms)
    outside: dict[int, World]  # servers that did not install the app (see installs)
    user_installs: set[int]  # users who installed the app to their account

    if TYPE_CHECKING:  # provided by UserInstalls (StandIn inherits both)

        def user_payload(self, user_id: int) -> dict[str, Any]: ...
        def default_integration_types(self) -> list[int]: ...

    # --- routing ----------------------------------------------------------------------------

    def _build_routes(self) -> list[Route]:
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
        return compile_routes(table)

    # --- state helpers ----------------------------------------------------------------------

    def _world_of_channel(self, channel_id: int) -> World:
        """The guild a channel belongs to (for a DM, one the user shares with the bot; the
        primary guild for an unknown channel)."""
        dm = self._dm_channels.get(channel_id)
        for world in (*self.worlds.values(), *self.outside.values()):
            if dm.recipient_id in world.members if dm is not None else channel_id in world.channels:
                return world
        return self.world

    def _current_messages(
        self, channel_id: int, *, include_interactions: bool
    ) -> list[dict[str, Any]]:
        out = [
            copy.deepcopy(m.data)
            for m in self._messages.values()
            if not m.deleted
            and int(m.data["channel_id"]) == channel_id
            and (m.in_channel or (include_interactions and not m.ephemeral))
        ]
        return sorted(out, key=lambda d: int(d["id"]))

    def _message_data(self, message_id: int | None) -> dict[str, Any] | None:
        msg = self._messages.get(message_id) if message_id is not None else None
        return None if msg is None or msg.deleted else copy.deepcopy(msg.data)

    # --- messages -------------------------------------------------------------------------------

    def _attachments(self, channel_id: int, files: Files) -> list[dict[str, Any]]:
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
        files: Files,
        *,
        in_channel: bool,
        msg_type: int = 0,
        interaction: InteractionRecord | None = None,
        message_id: int | None = None,
        author: dict[str, Any] | None = None,
    ) -> StoredMessage:
        """A message by the bot, or by `author` (a member's user payload)."""
        content = "" if body.get("content") is None else str(body["content"])
        allowed = body.get("allowed_mentions")
        world = self._world_of_channel(channel_id)
        data: dict[str, Any] = {
            "id": str(message_id or self._ids.next()),
            "channel_id": str(channel_id),
            "guild_id": str(world.guild_id),
            "author": dict(author or world.bot_user),
            "content": content,
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts")),
            **world.mentions(shown_text(content, body.get("components")), allowed),
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
        if channel_id in self._dm_channels:
            del data["guild_id"]
        if body.get("nonce") is not None:
            data["nonce"] = body["nonce"]
        reference = body.get("message_reference")
        if isinstance(reference, dict) and reference.get("message_id"):
            data["type"] = 19
            data["message_reference"] = {
                "type": 0,
                "message_id": str(reference["message_id"]),
                "channel_id": str(reference.get("channel_id") or channel_id),
                "guild_id": str(world.guild_id),
            }
        if interaction is not None:
            data["webhook_id"] = str(self.application_id)
            data["application_id"] = str(self.application_id)
            data["interaction_metadata"] = {
                "id": str(interaction.id),
                "type": interaction.kind,
                "user": self.user_payload(interaction.user_id),
                "authorizing_integration_owners": dict(interaction.owners),
            }
            if interaction.forced_ephemeral:
                data["flags"] |= EPHEMERAL  # Discord's doing: no public answer here
        message = StoredMessage(data, in_channel)
        self._messages[message.id] = message
        if not message.ephemeral:
            self._emit_message("MESSAGE_CREATE", message)
        return message

    def _apply_edit(self, message: StoredMessage, body: dict[str, Any], files: Files) -> None:
        d = message.data
        if "allowed_mentions" in body:
            d["allowed_mentions"] = copy.deepcopy(body["allowed_mentions"])
        if "content" in body:
            d["content"] = "" if body["content"] is None else str(body["content"])
        for key in ("embeds", "components"):
            if key in body:
                d[key] = copy.deepcopy(body[key] or [])
        if "content" in body or "components" in body:
            world = self._world_of_channel(int(d["channel_id"]))
            shown = shown_text(d["content"], d["components"])
            d.update(world.mentions(shown, d.get("allowed_mentions")))
        if body.get("flags") is not None:
            keep = int(d.get("flags") or 0) & (EPHEMERAL | COMPONENTS_V2 | CROSSPOSTED | SILENT)
            d["flags"] = keep | (int(body["flags"]) & (SUPPRESS_EMBEDS | COMPONENTS_V2))
        if "attachments" in body:
            kept = {str(a.get("id")) for a in body["attachments"] or []}
            d["attachments"] = [a for a in d["attachments"] if a["id"] in kept]
        d["attachments"] = d["attachments"] + self._attachments(int(d["channel_id"]), files)
        d["flags"] = int(d.get("flags") or 0) & ~LOADING
        d["edited_timestamp"] = iso_now()
        if not message.ephemeral:
            self._emit_message("MESSAGE_UPDATE", message)

    def _delete(self, message: StoredMessage) -> None:
        message.deleted = True
        if not message.ephemeral:
            channel_id = int(message.data["channel_id"])
            payload = {"id": message.data["id"], "channel_id": message.data["channel_id"]}
            if channel_id not in self._dm_channels:
                payload["guild_id"] = str(self._world_of_channel(channel_id).guild_id)
            self._broadcast_message_event("MESSAGE_DELETE", channel_id, payload)

    def _emit_message(self, event: str, message: StoredMessage) -> None:
        channel_id = int(message.data["channel_id"])
        payload = {k: v for k, v in message.data.items() if k != "allowed_mentions"}
        if channel_id not in self._dm_channels:
            world = self._world_of_channel(channel_id)
            bot = world.members[self.bot_user_id]
            payload["member"] = world.member_payload(bot, with_user=False)
        self._broadcast_message_event(event, channel_id, payload)

    def _broadcast_message_event(
        self, event: str, channel_id: int, payload: dict[str, Any]
    ) -> None:
        """To the guild's shard with GUILD_MESSAGES; a DM's to shard 0 with DIRECT_MESSAGES."""
        if channel_id in self._dm_channels:
            self._gateway.broadcast(event, payload, INTENT_DIRECT_MESSAGES, DM_SHARD_KEY)
        else:
            guild_id = self._world_of_channel(channel_id).guild_id
            self._gateway.broadcast(event, payload, INTENT_GUILD_MESSAGES, guild_id)

    def _check_dm_open(self, channel: Channel) -> None:
        """A DM needs a server the user shares with the bot whose members may DM them."""
        user_id = int(channel.recipient_id or 0)
        if user_id in self.user_installs:
            return  # a user-installed app may DM the user who installed it
        if not any(w.takes_dms_from_bot(user_id) for w in self.worlds.values()):
            raise ApiError(403, 50007, "Cannot send messages to this user")

    def _bot_permissions(self, channel: Channel) -> int:
        if channel.type == DM:
            return Perm.IN_DM
        return self._world_of_channel(channel.id).bot_permissions(channel)

    def _channel_or_404(self, params: Params) -> Channel:
        raw = params["channel_id"]
        if raw.isdigit() and int(raw) in self._dm_channels:
            return self._dm_channels[int(raw)]
        world = self._world_of_channel(int(raw)) if raw.isdigit() else self.world
        channel = world.channel(int(raw)) if raw.isdigit() else None
        if channel is None:
            raise ApiError(404, 10003, "Unknown Channel")
        if not world.installed or not world.bot_permissions(channel) & Perm.VIEW_CHANNEL:
            raise ApiError(403, 50001, "Missing Access")
        return channel

    def _channel_message_or_404(self, params: Params) -> StoredMessage:
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
        return 200, {"url": self._gateway.url}

    async def _get_gateway_bot(self, rec: Recorded, p: Params, files: Files) -> Reply:
        return 200, {
            "url": self._gateway.url,
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
            "approximate_guild_count": len(self.worlds),
        }

    def _command_scope(self, p: Params) -> int | None:
        if p["application_id"] != str(self.application_id):
            raise ApiError(404, 10002, "Unknown Application")
        if "guild_id" not in p:
            return None
        guild_id = int(p["guild_id"]) if p["guild_id"].isdigit() else 0
        if guild_id not in self.worlds:
            raise ApiError(404, 10004, "Unknown Guild")
        return guild_id

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
            "contexts": raw.get("contexts"),  # null stays null: GUILD and BOT_DM (installs)
            "integration_types": raw.get("integration_types") or self.default_integration_types(),
            "nsfw": bool(raw.get("nsfw", False)),
        }
        if scope is not None:
            cmd["guild_id"] = str(scope)
        return cmd

    async def _get_commands(self, rec: Recorded, p: Params, files: Files) -> Reply:
        return 200, copy.deepcopy(self._commands.get(self._command_scope(p), []))

    async def _put_commands(self, rec: Recorded, p: Params, files: Files) -> Reply:
        scope = self._command_scope(p)
        raw_commands = rec.json if isinstance(rec.json, list) else None
        validate_commands(raw_commands)
        assert raw_commands is not None  # validate_commands refuses anything but a list
        self._commands[scope] = [self._build_command(raw, scope) for raw in raw_commands]
        self.sync_count += 1
        return 200, copy.deepcopy(self._commands[scope])

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

    def _command_or_404(self, p: Params) -> tuple[list[dict[str, Any]], int]:
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
        message: StoredMessage | None = None
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
                validate_message(data, creating=False, prefix=("data",), stored=message.data)
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

    def _webhook_interaction(self, p: Params) -> InteractionRecord:
        inter = self._by_token.get(p["token"])
        if (
            p["application_id"] != str(self.application_id)
            or inter is None
            or inter.callback_type is None
        ):
            raise ApiError(404, 10015, "Unknown Webhook")
        return inter

    def _webhook_message(self, p: Params) -> tuple[InteractionRecord, StoredMessage]:
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
        validate_message(body, creating=False, stored=message.data)
        self._apply_edit(message, body, files)
        inter.edited = True
        return 200, copy.deepcopy(message.data)

    async def _delete_webhook_message(self, rec: Recorded, p: Params, files: Files) -> Reply:
        _, message = self._webhook_message(p)
        self._delete(message)
        return 204, None

    # --- REST handlers: channels and guild -------------------------------------------------------

    async def _get_channel(self, rec: Recorded, p: Params, files: Files) -> Reply:
        channel = self._channel_or_404(p)
        return 200, self._world_of_channel(channel.id).channel_payload(channel)

    async def _get_messages(self, rec: Recorded, p: Params, files: Files) -> Reply:
        channel = self._channel_or_404(p)
        if not self._bot_permissions(channel) & Perm.READ_MESSAGE_HISTORY:
            return 200, []
        limit = max(1, min(100, int(rec.query.get("limit", "50"))))
        found = self._current_messages(channel.id, include_interactions=True)
        if "before" in rec.query:
            found = [m for m in found if int(m["id"]) < int(rec.query["before"])]
        if "after" in rec.query:
            found = [m for m in found if int(m["id"]) > int(rec.query["after"])]
            return 200, list(reversed(found[:limit]))
        return 200, list(reversed(found[-limit:]))

    async def _post_message(self, rec: Recorded, p: Params, files: Files) -> Reply:
        channel = self._channel_or_404(p)
        perms = self._bot_permissions(channel)
        if not perms & Perm.SEND_MESSAGES:
            raise ApiError(403, 50013, "Missing Permissions")
        if channel.type == DM:
            self._check_dm_open(channel)
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
        validate_message(body, creating=False, stored=message.data)
        self._apply_edit(message, body, files)
        return 200, copy.deepcopy(message.data)

    async def _delete_message(self, rec: Recorded, p: Params, files: Files) -> Reply:
        self._delete(self._channel_message_or_404(p))
        return 204, None

    async def _typing(self, rec: Recorded, p: Params, files: Files) -> Reply:
        self._channel_or_404(p)
        return 204, None

    def _guild_or_404(self, p: Params) -> World:
        world = self.worlds.get(int(p["guild_id"])) if p["guild_id"].isdigit() else None
        if world is None:
            raise ApiError(404, 10004, "Unknown Guild")
        return world

    async def _get_guild(self, rec: Recorded, p: Params, files: Files) -> Reply:
        return 200, self._guild_or_404(p).guild_payload(full=False)

    async def _get_guild_channels(self, rec: Recorded, p: Params, files: Files) -> Reply:
        world = self._guild_or_404(p)
        return 200, [world.channel_payload(c) for c in world.live_channels()]

    async def _get_guild_roles(self, rec: Recorded, p: Params, files: Files) -> Reply:
        world = self._guild_or_404(p)
        return 200, [world.role_payload(r) for r in world.roles.values()]

    async def _get_member(self, rec: Recorded, p: Params, files: Files) -> Reply:
        world = self._guild_or_404(p)
        member = world.members.get(int(p["user_id"])) if p["user_id"].isdigit() else None
        if member is None:
            raise ApiError(404, 10007, "Unknown Member")
        return 200, world.member_payload(member)
