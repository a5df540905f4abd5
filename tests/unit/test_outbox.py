"""The outbox's state machine and the feeds, at the store's level: part of the contract
suite, so every test runs on SQLite and on PostgreSQL with the same expectations."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bot.store import ChannelKind, DeliveryState, Followup, Store
from tests.support.helpers import write_article

S = DeliveryState
URL = "https://example.com/news/story"


async def publish_story(store: Store, store_dir: Path, **fields: Any) -> None:
    write_article(store_dir, "story", published=True, **fields)
    await store.folder.sync()


async def test_a_published_story_is_queued_once_per_following_channel(
    store: Store, store_dir: Path
) -> None:
    await store.feeds.subscribe(1, "", actor="t")
    await store.feeds.subscribe(2, "World", actor="t", role_id=77)
    await store.feeds.subscribe(2, "", actor="t")  # two subscriptions, one channel: one post
    await store.feeds.subscribe(3, "Sport", actor="t")  # another topic: nothing
    await store.feeds.subscribe(4, "", actor="t", min_quality=50)  # quality 10: nothing
    await publish_story(store, store_dir)
    assert await store.outbox.posts(URL) == {1: (S.PENDING, None), 2: (S.PENDING, None)}
    due = await store.outbox.due()
    assert [(d.channel_id, d.role_id, d.state) for d in due] == [
        (1, None, S.PENDING),
        (2, 77, S.PENDING),
    ]
    assert await store.outbox.queued_channels(URL) == 2
    assert (await store.outbox.health()).waiting == 2


async def test_the_state_machine_send_edit_delete(store: Store, store_dir: Path) -> None:
    await store.feeds.subscribe(1, "", actor="t")
    await publish_story(store, store_dir)
    [row] = await store.outbox.due()
    await store.outbox.done(row, 1001)
    assert await store.outbox.posts(URL) == {1: (S.SENT, 1001)}
    assert await store.outbox.due() == []

    path = store_dir / "story.txt"
    path.write_text(path.read_text().replace("Title of story", "A new title"))
    _later(path)
    await store.folder.sync()
    [edit] = await store.outbox.due()
    assert (edit.state, edit.message_id) == (S.EDIT, 1001)
    await store.outbox.done(edit, 1001)
    assert await store.outbox.posts(URL) == {1: (S.SENT, 1001)}

    await store.publishing.unpublish("story", "mod")
    [delete] = await store.outbox.due()
    assert (delete.state, delete.message_id) == (S.DELETE, 1001)
    await store.outbox.done(delete, None)
    assert await store.outbox.posts(URL) == {1: (S.DELETED, None)}
    assert await store.outbox.state_counts() == {S.DELETED: 1}

    await store.publishing.publish("story", "mod")  # back: a fresh post, a fresh nonce
    [again] = await store.outbox.due()
    assert (again.state, again.message_id, again.generation) == (S.PENDING, None, 1)


async def test_a_withdrawal_while_the_send_is_in_flight_keeps_the_message_to_delete(
    store: Store, store_dir: Path
) -> None:
    await store.feeds.subscribe(1, "", actor="t")
    await publish_story(store, store_dir)
    [in_flight] = await store.outbox.due()
    await store.publishing.unpublish("story", "mod")  # withdrawn while the send is out
    await store.outbox.done(in_flight, 555)  # the answer arrives afterwards
    [delete] = await store.outbox.due()
    assert (delete.state, delete.message_id) == (S.DELETE, 555)


async def test_retry_waits_and_counts_attempts(store: Store, store_dir: Path) -> None:
    await store.feeds.subscribe(1, "", actor="t")
    await publish_story(store, store_dir)
    [row] = await store.outbox.due()
    await store.outbox.retry(row, "Discord 503: busy", 60)
    assert await store.outbox.due() == []
    next_at = await store.outbox.next_due_at()
    assert next_at is not None
    [waiting] = [c for c in (await store.outbox.health()).channels if c.channel_id == 1]
    assert waiting.paused_reason is None
    assert (await store.outbox.health()).waiting == 1


async def test_a_refusing_channel_is_paused_and_resumed_by_a_new_subscription(
    store: Store, store_dir: Path
) -> None:
    await store.feeds.subscribe(1, "", actor="t", guild_id=9)
    await store.feeds.subscribe(2, "", actor="t", guild_id=9)
    await publish_story(store, store_dir)
    await store.outbox.pause_channel(1, "missing permission")
    assert await store.feeds.paused_reason(1) == "missing permission"
    assert await store.outbox.posts(URL) == {1: (S.FAILED, None), 2: (S.PENDING, None)}
    assert [d.channel_id for d in await store.outbox.due()] == [2]
    health = await store.outbox.health()
    assert (health.waiting, health.failed) == (1, 1)
    subs = await store.feeds.subscriptions(guild_id=9)
    assert [(s.channel_id, s.paused_reason) for s in subs] == [(1, "missing permission"), (2, None)]

    await store.feeds.subscribe(1, "", actor="t", guild_id=9)  # /feed add again resumes it
    assert await store.feeds.paused_reason(1) is None


async def test_a_lost_message_is_given_up(store: Store, store_dir: Path) -> None:
    await store.feeds.subscribe(1, "", actor="t")
    await publish_story(store, store_dir)
    [row] = await store.outbox.due()
    await store.outbox.done(row, 42)
    await store.publishing.unpublish("story", "mod")
    [delete] = await store.outbox.due()
    await store.outbox.lost(delete)
    assert await store.outbox.posts(URL) == {1: (S.DELETED, 42)}
    assert await store.outbox.due() == []


async def test_feeds_subscribe_list_and_unsubscribe(store: Store) -> None:
    first = await store.feeds.subscribe(5, "World", actor="admin", guild_id=9, min_quality=3)
    assert (first.channel_id, first.topic, first.min_quality) == (5, "World", 3)
    kept = await store.feeds.subscribe(5, "world", actor="admin", guild_id=9, replace=False)
    assert kept.min_quality == 3  # an existing subscription wins without replace
    await store.feeds.subscribe(6, "", actor="admin", guild_id=9)
    await store.feeds.subscribe(7, "", actor="admin", guild_id=10)
    assert [(s.channel_id, s.topic) for s in await store.feeds.subscriptions(guild_id=9)] == [
        (5, "World"),
        (6, ""),
    ]
    assert await store.feeds.unsubscribe(5, "WORLD", guild_id=10) == 0  # another server's
    assert await store.feeds.unsubscribe(5, "WORLD", guild_id=9) == 1
    assert await store.feeds.unsubscribe(5, "World", guild_id=9) == 0
    assert await store.feeds.unsubscribe(6, None, guild_id=9) == 1
    assert [s.channel_id for s in await store.feeds.subscriptions()] == [7]


async def test_meta_and_remembered_values(store: Store) -> None:
    assert await store.meta.get("k") is None
    await store.meta.set("k", "one")
    await store.meta.set("k", "two")
    assert await store.meta.get("k") == "two"
    key = await store.meta.remember("a long search " * 20)
    assert await store.meta.remember("a long search " * 20) == key
    assert await store.meta.recall(key) == "a long search " * 20
    assert await store.meta.recall("nope") is None


def _later(path: Path, seconds: int = 10) -> None:
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + seconds * 1_000_000_000))


async def test_a_rows_delivery_options_follow_ups_and_waits(
    database: Path | str, store_dir: Path
) -> None:
    clock = [1_000_000.0]
    async with Store.open(database, store_dir, clock=lambda: clock[0]) as store:
        await store.folder.sync()
        await _rows_delivery_options_follow_ups_and_waits(store, store_dir, clock)


async def _rows_delivery_options_follow_ups_and_waits(
    store: Store, store_dir: Path, clock: list[float]
) -> None:
    await store.feeds.subscribe(1, "", actor="t", kind=ChannelKind.ANNOUNCEMENT, silent=True)
    await store.feeds.subscribe(2, "", actor="t", max_per_hour=3, threads=True)
    await store.feeds.subscribe(2, "World", actor="t", max_per_hour=2)  # the smaller cap wins
    await publish_story(store, store_dir)
    desk, text = await store.outbox.due()
    assert (desk.kind, desk.silent, desk.max_per_hour, desk.threads) == (
        ChannelKind.ANNOUNCEMENT, True, 0, False,
    )  # fmt: skip
    assert (text.kind, text.silent, text.max_per_hour, text.threads) == (
        ChannelKind.TEXT, False, 2, True,
    )  # fmt: skip

    await store.outbox.done(desk, 501, Followup.CROSSPOST)
    await store.outbox.done(text, 502)
    [owed] = await store.outbox.due()  # sent, and its crosspost still owed: still work
    assert (owed.channel_id, owed.state, owed.followup) == (1, S.SENT, Followup.CROSSPOST)
    assert (await store.outbox.health()).waiting == 1
    await store.outbox.wait(owed, int(clock[0]) + 3600, "rate limited")
    assert await store.outbox.due() == []
    assert await store.outbox.next_due_at() == int(clock[0]) + 3600
    clock[0] += 3600
    [again] = await store.outbox.due()
    await store.outbox.followed_up(again)
    assert await store.outbox.due() == [] and (await store.outbox.health()).waiting == 0
    assert await store.outbox.posts(URL) == {1: (S.SENT, 501), 2: (S.SENT, 502)}
    assert await store.outbox.sent_times(2, 0) == [1_000_000]

    assert [s.kind for s in await store.feeds.subscriptions(channel_id=1)] == [
        ChannelKind.ANNOUNCEMENT
    ]
