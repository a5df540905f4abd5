"""A local Discord (REST v10 + Gateway v10) that real discord.py connects to in tests."""

from .runner import running_bot
from .server import InteractionNotAnswered, InteractionResult, Recorded, StandIn
from .world import Perm

__all__ = [
    "InteractionNotAnswered",
    "InteractionResult",
    "Perm",
    "Recorded",
    "StandIn",
    "running_bot",
]
