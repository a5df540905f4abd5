"""Where an app is installed, and where each command may be used: a mixin of StandIn.

What Discord does (API reference: Application Commands "Contexts", Interactions
"Authorizing Integration Owners Object", Permissions USE_EXTERNAL_APPS):
- An app is installed to a server (integration type 0, GUILD_INSTALL) or to a member's
  account (1, USER_INSTALL). ``add_guild`` is a server that installed it (the bot is in it);
  ``add_outside_guild`` is one that did not (no GUILD_CREATE, the bot cannot read or post
  there), where only members who installed the app themselves (``install_for_user``) can use
  its commands.
- A command's ``integration_types`` and ``contexts`` (0 GUILD, 1 BOT_DM, 2 PRIVATE_CHANNEL)
  are honoured on global commands only. Omitted, ``integration_types`` is the app's
  configured install types (``StandIn(user_install=...)``) and ``contexts`` stays null, which
  Discord treats as GUILD and BOT_DM (GUILD alone with ``dm_permission`` false). A guild
  command is usable in its server alone, never in a DM, whatever it declares.
- Discord's client offers a command only where it is usable: ``available_owners`` refuses
  (ValueError, as "no slash command" does) a command not allowed in the place, or with no
  installation behind it there; ``forged=True`` on ``slash`` sends it anyway.
- ``authorizing_integration_owners``: key "0" (the server's id, or "0" in the DM with the
  bot) when a server install authorizes it, key "1" (the member's id) when their own does.
  A component interaction carries the owners of the interaction that made its message.
- In a server that did not install the app, a member without USE_EXTERNAL_APPS (1 << 50) in
  the channel gets every answer ephemeral, whatever the app asked (``forced_ephemeral``).
- A bot may DM a user who installed the app to their account, as well as a member of a
  server it is in (unless their DMs are closed there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .world import DM, Channel, Perm, Snowflakes, World

__all__ = ["BOT_DM", "GUILD", "PRIVATE_CHANNEL", "Place", "UserInstalls"]

GUILD_INSTALL, USER_INSTALL = 0, 1  # integration types
GUILD, BOT_DM, PRIVATE_CHANNEL = 0, 1, 2  # interaction contexts
GROUP_DM = 3  # channel type
WHERE = {"guild": GUILD, "dm": BOT_DM, "private": PRIVATE_CHANNEL}
CONTEXT_WORDS = {GUILD: "a server", BOT_DM: "the DM with the bot", PRIVATE_CHANNEL: "a group DM"}
# What the app may do where no server installed it (DMs and group DMs with other users and
# servers without the bot): attach, embed, mention (the API reference's app_permissions note).
APP_ELSEWHERE = Perm.EMBED_LINKS | Perm.ATTACH_FILES | Perm.MENTION_EVERYONE


@dataclass
class Place:
    """Where an interaction happens: its context, its server (None in DMs), its channel."""

    context: int
    world: World | None
    channel: Channel

    @property
    def installed(self) -> bool:
        """A server that installed the app (False in DMs and servers without it)."""
        return self.world is not None and self.world.installed


class UserInstalls:
    """Installs and contexts; StandIn owns the state and sends the interactions."""

    worlds: dict[int, World]
    outside: dict[int, World]
    user_installs: set[int]
    user_install: bool
    _ids: Snowflakes
    _dm_channels: dict[int, Channel]  # DM and group DM channels (see dms)
    bot_user_id: int

    if TYPE_CHECKING:  # provided by DirectMessages and StandIn

        def _dm_channel(self, user_id: int) -> Channel: ...
        def _guild(self, guild_id: int | None) -> World: ...

    # --- what tests set up ----------------------------------------------------------------

    def add_outside_guild(self, name: str = "Outside Guild") -> int:
        """A server that did not install the app (returns its id): the bot is not in it;
        ``add_channel``/``add_member`` with ``guild_id=`` fill it. Its members reach the
        app's global commands there only if they installed the app to their account."""
        world = World(self._ids, self.bot_user_id, "newsbot", name=name)
        world.installed = False
        self.outside[world.guild_id] = world
        return world.guild_id

    def install_for_user(self, user_id: int) -> None:
        """The user installs the app to their account (the user-install link)."""
        if not self.user_install:
            raise ValueError("the app does not offer a user install (StandIn(user_install=))")
        self.user_installs.add(user_id)

    def user_payload(self, user_id: int) -> dict[str, Any]:
        """The user object of any member of any server the stand-in knows."""
        for world in (*self.worlds.values(), *self.outside.values()):
            if user_id in world.members:
                return dict(world.members[user_id].user)
        raise ValueError(f"no user {user_id} (use add_member)")

    # --- the rules ------------------------------------------------------------------------

    def default_integration_types(self) -> list[int]:
        """What a global command omitting ``integration_types`` gets: the app's install
        types as configured in the Developer Portal (Installation → Installation Contexts)."""
        return [GUILD_INSTALL, USER_INSTALL] if self.user_install else [GUILD_INSTALL]

    def available_owners(self, cmd: dict[str, Any], place: Place, user_id: int) -> dict[str, str]:
        """The ``authorizing_integration_owners`` of ``cmd`` used by ``user_id`` at ``place``;
        ValueError where Discord's client would not offer the command at all."""
        name, where = cmd["name"], CONTEXT_WORDS[place.context]
        if "guild_id" in cmd:  # contexts and installs are for global commands only
            if place.world is None or int(cmd["guild_id"]) != place.world.guild_id:
                raise ValueError(f"/{name} is a server's command: not available in {where}")
            return {str(GUILD_INSTALL): str(place.world.guild_id)}
        contexts = cmd.get("contexts")
        if contexts is None:
            contexts = [GUILD, BOT_DM] if cmd.get("dm_permission", True) else [GUILD]
        if place.context not in contexts:
            raise ValueError(f"/{name} is not available in {where} (contexts {contexts})")
        types = cmd.get("integration_types") or [GUILD_INSTALL]
        owners: dict[str, str] = {}
        if GUILD_INSTALL in types:
            if place.context == GUILD and place.installed:
                assert place.world is not None
                owners[str(GUILD_INSTALL)] = str(place.world.guild_id)
            elif place.context == BOT_DM and self._shares_a_server(user_id):
                owners[str(GUILD_INSTALL)] = "0"
        if USER_INSTALL in types and user_id in self.user_installs:
            owners[str(USER_INSTALL)] = str(user_id)
        if not owners:
            raise ValueError(
                f"/{name} is not available to user {user_id} in {where}: no installation of "
                f"the app authorizes it there (integration_types {types})"
            )
        return owners

    def _shares_a_server(self, user_id: int) -> bool:
        return any(user_id in w.members for w in self.worlds.values())

    def place(self, where: str, user_id: int, world: World, channel_id: int | None) -> Place:
        """The place an interaction of ``user_id`` comes from: ``where`` is "guild" (the
        channel's or ``world``), "dm" (the bot's DM with the user) or "private" (a group DM
        the bot is not in)."""
        context = WHERE[where]
        if context == BOT_DM:
            return Place(context, None, self._dm_channel(user_id))
        if context == PRIVATE_CHANNEL:
            group = Channel(self._ids.next(), "", 0, type=GROUP_DM)  # the bot is not in it
            self._dm_channels[group.id] = group
            return Place(context, None, group)
        if channel_id is None:
            live = world.live_channels()
            if not live:
                raise ValueError("the guild has no channel to run the interaction in (add_channel)")
            channel_id = live[0].id
        return Place(context, world, world.channels[channel_id])

    def place_of_channel(self, channel_id: int, world: World) -> Place:
        """Where a component on a message in ``channel_id`` is pressed."""
        dm = self._dm_channels.get(channel_id)
        if dm is not None:
            return Place(BOT_DM if dm.type == DM else PRIVATE_CHANNEL, None, dm)
        return Place(GUILD, world, world.channels[channel_id])

    def context_payload(self, place: Place, user_id: int) -> dict[str, Any]:
        """The interaction fields that depend on where it happens: guild, channel, the
        invoker (``member`` in a server, ``user`` elsewhere) and the app's permissions."""
        channel = place.channel
        if place.world is None:
            user = self.user_payload(user_id)
            if channel.type == DM:
                shown = {"id": str(channel.id), "type": DM, "last_message_id": None, "flags": 0}
                shown["recipients"] = [user]
                perms = Perm.IN_DM
            else:
                shown = {"id": str(channel.id), "type": GROUP_DM, "name": None, "icon": None}
                shown |= {"owner_id": str(user_id), "recipients": [user], "last_message_id": None}
                perms = APP_ELSEWHERE
            return {"channel_id": str(channel.id), "channel": shown, "user": user} | {
                "app_permissions": str(perms)
            }
        world = place.world
        member = world.members.get(user_id)
        if member is None:
            raise ValueError(f"user {user_id} is not a member of the guild (use add_member)")
        perms = world.channel_permissions(member, channel)
        app = world.bot_permissions(channel) if world.installed else APP_ELSEWHERE
        return {
            "guild_id": str(world.guild_id),
            "guild": {"id": str(world.guild_id), "locale": "en-US", "features": []},
            "channel_id": str(channel.id),
            "channel": world.channel_payload(channel) | {"permissions": str(perms)},
            "member": world.member_payload(member) | {"permissions": str(perms)},
            "app_permissions": str(app),
            "guild_locale": "en-US",
        }

    def forced_ephemeral(self, place: Place, owners: dict[str, str], user_id: int) -> bool:
        """Discord makes every answer ephemeral here: a server without the app's own install
        whose member lacks USE_EXTERNAL_APPS in the channel."""
        if place.world is None or str(GUILD_INSTALL) in owners:
            return False
        member = place.world.members[user_id]
        perms = place.world.channel_permissions(member, place.channel)
        return not perms & Perm.USE_EXTERNAL_APPS
