"""The real `newsbot run` at LOG_LEVEL=DEBUG: its log holds no interaction token.

discord.py's DEBUG lines show each request's URL (an interaction's answer goes to
/interactions/<id>/<token>/callback, its follow-ups and edits to /webhooks/<app>/<token>)
and each gateway event (an INTERACTION_CREATE carries the token): anyone who reads the
log could answer as the bot for 15 minutes. The stand-in knows every token it issued.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from tests.support.helpers import card_buttons, write_article
from tests.support.run_bot import BotProcess, bot_env
from tests.support.stand_in import Perm, StandIn


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return card_buttons(message)


async def test_no_interaction_token_reaches_the_log_at_debug(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    write_article(store_dir, "live", title="Open news", published=True, topics=["AI"])
    for n in range(7):  # more than a page: /drafts gets page buttons
        write_article(store_dir, f"draft_{n}", title=f"Draft {n}", published=False)
    async with StandIn() as discord:
        news = discord.add_channel("news")
        reader = discord.add_member("reader")
        moderator = discord.add_member("moderator", permissions=Perm.MANAGE_MESSAGES)
        admin = discord.add_member("admin", permissions=Perm.MANAGE_GUILD)
        env = bot_env(
            discord,
            store_dir,
            tmp_path / "news.db",
            LOG_LEVEL="DEBUG",
            DISCORD_GUILD_ID=discord.guild_id,
        )
        bot = BotProcess(env, tmp_path / "log" / "bot.log")
        await bot.start()
        try:
            await bot.wait_ready(timeout=60)
            answers = [
                await discord.slash("news", user_id=reader),
                await discord.slash("search", {"query": "open"}, user_id=reader),
                await discord.slash("preview", {"article": "draft_1"}, user_id=moderator),
            ]
            drafts = await discord.slash("drafts", user_id=moderator)
            answers.append(drafts)
            assert drafts.message is not None
            for button in buttons(drafts.message):
                if button.get("label") == "Next":  # an edit of the answer (a callback)
                    answers.append(
                        await discord.click(
                            button["custom_id"], message=drafts.message, user_id=moderator
                        )
                    )
            answers.append(
                await discord.slash("publish", {"article": "draft_2"}, user_id=moderator)
            )
            # Deferred, then followed up through /webhooks/<app>/<token>.
            digest = await discord.slash(
                "digest", {"channel": news}, subcommand="now", user_id=admin
            )
            assert digest.deferred and digest.followups
            answers.append(digest)
        finally:
            with contextlib.suppress(Exception):
                await bot.stop()
    log = bot.log()
    assert len(answers) == 7 and all(a.acknowledged for a in answers)
    # The DEBUG lines are there, with the URLs and the events they log, tokens cut out.
    assert "WebSocket Event" in log and "'token': '***'" in log
    assert f"/interactions/{answers[0].id}/***/callback" in log
    assert f"/webhooks/{discord.application_id}/***" in log
    for answer in answers:
        assert answer.token not in log
    assert "test-token" not in log  # nor the bot's own token
