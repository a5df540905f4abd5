"""The real NewsBot, on a real database (SQLite or PostgreSQL), connected to the stand-in.

`news_bot(...)` builds the whole thing for an end-to-end test: a store folder,
the stand-in with a guild (channels, a reader, a moderator, an admin), Settings
pointing at both, and the bot started through `running_bot` (which only points
discord.py's API base and gateway URL at the stand-in).

Tests read the bot's state back through `env.store`, the store's own API (the one the
bot uses), never with SQL: the schema stays the store's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.bot import NewsBot, serving
from bot.config import Settings
from bot.store import Store, open_store
from bot.store.database import Clock
from tests.support.helpers import SEED_PATH
from tests.support.stand_in import InteractionResult, Perm, StandIn, running_bot

# The PostgreSQL database the bots of the running test use, or None for a SQLite file: set
# by the `both_backends` fixture (tests/conftest.py) for the end-to-end modules run on both.
DATABASE_URL: str | None = None


@dataclass
class Guild:
    """Who and what exists in the stand-in's guild."""

    reader: int
    moderator: int
    admin: int
    mod_role: int
    channels: dict[str, int] = field(default_factory=dict)


@dataclass
class NewsEnv:
    discord: StandIn
    bot: NewsBot
    store: Store
    store_dir: Path
    settings: Settings
    guild: Guild


def populate(stand_in: StandIn, channels: tuple[str, ...] = ("news", "ai")) -> Guild:
    """A reader, a moderator (Manage Messages), an admin (Manage Server) and text channels."""
    mod_role = stand_in.add_role("Editors")
    guild = Guild(
        reader=stand_in.add_member("reader"),
        moderator=stand_in.add_member("moderator", permissions=Perm.MANAGE_MESSAGES),
        admin=stand_in.add_member("admin", permissions=Perm.MANAGE_GUILD),
        mod_role=mod_role,
    )
    for name in channels:
        guild.channels[name] = stand_in.add_channel(name)
    return guild


def settings_for(stand_in: StandIn, store_dir: Path, db_path: Path, **changes: Any) -> Settings:
    """Commands synced to the stand-in's guild, which is also the newsroom (as from_env
    makes DISCORD_GUILD_ID the newsroom by default)."""
    base = Settings(
        token="test-token",
        store_dir=store_dir,
        db_path=db_path,
        guild_id=stand_in.guild_id,
        newsroom_guild_ids=frozenset({stand_in.guild_id}),
        poll_seconds=0.5,
        database_url=DATABASE_URL,
    )
    return dataclasses.replace(base, **changes)


@contextlib.asynccontextmanager
async def start_bot(
    stand_in: StandIn, settings: Settings, *, clock: Clock | None = None, **options: Any
) -> AsyncIterator[tuple[NewsBot, Store]]:
    """Open the store, load it, start the real bot against the stand-in; all closed on exit.
    `clock` is the store's one clock (the bot reads it from the store)."""
    async with open_store(settings, clock=clock) as store, serving(settings, store):
        bot = NewsBot(settings, store, guild_ready_timeout=0.1, **options)
        async with running_bot(bot, stand_in):
            yield bot, store


@contextlib.asynccontextmanager
async def news_bot(
    tmp_path: Path,
    *,
    stand_in: StandIn | None = None,
    channels: tuple[str, ...] = ("news", "ai"),
    clock: Clock | None = None,
    **changes: Any,
) -> AsyncIterator[NewsEnv]:
    """Everything an end-to-end test needs; `changes` adjust Settings, `clock` replaces
    the store's clock (a test advances it instead of waiting)."""
    store_dir = tmp_path / "store"
    store_dir.mkdir(exist_ok=True)
    async with contextlib.AsyncExitStack() as stack:
        if stand_in is None:
            stand_in = await stack.enter_async_context(StandIn())
        guild = populate(stand_in, channels)
        settings = settings_for(stand_in, store_dir, tmp_path / "news.db", **changes)
        bot, store = await stack.enter_async_context(start_bot(stand_in, settings, clock=clock))
        yield NewsEnv(stand_in, bot, store, store_dir, settings, guild)


# --- what the tests read back ------------------------------------------------------------


def store_with_seed(tmp_path: Path) -> Path:
    """The store folder `news_bot` will use, holding a copy of the seed (a draft)."""
    folder = tmp_path / "store"
    folder.mkdir(exist_ok=True)
    shutil.copy2(SEED_PATH, folder / SEED_PATH.name)
    return folder


def content(result: InteractionResult) -> str:
    return str(result.data.get("content") or "")


async def subscribe(env: NewsEnv, channel: str, **options: Any) -> InteractionResult:
    """`/feed add` as the admin; the answer must confirm it."""
    result = await env.discord.slash(
        "feed",
        {"channel": env.guild.channels[channel], **options},
        subcommand="add",
        user_id=env.guild.admin,
    )
    assert result.ephemeral and "will receive" in content(result), result.data
    return result


async def feed_add(env: NewsEnv, channel_id: int, **options: Any) -> str:
    """`/feed add` as the admin for a channel by id (a forum the test added, say); its answer,
    which must confirm it."""
    result = await env.discord.slash(
        "feed", {"channel": channel_id, **options}, subcommand="add", user_id=env.guild.admin
    )
    assert "will receive" in content(result), result.data
    return content(result)


async def settled(env: NewsEnv, timeout: float = 10.0) -> None:
    """Wait until the outbox has no work left (every post sent, edited or deleted)."""

    async def idle() -> bool:
        return (await env.store.outbox.health()).waiting == 0

    await env.discord.wait_for(idle, timeout)


async def two_rounds(bot: NewsBot, *tasks: str, timeout: float = 10.0) -> None:
    """Wait until each background task named (in turn: "store rescan", then "deliveries",
    say) has completed two full rounds after this call. The second began after the first
    ended, so after the call: whatever was due by now has been handled, and a check that
    nothing was sent ("no post") is an answer, not a guess after a sleep. The default task
    is the delivery loop, which is woken for each round as queued work wakes it (it looks
    at the outbox at once instead of at its next poll)."""
    for task in tasks or ("deliveries",):
        for _ in range(2):
            after = bot.rounds.count(task) + 1
            if task == "deliveries":
                bot.deliveries_due.set()
            await asyncio.wait_for(bot.rounds.wait_past(task, after), timeout)
