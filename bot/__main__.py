"""`newsbot` / `python -m bot`: run, console, load, check, publish, unpublish, search, news,
migrate-db."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config import Settings, redact
from bot.errors import (
    ConfigError,
    DatabaseDamaged,
    DatabaseUnavailable,
    NewsError,
    NothingFound,
)
from bot.frontmatter import FAST_YAML
from bot.store import Store, SyncReport, is_database_url, open_store
from bot.store.migrate import copy_state
from bot.store.sync import read_file, scan_store

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
    for verb, text in (
        ("load", "import the store and report counts and errors"),
        ("check", "validate every file; exit 1 on any bad file"),
    ):
        sub = verbs.add_parser(verb, help=text)
        sub.add_argument("dir", nargs="?", type=Path, help="store folder (default NEWS_STORE_DIR)")
    for verb, text in (("publish", "publish a draft"), ("unpublish", "withdraw an article")):
        verbs.add_parser(verb, help=text).add_argument(
            "id", help="article id (file name without extension)"
        )
    verbs.add_parser("search", help="search published articles").add_argument("query", nargs="+")
    verbs.add_parser(
        "migrate-db", help="move this bot's SQLite database (NEWS_DB_PATH) to PostgreSQL"
    ).add_argument("--to", required=True, metavar="URL", help="postgresql://user@host/db")
    verbs.add_parser("news", help="latest published articles").add_argument("topic", nargs="*")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verb is None:
        parser.print_help()
        return 2
    folder: Path | None = getattr(args, "dir", None)  # `check DIR`, `load DIR`
    try:
        settings = Settings.from_env(require_store=folder is None)  # DIR is checked where used
        logging.basicConfig(
            level=settings.log_level_number,
            format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
            stream=sys.stderr,
        )
        if args.verb == "check":
            return check(folder or settings.store_dir)
        return asyncio.run(dispatch(args, settings))
    except ConfigError as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return 2
    except DatabaseUnavailable as exc:
        print(f"newsbot: {exc}; check {exc.variable}", file=sys.stderr)
        return 1
    except DatabaseDamaged as exc:
        print(
            f"newsbot: {exc}. The article files are the source of truth: move the file away, "
            f"then run `newsbot load` to rebuild it (subscriptions and the post log are lost).",
            file=sys.stderr,
        )
        return 1
    except NewsError as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # no traceback reaches a user; LOG_LEVEL=DEBUG shows it
        log.debug("unexpected error", exc_info=exc)
        print(f"newsbot: unexpected error: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 1


async def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.verb == "migrate-db":
        return await migrate_db(settings, args.to)
    if args.verb == "run" and settings.token:
        from bot.bot import run_bot  # discord.py loads only when the bot really runs

        await run_bot(settings)
        return 0
    store_dir = getattr(args, "dir", None) or settings.store_dir
    if not store_dir.is_dir():
        raise ConfigError(f"{store_dir}: not a folder")
    async with open_store(settings, store_dir) as store:
        report = await store.folder.sync(progress=_progress if args.verb == "load" else None)
        if args.verb == "load":
            bad = [error for _, error in await store.articles.bad_files()]
            _print_report(report, bad + [e for e in report.errors if e not in bad])
            return 0
        from bot.console import Console, error_text, run_console

        if args.verb in ("run", "console"):
            if args.verb == "run":
                print(
                    "DISCORD_TOKEN is not set: opening the offline console instead "
                    "(see README to connect to Discord).",
                    file=sys.stderr,
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
            print(await Console(store, sys.stdout, actor="cli").command(args.verb, words, {}))
        except NothingFound as exc:  # an answer, not a failure
            print(error_text(exc))
        except NewsError as exc:
            print(f"newsbot: {error_text(exc)}", file=sys.stderr)
            return 1
        return 0


async def migrate_db(settings: Settings, url: str) -> int:
    """The index rebuilt in PostgreSQL from the store, then subscriptions, channel states,
    the audit trail and the delivery log copied: nothing is posted again. Safe to repeat."""
    if not is_database_url(url):
        raise ConfigError("--to: must be a postgresql:// URL")
    if not settings.db_path.is_file():
        raise ConfigError(f"NEWS_DB_PATH: {settings.db_path} does not exist: nothing to move")
    async with (
        Store.open(settings.db_path, settings.store_dir) as old,
        Store.open(url, settings.store_dir, pool_size=2) as new,
    ):
        report = await new.folder.sync(progress=_progress)
        copied = await copy_state(old.db, new.db)
    print(
        f"index rebuilt from {settings.store_dir}: {report.scanned} files, {report.loaded} read, "
        f"{len(report.errors)} bad"
    )
    print("copied: " + ", ".join(f"{rows} {table}" for table, rows in copied.copied.items()))
    print(f"now start the bot with NEWS_DATABASE_URL={redact(url)}")
    return 0


def check(store_dir: Path) -> int:
    """Validate every article file without touching the database: the files the sync
    lists, read by the sync's own reader, so `check` and `load` never disagree."""
    if not store_dir.is_dir():
        raise ConfigError(f"{store_dir}: not a folder")
    files = scan_store(store_dir)
    bad = 0
    for name in sorted(files):
        result = read_file(os.path.join(store_dir, name), files[name][0])
        if isinstance(result, str):
            bad += 1
            print(f"error: {result}")
            continue
        for warning in result.warnings:
            print(f"warning: {warning}")
    print(f"checked {len(files)} files in {store_dir}: {len(files) - bad} good, {bad} bad")
    return 1 if bad else 0


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty():
        print(f"\rloading {done}/{total} files", end="" if done < total else "\n", file=sys.stderr)
    elif done == total or done % 10_000 < 500:
        print(f"loading {done}/{total} files", file=sys.stderr)


def _print_report(report: SyncReport, bad: list[str], *, quiet: bool = False) -> None:
    """Counts of this scan, and every file that is bad now (read in this scan or before)."""
    for error in bad:
        print(f"error: {error}", file=sys.stderr)
    if not quiet:
        for warning in report.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    if not FAST_YAML:
        print("warning: PyYAML has no libyaml here; loading is about 10x slower", file=sys.stderr)
    print(
        f"{report.scanned} files: {report.new} new, {report.changed} changed, "
        f"{report.deleted} withdrawn, {report.unchanged} unchanged, {len(bad)} bad "
        f"({report.seconds:.1f} s)",
        file=sys.stderr if quiet else sys.stdout,
    )


if __name__ == "__main__":
    sys.exit(main())
