"""What the redesign must keep: races between a withdrawal and a post, and topic case.

Each of these was a planted bug that the suite missed: a withdrawal while a send is in
flight, a withdrawal before the first send, and autocomplete typed in another case.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from pathlib import Path

import pytest

from bot.store import DeliveryState
from tests.support.botenv import (
    NewsEnv,
    content,
    news_bot,
    settled,
    start_bot,
    store_with_seed,
    subscribe,
    two_rounds,
)
from tests.support.helpers import SEED_ID, SEED_NAME, card_title, write_article
from tests.support.stand_in import StandIn
from tests.support.stand_in.records import Hold

pytestmark = pytest.mark.usefixtures("both_backends")  # the end-to-end suite, on both backends

SEED_URL = (
    "https://www.govtech.com/artificial-intelligence/how-long-will-the-open-source-ai-boom-last"
)


async def publish_and_hold_the_post(env: NewsEnv, name: str) -> Hold:
    """/publish the seed to the channel `name`, which follows every topic; Discord makes
    the post and keeps its answer until `release()`."""
    await subscribe(env, name)
    channel = env.guild.channels[name]
    in_flight = env.discord.hold_answer("POST", rf"^/channels/{channel}/messages$")
    await env.discord.slash("publish", {"article": SEED_ID}, user_id=env.guild.moderator)
    await asyncio.wait_for(in_flight.arrived.wait(), 10)
    return in_flight


async def test_a_withdrawal_while_the_post_is_in_flight_still_deletes_it(tmp_path: Path) -> None:
    store_with_seed(tmp_path)
    async with news_bot(tmp_path) as env:
        d, news = env.discord, env.guild.channels["news"]
        in_flight = await publish_and_hold_the_post(env, "news")
        assert len(d.messages(news)) == 1  # Discord made the post; the bot has no answer yet

        withdrawn = await d.slash("unpublish", {"article": SEED_ID}, user_id=env.guild.moderator)
        assert content(withdrawn).startswith("Withdrew")
        in_flight.release()  # now the answer (with the message id) arrives

        await d.wait_for(lambda: d.messages(news) == [], 10)
        await settled(env)
        assert await env.store.outbox.posts(SEED_URL) == {news: (DeliveryState.DELETED, None)}


async def test_a_change_while_the_post_is_in_flight_is_edited_in(tmp_path: Path) -> None:
    """The file changes after the post was rendered but before Discord answered: the post
    must not be left showing the old title (bench.freshness found it lost 4 times in 20)."""
    seed = store_with_seed(tmp_path) / SEED_NAME
    async with news_bot(tmp_path) as env:
        d, news = env.discord, env.guild.channels["news"]
        in_flight = await publish_and_hold_the_post(env, "news")

        text = seed.read_text("utf-8")
        seed.write_text(re.sub(r"(?m)^title: .*$", 'title: "Edited in flight"', text), "utf-8")
        assert (await env.store.folder.sync_files([SEED_NAME])).changed == 1
        in_flight.release()

        def titles() -> list[str]:
            return [card_title(m) for m in d.messages(news)]

        await d.wait_for(lambda: titles() == ["Edited in flight"], 10)
        await settled(env)
        message_id = int(d.messages(news)[0]["id"])
        assert await env.store.outbox.posts(SEED_URL) == {news: (DeliveryState.SENT, message_id)}
        edits = [r for r in d.requests if r.method == "PATCH" and r.path.endswith(str(message_id))]
        assert len(edits) == 1


async def test_a_post_withdrawn_before_its_first_send_is_never_sent(tmp_path: Path) -> None:
    store_with_seed(tmp_path)
    async with StandIn() as d:
        async with news_bot(tmp_path, stand_in=d, delivery=False) as env:  # no deliverer yet
            news = env.guild.channels["news"]
            await subscribe(env, "news")
            await d.slash("publish", {"article": SEED_ID}, user_id=env.guild.moderator)
            assert await env.store.outbox.queued_channels(SEED_URL) == 1
            await d.slash("unpublish", {"article": SEED_ID}, user_id=env.guild.moderator)
            settings = env.settings
        # The deliverer starts only now, with the withdrawn row in its queue.
        async with start_bot(d, dataclasses.replace(settings, delivery=True)) as (bot, store):

            async def idle() -> bool:
                return (await store.outbox.health()).waiting == 0

            await d.wait_for(idle, 10)
            await two_rounds(bot)  # a delivery round has run since
            posts = [r for r in d.requests if r.method == "POST" and r.path.endswith("/messages")]
            assert posts == [] and d.messages(news) == []
            assert await store.outbox.posts(SEED_URL) == {news: (DeliveryState.DELETED, None)}


async def test_topic_autocomplete_ignores_case_and_spacing(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    write_article(folder, "a1", published=True, topics=["AI"])
    write_article(folder, "a2", published=True, topics=["AI Ethics"])
    write_article(folder, "w1", published=True, topics=["World"])
    async with news_bot(tmp_path) as env:
        d = env.discord

        async def offered(command: str, typed: str, **options: str) -> list[str]:
            choices = await d.autocomplete(
                command,
                {**options, "topic": typed},
                "topic",
                user_id=env.guild.admin,
                subcommand="add" if command == "feed" else None,
            )
            return [c["value"] for c in choices]

        expected = await offered("news", "ai")
        assert expected == ["AI", "AI Ethics"]
        for typed in ("AI", "Ai", " aI ", "aI  "):
            assert await offered("news", typed) == expected, typed
            assert await offered("search", typed, query="x") == expected, typed
            assert await offered("feed", typed, channel=str(env.guild.channels["news"])) == (
                expected
            ), typed
