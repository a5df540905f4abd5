"""`newsbot migrate-db --to URL`: a bot that ran on SQLite moves to PostgreSQL.

A real bot on SQLite posts two stories to two channels (and has a feed, a paused channel,
an audit trail). `migrate-db` runs twice. The same bot on PostgreSQL then posts nothing
again, edits the old post when its file changes and deletes the old posts on /unpublish.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bot.digest import Every
from bot.pictures import Image
from bot.store import AlertState, DeliveryState, FollowKind, Store, Style
from bot.store.migrate import copy_state
from tests.support.botenv import content, news_bot, settled, start_bot, subscribe, two_rounds
from tests.support.cli import newsbot
from tests.support.helpers import card_title, is_card, write_article
from tests.support.stand_in import StandIn

MESSAGES = r"^/channels/\d+/messages"


def sent(discord: StandIn, method: str, channel: int) -> int:
    path = f"/channels/{channel}/messages"
    return sum(1 for r in discord.requests if r.method == method and r.path.startswith(path))


async def test_a_sqlite_bot_moves_to_postgresql_and_reposts_nothing(
    tmp_path: Path, pg_url: str
) -> None:
    store = tmp_path / "store"
    store.mkdir()
    write_article(store, "older", title="An older story", published=True)
    async with StandIn() as discord:
        async with news_bot(tmp_path, stand_in=discord) as env:
            news, ai = env.guild.channels["news"], env.guild.channels["ai"]
            await subscribe(env, "news")
            await subscribe(env, "ai")
            added = await discord.slash(
                "digest",
                {"channel": ai, "every": "weekly"},
                subcommand="add",
                user_id=env.guild.admin,
            )
            assert "will get a weekly digest" in content(added)
            for name in ("quake", "flood"):
                write_article(store, name, title=f"Story {name}", published=True)
            await discord.wait_for(
                lambda: len(discord.messages(news)) == len(discord.messages(ai)) == 2, 10
            )
            await settled(env)
            await env.store.publishing.audit_refusal("someone", "publish", "quake", "not a mod")
            settings = env.settings
        quake_post = next(m for m in discord.messages(news) if card_title(m) == "Story quake")

        for _ in range(2):  # safe to run again
            moved = newsbot(
                tmp_path,
                "migrate-db",
                "--to",
                pg_url,
                NEWS_DB_PATH=str(settings.db_path),
                NEWS_STORE_DIR=str(store),
            )
            assert moved.returncode == 0, moved.stderr
            assert "copied: 2 subscriptions" in moved.stdout
            assert "4 outbox" in moved.stdout
            assert "1 digests" in moved.stdout
            assert "s3cret" not in moved.stdout + moved.stderr

        async with Store.open(pg_url, store) as copied:
            # Each feed, post and digest keeps its style: cards stay cards.
            assert [s.style for s in await copied.feeds.subscriptions()] == [Style.CARD] * 2
            [weekly] = await copied.digests.subscriptions()
            assert (weekly.channel_id, weekly.every, weekly.style) == (ai, "weekly", Style.CARD)
            assert (await copied.outbox.state_counts()) == {DeliveryState.SENT: 4}
            trail = await copied.publishing.audit_trail()
            assert [(e.actor, e.action) for e in trail] == [("someone", "refused publish")]

        posts = sent(discord, "POST", news) + sent(discord, "POST", ai)
        on_pg = dataclasses.replace(settings, database_url=pg_url)
        async with start_bot(discord, on_pg) as (bot, pg_store):
            await two_rounds(bot, "store rescan", "deliveries")
            assert sent(discord, "POST", news) + sent(discord, "POST", ai) == posts  # no repost

            path = store / "quake.txt"
            path.write_text(path.read_text().replace("Story quake", "Story quake, updated"))
            await discord.wait_for(
                lambda: "updated" in str(discord.messages(news)),
                timeout=10,
            )
            edited = next(m for m in discord.messages(news) if "quake" in card_title(m))
            assert edited["id"] == quake_post["id"]  # the old post, edited in place
            edit = [r for r in discord.requests if r.method == "PATCH"][-1]
            assert edit.json is not None and is_card(edit.json)  # as the card it is

            result = await discord.slash(
                "unpublish", {"article": "flood"}, user_id=env.guild.moderator
            )
            assert "flood" in content(result) or "Story flood" in content(result)
            await discord.wait_for(
                lambda: all("flood" not in str(discord.messages(c)) for c in (news, ai)), 10
            )
            assert sent(discord, "POST", news) + sent(discord, "POST", ai) == posts
            assert len(discord.messages(news)) == len(discord.messages(ai)) == 1
            await two_rounds(bot)
            assert await pg_store.outbox.next_due_at() is None


async def test_migrate_db_keeps_each_feeds_posts_and_digests_style_and_the_saves(
    tmp_path: Path, pg_url: str
) -> None:
    """A card stays a card after the move (an edit never turns it into an embed), a feed
    keeps its filter, and a story a member saved is not sent to their DMs again; pictures
    come with the reloaded articles."""
    store = tmp_path / "store"
    store.mkdir()
    picture = Image("https://img.example.com/quake.jpg", 800, 450)
    images = [{"url": picture.url, "width": picture.width, "height": picture.height}]
    write_article(store, "quake", title="Story quake", published=True, images=images)
    url = "https://example.com/news/quake"
    async with Store.open(tmp_path / "news.db", store) as old:
        await old.feeds.subscribe(1, "", actor="t")
        await old.feeds.subscribe(2, "", actor="t", style=Style.EMBED, filter="quake")
        await old.digests.add(
            1, "", every=Every.DAILY, hour=8, size=5, guild_id=9, actor="t", now=0
        )
        await old.folder.sync()
        async with old.db.transaction():  # the styles a /feed add and a digest chose
            await old.db.execute("UPDATE subscriptions SET style = 'card' WHERE channel_id = 1")
            await old.db.execute("UPDATE outbox SET style = 'card' WHERE channel_id = 1")
            await old.db.execute("UPDATE digests SET style = 'link'")
            await old.db.execute(
                "INSERT INTO saves (user_id, url, saved_at) VALUES (?, ?, ?)", [77, url, 5]
            )
        async with Store.open(pg_url, store) as new:
            await new.folder.sync()
            report = await copy_state(old.db, new.db)
            assert report.copied["saves"] == 1
            for table in ("subscriptions", "outbox"):
                assert await new.db.fetch_tuples(
                    f"SELECT channel_id, style FROM {table} ORDER BY channel_id"
                ) == [(1, "card"), (2, "embed")]
            assert [s.filter for s in await new.feeds.subscriptions()] == ["", "quake"]
            assert await new.db.fetch_tuples("SELECT style FROM digests") == [("link",)]
            assert await new.db.fetch_tuples("SELECT user_id, url, saved_at FROM saves") == [
                (77, url, 5)
            ]
            assert (await new.articles.get("quake")).image == picture


async def test_migrate_db_keeps_members_follows_and_alerts(tmp_path: Path, pg_url: str) -> None:
    """A member's follows and the alerts already sent move along: the story is not sent to
    their DMs again, and the next follow gets a fresh id."""
    store = tmp_path / "store"
    store.mkdir()
    write_article(store, "quake", title="Story quake", topics=["AI"])
    async with Store.open(tmp_path / "news.db", store) as old:
        await old.follows.add(77, FollowKind.TOPIC, "ai", "AI")
        await old.folder.sync()
        await old.publishing.publish("quake", "t")
        assert list(await old.alerts.of(77)) == ["https://example.com/news/quake"]
        async with old.db.transaction():  # as the DM's send left it
            await old.db.execute("UPDATE alerts SET state = 'sent', message_id = 5, sent_at = 1")
        async with Store.open(pg_url, store) as new:
            await new.folder.sync()
            report = await copy_state(old.db, new.db)
            assert report.copied["follows"] == report.copied["alerts"] == 1
            assert await new.alerts.of(77) == {
                "https://example.com/news/quake": (AlertState.SENT, 5)
            }
            assert await new.alerts.due() == []
            await new.follows.add(77, FollowKind.QUERY, "quake", "quake")
            assert [f.text for f in await new.follows.of(77)] == ["ai", "quake"]
            copy_again = await copy_state(old.db, new.db)  # changes nothing
            assert copy_again.copied["alerts"] == 1 and len(await new.follows.of(77)) == 2
