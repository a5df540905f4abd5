"""/metrics, /healthz and /readyz over HTTP, on METRICS_HOST:METRICS_PORT.

Served from a thread of its own (prometheus_client's exposition behind the standard
library's threading WSGI server), not from the bot's event loop: a loop that is stuck
cannot answer for itself, so a server on the loop could only time out, while this one
answers /healthz with 503 and how long the loop has been stuck, and keeps serving
/metrics (the lag included) meanwhile. What needs the database is run on the bot's loop
(`run_coroutine_threadsafe`), each read bounded by READ_TIMEOUT.

/healthz: the process is alive and its event loop ran within STALLED_AFTER seconds (the
loop's stall monitor, bot.stalls, says when it last woke). /readyz: the store was loaded,
the database answers, and the bot is logged in to Discord; its body says which is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Coroutine, Iterable
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any, TypeVar
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIEnvironment

from prometheus_client import REGISTRY, make_wsgi_app

from bot.config import Settings
from bot.errors import ConfigError
from bot.metrics import LiveCollector, Snapshot
from bot.stalls import StallMonitor
from bot.store import Readings, Role, Store

if TYPE_CHECKING:
    from bot.bot import NewsBot

log = logging.getLogger(__name__)

STALLED_AFTER = 10.0  # seconds without the loop running: /healthz says 503
READ_TIMEOUT = 2.0  # seconds a scrape or /readyz waits for the database (through the loop)

T = TypeVar("T")


class Watch:
    """What the endpoints read, filled in as the process starts: the loop's stall monitor
    first, then the store once loaded and the bot (`attach`)."""

    def __init__(self, stalls: StallMonitor, stalled_after: float = STALLED_AFTER) -> None:
        self.loop = asyncio.get_running_loop()
        self.stalls = stalls
        self.stalled_after = stalled_after
        self.store: Store | None = None
        self.bot: NewsBot | None = None
        self.url: str | None = None  # where the endpoints are served, once they are

    def attach(self, store: Store, bot: NewsBot) -> None:
        """The store is loaded; the bot shares the loop's one stall monitor."""
        self.store, self.bot = store, bot
        bot.loop_stalls = self.stalls

    # -------------------------------------------------- read from the server's threads

    def blocked(self) -> float:
        """Seconds the loop is late waking its stall monitor now (0 while it runs)."""
        return max(0.0, time.monotonic() - self.stalls.woke_at - self.stalls.interval)

    def health(self) -> tuple[int, str]:
        blocked = self.blocked()
        if blocked > self.stalled_after:
            return 503, f"event loop stalled for {blocked:.1f} s\n"
        return 200, "ok\n"

    def readiness(self) -> tuple[int, str]:
        """Ready: this process loaded (or found loaded) the store, the database answers,
        and the bot is logged in. The body says each, for whoever reads the probe."""
        store, bot = self.store, self.bot
        reachable = store is not None and self._on_loop(_ping(store)) is True
        loaded = reachable and store is not None and self._on_loop(_loaded(store)) is True
        logged_in = bot is not None and bot.is_ready() and not bot.is_closed()
        if store is None:
            database, stored = "not open yet", "not loaded yet"
        else:
            database = "reachable" if reachable else "not answering"
            stored = "loaded" if loaded else "not loaded yet" if reachable else "not known"
        body = f"store: {stored}\ndatabase: {database}\n"
        body += f"discord: {'logged in' if logged_in else 'not logged in'}\n"
        return (200 if loaded and logged_in else 503), body

    def snapshot(self) -> Snapshot:
        store, bot = self.store, self.bot
        readings: Readings | None = None
        leases: dict[Role, int | None] = {}
        held_back = 0.0
        if store is not None:
            readings = self._on_loop(store.gauges.read())
            leases = {role: store.leases.epoch(role) for role in Role}
            since = bot.held_back.since if bot is not None else None
            held_back = max(0.0, store.clock() - since) if since is not None else 0.0
        return Snapshot(
            readings=readings,
            leases=leases,
            held_back=held_back,
            blocked=self.blocked(),
            ready=self.readiness()[0] == 200,
        )

    def _on_loop(self, work: Coroutine[Any, Any, T]) -> T | None:
        """`work` run on the bot's loop; None when it failed or took past READ_TIMEOUT (at
        once if the loop is stuck: a scrape then still answers in time, without them)."""
        if self.blocked() > READ_TIMEOUT:
            work.close()
            return None
        future = asyncio.run_coroutine_threadsafe(work, self.loop)
        try:
            return future.result(READ_TIMEOUT)
        except Exception:
            future.cancel()
            return None


async def _ping(store: Store) -> bool:
    await store.db.fetchval("SELECT 1")
    return True


async def _loaded(store: Store) -> bool:
    return await store.articles.last_sync() is not None


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a scrape in progress never holds up the process's exit


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Not a line per scrape in the bot's log."""


def _app(watch: Watch) -> Any:
    metrics = make_wsgi_app(REGISTRY)

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            served: Iterable[bytes] = metrics(environ, start_response)
            return served
        if path == "/healthz":
            status, text = watch.health()
        elif path == "/readyz":
            status, text = watch.readiness()
        else:
            status, text = 404, "not found: /metrics, /healthz or /readyz\n"
        reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
        start_response(f"{status} {reason}", [("Content-Type", "text/plain; charset=utf-8")])
        return [text.encode()]

    return app


def _listen(host: str, port: int, watch: Watch) -> _Server:
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        server_class = type("Server", (_Server,), {"address_family": family})
        server: _Server = make_server(
            host, port, _app(watch), server_class=server_class, handler_class=_Quiet
        )
    except OSError as exc:
        raise ConfigError(f"METRICS_PORT: cannot listen on {host}:{port} ({exc})") from None
    return server


@contextlib.asynccontextmanager
async def serving(
    settings: Settings, *, stalled_after: float = STALLED_AFTER
) -> AsyncIterator[Watch]:
    """The loop's stall monitor for the whole run, and the endpoints while METRICS_PORT is
    set: started before the store opens, so a supervisor sees a long load as alive."""
    watch = Watch(StallMonitor.start(), stalled_after)
    server: _Server | None = None
    collector = LiveCollector(watch.snapshot)
    try:
        if settings.metrics_port is not None:
            server = _listen(settings.metrics_host, settings.metrics_port, watch)
            threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
            REGISTRY.register(collector)
            host, port = server.server_address[:2]
            watch.url = f"http://{host!s}:{port}"
            log.info("metrics on %s/metrics (also /healthz, /readyz)", watch.url)
        yield watch
    finally:
        if server is not None:
            REGISTRY.unregister(collector)
            await asyncio.to_thread(server.shutdown)  # waits out its 0.5 s poll
            server.server_close()
        await watch.stalls.stop()
