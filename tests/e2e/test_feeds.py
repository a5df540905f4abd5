"""/feed add|remove|list end to end, and what a subscription means for the channel.

The real bot, a real SQLite file, the Discord stand-in: each test checks the admin's
answer, the subscriptions the store holds, and which channel received what.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.botenv import NewsEnv, content, news_bot, store_with_seed, two_rounds
from tests.support.helpers import SEED_ID, card_title, write_article
from tests.support.stand_in import InteractionResult, Perm, StandIn

# --- helpers -------------------------------------------------------------------------------


async def subscriptions(env: NewsEnv) -> list[tuple[int, str, int | None, int]]:
    """(channel, topic, role, min quality) of every subscription, by channel then topic."""
    return [
        (s.channel_id, s.topic, s.role_id, s.min_quality)
        for s in await env.store.feeds.subscriptions()
    ]


def post_statuses(d: StandIn, channel_id: int) -> list[int]:
    return [
        r.status
        for r in d.requests
        if r.method == "POST" and r.path == f"/channels/{channel_id}/messages"
    ]


async def feed(
    env: NewsEnv, sub: str, user: int | None = None, **options: Any
) -> InteractionResult:
    return await env.discord.slash(
        "feed", options, subcommand=sub, user_id=env.guild.admin if user is None else user
    )


async def feed_list(env: NewsEnv) -> str:
    result = await feed(env, "list")
    assert result.type == 4 and result.ephemeral
    embeds = result.data.get("embeds") or []
    return str(embeds[0]["description"]) if embeds else content(result)


async def status_channels(env: NewsEnv) -> str:
    result = await env.discord.slash("status", user_id=env.guild.moderator)
    assert result.ephemeral
    fields = {f["name"]: f["value"] for f in result.data["embeds"][0]["fields"]}
    return str(fields["Channels"])


async def publish(env: NewsEnv, article_id: str) -> None:
    result = await env.discord.slash(
        "publish", {"article": article_id}, user_id=env.guild.moderator
    )
    assert content(result).startswith("Published"), result.data


async def quiet(env: NewsEnv) -> None:
    """Two rescans, then two delivery rounds: anything the bot would post by now, it has."""
    await two_rounds(env.bot, "store rescan", "deliveries")


# --- /feed add -----------------------------------------------------------------------------


async def test_feed_add_answers_privately_and_stores_the_subscription(tmp_path: Path) -> None:
    store_with_seed(tmp_path)
    async with news_bot(tmp_path) as env:
        news, ai = env.guild.channels["news"], env.guild.channels["ai"]
        role = env.guild.mod_role
        everything = await feed(env, "add", channel=news)
        assert everything.type == 4 and everything.ephemeral
        assert content(everything) == (
            f"<#{news}> will receive new articles on every topic, as cards, from now on."
        )
        topical = await feed(env, "add", channel=ai, topic="ai ", role=role, min_quality=5)
        assert topical.ephemeral
        assert content(topical) == (
            f"<#{ai}> will receive new articles about **AI** with quality ≥ 5, "
            f"pinging <@&{role}>, as cards, from now on."
        )
        assert topical.data["allowed_mentions"] == {"parse": []}  # the answer pings no one
        assert await subscriptions(env) == [(news, "", None, 0), (ai, "AI", role, 5)]


async def test_feed_add_topic_autocompletes_and_an_unknown_topic_suggests(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    write_article(folder, "live", published=True, topics=["AI", "AI Ethics", "Space"])
    async with news_bot(tmp_path) as env:
        choices = await env.discord.autocomplete(
            "feed",
            {"channel": env.guild.channels["ai"], "topic": "ai"},
            "topic",
            subcommand="add",
            user_id=env.guild.admin,
        )
        assert [c["value"] for c in choices] == ["AI", "AI Ethics"]
        assert choices[0]["name"] == "AI (1)"
        wrong = await feed(env, "add", channel=env.guild.channels["ai"], topic="AI Ethic")
        assert wrong.ephemeral and "Did you mean **AI Ethics**" in content(wrong)
        assert await subscriptions(env) == []


async def test_feed_add_names_a_missing_embed_links_permission(tmp_path: Path) -> None:
    store_with_seed(tmp_path)
    async with news_bot(tmp_path) as env:
        no_embeds = env.discord.add_channel("no-embeds", bot_can_embed=False)
        no_send = env.discord.add_channel("read-only", bot_can_send=False)
        result = await feed(env, "add", channel=no_embeds)
        assert result.type == 4 and result.ephemeral
        text = content(result)
        assert f"<#{no_embeds}>" in text and "Embed Links" in text
        assert "Send Messages" not in text
        mute = await feed(env, "add", channel=no_send)
        assert mute.ephemeral and "Send Messages" in content(mute)
        assert await subscriptions(env) == []
        assert "No channel here follows" in await feed_list(env)


async def test_feed_add_refuses_everyone_as_the_ping_role(tmp_path: Path) -> None:
    store_with_seed(tmp_path)
    async with news_bot(tmp_path) as env:
        everyone = env.discord.guild_id  # @everyone's id is the guild's
        result = await feed(env, "add", channel=env.guild.channels["news"], role=everyone)
        assert result.ephemeral and "Pick a normal role" in content(result)
        assert await subscriptions(env) == []


async def test_only_admins_manage_feeds(tmp_path: Path) -> None:
    store_with_seed(tmp_path)
    async with news_bot(tmp_path) as env:
        news = env.guild.channels["news"]
        assert (await feed(env, "add", channel=news)).ephemeral
        for user in (env.guild.reader, env.guild.moderator):  # Manage Messages is not enough
            for sub, options in (
                ("add", {"channel": env.guild.channels["ai"]}),
                ("remove", {"channel": news}),
                ("list", {}),
            ):
                result = await feed(env, sub, user, **options)
                assert result.type == 4 and result.ephemeral
                assert content(result) == "Only server admins (Manage Server) can manage feeds."
                assert not result.data.get("embeds")
        assert await subscriptions(env) == [(news, "", None, 0)]
        await publish(env, SEED_ID)
        await env.discord.wait_for(lambda: set(env.discord.all_posts()) == {news}, 5)


# --- /feed remove and /feed list -----------------------------------------------------------


async def test_feed_list_and_remove(tmp_path: Path) -> None:
    store_with_seed(tmp_path)
    async with news_bot(tmp_path, channels=("news", "ai", "world")) as env:
        d, channels, role = env.discord, env.guild.channels, env.guild.mod_role
        news, ai = channels["news"], channels["ai"]
        assert "No channel here follows" in await feed_list(env)
        await feed(env, "add", channel=news, role=role)
        await feed(env, "add", channel=ai, topic="AI", min_quality=50)
        await feed(env, "add", channel=ai, topic="AI Ethics")
        assert (await feed_list(env)).splitlines() == [
            f"<#{news}>: all topics · pings <@&{role}> · as cards",
            f"<#{ai}>: AI · quality ≥ 50 · as cards",
            f"<#{ai}>: AI Ethics · as cards",
        ]

        one = await feed(env, "remove", channel=ai, topic="AI Ethics")
        assert one.ephemeral and content(one) == f"Removed 1 subscription(s) from <#{ai}>."
        assert (await feed_list(env)).splitlines() == [
            f"<#{news}>: all topics · pings <@&{role}> · as cards",
            f"<#{ai}>: AI · quality ≥ 50 · as cards",
        ]
        nothing = await feed(env, "remove", channel=channels["world"])
        assert nothing.ephemeral
        assert (
            content(nothing) == f"<#{channels['world']}> has no such subscription. See /feed list."
        )
        assert content(await feed(env, "remove", channel=ai)) == (
            f"Removed 1 subscription(s) from <#{ai}>."
        )
        assert await subscriptions(env) == [(news, "", role, 0)]

        await publish(env, SEED_ID)  # quality 19: "ai" (≥ 50) was removed anyway
        await d.wait_for(lambda: len(d.messages(news)) == 1, 5)
        await quiet(env)
        assert set(d.all_posts()) == {news}


async def test_min_quality_filters_posts(tmp_path: Path) -> None:
    store_with_seed(tmp_path)  # the seed has quality 19
    async with news_bot(tmp_path) as env:
        d, news, ai = env.discord, env.guild.channels["news"], env.guild.channels["ai"]
        await feed(env, "add", channel=news, min_quality=19)
        await feed(env, "add", channel=ai, min_quality=20)
        await publish(env, SEED_ID)
        await d.wait_for(lambda: len(d.messages(news)) == 1, 5)
        await quiet(env)
        assert d.messages(ai) == [] and post_statuses(d, ai) == []


async def test_an_admin_of_another_server_touches_none_of_this_servers_feeds(
    tmp_path: Path,
) -> None:
    store_with_seed(tmp_path)
    async with StandIn() as d:
        other = d.add_guild("Other Server")
        other_admin = d.add_member("other-admin", permissions=Perm.MANAGE_GUILD, guild_id=other)
        theirs = d.add_channel("their-news", guild_id=other)
        # A public bot: /feed is a global command, there in both servers.
        async with news_bot(tmp_path, stand_in=d, guild_id=None) as env:
            news, ai = env.guild.channels["news"], env.guild.channels["ai"]
            await feed(env, "add", channel=news)

            async def as_other_admin(sub: str, **options: Any) -> InteractionResult:
                return await d.slash(
                    "feed", options, subcommand=sub, user_id=other_admin, guild_id=other
                )

            own = await as_other_admin("add", channel=theirs)
            assert (
                content(own) == f"<#{theirs}> will receive new articles on every topic, as cards, "
                "from now on."
            )
            before = await env.store.feeds.subscriptions()
            assert {(s.channel_id, s.guild_id) for s in before} == {
                (news, d.guild_id),
                (theirs, other),
            }

            # This server's channel ids in interactions forged in the other one: one with
            # resolved data claiming the channel is there, one with the bare id.
            claimed = {
                str(ai): {
                    "id": str(ai),
                    "name": "ai",
                    "type": 0,
                    "guild_id": str(other),
                    "parent_id": None,
                    "permissions": str(Perm.ALL),
                }
            }
            added = await d.slash(
                "feed",
                {"channel": ai},
                subcommand="add",
                user_id=other_admin,
                guild_id=other,
                resolved={"channels": claimed},
            )
            removed = await as_other_admin("remove", channel=news)
            for result, channel in ((added, ai), (removed, news)):
                assert result.type == 4 and result.ephemeral
                assert content(result) == (
                    f"<#{channel}> is not a text channel of this server: admins manage only "
                    "their own server's feeds. Nothing was changed."
                )
            assert await env.store.feeds.subscriptions() == before

            listed = await as_other_admin("list")
            assert listed.data["embeds"][0]["description"] == f"<#{theirs}>: all topics · as cards"
            assert str(news) not in json.dumps(listed.data)
            assert (await feed_list(env)) == f"<#{news}>: all topics · as cards"

            # Below the command: removing is scoped by server, whatever channel id is named.
            assert await env.store.feeds.unsubscribe(news, None, guild_id=other) == 0
            assert await env.store.feeds.unsubscribe(news, "", guild_id=other) == 0
            assert await env.store.feeds.subscriptions() == before

            await publish(env, SEED_ID)
            await d.wait_for(lambda: len(d.messages(news)) == len(d.messages(theirs)) == 1, 5)


# --- only what is published after the subscription -----------------------------------------


async def test_a_new_subscription_gets_only_articles_published_after_it(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    for n in range(6):
        write_article(folder, f"old_{n}", published=True, topics=["AI"])
    async with news_bot(tmp_path) as env:
        d, news, ai = env.discord, env.guild.channels["news"], env.guild.channels["ai"]
        await feed(env, "add", channel=news)
        await feed(env, "add", channel=ai, topic="AI")
        # An edit of an old article is not a publication either.
        write_article(folder, "old_0", published=True, topics=["AI"], excerpt="Changed.")
        await quiet(env)
        assert d.all_posts() == {}
        assert post_statuses(d, news) == [] and post_statuses(d, ai) == []
        assert await env.store.outbox.state_counts() == {}

        write_article(folder, "fresh", title="Fresh story", published=True, topics=["AI"])
        await d.wait_for(lambda: len(d.messages(news)) == len(d.messages(ai)) == 1, 5)
        await quiet(env)
        for channel in (news, ai):
            [post] = d.messages(channel)
            assert card_title(post) == "Fresh story"


async def test_a_first_start_with_news_channel_id_floods_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    for n in range(5):
        write_article(folder, f"old_{n}", published=True)
    async with StandIn() as d:
        firehose = d.add_channel("firehose")
        async with news_bot(tmp_path, stand_in=d, channel_id=firehose) as env:
            await quiet(env)
            assert d.all_posts() == {}
            write_article(folder, "fresh", title="Fresh story", published=True)
            await d.wait_for(lambda: len(d.messages(firehose)) == 1, 5)
            assert card_title(d.messages(firehose)[0]) == "Fresh story"
            assert set(d.all_posts()) == {firehose}


# --- paused channels -----------------------------------------------------------------------


async def test_a_forbidden_channel_is_paused_reported_and_resumed_by_feed_add(
    tmp_path: Path,
) -> None:
    folder = store_with_seed(tmp_path)
    write_article(folder, "second", title="Second story", topics=["AI"])
    async with news_bot(tmp_path) as env:
        d, news, ai = env.discord, env.guild.channels["news"], env.guild.channels["ai"]
        await feed(env, "add", channel=news)
        await feed(env, "add", channel=ai, topic="AI")
        d.set_bot_permissions(ai, can_send=False)  # someone changes the channel later

        await publish(env, SEED_ID)
        await d.wait_for(lambda: len(d.messages(news)) == 1 and post_statuses(d, ai) == [403], 5)
        await quiet(env)
        assert post_statuses(d, ai) == [403]  # paused: never retried
        assert d.messages(ai) == []
        reason = await env.store.feeds.paused_reason(ai)
        assert reason is not None and reason.startswith("missing permission (403")
        listed = await feed_list(env)
        assert f"<#{ai}>: AI · as cards · **paused**: missing permission" in listed
        assert "run /feed add to resume" in listed
        assert "paused" not in listed.splitlines()[0]  # news is fine
        assert f"<#{ai}>: last post never — **paused**: missing permission" in (
            await status_channels(env)
        )

        d.set_bot_permissions(ai, can_send=True)
        resumed = await feed(env, "add", channel=ai, topic="AI")
        assert resumed.ephemeral and "will receive" in content(resumed)
        assert "paused" not in await feed_list(env)
        assert "paused" not in await status_channels(env)

        await publish(env, "second")
        await d.wait_for(lambda: len(d.messages(ai)) == 1 and len(d.messages(news)) == 2, 5)
        assert card_title(d.messages(ai)[0]) == "Second story"
        assert post_statuses(d, ai) == [403, 200]


async def test_a_deleted_channel_is_paused_and_the_others_still_receive(tmp_path: Path) -> None:
    store_with_seed(tmp_path)
    async with news_bot(tmp_path) as env:
        d, news, ai = env.discord, env.guild.channels["news"], env.guild.channels["ai"]
        await feed(env, "add", channel=news)
        await feed(env, "add", channel=ai)
        d.delete_channel(ai)
        await publish(env, SEED_ID)
        await d.wait_for(lambda: len(d.messages(news)) == 1 and post_statuses(d, ai) == [404], 5)
        await quiet(env)
        assert post_statuses(d, ai) == [404]
        assert "**paused**: channel not found" in await status_channels(env)
