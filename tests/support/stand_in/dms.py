"""Direct messages on the stand-in, as a mixin of StandIn.

What Discord does (API reference, User resource "Create DM", and the JSON error codes):
- ``POST /users/@me/channels`` with ``{"recipient_id"}`` (discord.py's ``User.create_dm``,
  which ``User.send`` calls) answers the bot's DM channel with that user: type 1 with the
  user in ``recipients``, the same channel (same id) however often it is asked; a user
  the stand-in does not know is 400, code 50033 "Invalid Recipient(s)".
- Messages to it are channel messages like any other (edits, deletes, ``enforce_nonce``),
  without a guild. Opening the channel always works; sending to a user who takes no DMs
  from the bot (their privacy setting, per server they share with it: ``close_dms``) is
  refused with 403, code 50007 "Cannot send messages to this user", as is sending to a
  user who shares no server with the bot, unless they installed the app to their account
  (``install_for_user``: a user-installed app may DM the user who installed it).
- Gateway: a DM's MESSAGE_CREATE/UPDATE/DELETE carry no ``guild_id`` and go to shard 0, to
  sessions with the DIRECT_MESSAGES intent.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .forms import ApiError
from .records import Files, Handler, Params, Recorded, Reply
from .rest import Route, compile_routes
from .world import DM, Channel, Snowflakes, World

__all__ = ["DirectMessages"]


class DirectMessages:
    """The DM route and what tests read and switch about DMs; StandIn owns the state."""

    worlds: dict[int, World]
    _ids: Snowflakes
    _dm_channels: dict[int, Channel]  # DM channel id -> channel
    outside: dict[int, World]  # servers without the app (see installs)
    user_installs: set[int]

    def _build_routes(self) -> list[Route]:
        table: list[tuple[str, str, Handler]] = [
            ("POST", "/users/@me/channels", self._open_dm),
        ]
        return [*super()._build_routes(), *compile_routes(table)]  # type: ignore[misc]

    if TYPE_CHECKING:  # provided by RestRoutes (StandIn inherits both)

        def _world_of_channel(self, channel_id: int) -> World: ...

        def _current_messages(
            self, channel_id: int, *, include_interactions: bool
        ) -> list[dict[str, Any]]: ...
        @staticmethod
        def _body(rec: Recorded) -> dict[str, Any]: ...

    # --- what tests switch and read -----------------------------------------------------------

    def close_dms(self, user_id: int) -> None:
        """The user takes no DMs from members of any server they share with the bot (each
        guild's ``World.close_dms`` is the per-server switch): sends to them answer 50007."""
        for world in self.worlds.values():
            if user_id in world.members:
                world.close_dms(user_id)

    def open_dms(self, user_id: int) -> None:
        for world in self.worlds.values():
            world.open_dms(user_id)

    def dm_channel_id(self, user_id: int) -> int | None:
        """The bot's DM channel with the user, once the bot has opened it."""
        return next((c.id for c in self._dm_channels.values() if c.recipient_id == user_id), None)

    def dms(self, user_id: int) -> list[dict[str, Any]]:
        """The messages the bot's DM channel with the user holds now, oldest first."""
        channel_id = self.dm_channel_id(user_id)
        if channel_id is None:
            return []
        return self._current_messages(channel_id, include_interactions=False)

    # --- the route ----------------------------------------------------------------------------

    def _dm_channel(self, user_id: int) -> Channel:
        """The bot's DM channel with the user, made the first time it is needed (the user
        opening it from their side, for an interaction there, is the same channel)."""
        channel_id = self.dm_channel_id(user_id)
        if channel_id is None:
            channel = Channel(self._ids.next(), "", 0, type=DM, recipient_id=user_id)
            self._dm_channels[channel.id] = channel
            channel_id = channel.id
        return self._dm_channels[channel_id]

    async def _open_dm(self, rec: Recorded, p: Params, files: Files) -> Reply:
        raw = str(self._body(rec).get("recipient_id") or "")
        user_id = int(raw) if raw.isdigit() else 0
        known = (*self.worlds.values(), *self.outside.values())
        if not any(user_id in w.members for w in known):
            raise ApiError(400, 50033, "Invalid Recipient(s)")
        channel = self._dm_channel(user_id)
        world = self._world_of_channel(channel.id)
        return 200, copy.deepcopy(world.channel_payload(channel))
