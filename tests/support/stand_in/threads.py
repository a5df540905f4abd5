"""Forum channels, threads and crossposts on the stand-in, as a mixin of StandIn.

What Discord does and refuses, per its API reference (Channel resource, Threads, Forum):
- ``POST /channels/{forum}/threads``: a forum post. ``name`` 1-100, ``applied_tags`` at most
  5 ids of the forum's tags, ``message`` required (validated as a message). A forum with
  REQUIRE_TAG refuses a post without a tag (400, 40067). Answers the thread channel (type
  11) with the starter ``message`` nested; the message's id is the thread's. There is no
  nonce: a repeat creates a second thread.
- ``POST /channels/{channel}/messages/{message}/threads``: a thread on a message (same id as
  the message); Create Public Threads; a second one is 400, 160004.
- ``DELETE /channels/{thread}``: Manage Threads; the thread and its messages go.
- ``GET /guilds/{guild}/threads/active``: the guild's active threads only, never archived ones.
- ``GET /channels/{channel}/threads/archived/public``: Read Message History; the public
  archived threads, latest ``archive_timestamp`` first, those archived before ``before``
  (an ISO8601 timestamp) when given, at most ``limit`` (2-100, default 50), and
  ``has_more``: ``{"threads", "members", "has_more"}``.
- Members start forum posts too: a thread's ``owner_id`` and its first message's author are
  whoever started it (``member_forum_post``); moderators delete (``delete_thread``) and
  threads are archived (``archive_thread``), after which only the archived list shows them.
- ``PATCH /channels/{forum}``: ``available_tags`` (at most 20, names 1-20), Manage Channels.
- ``POST /channels/{channel}/messages/{message}/crosspost``: announcement channels (type 5)
  only; 400, 40033 once crossposted; about 10 an hour per channel, then 429 with the
  seconds until the oldest of the hour's crossposts ages out.
"""

from __future__ import annotations

import copy
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .gateway import INTENT_GUILDS, Gateway
from .records import CROSSPOSTED, Files, Handler, Params, Recorded, Reply, StoredMessage
from .rest import Route, compile_routes
from .validation import ApiError, FormErrors, TooManyRequests, validate_message
from .world import (
    ANNOUNCEMENT,
    FORUM,
    REQUIRE_TAG,
    TEXT,
    Channel,
    Perm,
    Snowflakes,
    World,
    iso_now,
)

__all__ = ["ThreadRoutes"]

THREAD_NAME, MAX_APPLIED_TAGS, MAX_TAGS, TAG_NAME = 100, 5, 20, 20
ARCHIVED_PAGE, ARCHIVED_MIN, ARCHIVED_MAX = 50, 2, 100  # GET .../threads/archived/public limit
ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)
CROSSPOSTS_PER_HOUR, HOUR = 10, 3600.0


