"""Run a real discord.py client against a StandIn for the length of a test."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

import discord
import discord.gateway
import discord.http
import yarl

from .server import StandIn

__all__ = ["running_bot"]

ClientT = TypeVar("ClientT", bound=discord.Client)


@contextlib.asynccontextmanager
async def running_bot(
    bot: ClientT, stand_in: StandIn, *, token: str = "test-token", timeout: float = 15.0
) -> AsyncIterator[ClientT]:
    """Point discord.py at ``stand_in``, start ``bot`` and yield it once ready.

    Only ``Route.BASE`` and ``DiscordWebSocket.DEFAULT_GATEWAY`` are changed, and both are
    restored on exit after the bot is closed. A bot that dies while starting raises here;
    one that dies during the test raises on exit (unless the test itself failed).
    """
    route, ws_class = discord.http.Route, discord.gateway.DiscordWebSocket
    old_base, old_gateway = route.BASE, ws_class.DEFAULT_GATEWAY
    route.BASE = stand_in.api_base
    ws_class.DEFAULT_GATEWAY = yarl.URL(stand_in.gateway_url)
    task = asyncio.create_task(bot.start(token), name="stand-in bot")
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while not bot.is_ready():
            if task.done():
                task.result()  # raises what stopped the bot
                raise RuntimeError("the bot stopped before it became ready")
            if asyncio.get_running_loop().time() >= deadline:
                raise TimeoutError(f"the bot was not ready within {timeout} s")
            await asyncio.sleep(0.02)
        yield bot
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(bot.close(), timeout)
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        route.BASE, ws_class.DEFAULT_GATEWAY = old_base, old_gateway
    if not task.cancelled() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]
