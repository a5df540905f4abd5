"""Publishing and withdrawing: the file's `published:` flips first, then the database
follows, with an audit row in the same transaction. Refusals are audited too."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bot.articles import Article, parse_article_bytes, read_store_bytes
from bot.errors import (
    AlreadyDone,
    ArticleNotFound,
    FileChanged,
    FileInvalid,
    FileNotWritable,
    ServedByDuplicate,
)
from bot.frontmatter import ArticleError, set_published
from bot.store.articles import article_key
from bot.store.database import Database
from bot.store.records import article_rows
from bot.store.requests import PublishRequests
from bot.store.writer import ArticleWriter, Changes

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: int
    actor: str
    action: str  # publish | unpublish | refused <action>
    article_id: str
    detail: str


class Publishing:
    def __init__(self, db: Database, writer: ArticleWriter, store_dir: Path) -> None:
        self.db = db
        self.writer = writer
        self.store_dir = store_dir
        self.requests: PublishRequests | None = None  # PostgreSQL: ask the scanner (Store)

    def forwards(self) -> bool:
        """Does a publish here go to the scanner's process (and so take a moment longer)?"""
        return self.requests is not None and self.requests.forwards()

    async def publish(self, article_id: str, actor: str, *, version: str | None = None) -> Article:
        """Publish a draft: the file's `published:` flips to true, then the database follows.

        With `version` (from `Articles.version`, e.g. what a preview showed), the article
        must still be exactly that version.
        """
        return await self.apply(article_id, actor, True, version)

    async def unpublish(self, article_id: str, actor: str) -> Article:
        """Withdraw a published article: hidden from readers, its posts deleted."""
        return await self.apply(article_id, actor, False, None)

    async def audit_refusal(self, actor: str, action: str, article_id: str, detail: str) -> None:
        """Record a refused moderation attempt in the audit trail."""
        async with self.db.transaction():
            await self._audit(actor, f"refused {action}", article_id, detail)

    async def audit_trail(self, limit: int = 100, since: int = 0) -> list[AuditEntry]:
        """The newest audit entries first; only those at or after `since` (unix seconds)."""
        rows = await self.db.fetch(
            "SELECT at, actor, action, article_id, detail FROM audit WHERE at >= ? "
            "ORDER BY id DESC LIMIT ?",
            [since, limit],
        )
        return [
            AuditEntry(
                at=r["at"],
                actor=r["actor"],
                action=r["action"],
                article_id=r["article_id"],
                detail=r["detail"],
            )
            for r in rows
        ]

    async def apply(
        self, article_id: str, actor: str, published: bool, version: str | None
    ) -> Article:
        """Publish or withdraw: here if this process holds the store folder, else through
        the scanner's process (requests.py), which calls `apply_here`."""
        if self.forwards():
            assert self.requests is not None
            return await self.requests.submit(article_id, actor, published, version)
        return await self.apply_here(article_id, actor, published, version)

    async def apply_here(
        self, article_id: str, actor: str, published: bool, version: str | None
    ) -> Article:
        rows = await self.db.fetch(
            "SELECT a.id, a.file, a.published, a.deleted_at, a.duplicate_of, a.render_hash, "
            "f.mtime_ns, f.size FROM articles a LEFT JOIN files f ON f.name = a.file "
            "WHERE a.id = ?",
            [article_key(article_id)],
        )
        if not rows or rows[0]["deleted_at"] is not None:
            raise ArticleNotFound(article_id)
        row = rows[0]
        if row["duplicate_of"] is not None:
            raise ServedByDuplicate(row["id"], published, row["duplicate_of"])
        if bool(row["published"]) == published:
            raise AlreadyDone(row["id"], published)
        if version is not None and not (version and row["render_hash"].startswith(version)):
            raise FileChanged(row["id"], published)
        name = row["file"]
        read = (row["mtime_ns"], row["size"])
        updated, mtime_ns, size = await self._rewrite(row["id"], name, read, published)
        changes = Changes()
        async with self.db.transaction():
            before = await self.writer.visibility([updated.id])
            await self.writer.write([article_rows(updated, name, mtime_ns)])
            await self.writer.record_files([(name, mtime_ns, size, None)])
            await self.writer.settle(before, {updated.id: updated.url}, changes)
            await self._audit(actor, "publish" if published else "unpublish", updated.id, "")
        log.info("%s %s %s", actor, "published" if published else "unpublished", updated.id)
        return updated

    async def _rewrite(
        self, article_id: str, name: str, read: tuple[int, int], published: bool
    ) -> tuple[Article, int, int]:
        """Flip the file's flag on disk, only if the file is still what the database read.

        Returns the article as now written, its mtime and its size.
        """
        path = self.store_dir / name
        try:
            st = await asyncio.to_thread(path.stat)
            if (st.st_mtime_ns, st.st_size) != read:
                raise FileChanged(article_id, published)
            raw = await asyncio.to_thread(read_store_bytes, self.store_dir, name)
            parse_article_bytes(raw, name)  # the file as it is must be valid: name its line
            new_raw = set_published(raw, published)
            updated = parse_article_bytes(new_raw, name)
            if updated.published != published:
                raise ValueError("the published flag could not be located")
            if not await asyncio.to_thread(replace_if_unchanged, path, raw, new_raw):
                raise FileChanged(article_id, published)
            st = await asyncio.to_thread(path.stat)
        except ArticleError as exc:
            raise FileInvalid(article_id, published, exc.problem) from None
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise FileNotWritable(article_id, published, name, reason) from None
        return updated, st.st_mtime_ns, st.st_size

    async def _audit(self, actor: str, action: str, article_id: str, detail: str) -> None:
        await self.db.execute(
            "INSERT INTO audit (at, actor, action, article_id, detail) VALUES (?, ?, ?, ?, ?)",
            (self.writer.outbox.now(), actor, action, article_id, detail),
        )


def replace_if_unchanged(path: Path, expected: bytes, data: bytes) -> bool:
    """Replace a file's content in one step (readers see the old or the new file, never
    half), only if it still holds `expected`: an editor's write that landed since we read
    it is never overwritten. False (and nothing written) when the file changed.

    The check and the rename are not one atomic step; the window between them is the
    time of one small read.
    """
    mode = path.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        try:
            current = read_store_bytes(path.parent, path.name)
        except ArticleError:  # swapped for something that is not a file we may read
            current = None
        if current != expected:
            os.unlink(tmp)
            return False
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return True
