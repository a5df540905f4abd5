"""A local Discord (REST v10 + Gateway v10) that real discord.py connects to in tests.

Typical use::

    async with StandIn() as d:
        news = d.add_channel("news")                 # before connecting: part of GUILD_CREATE
        alice = d.add_member("alice", permissions=Perm.MANAGE_MESSAGES)
        async with running_bot(make_my_bot(), d) as bot:   # pass guild_ready_timeout=0.1 for speed
            await bot.tree.sync(guild=discord.Object(d.guild_id))
            result = await d.slash("ping", {"x": "hi"}, user_id=alice)
            assert result.ephemeral and result.data["content"] == "pong hi"
            await d.wait_for(lambda: len(d.messages(news)) == 1)

Modules: ``server`` (StandIn: faults, REST plumbing, driving the bot), ``rest`` (route
handlers), ``gateway`` (sessions and dispatch), ``world`` (guild, permissions, payloads),
``threads`` (forums, threads, crossposts), ``dms`` (direct messages), ``installs`` (user
installs, servers without the app, where each command may be used), ``records`` (Recorded,
InteractionResult), ``validation`` (Discord's body limits), ``components`` (legacy and
Components V2 rules), ``forms`` (error answers), ``ratelimit`` (buckets and headers),
``runner`` (``running_bot``).
"""

from .records import InteractionNotAnswered, InteractionResult, Recorded
from .runner import running_bot
from .server import StandIn
from .world import Perm

__all__ = [
    "InteractionNotAnswered",
    "InteractionResult",
    "Perm",
    "Recorded",
    "StandIn",
    "running_bot",
]
