"""Discord stand-in for the test suite: ``from tests.discord_stand_in import StandIn, running_bot``.

The implementation lives in the ``tests.stand_in`` package (server, payloads, validation,
rate limits); this module is the stable import path.
"""

from tests.stand_in import (
    InteractionNotAnswered,
    InteractionResult,
    Perm,
    Recorded,
    StandIn,
    running_bot,
)

__all__ = [
    "InteractionNotAnswered",
    "InteractionResult",
    "Perm",
    "Recorded",
    "StandIn",
    "running_bot",
]
