"""`newsbot` / `python -m bot`: run, console, load, check, publish, unpublish, search, news,
recluster, migrate-db, status, audit."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bot.config import Settings, check_database_url, redact
from bot.errors import (
    ConfigError,
    DatabaseDamaged,
    DatabaseUnavailable,
    NewsError,
    NothingFound,
)
from bot.frontmatter import FAST_YAML, terminal_text
from bot.logs import log_to_stderr
from bot.providers import PROVIDERS_FILE, read_providers
from bot.store import Store, SyncReport, open_store
from bot.store.folder import read_file, scan_store
from bot.store.migrate import copy_state

log = logging.getLogger("bot")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsbot", description="A Discord bot that shares curated news."
    )
    verbs = parser.add_subparsers(dest="verb", metavar="COMMAND")
    verbs.add_parser(
        "run", help="load the store and start the bot (offline console without a token)"
    )
    verbs.add_parser("console", help="the offline console: the bot's commands, printed")
    load = verbs.add_parser("load", help="import the store (NEWS_STORE_DIR); report counts, errors")
    load.add_argument(
        "--replace-with",
        type=Path,
        metavar="DIR",
        help="make DIR the store: every article not in DIR is withdrawn (its posts deleted)",
    )
    # `load DIR`, typed as `check DIR` is: refused with one clear line, never loaded (`main`).
    load.add_argument("dir", nargs="?", type=Path, help=argparse.SUPPRESS)
    verbs.add_parser("check", help="validate every file; exit 1 on any bad file").add_argument(
        "dir", nargs="?", type=Path, help="store folder (default NEWS_STORE_DIR)"
    )
    for verb, text in (("publish", "publish a draft"), ("unpublish", "withdraw an article")):
        verbs.add_parser(verb, help=text).add_argument(
            "id", help="article id (file name without extension)"
        )
    verbs.add_parser("search", help="search published articles").add_argument("query", nargs="+")
    verbs.add_parser(
        "migrate-db", help="move this bot's SQLite database (NEWS_DB_PATH) to PostgreSQL"
    ).add_argument("--to", required=True, metavar="URL", help="postgresql://user@host/db")
    verbs.add_parser("news", help="latest published articles").add_argument("topic", nargs="*")
    verbs.add_parser(
        "recluster",
        help="decide every article's story again (editors' splits and merges hold; "
        "nothing is posted)",
    )
    verbs.add_parser(
        "status", help="live processes, who holds each role, the outbox, paused channels"
    )
    audit = verbs.add_parser("audit", help="the moderation audit trail, oldest first")
    audit.add_argument(
        "--since", type=_date, metavar="DATE", help="from this UTC date (YYYY-MM-DD[THH:MM])"
    )
    audit.add_argument(
        "--limit", type=_count, default=1000, help="the latest N entries at most (1000)"
    )
    return parser


def _date(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (YYYY-MM-DD)") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive number: {text!r}")
    return int(text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verb is None:
        parser.print_help()
        return 2
    folder: Path | None = getattr(args, "dir", None)  # `check DIR`
    try:
        if args.verb == "load":
            if folder is not None:
                raise ConfigError(_MISTYPED_LOAD.format(dir=folder))
            folder = args.replace_with
        if args.verb in ("search", "news"):
            from bot.console import MAX_LINE  # what the console refuses as a line too long

            if len(" ".join(args.query if args.verb == "search" else args.topic)) > MAX_LINE:
                raise ConfigError(f"{args.verb}: too long (at most {MAX_LINE:,} characters)")
        settings = Settings.from_env(require_store=folder is None)  # DIR is checked where used
        log_to_stderr(settings)
        if args.verb == "check":
            return check(folder or settings.store_dir)
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            return runner.run(dispatch(args, settings))
    except ConfigError as exc:
        _say(f"newsbot: {exc}", sys.stderr)
        return 2
    except DatabaseUnavailable as exc:
        _say(f"newsbot: {exc}; check {exc.variable}", sys.stderr)
        return 1
    except DatabaseDamaged as exc:
        _say(
            f"newsbot: {exc}. The article files are the source of truth: move the file away, "
            f"then run `newsbot load` to rebuild it (subscriptions and the post log are lost).",
            sys.stderr,
        )
        return 1
    except NewsError as exc:
        _say(f"newsbot: {exc}", sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # no traceback reaches a user; LOG_LEVEL=DEBUG shows it
        log.debug("unexpected error", exc_info=exc)
        _say(f"newsbot: unexpected error: {exc.__class__.__name__}: {exc}", sys.stderr)
        return 1


_MISTYPED_LOAD = (
    "load {dir}: nothing was changed. `newsbot load` loads the store NEWS_STORE_DIR names; "
    "to make {dir} the store instead (every article not in it is withdrawn, and a running "
    "bot deletes its posts), run `newsbot load --replace-with {dir}`"
)


def _say(text: str, stream: TextIO | None = None) -> None:
    """Print to the user's terminal (stdout unless `stream`): article text and file names
    may hold control characters (ESC clears a screen, sets a title...), shown escaped."""
    print(terminal_text(text), file=stream or sys.stdout)


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop where it is installed (Linux, macOS): every event and answer costs the bot less
    CPU on it (docs/performance.md); asyncio's own loop elsewhere."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    return uvloop.new_event_loop


async def run_until_stopped(settings: Settings) -> int:
    """Run the bot until SIGINT (Ctrl-C) or SIGTERM (systemd's stop). Either cancels this
    task, which closes everything in order: the roles released for a standby at once, the
    process gone from `newsbot status`. The loop's own handlers catch the signal wherever
    the loop is waiting; Python's SIGINT handling was seen to miss one under uvloop."""
    from bot.bot import run_bot  # discord.py loads only when the bot really runs

    loop = asyncio.get_running_loop()
    this = asyncio.current_task()
    assert this is not None
    stops = (signal.SIGINT, signal.SIGTERM)
    for stop in stops:
        loop.add_signal_handler(stop, this.cancel)
    try:
        await run_bot(settings, _logged_progress)
    except asyncio.CancelledError:
        if this.uncancel():  # another cancellation than ours: not a stop
            raise
        log.info("stopped")
    finally:
        for stop in stops:
            loop.remove_signal_handler(stop)
    return 0


async def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.verb == "migrate-db":
        return await migrate_db(settings, args.to)
    if args.verb in ("status", "audit"):
        return await inspect(args, settings)
    if args.verb == "run":
        log.info("store folder %s; database %s", settings.store_dir, settings.database_label)
    if args.verb == "run" and settings.token:
        return await run_until_stopped(settings)
    store_dir = getattr(args, "replace_with", None) or settings.store_dir
    if not store_dir.is_dir():
        raise ConfigError(f"{store_dir}: not a folder")
    async with open_store(settings, store_dir) as store:
        progress = {"load": _progress, "run": _logged_progress}.get(args.verb)
        report = await store.folder.sync(progress=progress)
        if args.verb == "recluster":
            done = await store.folder.writer.stories.recluster()
            assert done is not None  # None only when asked to skip a current clustering
            _say(
                f"{done.articles} articles in {done.stories} stories; {done.moved} moved to "
                f"another story ({done.seconds:.1f} s)"
            )
            return 0
        if args.verb == "load":
            bad = [error for _, error in await store.articles.bad_files()]
            _print_report(report, bad + [e for e in report.errors if e not in bad])
            return 0
        from bot.console import Console, error_text, run_console

        if args.verb in ("run", "console"):
            if args.verb == "run":
                _say(
                    "DISCORD_TOKEN is not set: opening the offline console instead "
                    "(see README to connect to Discord).",
                    sys.stderr,
                )
            _print_report(report, report.errors, quiet=True)
            await run_console(store)
            return 0
        words = {
            "publish": [args.id] if args.verb == "publish" else [],
            "unpublish": [args.id] if args.verb == "unpublish" else [],
            "search": getattr(args, "query", []),
            "news": getattr(args, "topic", []),
        }[args.verb]
        try:
            _say(await Console(store, sys.stdout, actor="cli").command(args.verb, words, {}))
        except NothingFound as exc:  # an answer, not a failure
            _say(error_text(exc))
        except NewsError as exc:
            _say(f"newsbot: {error_text(exc)}", sys.stderr)
            return 1
        return 0


async def inspect(args: argparse.Namespace, settings: Settings) -> int:
    """`status` and `audit`: read from the database alone, from any host, without Discord."""
    if settings.database_url is None and not settings.db_path.is_file():
        raise ConfigError(f"NEWS_DB_PATH: {settings.db_path} does not exist: no bot ran here")
    async with open_store(settings) as store:
        if args.verb == "status":
            from bot.status import gather, status_text

            _say(status_text(await gather(store, settings.database_label)))
            return 0
        since = int(args.since.timestamp()) if args.since else 0
        entries = await store.publishing.audit_trail(limit=args.limit, since=since)
    for entry in reversed(entries):
        at = datetime.fromtimestamp(entry.at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        detail = f" ({entry.detail})" if entry.detail else ""
        _say(f"{at} UTC  {entry.actor}  {entry.action}  {entry.article_id}{detail}")
    if not entries:
        _say("no audit entries" + (f" since {args.since:%Y-%m-%d %H:%M} UTC" if since else ""))
    return 0


async def migrate_db(settings: Settings, url: str) -> int:
    """The articles loaded into PostgreSQL from the store, then subscriptions, channel states,
    the audit trail and the delivery log copied: nothing is posted again. Safe to repeat."""
    url = check_database_url(url, "--to")
    if not settings.db_path.is_file():
        raise ConfigError(f"NEWS_DB_PATH: {settings.db_path} does not exist: nothing to move")
    async with (
        Store.open(settings.db_path, settings.store_dir) as old,
        _migration_target(url, settings.store_dir) as new,
    ):
        report = await new.folder.sync(progress=_progress)
        copied = await copy_state(old.db, new.db)
    _say(
        f"articles loaded from {settings.store_dir}: {report.scanned} files, {report.loaded} read, "
        f"{len(report.errors)} bad"
    )
    _say("copied: " + ", ".join(f"{rows} {table}" for table, rows in copied.copied.items()))
    _say(f"now start the bot with NEWS_DATABASE_URL={redact(url)}")
    return 0


@contextlib.asynccontextmanager
async def _migration_target(url: str, store_dir: Path) -> AsyncIterator[Store]:
    """The store at `--to`; a failure to open it names `--to`, not NEWS_DATABASE_URL."""
    try:
        async with Store.open(url, store_dir, pool_size=2) as store:
            yield store
    except DatabaseUnavailable as exc:
        if exc.variable != "NEWS_DATABASE_URL":
            raise
        raise DatabaseUnavailable(exc.where, exc.reason, "--to") from None


def check(store_dir: Path) -> int:
    """Validate every article file (and providers.yaml) without touching the database: the
    files the sync lists, read by the sync's own readers, so `check` and `load` never
    disagree."""
    if not store_dir.is_dir():
        raise ConfigError(f"{store_dir}: not a folder")
    files = scan_store(store_dir)
    checked, bad = len(files), 0
    if os.path.lexists(store_dir / PROVIDERS_FILE):
        checked += 1
        providers = read_providers(store_dir)
        if isinstance(providers, str):
            bad += 1
            _say(f"error: {providers}")
    for name in sorted(files):
        result = read_file(os.path.join(store_dir, name), files[name][0])
        if isinstance(result, str):
            bad += 1
            _say(f"error: {result}")
            continue
        for warning in result.warnings:
            _say(f"warning: {warning}")
    _say(f"checked {checked} files in {store_dir}: {checked - bad} good, {bad} bad")
    return 1 if bad else 0


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty():
        print(f"\rloading {done}/{total} files", end="" if done < total else "\n", file=sys.stderr)
    elif _worth_a_line(done, total):
        print(f"loading {done}/{total} files", file=sys.stderr)


def _logged_progress(done: int, total: int) -> None:
    """`newsbot run`'s load, said in the log (a service's stderr is no terminal)."""
    if _worth_a_line(done, total):
        log.info("loading %d/%d files", done, total)


def _worth_a_line(done: int, total: int) -> bool:
    """A line off a terminal: about every 10,000 files, and at the end."""
    return done == total or done % 10_000 < 500


def _print_report(report: SyncReport, bad: list[str], *, quiet: bool = False) -> None:
    """Counts of this scan, and every file that is bad now (read in this scan or before)."""
    for error in bad:
        _say(f"error: {error}", sys.stderr)
    if not quiet:
        for warning in report.warnings:
            _say(f"warning: {warning}", sys.stderr)
    if not FAST_YAML:
        _say("warning: PyYAML has no libyaml here; loading is about 10x slower", sys.stderr)
    _say(
        f"{report.scanned} files: {report.new} new, {report.changed} changed, "
        f"{report.deleted} withdrawn, {report.unchanged} unchanged, {len(bad)} bad "
        f"({report.seconds:.1f} s)",
        sys.stderr if quiet else sys.stdout,
    )


if __name__ == "__main__":
    sys.exit(main())
