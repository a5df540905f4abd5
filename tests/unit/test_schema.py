"""The schema files: a database the first bot left, upgraded by the migration files, ends
exactly as a fresh one given the current schema, on both backends. Compared through the
database's own catalogue, so a step that forgets a column, a default, an index, a
constraint or a trigger (or the current schema that forgets what a step added) fails."""

from __future__ import annotations

import logging
import re
import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.store import Store, schema
from tests.support.postgres import PostgresServer


async def test_a_database_upgraded_from_the_first_version_equals_a_fresh_one(
    database: Path | str,
    store_dir: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with Store.open(database, store_dir):
        pass  # an empty database: given the current schema whole
    if isinstance(database, Path):
        backend: schema.Backend = "sqlite"
        oldest: Path | str = first_sqlite(tmp_path / "oldest" / "news.db")
    else:
        backend = "postgres"
        server: PostgresServer = request.getfixturevalue("pg_server")
        oldest = await first_postgres(server)
    try:
        caplog.set_level(logging.INFO, logger="bot.store")
        async with Store.open(oldest, store_dir):
            pass
        assert [r.getMessage() for r in caplog.records if "migrated" in r.getMessage()] == [
            f"migrated schema 1 → {schema.latest(backend)}"
        ]
        upgraded, fresh = await catalogue(oldest), await catalogue(database)
    finally:
        if isinstance(oldest, str):
            await server.drop_database(oldest)
    assert upgraded.keys() == fresh.keys()
    assert f"as it is now (version {schema.latest(backend)})" in schema.current(backend)
    for part, found in upgraded.items():  # one part at a time: a difference says where
        assert found == fresh[part], part


# What a forgetful step would leave, each seen by the comparison above.
FORGOTTEN = {
    "sqlite": (
        "ALTER TABLE outbox DROP COLUMN thread_id",
        "DROP INDEX outbox_paced",
        "DROP TRIGGER search_log_update",
    ),
    "postgresql": (
        "ALTER TABLE outbox DROP COLUMN thread_id",
        "DROP INDEX outbox_paced",
        "DROP TRIGGER articles_search_log ON articles",
        "ALTER TABLE subscriptions ALTER COLUMN style SET DEFAULT 'card'",
        "ALTER TABLE follows_version DROP CONSTRAINT follows_version_id_check",
    ),
}


async def test_the_comparison_sees_a_missing_column_index_trigger_or_default(
    database: Path | str, store_dir: Path
) -> None:
    async with Store.open(database, store_dir) as store:
        kind = store.db.kind
    before = await catalogue(database)
    for change in FORGOTTEN[kind]:
        await run(database, change)
        after = await catalogue(database)
        assert after != before, change
        before = after


# --------------------------------------------------------------- the first version


def first_sqlite(path: Path) -> Path:
    """A SQLite file as the first bot left it: version 1."""
    path.parent.mkdir(mode=0o700)
    conn = sqlite3.connect(path)
    try:
        conn.executescript(schema.steps("sqlite")[1] + "\nPRAGMA user_version = 1;")
    finally:
        conn.close()
    return path


async def first_postgres(server: PostgresServer) -> str:
    """A PostgreSQL database as the first bot left it: version 1 (not the tests' template,
    which is fresh)."""
    await server.admin("CREATE DATABASE oldest")
    url = server.url("oldest")
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.execute(schema.steps("postgres")[1])
            await conn.execute(
                "CREATE TABLE schema_version (version INT NOT NULL); "
                "INSERT INTO schema_version (version) VALUES (1)"
            )
    finally:
        await conn.close()
    return url


async def run(database: Path | str, sql: str) -> None:
    if isinstance(database, Path):
        conn = sqlite3.connect(database)
        try:
            conn.execute(sql)
        finally:
            conn.close()
        return
    pg = await asyncpg.connect(database)
    try:
        await pg.execute(sql)
    finally:
        await pg.close()


# --------------------------------------------------------------- the catalogue


async def catalogue(database: Path | str) -> dict[str, Any]:
    if isinstance(database, Path):
        return sqlite_catalogue(database)
    return await postgres_catalogue(database)


def words(sql: str) -> str:
    """SQL text without its comments and with its spacing made one."""
    return " ".join(re.sub(r"--[^\n]*", "", sql).split())


def parenthesised(sql: str, keyword: str) -> list[str]:
    """Each `keyword (…)` clause of a CREATE TABLE (CHECK, GENERATED ALWAYS AS): the text
    SQLite's pragmas do not show."""
    found = []
    for match in re.finditer(keyword + r"\s*\(", sql, re.IGNORECASE):
        depth, start = 0, match.end() - 1
        for end in range(start, len(sql)):
            depth += {"(": 1, ")": -1}.get(sql[end], 0)
            if depth == 0:
                found.append(words(sql[start : end + 1]))
                break
    return found


def sqlite_catalogue(path: Path) -> dict[str, Any]:
    """Every table's columns (in order, with types, defaults, keys and what each generates
    or checks), foreign keys and indexes; every index's columns and definition; every
    trigger's definition; the version."""
    conn = sqlite3.connect(path)
    try:
        objects = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
        tables: dict[str, Any] = {}
        indexes: dict[str, Any] = {}
        for kind, name, table, sql in objects:
            if kind == "table":
                tables[name] = {
                    "shape": conn.execute(
                        "SELECT type, ncol, wr, strict FROM pragma_table_list WHERE name = ?",
                        (name,),
                    ).fetchall(),
                    "columns": conn.execute(f'PRAGMA table_xinfo("{name}")').fetchall(),
                    "foreign keys": conn.execute(f'PRAGMA foreign_key_list("{name}")').fetchall(),
                    "indexes": sorted(
                        row[1:] for row in conn.execute(f'PRAGMA index_list("{name}")')
                    ),
                    "checks": parenthesised(sql or "", "CHECK"),
                    "generated": parenthesised(sql or "", "GENERATED ALWAYS AS"),
                }
            elif kind == "index":
                columns = conn.execute(f'PRAGMA index_xinfo("{name}")').fetchall()
                indexes[name] = (table, columns, words(sql or ""))
        return {
            "tables": tables,
            "indexes": indexes,
            "triggers": {n: words(s) for k, n, _, s in objects if k == "trigger"},
            "views": {n: words(s) for k, n, _, s in objects if k == "view"},
            "version": conn.execute("PRAGMA user_version").fetchall(),
        }
    finally:
        conn.close()


async def postgres_catalogue(url: str) -> dict[str, Any]:
    """Every table's columns (in order, dropped ones aside, with types, collations,
    defaults, nullability, identity, generation), indexes, constraints, triggers, the
    functions behind them (not an extension's), sequences, and the version."""
    conn = await asyncpg.connect(url)
    try:
        columns: dict[str, list[tuple[Any, ...]]] = {}
        for row in await conn.fetch(
            "SELECT table_name, column_name, data_type, collation_name, column_default, "
            "is_nullable, is_identity, identity_generation, is_generated, "
            "generation_expression FROM information_schema.columns "
            "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
        ):
            columns.setdefault(row[0], []).append(tuple(row[1:]))
        return {
            "columns": columns,
            "indexes": sorted(
                tuple(r)
                for r in await conn.fetch(
                    "SELECT tablename, indexname, indexdef FROM pg_indexes "
                    "WHERE schemaname = 'public'"
                )
            ),
            "constraints": sorted(
                tuple(r)
                for r in await conn.fetch(
                    "SELECT c.conrelid::regclass::text, c.conname, c.contype, "
                    "pg_get_constraintdef(c.oid) FROM pg_constraint c "
                    "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public'"
                )
            ),
            "triggers": sorted(
                tuple(r)
                for r in await conn.fetch(
                    "SELECT t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
                    "JOIN pg_class c ON c.oid = t.tgrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND NOT t.tgisinternal"
                )
            ),
            "functions": sorted(
                (r[0], words(r[1]))
                for r in await conn.fetch(
                    "SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p "
                    "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' "
                    "AND NOT EXISTS (SELECT 1 FROM pg_depend d "
                    "WHERE d.objid = p.oid AND d.deptype = 'e')"
                )
            ),
            "sequences": sorted(
                tuple(r)
                for r in await conn.fetch(
                    "SELECT sequence_name, data_type, start_value, increment "
                    "FROM information_schema.sequences WHERE sequence_schema = 'public'"
                )
            ),
            "version": await conn.fetchval("SELECT MAX(version) FROM schema_version"),
        }
    finally:
        await conn.close()
