"""NewsBot: loads the cogs, syncs slash commands only when they changed, one error handler."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import answers, health, metrics, posting
from bot.config import Settings
from bot.delivery import HeldBack
from bot.errors import ConfigError, NewsError
from bot.rounds import Rounds
from bot.stalls import StallMonitor
from bot.store import Role, Store, open_store

log = logging.getLogger(__name__)

EXTENSIONS = (
    "bot.cogs.news",
    "bot.cogs.moderation",
    "bot.cogs.feeds",
    "bot.cogs.poster",
    "bot.cogs.watcher",
    "bot.cogs.digests",
    "bot.cogs.follows",
    "bot.cogs.alerts",
    "bot.cogs.story_edits",
    "bot.cogs.stories",
)
GLOBAL_TARGET = 0
SYNC_DIGEST_KEY = "command_sync:{target}"  # meta key: the definitions last synced there
SYNCED_GUILDS_KEY = "command_sync:guilds"  # meta key: the guilds last given commands
MAX_RATELIMIT_WAIT = 30.0  # seconds discord.py may sleep on a 429 (its smallest allowed)
UNKNOWN_INTERACTION = 10062  # Discord's code for an interaction answered too late
APOLOGY = "Sorry, something went wrong on our side. The error was logged; please try again."


class NewsTree(app_commands.CommandTree[Any]):
    """The command tree with the bot's one error handler; it times each command too."""

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        metrics.received(interaction)
        return True

    async def on_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        await handle_error(interaction, original)
        metrics.answered(interaction)


async def handle_error(interaction: discord.Interaction[Any], error: Exception) -> None:
    """The one error handler, in order: an interaction that expired, domain errors, check
    failures, anything else."""
    if isinstance(error, discord.NotFound) and error.code == UNKNOWN_INTERACTION:
        # Answered after Discord's 3 s (a frozen or starved process): nobody is waiting for
        # this answer any more, and nothing can reach the reader; one line, no traceback.
        log.warning("%s answered too late: the interaction expired", _what(interaction))
        return
    if isinstance(error, NewsError):
        text = answers.error_text(error)
    elif isinstance(error, app_commands.CheckFailure):
        text = str(error) or "You are not allowed to use this command."
        log.info("refused %s for user %s: %s", _what(interaction), interaction.user.id, text)
    else:
        log.error("%s failed", _what(interaction), exc_info=error)
        text = APOLOGY
    await reply_privately(interaction, text)


