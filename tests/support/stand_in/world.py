"""The guild the stand-in hosts: channels, roles, members, permissions and payload shapes.

Payload shapes follow what discord.py 2.7's parsers read (``Guild._from_data``,
``TextChannel._update``, ``Member.__init__``, ``Role._update``, ``ClientUser._update``).
"""

from __future__ import annotations

import datetime
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Perm", "Snowflakes", "World", "iso_now"]

DISCORD_EPOCH_MS = 1420070400000


class Perm:
    """Permission bits the stand-in reasons about."""

    ADD_REACTIONS = 1 << 6
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_GUILD = 1 << 5
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_APPLICATION_COMMANDS = 1 << 31
    USE_EXTERNAL_APPS = 1 << 50  # user-installed apps may answer publicly here
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    SEND_MESSAGES_IN_THREADS = 1 << 38
    ALL = (1 << 51) - 1
    EVERYONE_DEFAULT = (
        VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | ADD_REACTIONS
        | USE_APPLICATION_COMMANDS
        | CREATE_PUBLIC_THREADS
        | SEND_MESSAGES_IN_THREADS
    )
    BOT_DEFAULT = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | READ_MESSAGE_HISTORY
    IN_DM = BOT_DEFAULT | ATTACH_FILES | ADD_REACTIONS  # a DM has no roles nor overwrites


def iso_now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat()


class Snowflakes:
    """Strictly increasing time-based ids: ``id >> 22`` is a timestamp, as shard routing assumes."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            now = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
            self._last = max(now, self._last + 1)
            return self._last

    def next_on_shard(self, shard_id: int, shard_count: int) -> int:
        """The next id on shard ``shard_id`` of ``shard_count`` (``(id >> 22) % count``)."""
        with self._lock:
            now = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
            candidate = max(now, self._last + 1)
            ms = candidate >> 22
            while ms % shard_count != shard_id:
                ms += 1
            if ms != candidate >> 22:
                candidate = ms << 22
            self._last = candidate
            return candidate


TEXT, DM, ANNOUNCEMENT, PUBLIC_THREAD, FORUM = 0, 1, 5, 11, 15  # channel types
REQUIRE_TAG = 1 << 4  # a forum's flag: every post needs a tag


@dataclass
class Channel:
    """A guild channel (a thread, type 11, has a parent and inherits its permissions), or the
    bot's DM channel with one user (type 1, ``recipient_id``)."""

    id: int
    name: str
    position: int
    overwrites: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False
    type: int = TEXT
    flags: int = 0
    available_tags: list[dict[str, Any]] = field(default_factory=list)  # forums
    parent_id: int | None = None  # threads
    owner_id: int | None = None  # threads: who started it
    applied_tags: list[str] = field(default_factory=list)
    created: str = ""
    archived_at: str | None = None  # threads: when archived (None while active)
    recipient_id: int | None = None  # DMs: the user

    @property
    def is_thread(self) -> bool:
        return self.type == PUBLIC_THREAD


@dataclass
class Role:
    id: int
    name: str
    permissions: int
    position: int
    tags: dict[str, Any] | None = None


@dataclass
class Member:
    user: dict[str, Any]
    roles: list[int]
    joined_at: str

    @property
    def id(self) -> int:
        return int(self.user["id"])


def user_payload(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name,
        "discriminator": "0",
        "global_name": None if bot else name,
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
        "flags": 0,
    }


