"""Digests end to end: /digest add|remove|now and the scheduled digest, exactly once.

The real bot on a real database (SQLite and PostgreSQL) against the Discord stand-in. The
store's one clock is injected (`news_bot(clock=...)`): a test sets the digest hour instead of
waiting for it. Stories count from when they became published (now, as the test runs),
so a test's digest hour is the next whole hour but one, and its clock is set past it.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.store import DigestState
from tests.support.botenv import NewsEnv, content, news_bot, start_bot, two_rounds
from tests.support.helpers import write_article
from tests.support.stand_in import InteractionResult, Perm, Recorded, StandIn

pytestmark = pytest.mark.usefixtures("both_backends")

MESSAGES = r"^/channels/\d+/messages$"


class Clock:
    """Seconds since the epoch from `start`, running on as real time does; `set` jumps."""

    def __init__(self, start: float | None = None) -> None:
        self.set(time.time() if start is None else start)

    def set(self, start: float) -> None:
        self.start, self.began = start, time.monotonic()

    def __call__(self) -> float:
        return self.start + (time.monotonic() - self.began)


def digest_hour() -> datetime:
    """A due time one to two hours ahead: what is published now falls in its day."""
    ahead = datetime.now(UTC) + timedelta(hours=2)
    return ahead.replace(minute=0, second=0, microsecond=0)


def hours_ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat()


def store_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "store"
    folder.mkdir(exist_ok=True)
    return folder


def stories(folder: Path) -> None:
    """Four published stories and a draft hotter than all of them."""
    related = [{"title": f"Also {n}", "webUrl": f"https://other.example/{n}"} for n in range(2)]
    write_article(
        folder,
        "fresh-hot",
        title="Fresh and hot",
        published=True,
        heat=90,
        quality=60,
        publishedDateTime=hours_ago(1),
        related=related,
    )
    write_article(
        folder,
        "fresh-warm",
        title="Fresh and warm",
        published=True,
        heat=30,
        quality=40,
        publishedDateTime=hours_ago(2),
        topics=["AI"],
    )
    write_article(
        folder,
        "old-hot",
        title="Old but hot",
        published=True,
        heat=100,
        quality=100,
        publishedDateTime=hours_ago(40),
        provider={"name": "The [Daily] @everyone", "domain": "daily.example"},
    )
    write_article(
        folder,
        "cold",
        title="Cold",
        published=True,
        heat=-1,
        quality=0,
        publishedDateTime=hours_ago(3),
    )
    write_article(
        folder,
        "draft",
        title="Hottest draft",
        published=False,
        heat=100,
        quality=100,
        publishedDateTime=hours_ago(1),
    )


async def digest(
    env: NewsEnv, sub: str, user: int | None = None, **options: Any
) -> InteractionResult:
    return await env.discord.slash(
        "digest", options, subcommand=sub, user_id=env.guild.admin if user is None else user
    )


def said(result: InteractionResult) -> str:
    """The answer's text: /digest now defers, then follows up."""
    assert result.ephemeral
    return str(result.followups[-1]["content"]) if result.deferred else content(result)


def posts(d: StandIn, channel_id: int) -> list[Recorded]:
    path = f"/channels/{channel_id}/messages"
    return [r for r in d.requests if r.method == "POST" and r.path == path]


def lines(message: dict[str, Any]) -> list[str]:
    return str(message["embeds"][0]["description"]).splitlines()


# --- /digest now ---------------------------------------------------------------------------


async def test_digest_now_posts_the_top_stories_in_score_order_never_a_draft(
    tmp_path: Path,
) -> None:
    stories(store_folder(tmp_path))
    async with news_bot(tmp_path) as env:
        d, news = env.discord, env.guild.channels["news"]
        # The embed's lines show the order plainly (a card digest: tests/e2e/test_styles.py).
        result = await digest(env, "now", channel=news, size=3, style="embed")
        assert said(result) == f"Posted the daily digest (3 stories) in <#{news}>."
        [message] = d.messages(news)
        embed = message["embeds"][0]
        assert embed["title"] == "Daily digest"
        assert lines(message) == [
            "1. **[Fresh and hot](https://example.com/news/fresh-hot)** · Example News"
            " · +2 related",
            "2. **[Fresh and warm](https://example.com/news/fresh-warm)** · Example News"
            " · +0 related",
            "3. **[Old but hot](https://example.com/news/old-hot)** · The \\[Daily\\]"
            " @\u200beveryone · +0 related",
        ]
        assert embed["footer"]["text"].startswith("Top 3 of 4 stories published ")
        assert "Hottest draft" not in json.dumps(d.messages(news))
        [sent] = posts(d, news)
        assert sent.json is not None and sent.json["allowed_mentions"] == {"parse": []}
        assert sent.json["enforce_nonce"] and len(sent.json["nonce"]) <= 25

        # Each call posts once: a second call is a second message; a topic narrows it.
        again = await digest(env, "now", channel=news, topic="ai", every="weekly", style="embed")
        assert said(again) == f"Posted the weekly digest (1 story) in <#{news}>."
        assert len(d.messages(news)) == 2
        assert d.messages(news)[1]["embeds"][0]["title"] == "Weekly digest: AI"
        assert len({r.json["nonce"] for r in posts(d, news) if r.json}) == 2