class LateAutocomplete(logging.Filter):
    """discord.py logs an autocomplete answered after Discord's 3 s (10062) as an ERROR with
    its traceback, outside the tree's error handler: like a late command's (`handle_error`),
    it becomes one warning line, as nothing is wrong but a frozen or starved moment."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, discord.NotFound) and error.code == UNKNOWN_INTERACTION:
            record.levelno, record.levelname = (
                logging.WARNING,
                logging.getLevelName(logging.WARNING),
            )
            record.msg, record.args = (
                "an autocomplete answered too late: the interaction expired",
                (),
            )
            record.exc_info, record.exc_text = None, None
        return True


LATE_AUTOCOMPLETE = LateAutocomplete()


def _what(interaction: discord.Interaction[Any]) -> str:
    if interaction.command is not None:
        return f"/{interaction.command.qualified_name}"
    custom_id = interaction.data.get("custom_id") if interaction.data else None
    return f"button {custom_id}"


class NewsBot(commands.Bot):
    """The bot: settings and store are injected; no privileged intents, slash commands only."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        **options: Any,
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=intents,
            # Nothing a bot sends may ping by accident; a post widens this to its own role only.
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=NewsTree,
            # A longer wait (the hourly crosspost limit) raises discord.RateLimited instead of
            # sleeping inside a delivery: the row waits in the outbox and nothing else stalls.
            max_ratelimit_timeout=MAX_RATELIMIT_WAIT,
            # Each request a delivery makes is checked against its lease first (bot.posting).
            http_trace=posting.request_trace(),
            **options,
        )
        self.settings = settings
        self.store = store
        self.set_up = False  # setup_hook began: a failure from then on is no failed login
        logging.getLogger("discord.app_commands.tree").addFilter(LATE_AUTOCOMPLETE)  # once
        # Since when background work waits for the database (/status shows it); the time
        # is the store's one clock (`store.clock`), which tests inject into the store.
        self.held_back = HeldBack(store.clock)
        # Set when this process queues outbox work; the delivery loop waits on it.
        self.deliveries_due = asyncio.Event()
        store.outbox.on_work = self.deliveries_due.set
        # The rounds each background task completed (a metric; what a wait for one reads).
        self.rounds = Rounds()
        # The loop's stall monitor: run_bot's (shared with /healthz), else started at login.
        self.loop_stalls: StallMonitor | None = None

    async def on_app_command_completion(
        self, interaction: discord.Interaction[Any], command: object
    ) -> None:
        metrics.answered(interaction)

    async def on_ready(self) -> None:
        """One line operators (and the process tests) can wait for; again after a reconnect."""
        shards: dict[int, Any] = getattr(self, "shards", {})  # AutoShardedBot only
        if not self.settings.runs_delivery:
            delivery = "off (another process delivers)"
        elif self.store.leases.elected:  # PostgreSQL: roles by lease
            delivery = "a candidate for the deliverer's lease"
        else:
            delivery = "on"
        log.info(
            "ready: %d guild(s)%s; delivery loop %s",
            len(self.guilds),
            f", shards {sorted(shards)} of {self.shard_count}" if shards else "",
            delivery,
        )

    async def setup_hook(self) -> None:
        self.set_up = True
        if self.loop_stalls is None:  # logs stalls past 100 ms
            self.loop_stalls = StallMonitor.start(until=self.is_closed)
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self.sync_commands()
        await self.store.articles.search_index.refresh()  # built before the first /search

    async def sync_commands(self) -> bool:
        """Sync each place whose definitions changed since they were last synced there.

        The places: the global list, DISCORD_GUILD_ID when set, and each newsroom server,
        where the moderation commands are registered alone. The reader commands (those a
        member may install to their account) are always global: Discord honours
        `integration_types` and `contexts` on global commands only, so a user install
        can reach nothing else. With DISCORD_GUILD_ID, the other global commands (feeds,
        digests: server installs only) move to that server instead, synced there at once
        as before; a reader command is never registered twice (global and in a server),
        which would show it twice in that server's command picker. A server that was
        given commands and is no place now (a former newsroom) is emptied.
        """
        primary = self.settings.guild_id
        if primary is not None:
            self._move_server_commands_to(primary)
        places = [GLOBAL_TARGET] + ([primary] if primary is not None else [])
        places += sorted(self.settings.newsroom_guild_ids - set(places))
        before = await self.store.meta.get(SYNCED_GUILDS_KEY) or ""
        gone = sorted({int(g) for g in before.split(",") if g} - set(places))
        changed = False
        for target in places + gone:
            changed |= await self._sync_one(target, required=target in (GLOBAL_TARGET, primary))
        guilds = ",".join(str(t) for t in places if t != GLOBAL_TARGET)
        if guilds != before:
            await self.store.meta.set(SYNCED_GUILDS_KEY, guilds)
        return changed

    def _move_server_commands_to(self, guild_id: int) -> None:
        """The global commands no member can install to their account, registered in
        `guild_id` instead (DISCORD_GUILD_ID); the user-installable ones stay global."""
        guild = discord.Object(guild_id)
        for command in self.tree.get_commands():
            if user_installable(command):
                continue
            self.tree.add_command(command, guild=guild, override=True)
            self.tree.remove_command(command.name)  # a slash command (the bot has no other)

    async def _sync_one(self, target: int, *, required: bool) -> bool:
        """Sync one guild (or GLOBAL_TARGET) if its definitions changed; only the first
        place's failure stops start-up, another's is logged and tried again next start."""
        guild = None if target == GLOBAL_TARGET else discord.Object(target)
        definitions = [cmd.to_dict(self.tree) for cmd in self.tree.get_commands(guild=guild)]
        digest = hashlib.sha256(json.dumps(definitions, sort_keys=True).encode()).hexdigest()
        key = _digest_key(target)
        where = "all guilds (global)" if guild is None else f"guild {target}"
        if await self.store.meta.get(key) == digest:
            log.info("slash commands of %s unchanged since the last sync; not syncing", where)
            return False
        try:
            synced = await self.tree.sync(guild=guild)
        except discord.HTTPException as exc:
            if required:
                raise
            log.error(
                "could not sync slash commands to %s (%s %s): is the bot in that server, "
                "invited with the applications.commands scope?",
                where,
                exc.status,
                exc.text,
            )
            return False
        await self.store.meta.set(key, digest)
        log.info("synced %d slash commands to %s", len(synced), where)
        return True


def user_installable(command: object) -> bool:
    """May a member install this command to their account (integration type 1)?"""
    installs = getattr(command, "allowed_installs", None)
    return installs is not None and bool(installs.user)


def _digest_key(target: int) -> str:
    return SYNC_DIGEST_KEY.format(target=target)


async def reply_privately(interaction: discord.Interaction[Any], text: str) -> None:
    """An ephemeral answer, whether or not the interaction was already answered."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not deliver an error answer to interaction %s", interaction.id)


class ShardedNewsBot(NewsBot, commands.AutoShardedBot):
    """The same bot over discord.py's auto-sharding (SHARD_COUNT, optionally SHARD_IDS)."""


