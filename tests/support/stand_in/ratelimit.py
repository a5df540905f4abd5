"""Discord-style rate limits: per-route buckets plus a global per-second budget.

discord.py paces itself from the ``X-RateLimit-*`` headers, so the headers have to be
present and truthful on every answer, and a 429 must carry ``retry_after``, ``global``
and a ``Via`` header (without ``Via`` discord.py takes it for a Cloudflare ban).
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

__all__ = ["Bucket", "RateLimiter", "Verdict", "too_many_headers"]

GLOBAL_LIMIT = 50  # requests per second, every route except interaction endpoints
MESSAGE_CREATE = (5, 5.0)  # POST /channels/{id}/messages: 5 per 5 s per channel
OTHER_ROUTES = (50, 1.0)  # generous buckets so every answer still carries headers


@dataclass
class Bucket:
    """A fixed window that opens at its first request, like Discord's buckets."""

    name: str
    limit: int
    per: float
    used: int = 0
    resets_at: float = 0.0

    @property
    def hash(self) -> str:
        return hashlib.md5(self.name.encode()).hexdigest()

    def _roll(self, now: float) -> None:
        if now >= self.resets_at:
            self.used, self.resets_at = 0, now + self.per

    def take(self, now: float) -> bool:
        """Spend one request; False when the window is exhausted (answer 429)."""
        self._roll(now)
        if self.used >= self.limit:
            return False
        self.used += 1
        return True

    def headers(self, now: float) -> dict[str, str]:
        after = max(self.resets_at - now, 0.0)
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.limit - self.used, 0)),
            "X-RateLimit-Reset": f"{time.time() + after:.3f}",
            "X-RateLimit-Reset-After": f"{after:.3f}",
            "X-RateLimit-Bucket": self.hash,
        }


@dataclass
class Verdict:
    """What the limiter decided for one request."""

    allowed: bool
    headers: dict[str, str]
    retry_after: float = 0.0
    is_global: bool = False


def too_many_headers(retry_after: float, scope: str) -> dict[str, str]:
    """Headers that every 429 carries (``Via`` is what makes discord.py wait instead of raise)."""
    out = {
        "Via": "1.1 google",
        "Retry-After": str(max(1, math.ceil(retry_after))),
        "X-RateLimit-Scope": scope,
    }
    if scope == "global":
        out["X-RateLimit-Global"] = "true"
    return out


class RateLimiter:
    """Buckets keyed by route template and major parameter, plus the global window."""

    def __init__(self) -> None:
        self.buckets: dict[str, Bucket] = {}
        self._global_count = 0
        self._global_resets = 0.0

    def _bucket(self, route: str, major: str) -> Bucket:
        key = f"{route}:{major}"
        bucket = self.buckets.get(key)
        if bucket is None:
            limit, per = (
                MESSAGE_CREATE if route == "POST /channels/{channel_id}/messages" else OTHER_ROUTES
            )
            bucket = self.buckets[key] = Bucket(name=route, limit=limit, per=per)
        return bucket

    def check(self, route: str, major: str, *, exempt_from_global: bool) -> Verdict:
        now = time.monotonic()
        if not exempt_from_global:
            if now >= self._global_resets:
                self._global_count, self._global_resets = 0, now + 1.0
            if self._global_count >= GLOBAL_LIMIT:
                after = self._global_resets - now
                return Verdict(False, too_many_headers(after, "global"), after, is_global=True)
        bucket = self._bucket(route, major)
        if not bucket.take(now):
            after = bucket.resets_at - now
            headers = bucket.headers(now) | too_many_headers(after, "user")
            return Verdict(False, headers, after)
        if not exempt_from_global:
            self._global_count += 1
        return Verdict(True, bucket.headers(now))