async def test_digest_now_with_nothing_to_show_posts_nothing(tmp_path: Path) -> None:
    folder = store_folder(tmp_path)
    write_article(folder, "draft", published=False, topics=["AI"])
    async with news_bot(tmp_path) as env:
        news = env.guild.channels["news"]
        result = await digest(env, "now", channel=news, topic="AI")
        assert said(result) == (
            "Nothing to show: no story about **AI** was published in the last day. Nothing posted."
        )
        assert posts(env.discord, news) == []


# --- who may -------------------------------------------------------------------------------


async def test_only_admins_run_digests_and_only_on_their_own_servers_channels(
    tmp_path: Path,
) -> None:
    stories(store_folder(tmp_path))
    async with StandIn() as d:
        other = d.add_guild("Other Server")
        other_admin = d.add_member("other-admin", permissions=Perm.MANAGE_GUILD, guild_id=other)
        theirs = d.add_channel("their-news", guild_id=other)
        async with news_bot(tmp_path, stand_in=d, guild_id=None) as env:
            news = env.guild.channels["news"]
            for user in (env.guild.reader, env.guild.moderator):
                for sub, options in (
                    ("add", {"channel": news, "every": "daily"}),
                    ("remove", {"channel": news}),
                    ("now", {"channel": news}),
                ):
                    refused = await digest(env, sub, user, **options)
                    assert said(refused) == ("Only server admins (Manage Server) can manage feeds.")
            for sub, options in (
                ("add", {"channel": news, "every": "daily"}),
                ("now", {"channel": news}),
            ):
                forged = await d.slash(
                    "digest", options, subcommand=sub, user_id=other_admin, guild_id=other
                )
                assert said(forged) == (
                    f"<#{news}> is not a text channel of this server: admins manage only "
                    "their own server's feeds. Nothing was changed."
                )
            own = await d.slash(
                "digest",
                {"channel": theirs, "every": "weekly"},
                subcommand="add",
                user_id=other_admin,
                guild_id=other,
            )
            assert said(own).startswith(f"<#{theirs}> will get a weekly digest on Mondays")
            digests = await env.store.digests.subscriptions()
            assert [(s.channel_id, s.guild_id) for s in digests] == [(theirs, other)]
            assert d.all_posts() == {}


# --- scheduled digests ---------------------------------------------------------------------


async def test_a_digest_at_its_hour_is_sent_once_across_a_restart(tmp_path: Path) -> None:
    stories(store_folder(tmp_path))
    due = digest_hour()
    clock = Clock()
    async with StandIn() as d:
        async with news_bot(tmp_path, stand_in=d, clock=clock) as env:
            news = env.guild.channels["news"]
            added = await digest(
                env, "add", channel=news, every="daily", hour=due.hour, size=3, style="embed"
            )
            assert content(added) == (
                f"<#{news}> will get a daily digest at {due.hour:02d}:00 UTC · all topics · "
                f"top 3 · as an embed; the first one <t:{int(due.timestamp())}:R>."
            )
            await two_rounds(env.bot, "digests")
            assert posts(d, news) == []  # not yet its hour

            # At the hour, the message reaches Discord but the answer is lost...
            d.drop_after_commit("POST", MESSAGES)
            clock.set(due.timestamp() + 30)

            async def retry_logged() -> bool:
                return [r.attempts for r in await env.store.digests.log(news)] == [1]

            await d.wait_for(retry_logged, 5)
            settings = env.settings
        # ...and the bot restarts, still at the digest hour: the retry's nonce is the same.
        assert len(d.messages(news)) == 1
        async with start_bot(d, settings, clock=Clock(due.timestamp() + 60)) as (_, store):

            async def sent() -> bool:
                return [r.state for r in await store.digests.log(news)] == [DigestState.SENT]

            await d.wait_for(sent, 8)
        async with start_bot(d, settings, clock=Clock(due.timestamp() + 90)) as (bot, _):
            await two_rounds(bot, "digests")
        first, retry = posts(d, news)
        assert first.dropped and first.json and retry.json
        assert first.json["nonce"] == retry.json["nonce"] and retry.json["enforce_nonce"]
        [message] = d.messages(news)
        assert [line.split("**")[1] for line in lines(message)] == [
            "[Fresh and hot](https://example.com/news/fresh-hot)",
            "[Fresh and warm](https://example.com/news/fresh-warm)",
            "[Old but hot](https://example.com/news/old-hot)",
        ]


