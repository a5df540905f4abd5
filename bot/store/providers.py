"""store.providers: the last good providers.yaml, parsed, kept in the database (`meta`) so
that every process on every host reads the same mapping as the scanner's sync wrote it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from bot.providers import PROVIDERS_FILE, Providers, from_json, read_providers, to_json
from bot.store.database import Database

log = logging.getLogger(__name__)

META_KEY = "providers"
FileRow = tuple[str, int, int, str | None]  # a `files` row: name, mtime_ns, size, error


class ProviderMap:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._parsed: tuple[str | None, Providers | None] = (None, None)  # (its JSON, it)

    async def current(self) -> Providers | None:
        """The mapping; None when the store has no providers.yaml. One indexed read each
        time (another process, on this host or another, may have synced a new file); the
        JSON is parsed again only when it changed."""
        value = await self.db.fetchval("SELECT value FROM meta WHERE key = ?", [META_KEY])
        text = None if value is None else str(value)
        if text != self._parsed[0]:
            self._parsed = (text, None if text is None else from_json(text))
        return self._parsed[1]

    async def sync(
        self,
        store_dir: Path,
        stat: tuple[int, int] | None,
        record_files: Callable[[Sequence[FileRow]], Awaitable[None]],
    ) -> str | None:
        """Read providers.yaml if its (mtime_ns, size) `stat` (None: no such file) is not
        what was last read. A bad file is recorded as one (its `files` row's error, which
        /status shows) and changes nothing: the last good mapping stays; its error is
        returned. A removed file leaves no mapping."""
        rows = await self.db.fetch(
            "SELECT mtime_ns, size FROM files WHERE name = ?", [PROVIDERS_FILE]
        )
        if ((rows[0][0], rows[0][1]) if rows else None) == stat:
            return None
        if stat is None:
            async with self.db.transaction():
                await self.db.execute("DELETE FROM files WHERE name = ?", [PROVIDERS_FILE])
                await self.db.execute("DELETE FROM meta WHERE key = ?", [META_KEY])
            return None
        result = await asyncio.to_thread(read_providers, store_dir)
        error = result if isinstance(result, str) else None
        async with self.db.transaction():
            if not isinstance(result, str):
                await self.db.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (META_KEY, to_json(result)),
                )
                log.info("%s: %d providers", PROVIDERS_FILE, len(result))
            await record_files([(PROVIDERS_FILE, *stat, error)])
        return error
