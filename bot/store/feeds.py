"""Subscriptions: which channels follow which topics, and whether a channel is paused."""

from __future__ import annotations

from dataclasses import dataclass

from bot.articles import topic_key
from bot.store.database import Clock, Database
from bot.store.feed_filters import BUMP
from bot.store.outbox import ChannelKind, Style, Updates


@dataclass(frozen=True, slots=True)
class Subscription:
    channel_id: int
    topic: str  # display name, "" = every topic
    role_id: int | None
    min_quality: int
    guild_id: int | None
    paused_reason: str | None
    kind: ChannelKind = ChannelKind.TEXT
    silent: bool = False  # posts notify no one
    max_per_hour: int = 0  # 0: as fast as Discord allows
    threads: bool = False  # a discussion thread on each post (text channels)
    style: Style = Style.CARD  # how its posts look (feeds made before cards: embed)
    filter: str = ""  # the canonical text of its filter query (bot.follow_query), "" = none
    created_at: int = 0  # when `/feed add` last set it up: stories visible before are not its
    updates: Updates | None = None  # a story's later articles; None: the channel's default


# `/feed add` on an existing subscription: every option as given (the style: see subscribe).
_REPLACE = (
    "DO UPDATE SET guild_id = excluded.guild_id, topic_name = excluded.topic_name, "
    "role_id = excluded.role_id, min_quality = excluded.min_quality, "
    "created_at = excluded.created_at, created_by = excluded.created_by, "
    "kind = excluded.kind, silent = excluded.silent, "
    "max_per_hour = excluded.max_per_hour, threads = excluded.threads, "
    "updates = excluded.updates"
)


def _on_conflict(replace: bool, *, keep_style: bool, keep_filter: bool) -> str:
    """`/feed add` on an existing subscription: replaced (each option as given, the style
    and the filter kept when not given), or left as it is."""
    if not replace:
        return "DO NOTHING"
    style = "subscriptions.style" if keep_style else "excluded.style"
    filter_text = "subscriptions.filter" if keep_filter else "excluded.filter"
    return f"{_REPLACE}, style = {style}, filter = {filter_text}"


class Feeds:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def subscribe(
        self,
        channel_id: int,
        topic: str,
        *,
        actor: str,
        guild_id: int | None = None,
        role_id: int | None = None,
        min_quality: int = 0,
        replace: bool = True,
        kind: ChannelKind = ChannelKind.TEXT,
        silent: bool = False,
        max_per_hour: int = 0,
        threads: bool = False,
        style: Style | None = None,
        filter: str | None = None,
        updates: Updates | None = None,
    ) -> Subscription:
        """Follow a topic (its display name; "" = all) in a channel from now on.

        `replace` also resumes a paused channel; without it an existing subscription wins.
        `style` None: a new subscription's posts are cards, an existing one keeps its style
        (what an admin changing another option expects); given, it applies to new posts.
        `filter` likewise: None keeps an existing subscription's (a new one has none), ""
        clears it, a text (`FollowQuery.text`) sets it. `updates` None: the channel's default."""
        conflict = _on_conflict(replace, keep_style=style is None, keep_filter=filter is None)
        async with self.db.transaction():
            await self.db.execute(
                "INSERT INTO subscriptions (channel_id, topic_key, guild_id, topic_name, role_id, "
                "min_quality, created_at, created_by, kind, silent, max_per_hour, threads, style, "
                "filter, updates) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                f"ON CONFLICT (channel_id, topic_key) {conflict}",
                (
                    channel_id,
                    topic_key(topic),
                    guild_id,
                    topic,
                    role_id,
                    min_quality,
                    int(self.clock()),
                    actor,
                    kind,
                    int(silent),
                    max_per_hour,
                    int(threads),
                    Style.CARD if style is None else Style(style),
                    filter or "",
                    updates or "",
                ),
            )
            if filter:  # every process's matcher of filters reads it anew (feed_filters)
                await self.db.execute(BUMP)
            if replace:
                await self.db.execute(
                    "UPDATE channels SET paused_reason = NULL, paused_at = NULL "
                    "WHERE channel_id = ?",
                    (channel_id,),
                )
        subs = await self.subscriptions(channel_id=channel_id)
        return next(s for s in subs if topic_key(s.topic) == topic_key(topic))

    async def unsubscribe(self, channel_id: int, topic: str | None, *, guild_id: int) -> int:
        """Stop following, within one guild's subscriptions; without a topic, every
        subscription of the channel. Returns how many."""
        where = "channel_id = ? AND guild_id = ?"
        params: tuple[object, ...] = (channel_id, guild_id)
        if topic is not None:
            where, params = where + " AND topic_key = ?", (*params, topic_key(topic))
        async with self.db.transaction():
            return await self.db.execute(f"DELETE FROM subscriptions WHERE {where}", params)

    async def subscriptions(
        self, *, guild_id: int | None = None, channel_id: int | None = None
    ) -> list[Subscription]:
        """Subscriptions of a guild or a channel (or all), with each channel's pause reason."""
        where, params = "1 = 1", []
        if guild_id is not None:
            where, params = "s.guild_id = ?", [guild_id]
        if channel_id is not None:
            where, params = "s.channel_id = ?", [channel_id]
        rows = await self.db.fetch(
            "SELECT s.channel_id, s.topic_name, s.role_id, s.min_quality, s.guild_id, "
            "c.paused_reason, s.kind, s.silent, s.max_per_hour, s.threads, s.style, "
            "s.filter, s.created_at, s.updates "
            "FROM subscriptions s "
            "LEFT JOIN channels c ON c.channel_id = s.channel_id "
            f"WHERE {where} ORDER BY s.channel_id, s.topic_name",
            params,
        )
        return [
            Subscription(
                channel_id=r["channel_id"],
                topic=r["topic_name"],
                role_id=r["role_id"],
                min_quality=r["min_quality"],
                guild_id=r["guild_id"],
                paused_reason=r["paused_reason"],
                kind=ChannelKind(r["kind"]),
                silent=bool(r["silent"]),
                max_per_hour=r["max_per_hour"],
                threads=bool(r["threads"]),
                style=Style(r["style"]),
                filter=r["filter"],
                created_at=r["created_at"],
                updates=Updates(r["updates"]) if r["updates"] else None,
            )
            for r in rows
        ]

    async def paused_reason(self, channel_id: int) -> str | None:
        """Why a channel is paused (Forbidden, Not Found), or None."""
        value = await self.db.fetchval(
            "SELECT paused_reason FROM channels WHERE channel_id = ?", [channel_id]
        )
        return str(value) if value is not None else None