class World:
    """One guild ("Test Guild") with @everyone (id == guild id) and the bot's member."""

    def __init__(
        self,
        ids: Snowflakes,
        bot_user_id: int,
        bot_name: str,
        *,
        guild_id: int | None = None,
        name: str = "Test Guild",
    ) -> None:
        self.ids = ids
        self.guild_id = ids.next() if guild_id is None else guild_id
        self.name = name
        self.owner_id = ids.next()
        self.bot_user_id = bot_user_id
        self.channels: dict[int, Channel] = {}
        self.roles: dict[int, Role] = {
            self.guild_id: Role(self.guild_id, "@everyone", Perm.EVERYONE_DEFAULT, 0)
        }
        self.members: dict[int, Member] = {}
        self.dms_closed: set[int] = set()  # members who take no DMs from this server's members
        self.installed = True  # the app is installed here (False: `StandIn.add_outside_guild`)
        bot_role = self.add_role(bot_name, Perm.BOT_DEFAULT, tags={"bot_id": str(bot_user_id)})
        self.bot_user = user_payload(bot_user_id, bot_name, bot=True) | {
            "verified": True,
            "mfa_enabled": False,
        }
        self.members[bot_user_id] = Member(self.bot_user, [bot_role.id], iso_now())

    # --- mutation -------------------------------------------------------------------------

    def add_role(self, name: str, permissions: int, *, tags: dict[str, Any] | None = None) -> Role:
        role = Role(self.ids.next(), name, permissions, len(self.roles), tags)
        self.roles[role.id] = role
        return role

    def add_channel(
        self, name: str, *, bot_can_send: bool, bot_can_embed: bool, kind: int = TEXT
    ) -> Channel:
        channel = Channel(self.ids.next(), name, len(self.channels), type=kind)
        self.set_bot_overwrite(channel, can_send=bot_can_send, can_embed=bot_can_embed)
        self.channels[channel.id] = channel
        return channel

    def set_bot_overwrite(
        self, channel: Channel, *, can_send: bool, can_embed: bool, allow: int = 0
    ) -> None:
        """A member overwrite for the bot that denies what it may not do in this channel
        (and allows `allow`, e.g. Manage Channels)."""
        deny = (0 if can_send else Perm.SEND_MESSAGES) | (0 if can_embed else Perm.EMBED_LINKS)
        bot_id = str(self.bot_user_id)
        channel.overwrites = [o for o in channel.overwrites if o["id"] != bot_id]
        if deny or allow:
            channel.overwrites.append(
                {"id": bot_id, "type": 1, "allow": str(allow), "deny": str(deny)}
            )

    def add_member(self, name: str, roles: list[int]) -> Member:
        user_id = self.ids.next()
        member = Member(user_payload(user_id, name), roles, iso_now())
        self.members[user_id] = member
        return member

    def close_dms(self, user_id: int) -> None:
        """The member turns off "direct messages from server members" for this server."""
        self.dms_closed.add(user_id)

    def open_dms(self, user_id: int) -> None:
        self.dms_closed.discard(user_id)

    def takes_dms_from_bot(self, user_id: int) -> bool:
        """Whether this server lets the bot DM the user: they are a member with DMs open."""
        return user_id in self.members and user_id not in self.dms_closed

    def channel(self, channel_id: int) -> Channel | None:
        channel = self.channels.get(channel_id)
        return None if channel is None or channel.deleted else channel

    def add_thread(
        self,
        parent: Channel,
        thread_id: int,
        name: str,
        applied_tags: list[str],
        *,
        owner_id: int | None = None,
    ) -> Channel:
        """A public thread in ``parent`` (a forum post, or a thread on a message), started
        by ``owner_id`` (the bot unless a member's)."""
        thread = Channel(
            thread_id,
            name,
            0,
            type=PUBLIC_THREAD,
            parent_id=parent.id,
            owner_id=self.bot_user_id if owner_id is None else owner_id,
            applied_tags=applied_tags,
            created=iso_now(),
        )
        self.channels[thread.id] = thread
        return thread

    def live_channels(self) -> list[Channel]:
        """Live guild channels, threads not included (as GUILD_CREATE lists them)."""
        return [c for c in self.channels.values() if not c.deleted and not c.is_thread]

    def live_threads(self, parent_id: int | None = None) -> list[Channel]:
        """Threads not deleted, archived ones included."""
        return [
            c
            for c in self.channels.values()
            if c.is_thread and not c.deleted and parent_id in (None, c.parent_id)
        ]

    def active_threads(self, parent_id: int | None = None) -> list[Channel]:
        """Threads neither deleted nor archived: what GUILD_CREATE and the active list hold."""
        return [t for t in self.live_threads(parent_id) if t.archived_at is None]

    # --- permissions (Discord's documented algorithm) -----------------------------------

    def base_permissions(self, member: Member) -> int:
        if member.id == self.owner_id:
            return Perm.ALL
        perms = self.roles[self.guild_id].permissions
        for role_id in member.roles:
            role = self.roles.get(role_id)
            if role is not None:
                perms |= role.permissions
        return Perm.ALL if perms & Perm.ADMINISTRATOR else perms

    def channel_permissions(self, member: Member, channel: Channel) -> int:
        if channel.parent_id is not None and channel.parent_id in self.channels:
            channel = self.channels[channel.parent_id]  # a thread has its parent's overwrites
        perms = self.base_permissions(member)
        if perms & Perm.ADMINISTRATOR:
            return Perm.ALL
        by_id = {(int(o["id"]), int(o["type"])): o for o in channel.overwrites}
        everyone = by_id.get((self.guild_id, 0))
        if everyone:
            perms = (perms & ~int(everyone["deny"])) | int(everyone["allow"])
        allow = deny = 0
        for role_id in member.roles:
            ow = by_id.get((role_id, 0))
            if ow:
                allow |= int(ow["allow"])
                deny |= int(ow["deny"])
        perms = (perms & ~deny) | allow
        mine = by_id.get((member.id, 1))
        if mine:
            perms = (perms & ~int(mine["deny"])) | int(mine["allow"])
        if not perms & Perm.VIEW_CHANNEL:
            return 0
        if not perms & Perm.SEND_MESSAGES:  # implicit denials that follow from it
            perms &= ~(Perm.EMBED_LINKS | Perm.ATTACH_FILES | Perm.MENTION_EVERYONE)
        return perms

    def bot_permissions(self, channel: Channel) -> int:
        return self.channel_permissions(self.members[self.bot_user_id], channel)

    # --- payloads ---------------------------------------------------------------------------

    def channel_payload(self, channel: Channel) -> dict[str, Any]:
        if channel.is_thread:
            return self.thread_payload(channel)
        if channel.type == DM:  # as discord.py's DMChannel reads it (the recipient is a member)
            recipient = self.members[int(channel.recipient_id or 0)]
            return {
                "id": str(channel.id),
                "type": DM,
                "last_message_id": None,
                "flags": 0,
                "recipients": [dict(recipient.user)],
            }
        out = {
            "id": str(channel.id),
            "type": channel.type,
            "guild_id": str(self.guild_id),
            "name": channel.name,
            "position": channel.position,
            "permission_overwrites": [dict(o) for o in channel.overwrites],
            "parent_id": None,
            "topic": None,
            "nsfw": False,
            "rate_limit_per_user": 0,
            "last_message_id": None,
            "flags": channel.flags,
        }
        if channel.type == FORUM:
            out |= {
                "available_tags": [dict(t) for t in channel.available_tags],
                "default_auto_archive_duration": 1440,
                "default_thread_rate_limit_per_user": 0,
                "default_reaction_emoji": None,
                "default_sort_order": None,
                "default_forum_layout": 0,
            }
        return out

    def thread_payload(self, thread: Channel) -> dict[str, Any]:
        """A public thread as discord.py's ``Thread._from_data`` reads it."""
        return {
            "id": str(thread.id),
            "type": PUBLIC_THREAD,
            "guild_id": str(self.guild_id),
            "parent_id": str(thread.parent_id),
            "owner_id": str(thread.owner_id),
            "name": thread.name,
            "last_message_id": str(thread.id),
            "rate_limit_per_user": 0,
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "flags": 0,
            "applied_tags": list(thread.applied_tags),
            "thread_metadata": {
                "archived": thread.archived_at is not None,
                "auto_archive_duration": 1440,
                "archive_timestamp": thread.archived_at or thread.created,
                "locked": False,
                "create_timestamp": thread.created,
            },
        }

    def role_payload(self, role: Role) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": str(role.id),
            "name": role.name,
            "permissions": str(role.permissions),
            "position": role.position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": role.tags is not None,
            "mentionable": False,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }
        if role.tags is not None:
            out["tags"] = role.tags
        return out

    def member_payload(self, member: Member, *, with_user: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "roles": [str(r) for r in member.roles],
            "joined_at": member.joined_at,
            "nick": None,
            "avatar": None,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_user:
            out["user"] = dict(member.user)
        return out

    def guild_payload(self, *, full: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": str(self.guild_id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "features": [],
            "mfa_level": 0,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "roles": [self.role_payload(r) for r in self.roles.values()],
            "emojis": [],
            "stickers": [],
        }
        if full:  # the GUILD_CREATE extras
            out |= {
                "unavailable": False,
                "large": False,
                "member_count": len(self.members),
                "joined_at": self.members[self.bot_user_id].joined_at,
                "channels": [self.channel_payload(c) for c in self.live_channels()],
                "members": [self.member_payload(m) for m in self.members.values()],
                "voice_states": [],
                "presences": [],
                "threads": [self.thread_payload(t) for t in self.active_threads()],
                "stage_instances": [],
                "guild_scheduled_events": [],
                "soundboard_sounds": [],
            }
        return out

    # --- mentions ---------------------------------------------------------------------------

    def mentions(self, content: str, allowed: dict[str, Any] | None) -> dict[str, Any]:
        """What the message would ping: without ``allowed_mentions`` everything parses."""
        parse = (
            ["users", "roles", "everyone"] if allowed is None else list(allowed.get("parse") or [])
        )
        users_ok = {str(u) for u in (allowed or {}).get("users") or []}
        roles_ok = {str(r) for r in (allowed or {}).get("roles") or []}
        user_ids = dict.fromkeys(re.findall(r"<@!?(\d+)>", content))
        role_ids = dict.fromkeys(re.findall(r"<@&(\d+)>", content))
        users = [
            dict(self.members[int(u)].user)
            for u in user_ids
            if int(u) in self.members and ("users" in parse or u in users_ok)
        ]
        roles = [r for r in role_ids if "roles" in parse or r in roles_ok]
        everyone = "everyone" in parse and bool(re.search(r"@(everyone|here)\b", content))
        return {"mentions": users, "mention_roles": roles, "mention_everyone": everyone}