def make_bot(settings: Settings, store: Store) -> NewsBot:
    """A plain bot, or an auto-sharded one when SHARD_COUNT is set."""
    if settings.shard_count is None:
        return NewsBot(settings, store)
    return ShardedNewsBot(
        settings,
        store,
        shard_count=settings.shard_count,
        shard_ids=list(settings.shard_ids) if settings.shard_ids is not None else None,
    )


def roles(settings: Settings) -> set[Role]:
    """The roles this process competes for: scanning needs the store folder here."""
    wanted = {Role.SCANNER} if settings.store_dir.is_dir() else set()
    return wanted | ({Role.DELIVERER} if settings.runs_delivery else set())


def shards_label(settings: Settings) -> str:
    """This process's shards as `newsbot status` shows them."""
    if settings.shard_count is None:
        return "all"
    if settings.shard_ids is None:
        return f"all {settings.shard_count}"
    return f"{', '.join(map(str, settings.shard_ids))} of {settings.shard_count}"


Progress = Callable[[int, int], None]


@contextlib.asynccontextmanager
async def serving(
    settings: Settings, store: Store, progress: Progress | None = None
) -> AsyncIterator[None]:
    """This process's roles held (or competed for) while the block runs, the store loaded,
    and the process shown live to `newsbot status` on every host."""
    wanted = roles(settings)
    async with (
        store.leases.holding(wanted),
        store.processes.registered(shards_label(settings), ", ".join(sorted(wanted))),
    ):
        await prepare_store(settings, store, progress)
        yield


async def prepare_store(settings: Settings, store: Store, progress: Progress | None = None) -> None:
    """Load the store before connecting; NEWS_CHANNEL_ID follows everything from its first start.

    The load comes first, so a first start on a full store floods nothing. Only the scanner
    loads (on PostgreSQL another process may be it); the others find the articles loaded.
    """
    if store.leases.holds(Role.SCANNER):
        report = await store.folder.sync(progress=progress)
        log.info(
            "store loaded: %d files, %d new, %d changed, %d bad",
            report.scanned,
            report.new,
            report.changed,
            len(report.errors),
        )
    elif await store.articles.last_sync() is None:
        log.info("the store is not loaded yet: the scanner's process loads it")
        return
    if settings.channel_id is not None:
        await store.feeds.subscribe(settings.channel_id, "", actor="NEWS_CHANNEL_ID", replace=False)


FIRST_RETRY = 1.0  # seconds before logging in again when Discord could not be reached
MAX_RETRY = 60.0  # the wait doubles up to this


async def log_in(bot: NewsBot, token: str) -> None:
    """Log in, trying again with backoff while Discord cannot be reached (a host that boots
    before its network, an outage): a supervisor need not restart us. A rejected token is
    no outage: it stops start-up. (Once logged in, discord.py reconnects by itself.)"""
    delay = FIRST_RETRY
    while True:
        try:
            await bot.login(token)
            return
        except discord.LoginFailure:
            raise ConfigError("DISCORD_TOKEN: Discord rejected this token") from None
        except (OSError, TimeoutError, discord.DiscordServerError) as exc:
            if bot.set_up:
                raise
            log.warning("cannot reach Discord (%s); trying again in %.0f s", exc, delay)
        await bot.http.close()  # a fresh session, and connector, for the next try
        bot.http.connector = discord.utils.MISSING
        await asyncio.sleep(delay)
        delay = min(delay * 2, MAX_RETRY)


M_ARENA_MAX = -8  # glibc's mallopt parameter: how many heaps ("arenas") threads may share
MALLOC_ARENAS = 2


def few_malloc_arenas() -> bool:
    """Cap glibc's malloc arenas for this process (before its threads start). glibc gives
    each thread that contends for the heap an arena of its own, up to 8 per core, and
    seldom gives their memory back: the search index's worker threads grew a reader-facing
    process's RSS by 30% over half an hour of hostile searches (bench.chaos); two arenas
    keep it flat. False where the C library is not glibc (nothing to do there)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(libc.mallopt(M_ARENA_MAX, MALLOC_ARENAS))


async def run_bot(settings: Settings, progress: Progress | None = None) -> None:
    """Open the store, load it, then run the bot until stopped; everything closed on exit."""
    few_malloc_arenas()
    async with (
        health.serving(settings) as watch,
        open_store(settings) as store,
        serving(settings, store, progress),
        make_bot(settings, store) as bot,
    ):
        watch.attach(store, bot)
        # What start-up made (every module, the load's survivors) lives as long as the
        # process: kept out of the collector's full passes, each of which walked it again
        # (30-50 ms, stalling every command meanwhile).
        gc.collect()
        gc.freeze()
        await log_in(bot, settings.token or "")
        await bot.connect()