class ThreadRoutes:
    """Route handlers for forums, threads and crossposts; StandIn owns the state."""

    world: World
    _ids: Snowflakes
    _gateway: Gateway
    _messages: dict[int, StoredMessage]
    _crossposts: dict[int, list[float]]
    clock_offset: float

    def _build_routes(self) -> list[Route]:
        table: list[tuple[str, str, Handler]] = [
            ("POST", "/channels/{channel_id}/threads", self._post_forum_thread),
            (
                "POST",
                "/channels/{channel_id}/messages/{message_id}/threads",
                self._post_message_thread,
            ),
            (
                "POST",
                "/channels/{channel_id}/messages/{message_id}/crosspost",
                self._crosspost,
            ),
            ("PATCH", "/channels/{channel_id}", self._patch_channel),
            ("DELETE", "/channels/{channel_id}", self._delete_channel),
            ("GET", "/guilds/{guild_id}/threads/active", self._active_threads),
            ("GET", "/channels/{channel_id}/threads/archived/public", self._archived_threads),
        ]
        return [*super()._build_routes(), *compile_routes(table)]  # type: ignore[misc]

    if TYPE_CHECKING:  # provided by RestRoutes (StandIn inherits both)

        def _world_of_channel(self, channel_id: int) -> World: ...
        def _channel_or_404(self, params: Params) -> Channel: ...
        def _channel_message_or_404(self, params: Params) -> StoredMessage: ...
        def _guild_or_404(self, p: Params) -> World: ...
        def _create_message(
            self, channel_id: int, body: dict[str, Any], files: Files, **options: Any
        ) -> StoredMessage: ...
        def _emit_message(self, event: str, message: StoredMessage) -> None: ...
        def _delete(self, message: StoredMessage) -> None: ...
        @staticmethod
        def _body(rec: Recorded) -> dict[str, Any]: ...

    # --- what tests read ----------------------------------------------------------------------

    def threads(self, parent_id: int) -> list[dict[str, Any]]:
        """The live threads of a forum (or text channel), oldest first, each with its
        starter ``message`` (None once deleted, and for a thread on a message, whose message
        stays in the parent)."""
        world = self._world_of_channel(parent_id)
        out = []
        for thread in sorted(world.live_threads(parent_id), key=lambda t: t.id):
            starter = self._messages.get(thread.id)
            live = starter is not None and not starter.deleted
            in_thread = (
                live and starter is not None and int(starter.data["channel_id"]) == thread.id
            )
            message = copy.deepcopy(starter.data) if in_thread and starter else None
            out.append(world.thread_payload(thread) | {"message": message})
        return out

    # --- what members and moderators do -------------------------------------------------------

    def member_forum_post(self, forum_id: int, user_id: int, name: str, *, links: str = "") -> int:
        """A forum post a member started (returns the thread's id): the thread is theirs,
        and so is its first message, which links ``links`` (a link preview) when given."""
        world = self._world_of_channel(forum_id)
        forum = world.channels[forum_id]
        thread = world.add_thread(forum, self._ids.next(), name, [], owner_id=user_id)
        self._announce_thread(world, thread)
        body: dict[str, Any] = {"content": links or name}
        if links:
            body["embeds"] = [{"type": "link", "url": links, "title": name}]
        self._create_message(
            thread.id,
            body,
            [],
            in_channel=True,
            message_id=thread.id,
            author=world.members[user_id].user,
        )
        return thread.id

    def archive_thread(self, thread_id: int) -> None:
        """The thread is archived (by a moderator, or by inactivity): it leaves the active list."""
        world = self._world_of_channel(thread_id)
        thread = world.channels[thread_id]
        thread.archived_at = iso_now()
        self._gateway.broadcast(
            "THREAD_UPDATE", world.thread_payload(thread), INTENT_GUILDS, world.guild_id
        )

    def delete_thread(self, thread_id: int) -> None:
        """A moderator deletes the thread (a forum post) and with it its messages."""
        self._remove_channel(self._world_of_channel(thread_id).channels[thread_id])

    def forum_tags(self, forum_id: int) -> list[dict[str, Any]]:
        """The forum's ``available_tags`` as Discord holds them now."""
        channel = self._world_of_channel(forum_id).channels[forum_id]
        return copy.deepcopy(channel.available_tags)

    def _new_tag(self, name: str) -> dict[str, Any]:
        return {
            "id": str(self._ids.next()),
            "name": name,
            "moderated": False,
            "emoji_id": None,
            "emoji_name": None,
        }

    # --- handlers -----------------------------------------------------------------------------

    def _require(self, world: World, channel: Channel, permission: int) -> None:
        if not world.bot_permissions(channel) & permission:
            raise ApiError(403, 50013, "Missing Permissions")

    def _check_thread_name(self, errs: FormErrors, body: dict[str, Any]) -> None:
        name = str(body.get("name") or "")
        if not 1 <= len(name) <= THREAD_NAME:
            errs.add(("name",), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        duration = body.get("auto_archive_duration")
        if duration is not None and duration not in ARCHIVE_DURATIONS:
            errs.add(("auto_archive_duration",), "BASE_TYPE_CHOICES", "Value must be one of ...")

    def _announce_thread(self, world: World, thread: Channel) -> dict[str, Any]:
        payload = world.thread_payload(thread)
        self._gateway.broadcast(
            "THREAD_CREATE", payload | {"newly_created": True}, INTENT_GUILDS, world.guild_id
        )
        return payload

    async def _post_forum_thread(self, rec: Recorded, p: Params, files: Files) -> Reply:
        forum = self._channel_or_404(p)
        world = self._world_of_channel(forum.id)
        if forum.type != FORUM:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        self._require(world, forum, Perm.SEND_MESSAGES)
        body = self._body(rec)
        errs = FormErrors()
        self._check_thread_name(errs, body)
        known = {str(t["id"]) for t in forum.available_tags}
        tags = [str(t) for t in body.get("applied_tags") or []]
        if len(tags) > MAX_APPLIED_TAGS:
            errs.too_long(("applied_tags",), MAX_APPLIED_TAGS)
        for i, tag in enumerate(tags):
            if tag not in known:
                errs.add(("applied_tags", i), "FORUM_TAG_UNKNOWN", "Unknown tag")
        message_body = body.get("message")
        if not isinstance(message_body, dict):
            errs.required(("message",))
        errs.raise_if_any()
        assert isinstance(message_body, dict)
        validate_message(message_body, creating=True, prefix=("message",), files=len(files))
        if forum.flags & REQUIRE_TAG and not tags:
            raise ApiError(400, 40067, "A tag is required to create a forum post in this channel")
        thread = world.add_thread(forum, self._ids.next(), str(body["name"]), tags)
        payload = self._announce_thread(world, thread)
        message = self._create_message(
            thread.id, message_body, files, in_channel=True, message_id=thread.id
        )
        return 201, payload | {"message": copy.deepcopy(message.data)}

    async def _post_message_thread(self, rec: Recorded, p: Params, files: Files) -> Reply:
        message = self._channel_message_or_404(p)
        channel = self._channel_or_404(p)
        world = self._world_of_channel(channel.id)
        if channel.type not in (TEXT, ANNOUNCEMENT):
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        self._require(world, channel, Perm.CREATE_PUBLIC_THREADS)
        errs = FormErrors()
        self._check_thread_name(errs, self._body(rec))
        errs.raise_if_any()
        if message.id in world.channels:
            raise ApiError(400, 160004, "A thread has already been created for this message")
        thread = world.add_thread(channel, message.id, str(self._body(rec)["name"]), [])
        payload = self._announce_thread(world, thread)
        message.data["thread"] = payload
        self._emit_message("MESSAGE_UPDATE", message)
        return 201, payload

    async def _delete_channel(self, rec: Recorded, p: Params, files: Files) -> Reply:
        channel = self._channel_or_404(p)
        world = self._world_of_channel(channel.id)
        needed = Perm.MANAGE_THREADS if channel.is_thread else Perm.MANAGE_CHANNELS
        self._require(world, channel, needed)
        return 200, self._remove_channel(channel)

    def _remove_channel(self, channel: Channel) -> dict[str, Any]:
        """The channel and its messages go; connected bots are told. Its payload."""
        world = self._world_of_channel(channel.id)
        payload = world.channel_payload(channel)
        channel.deleted = True
        for message in list(self._messages.values()):
            if int(message.data["channel_id"]) == channel.id and not message.deleted:
                self._delete(message)
        event = "THREAD_DELETE" if channel.is_thread else "CHANNEL_DELETE"
        self._gateway.broadcast(event, payload, INTENT_GUILDS, world.guild_id)
        return payload

    async def _patch_channel(self, rec: Recorded, p: Params, files: Files) -> Reply:
        channel = self._channel_or_404(p)
        world = self._world_of_channel(channel.id)
        self._require(world, channel, Perm.MANAGE_CHANNELS)
        body = self._body(rec)
        errs = FormErrors()
        if "name" in body and not 1 <= len(str(body["name"] or "")) <= 100:
            errs.add(("name",), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        tags = body.get("available_tags")
        if tags is not None:
            if len(tags) > MAX_TAGS:
                errs.too_long(("available_tags",), MAX_TAGS)
            for i, tag in enumerate(tags):
                if not 1 <= len(str(tag.get("name") or "")) <= TAG_NAME:
                    errs.add(
                        ("available_tags", i, "name"),
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 20 in length.",
                    )
        errs.raise_if_any()
        if "name" in body:
            channel.name = str(body["name"])
        if tags is not None:
            known = {str(t["id"]): t for t in channel.available_tags}
            channel.available_tags = [
                known[str(t["id"])] | {"name": t["name"]}
                if str(t.get("id")) in known
                else self._new_tag(str(t["name"]))
                for t in tags
            ]
        payload = world.channel_payload(channel)
        self._gateway.broadcast("CHANNEL_UPDATE", payload, INTENT_GUILDS, world.guild_id)
        return 200, payload

    async def _crosspost(self, rec: Recorded, p: Params, files: Files) -> Reply:
        message = self._channel_message_or_404(p)
        channel = self._channel_or_404(p)
        world = self._world_of_channel(channel.id)
        if channel.type != ANNOUNCEMENT:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        self._require(world, channel, Perm.SEND_MESSAGES)  # the bot's own message
        now = time.monotonic() + self.clock_offset
        made = [t for t in self._crossposts.get(channel.id, []) if now - t < HOUR]
        self._crossposts[channel.id] = made
        if len(made) >= CROSSPOSTS_PER_HOUR:
            after = made[0] + HOUR - now
            raise TooManyRequests(
                after,
                {
                    "Via": "1.1 google",
                    "Retry-After": str(int(after) + 1),
                    "X-RateLimit-Scope": "user",
                },
            )
        flags = int(message.data.get("flags") or 0)
        if flags & CROSSPOSTED:
            raise ApiError(400, 40033, "This message has already been crossposted.")
        made.append(now)
        message.data["flags"] = flags | CROSSPOSTED
        self._emit_message("MESSAGE_UPDATE", message)
        return 200, copy.deepcopy(message.data)

    async def _active_threads(self, rec: Recorded, p: Params, files: Files) -> Reply:
        world = self._guild_or_404(p)
        return 200, {
            "threads": [world.thread_payload(t) for t in world.active_threads()],
            "members": [],
        }

    async def _archived_threads(self, rec: Recorded, p: Params, files: Files) -> Reply:
        channel = self._channel_or_404(p)
        world = self._world_of_channel(channel.id)
        self._require(world, channel, Perm.READ_MESSAGE_HISTORY)
        errs = FormErrors()
        limit = ARCHIVED_PAGE
        raw = rec.query.get("limit")
        if raw is not None:
            if not raw.isdigit() or not ARCHIVED_MIN <= int(raw) <= ARCHIVED_MAX:
                errs.add(("limit",), "NUMBER_TYPE_MIN", "Must be between 2 and 100.")
            else:
                limit = int(raw)
        before: datetime | None = None
        if rec.query.get("before"):
            try:
                before = datetime.fromisoformat(rec.query["before"])
            except ValueError:
                errs.add(("before",), "DATE_TIME_TYPE_PARSE", "Could not parse the timestamp.")
        errs.raise_if_any()
        archived = [
            t
            for t in world.live_threads(channel.id)
            if t.archived_at is not None
            and (before is None or datetime.fromisoformat(t.archived_at) < before)
        ]
        archived.sort(key=lambda t: (datetime.fromisoformat(str(t.archived_at)), t.id))
        archived.reverse()
        return 200, {
            "threads": [world.thread_payload(t) for t in archived[:limit]],
            "members": [],
            "has_more": len(archived) > limit,
        }
