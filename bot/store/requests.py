"""Publishing from any host (PostgreSQL): a process that is not the scanner (another host,
without the store folder) asks the scanner through the database.

The request is a row; NOTIFY wakes the scanner, which applies it with the usual
compare-before-write (`Publishing.apply`: a file changed since it was read is refused,
FileChanged) and writes the outcome; NOTIFY wakes the asker, which answers the moderator.
A request nobody picked up in time is cancelled, so it can never be applied after the
moderator was told it failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bot.articles import Article
from bot.errors import (
    AlreadyDone,
    ArticleNotFound,
    DeskUnavailable,
    FileChanged,
    FileInvalid,
    FileNotWritable,
    NewsError,
    PublishError,
    ServedByDuplicate,
)
from bot.store.database import Clock, Database, Row
from bot.store.leases import Leases, Role

log = logging.getLogger(__name__)

ASKED = "publish-asked"  # notified when a request is queued: the scanner applies it
ANSWERED = "publish-answered"  # notified when an outcome is written: the asker answers
WAIT_SECONDS = 2.5  # for the scanner to pick a request up (a moderator sees it within 3 s)
APPLY_SECONDS = 30.0  # for a picked-up request's outcome (a slow disk, a big file)
KEPT_SECONDS = 3600.0  # answered requests are kept this long (for operators), then dropped
_ERRORS: dict[str, type[NewsError]] = {
    cls.__name__: cls
    for cls in (
        ArticleNotFound,
        AlreadyDone,
        ServedByDuplicate,
        FileInvalid,
        FileChanged,
        FileNotWritable,
        PublishError,
    )
}

Apply = Callable[[str, str, bool, str | None], Awaitable[Article]]


class PublishRequests:
    """The asker's side (`submit`) and the scanner's (`serve`)."""

    def __init__(
        self,
        db: Database,
        leases: Leases,
        get: Callable[[str], Awaitable[Article]],
        clock: Clock,
    ) -> None:
        self.db = db
        self.clock = clock
        self.leases = leases
        self.get = get  # an article by id, hidden ones too
        self.asked = asyncio.Event()
        self._answered = asyncio.Event()
        db.listen(ASKED, self.asked.set)
        db.listen(ANSWERED, self._answered.set)

    def forwards(self) -> bool:
        """Must this process ask the scanner? On PostgreSQL, a bot process that is not the
        scanner does; a one-off command (`newsbot publish`) on a host with the folder does not."""
        return self.leases.competing and not self.leases.holds(Role.SCANNER)

    async def submit(
        self, article_id: str, actor: str, published: bool, version: str | None
    ) -> Article:
        """Ask the scanner to publish (or withdraw); its outcome, or its refusal, raised."""
        async with self.db.transaction():
            request = await self.db.fetchval(
                "INSERT INTO publish_requests (article_id, actor, publish, version, created_at) "
                "VALUES (?, ?, ?, ?, ?) RETURNING id",
                [article_id, actor, int(published), version, self.clock()],
            )
            self.db.notify(ASKED)
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            self._answered.clear()
            rows = await self.db.fetch(
                "SELECT state, outcome FROM publish_requests WHERE id = ?", [request]
            )
            state, outcome = rows[0][0], rows[0][1]
            if state == "done":
                return await self._result(json.loads(outcome))
            if time.monotonic() >= deadline:
                if state == "pending" and await self._cancel(request):
                    raise DeskUnavailable("the process that holds the store folder did not answer")
                if state == "working" and deadline < time.monotonic() - APPLY_SECONDS:
                    raise DeskUnavailable("the store folder's process did not finish in time")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._answered.wait(), 0.2)

    async def serve(self, apply: Apply) -> int:
        """The scanner: apply every pending request, oldest first; how many were applied."""
        served = 0
        while True:
            request = await self.db.fetchval(  # a plain read: most calls find nothing
                "SELECT MIN(id) FROM publish_requests WHERE state = 'pending'"
            )
            if request is None:
                break
            async with self.db.transaction():
                rows = await self.db.fetch(
                    "SELECT article_id, actor, publish, version FROM publish_requests "
                    "WHERE id = ? AND state = 'pending'",
                    [request],
                )
                if rows:
                    await self.db.execute(
                        "UPDATE publish_requests SET state = 'working' WHERE id = ?", [request]
                    )
            if rows:  # else it was cancelled meanwhile
                await self._apply_one(request, rows[0], apply)
                served += 1
        if served:
            async with self.db.transaction():  # answered long ago, or left by a dead scanner
                await self.db.execute(
                    "DELETE FROM publish_requests WHERE created_at < ? AND state <> 'pending'",
                    [self.clock() - KEPT_SECONDS],
                )
        return served

    async def _apply_one(self, request: int, row: Row, apply: Apply) -> None:
        outcome: dict[str, Any]
        try:
            article = await apply(
                row["article_id"], row["actor"], bool(row["publish"]), row["version"]
            )
            outcome = {"ok": article.id}
        except (ArticleNotFound, PublishError) as exc:
            outcome = {"error": type(exc).__name__, **vars(exc)}
        async with self.db.transaction():
            await self.db.execute(
                "UPDATE publish_requests SET state = 'done', outcome = ? WHERE id = ?",
                [json.dumps(outcome), request],
            )
            self.db.notify(ANSWERED)

    async def _cancel(self, request: int) -> bool:
        async with self.db.transaction():
            return bool(
                await self.db.execute(
                    "UPDATE publish_requests SET state = 'cancelled' "
                    "WHERE id = ? AND state = 'pending'",
                    [request],
                )
            )

    async def _result(self, outcome: dict[str, Any]) -> Article:
        if "ok" in outcome:
            return await self.get(outcome["ok"])
        kind = _ERRORS.get(outcome.pop("error"), PublishError)
        try:
            error = kind(**outcome)
        except TypeError:  # an outcome from a newer version: the plain refusal
            error = PublishError(str(outcome.get("article_id", "")), bool(outcome.get("publish")))
        raise error
