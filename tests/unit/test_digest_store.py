"""Digests at the store's level: what a period holds, the subscriptions and the delivery
log. Part of the contract suite: every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.digest import Every, Period, latest_period
from bot.store import DigestState, Store, schema
from tests.support.helpers import write_article

D = DigestState
GUILD = 500
DIGESTS_MIGRATION = 7  # SQLite's schema version that brought digests


def around_now() -> Period:
    """A period that holds what is published during the test."""
    now = datetime.now(UTC)
    return Period("now", now - timedelta(hours=1), now + timedelta(hours=1))


async def drop(store: Store, store_dir: Path, name: str, **fields: Any) -> None:
    write_article(store_dir, name, **fields)
    await store.folder.sync()


async def ids(store: Store, period: Period, topic: str = "") -> list[str]:
    return sorted(s.article_id for s in await store.digests.stories(period, topic))


async def test_a_period_holds_the_stories_published_in_it_and_never_a_draft(
    store: Store, store_dir: Path
) -> None:
    related = [{"title": f"Also {n}", "webUrl": f"https://other.example/{n}"} for n in range(3)]
    await drop(store, store_dir, "live", published=True, heat=40, quality=70, related=related)
    await drop(store, store_dir, "ai", published=True, topics=["AI"])
    await drop(store, store_dir, "draft", published=False)  # the seed is a draft too
    period = around_now()
    assert await ids(store, period) == ["ai", "live"]
    assert await ids(store, period, "ai ") == ["ai"]  # topics match as everywhere
    [live] = [s for s in await store.digests.stories(period) if s.article_id == "live"]
    assert (live.heat, live.quality, live.related, live.provider) == (40, 70, 3, "Example News")
    assert live.published_at == datetime(2024, 1, 1, 12, tzinfo=UTC)  # its date: its age
    before = Period("before", period.start - timedelta(days=1), period.start)
    assert await ids(store, before) == []


async def test_withdrawn_and_deleted_stories_leave_the_period(
    store: Store, store_dir: Path
) -> None:
    await drop(store, store_dir, "kept", published=True)
    await drop(store, store_dir, "withdrawn", published=True)
    await drop(store, store_dir, "deleted", published=True)
    await store.publishing.unpublish("withdrawn", "mod")
    (store_dir / "deleted.txt").unlink()
    await store.folder.sync()
    assert await ids(store, around_now()) == ["kept"]


async def test_a_draft_published_now_counts_from_now_not_from_its_date(
    store: Store, store_dir: Path
) -> None:
    await drop(store, store_dir, "late", published=False, publishedDateTime="2020-05-01T00:00:00Z")
    assert await ids(store, around_now()) == []
    await store.publishing.publish("late", "mod")
    assert await ids(store, around_now()) == ["late"]


async def test_a_file_taking_a_story_over_keeps_the_storys_time(
    store: Store, store_dir: Path
) -> None:
    await drop(store, store_dir, "first", published=True, webUrl="https://example.com/one")
    period = around_now()
    assert await ids(store, period) == ["first"]
    await drop(store, store_dir, "second", published=True, webUrl="https://example.com/one")
    later = Period("later", period.end, period.end + timedelta(days=1))
    assert await ids(store, period) == ["second"]  # one story, served by the newer file
    assert await ids(store, later) == []  # not a new story in a later period


async def test_digest_subscriptions_add_replace_list_and_remove(store: Store) -> None:
    added = await store.digests.add(
        1, "AI", every=Every.DAILY, hour=8, size=5, guild_id=GUILD, actor="a", now=100
    )
    assert (added.channel_id, added.topic, added.every, added.hour, added.size) == (
        1,
        "AI",
        Every.DAILY,
        8,
        5,
    )
    await store.digests.add(
        1, "ai", every=Every.WEEKLY, hour=0, size=3, guild_id=GUILD, actor="a", now=200
    )
    await store.digests.add(
        2, "", every=Every.DAILY, hour=23, size=10, guild_id=7, actor="b", now=1
    )
    mine = await store.digests.subscriptions(guild_id=GUILD)
    assert [(d.channel_id, d.topic, d.every, d.hour, d.size) for d in mine] == [
        (1, "ai", Every.WEEKLY, 0, 3)
    ]
    assert len(await store.digests.subscriptions()) == 2
    assert await store.digests.remove(2, None, guild_id=GUILD) == 0  # another guild's
    assert await store.digests.remove(1, "AI", guild_id=GUILD) == 1
    assert [d.channel_id for d in await store.digests.subscriptions()] == [2]


async def test_each_period_is_logged_once_before_sending_and_settled_once(
    store: Store, store_dir: Path
) -> None:
    await drop(store, store_dir, "live", published=True)
    created = datetime.now(UTC) - timedelta(days=3)
    await store.digests.add(
        9,
        "",
        every=Every.DAILY,
        hour=8,
        size=5,
        guild_id=GUILD,
        actor="a",
        now=int(created.timestamp()),
    )
    now = datetime.now(UTC)
    assert await store.digests.open_due(now) == 1
    assert await store.digests.open_due(now) == 0  # a restart at the digest hour: no second
    [run] = await store.digests.due(int(now.timestamp()))
    assert run.period == latest_period(Every.DAILY, 8, now) and run.state == D.PENDING

    await store.digests.retry(run, "Discord 503", 30, int(now.timestamp()))
    assert await store.digests.due(int(now.timestamp())) == []
    assert await store.digests.next_try_at() == int(now.timestamp()) + 30
    [again] = await store.digests.due(int(now.timestamp()) + 30)
    assert again.attempts == 1

    await store.digests.settle(again, D.SENT, int(now.timestamp()), message_id=4242, stories=1)
    await store.digests.settle(again, D.FAILED, int(now.timestamp()))  # already settled
    assert await store.digests.due(int(now.timestamp()) + 3600) == []
    [logged] = await store.digests.log(9)
    assert (logged.state, logged.message_id) == (D.SENT, 4242)
    [sub] = await store.digests.subscriptions()
    assert sub.last_sent_at == int(now.timestamp())
    tomorrow = now + timedelta(days=1)
    assert await store.digests.open_due(tomorrow) == 1  # the next period is its own


async def test_a_period_due_before_the_digest_existed_is_not_sent(store: Store) -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    await store.digests.add(
        9,
        "",
        every=Every.DAILY,
        hour=8,
        size=5,
        guild_id=GUILD,
        actor="a",
        now=int(now.timestamp()),
    )
    assert await store.digests.open_due(now) == 0  # 08:00 today came before it
    assert await store.digests.open_due(now + timedelta(days=1)) == 1


async def test_an_empty_period_is_recorded_and_never_retried(store: Store) -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    await store.digests.add(
        9, "", every=Every.WEEKLY, hour=8, size=5, guild_id=GUILD, actor="a", now=0
    )
    await store.digests.open_due(now)
    [run] = await store.digests.due(int(now.timestamp()))
    assert run.period.key == "2026-W10"
    await store.digests.settle(run, D.EMPTY, int(now.timestamp()))
    assert await store.digests.open_due(now) == 0
    assert await store.digests.due(int(time.time()) + 10**6) == []
    assert [r.state for r in await store.digests.log(9)] == [D.EMPTY]


async def test_a_paused_channel_gets_no_digest_until_added_again(store: Store) -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    await store.digests.add(
        9, "", every=Every.DAILY, hour=8, size=5, guild_id=GUILD, actor="a", now=0
    )
    await store.outbox.pause_channel(9, "missing permission (403: Forbidden)")
    [sub] = await store.digests.subscriptions()
    assert sub.paused_reason == "missing permission (403: Forbidden)"
    assert await store.digests.open_due(now) == 0
    await store.digests.add(
        9, "", every=Every.DAILY, hour=8, size=5, guild_id=GUILD, actor="a", now=0
    )
    assert (await store.digests.subscriptions())[0].paused_reason is None
    assert await store.digests.open_due(now) == 1


@pytest.mark.sqlite_only
async def test_an_upgraded_database_counts_its_stories_from_their_dates(
    db_path: Path, store_dir: Path
) -> None:
    """The digests' migration (7): the stories published before the upgrade count from
    their date (never later than the upgrade), so the first digest after it is not the whole
    back catalogue."""
    write_article(store_dir, "old", published=True, publishedDateTime="2024-01-01T12:00:00Z")
    write_article(store_dir, "ahead", published=True, publishedDateTime="2099-01-01T00:00:00Z")
    async with Store.open(db_path, store_dir) as store:
        await store.folder.sync()
    assert "CREATE TABLE digests" in schema.steps("sqlite")[DIGESTS_MIGRATION]
    conn = sqlite3.connect(db_path)  # back to the schema before digests (and story cards)
    try:
        conn.executescript(
            "DROP TABLE processes; DROP TABLE story_pins; DROP TABLE story_keys; "
            "DROP INDEX articles_story; "
            "ALTER TABLE articles DROP COLUMN story_signature; "
            "ALTER TABLE articles DROP COLUMN story; DROP INDEX outbox_lead; "
            "ALTER TABLE subscriptions DROP COLUMN updates; "
            "ALTER TABLE outbox DROP COLUMN thread_id; ALTER TABLE outbox DROP COLUMN lead_id; "
            "ALTER TABLE outbox DROP COLUMN updates; "
            "DROP TABLE alerts; DROP TABLE follows; DROP TABLE follows_version; "
            "ALTER TABLE subscriptions DROP COLUMN filter; "
            "DROP TABLE saves; ALTER TABLE subscriptions DROP COLUMN style; "
            "ALTER TABLE outbox DROP COLUMN style; "
            + "".join(
                f"ALTER TABLE {table} DROP COLUMN image_{part}; "
                for table in ("articles", "related")
                for part in ("url", "width", "height")
            )
            + "DROP TABLE digest_log; DROP TABLE digests; DROP INDEX articles_visible_since; "
            "ALTER TABLE articles DROP COLUMN visible_since; DROP INDEX remembered_saved_at; "
            f"PRAGMA user_version = {DIGESTS_MIGRATION - 1};"
        )
    finally:
        conn.close()
    async with Store.open(db_path, store_dir) as upgraded:
        day = datetime(2024, 1, 1, tzinfo=UTC)
        assert await ids(upgraded, Period("2024-01-01", day, day + timedelta(days=1))) == ["old"]
        assert await ids(upgraded, around_now()) == ["ahead"]


async def test_a_paused_channels_or_removed_digests_waiting_row_wakes_no_one(
    store: Store,
) -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for channel in (9, 10):
        await store.digests.add(
            channel, "", every=Every.DAILY, hour=8, size=5, guild_id=GUILD, actor="a", now=0
        )
    assert await store.digests.open_due(now) == 2
    for run in await store.digests.due(int(now.timestamp())):
        await store.digests.retry(run, "Discord 503", 60, int(now.timestamp()))
    assert await store.digests.next_try_at() == int(now.timestamp()) + 60
    await store.outbox.pause_channel(9, "channel not found (deleted, or the bot was removed)")
    await store.digests.remove(10, None, guild_id=GUILD)
    assert await store.digests.next_try_at() is None
    assert await store.digests.due(int(now.timestamp()) + 60) == []
