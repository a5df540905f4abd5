"""The delivery engine's two halves that know nothing of a particular post: what a failed
Discord request means (`classify`), and the supervised loop every background task runs in.

`classify` is pure: posts, edits, deletions, crossposts, threads and digests all ask it,
so a 503 or a refusal means the same thing wherever it happens. `supervise` wraps a whole
iteration of a task, its "when next" reads included: the database going away holds the
task back (said once a minute, shown by /status) and it resumes by itself on the
database's return; any other failure is logged with its traceback, counted in
`RESTARTS`, and the task restarted after a backoff. No background task dies for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import aiohttp
import discord

from bot import answers, desk, metrics, posting
from bot.errors import ArticleNotFound, DeskUnavailable
from bot.rounds import Rounds
from bot.store import LeaseLost
from bot.store.database import Clock

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0  # a delivery's retries
MAX_RESTART_BACKOFF = 30.0  # a supervised task's restarts: a bug must not stop it for long
HELD_RETRY = 2.0  # while the database is away: resumes within seconds of its return
HELD_LOG_EVERY = 60.0  # "delivery held back" is said once a minute, not every retry
NONCE_MAX = 25  # Discord's limit on a message nonce

RESTARTS: Counter[str] = Counter()
"""How often each supervised task failed and was restarted (the chaos benchmark reads it)."""


class Action(StrEnum):
    RETRY = "retry"  # transient: try again after a backoff
    WAIT = "wait"  # a long rate limit: the row waits until `delay` seconds from now
    PAUSE = "pause"  # the channel refuses: stop sending there until it is followed anew
    LOST = "lost"  # the article or the message is gone: nothing left to do for the row
    GIVE_UP = "give up"  # Discord refused this request for good: it will not succeed


@dataclass(frozen=True, slots=True)
class Verdict:
    action: Action
    reason: str
    delay: float = 0.0  # WAIT: seconds until the limit lifts


def classify(exc: BaseException, *, in_own_thread: bool = False) -> Verdict | None:
    """What a failed delivery step means; None when it is not the step's own outcome (the
    database away, the lease lost, a bug): the supervisor handles those.

    `in_own_thread`: the step's requests go to a forum post's own thread, so "unknown
    channel" means that post was deleted by hand (lost), not that the forum is gone."""
    match exc:
        case ArticleNotFound():
            return Verdict(Action.LOST, "the article no longer exists")
        case posting.TagRequired():
            return Verdict(Action.PAUSE, answers.FORUM_NEEDS_A_TAG)
        case discord.RateLimited():
            return Verdict(
                Action.WAIT, f"rate limited for {exc.retry_after:.0f} s", exc.retry_after
            )
        case discord.NotFound() if exc.code == posting.UNKNOWN_MESSAGE:
            return Verdict(Action.LOST, "message no longer exists")
        case discord.NotFound() if in_own_thread and exc.code == posting.UNKNOWN_CHANNEL:
            return Verdict(Action.LOST, "the post no longer exists")
        case discord.Forbidden() | discord.NotFound():
            return Verdict(Action.PAUSE, refusal_reason(exc))
        case discord.HTTPException() if exc.status == 429 or exc.status >= 500:
            return Verdict(Action.RETRY, f"Discord {exc.status}: {exc.text}")
        case discord.HTTPException() if exc.code == posting.TAG_REQUIRED:
            return Verdict(Action.PAUSE, answers.FORUM_NEEDS_A_TAG)
        case discord.HTTPException():
            return Verdict(Action.GIVE_UP, f"Discord refused it: {exc}")
        case aiohttp.ClientError() | OSError() | TimeoutError():
            return Verdict(Action.RETRY, f"connection error: {exc!r}")
        case discord.ClientException():  # the channel changed kind since /feed add
            return Verdict(Action.GIVE_UP, str(exc))
    return None


def refusal_reason(exc: discord.HTTPException) -> str:
    """Why a channel is paused after Forbidden or Not Found (shown in /status, /feed list)."""
    if isinstance(exc, discord.NotFound) or exc.code == posting.UNKNOWN_CHANNEL:
        return "channel not found (deleted, or the bot was removed)"
    return f"missing permission (403: {exc.text or 'Forbidden'})"