async def test_a_digest_with_nothing_to_show_sends_nothing_and_is_not_retried(
    tmp_path: Path,
) -> None:
    write_article(store_folder(tmp_path), "draft", published=False)
    due = digest_hour()
    clock = Clock()
    async with news_bot(tmp_path, clock=clock) as env:
        news = env.guild.channels["news"]
        await digest(env, "add", channel=news, every="weekly", hour=due.hour)
        clock.set(due.timestamp() + 7 * 86400)  # past the next Monday's hour, whichever

        async def empty() -> bool:
            return [r.state for r in await env.store.digests.log(news)] == [DigestState.EMPTY]

        await env.discord.wait_for(empty, 5)
        await two_rounds(env.bot, "digests")
        assert posts(env.discord, news) == []
        assert len(await env.store.digests.log(news)) == 1


async def test_digests_in_feed_list_and_status_and_a_refusing_channel_is_paused(
    tmp_path: Path,
) -> None:
    stories(store_folder(tmp_path))
    due = digest_hour()
    clock = Clock()
    async with news_bot(tmp_path, clock=clock) as env:
        d, news, ai = env.discord, env.guild.channels["news"], env.guild.channels["ai"]
        await digest(env, "add", channel=news, every="daily", hour=due.hour)
        await digest(env, "add", channel=ai, every="weekly", hour=0, topic="ai", size=10)
        listed = await env.discord.slash("feed", subcommand="list", user_id=env.guild.admin)
        assert str(listed.data["embeds"][0]["description"]).splitlines() == [
            f"<#{news}>: daily digest at {due.hour:02d}:00 UTC · all topics · top 5 · as a card",
            f"<#{ai}>: weekly digest on Mondays at 00:00 UTC · AI · top 10 · as a card",
        ]
        d.set_bot_permissions(news, can_send=False)
        clock.set(due.timestamp() + 30)

        async def failed() -> bool:
            return [r.state for r in await env.store.digests.log(news)] == [DigestState.FAILED]

        await d.wait_for(failed, 5)
        assert [r.status for r in posts(d, news)] == [403]
        status = await d.slash("status", user_id=env.guild.moderator)
        fields = {f["name"]: f["value"] for f in status.data["embeds"][0]["fields"]}
        assert (
            fields["Digests"]
            .splitlines()[0]
            .startswith(
                f"<#{news}>: daily digest at {due.hour:02d}:00 UTC · all topics · top 5 · "
                "as a card, "
                "last sent never — **paused**: missing permission"
            )
        )
        removed = await digest(env, "remove", channel=ai, topic="AI")
        assert content(removed) == f"Removed 1 digest(s) from <#{ai}>."
        gone = await digest(env, "remove", channel=ai)
        assert content(gone) == f"<#{ai}> has no such digest. See /feed list."


async def test_a_digest_refused_for_a_moment_is_retried_into_one_message(tmp_path: Path) -> None:
    stories(store_folder(tmp_path))
    due = digest_hour()
    clock = Clock()
    async with news_bot(tmp_path, clock=clock) as env:
        d, news = env.discord, env.guild.channels["news"]
        await digest(env, "add", channel=news, every="daily", hour=due.hour)
        d.fail_next("POST", MESSAGES, 503)  # discord.py gives up at once; the log retries
        clock.set(due.timestamp() + 30)
        await d.wait_for(lambda: len(d.messages(news)) == 1, 8)  # backoff: 2 s
        await two_rounds(env.bot, "digests")
        assert [r.status for r in posts(d, news)] == [503, 200]
        [run] = await env.store.digests.log(news)
        assert (run.state, run.message_id) == (DigestState.SENT, int(d.messages(news)[0]["id"]))


async def test_digest_add_names_what_the_bot_may_not_do_in_the_channel(tmp_path: Path) -> None:
    stories(store_folder(tmp_path))
    async with news_bot(tmp_path) as env:
        mute = env.discord.add_channel("no-embeds", bot_can_embed=False)
        asks: tuple[tuple[str, dict[str, Any]], ...] = (("add", {"every": "daily"}), ("now", {}))
        for sub, options in asks:
            refused = await digest(env, sub, channel=mute, **options)
            assert said(refused) == (
                f"I can't post in <#{mute}>: I am missing Embed Links there. "
                "Grant them to the bot's role in that channel, then try again."
            )
        assert await env.store.digests.subscriptions() == []
        assert posts(env.discord, mute) == []