def backoff(attempts: int) -> float:
    """2, 4, 8 ... seconds, capped: transient errors are retried, never in a tight loop."""
    return float(min(MAX_BACKOFF, 2 ** (attempts + 1)))


def nonce(key: str) -> str:
    """A message nonce within Discord's limit: the same key, the same nonce."""
    return hashlib.sha256(key.encode()).hexdigest()[:NONCE_MAX]


class HeldBack:
    """Since when this process's background work waits for the database: /status shows it,
    the log says it once a minute. Each task holds and releases on its own; work is held
    back while any task is."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._since: dict[str, float] = {}
        self._began = 0.0  # when the current wait began, for whichever task first held
        self.reason = ""
        self._said_at = -HELD_LOG_EVERY

    @property
    def since(self) -> float | None:
        """When the earliest task still waiting began to (the store's clock), or None."""
        return min(self._since.values(), default=None)

    def state(self) -> desk.HeldBack | None:
        """What /status says: since when, and why; None while nothing waits."""
        since = self.since
        return None if since is None else desk.HeldBack(since, self.reason)

    def holds(self, task: str) -> bool:
        return task in self._since

    def hold(self, task: str, reason: str) -> None:
        if not self._since:
            self._began = self.clock()
        self._since.setdefault(task, self.clock())
        self.reason = reason
        self._say()

    def _say(self) -> None:
        """Once a minute at most, whichever task asks."""
        since = self.since
        if since is None or time.monotonic() - self._said_at < HELD_LOG_EVERY:
            return
        self._said_at = time.monotonic()
        log.warning(
            "delivery held back since %s: the database is unreachable (%s)",
            datetime.fromtimestamp(since, UTC).strftime("%H:%M:%S UTC"),
            self.reason,
        )

    async def saying(self, work: Awaitable[float]) -> float:
        """`work`, still said once a minute while it waits (for a lease the outage took)."""
        task = asyncio.ensure_future(work)
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=HELD_LOG_EVERY)
                if done:
                    return task.result()
                self._say()
        finally:
            task.cancel()

    def release(self, task: str) -> None:
        if self._since.pop(task, None) is not None and not self._since:
            self._said_at = -HELD_LOG_EVERY
            waited = max(0.0, self.clock() - self._began)  # the whole wait, not this task's
            metrics.OUTAGE_SECONDS.inc(waited)
            log.info("delivery resumed: the database answers again after %.0f s", waited)


async def supervise(
    name: str,
    iteration: Callable[[], Awaitable[float]],
    held: HeldBack,
    wake: asyncio.Event | None = None,
    rounds: Rounds | None = None,
) -> None:
    """Run `iteration` forever; each round returns how long to pause before the next (cut
    short when `wake` is set), and is counted in `rounds` once it completed. Only
    cancellation ends it: the database away holds it back until a round succeeds, a lost
    lease is waited out by the next round, and any other failure is logged, counted and
    restarted after a backoff."""
    failures = 0
    while True:
        try:
            work = iteration()
            pause = await (held.saying(work) if held.holds(name) else work)
        except asyncio.CancelledError:
            raise
        except DeskUnavailable as exc:
            metrics.DATABASE_ERRORS.labels(name).inc()
            held.hold(name, exc.reason)
            await asyncio.sleep(HELD_RETRY)
            continue
        except LeaseLost as exc:  # the database answered; the next round waits for the lease
            log.info("%s: %s", name, exc)
            held.release(name)
            continue
        except Exception:
            failures += 1
            RESTARTS[name] += 1
            log.exception("supervised task %s failed", name)
            await asyncio.sleep(min(MAX_RESTART_BACKOFF, backoff(failures - 1)))
            log.warning("supervised task %s restarted (%d)", name, RESTARTS[name])
            continue
        failures = 0
        held.release(name)
        if rounds is not None:
            rounds.done(name)
        if wake is None:
            await asyncio.sleep(pause)
        elif pause > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), pause)
