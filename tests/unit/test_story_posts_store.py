"""Which mode a channel's story rows take, and which post a later source joins, read back
through the store's API (both backends)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.store import ChannelKind, DeliveryState, Store, Updates
from tests.support.helpers import write_article

WIRE = "https://wire.example.org/2024/01/01/flood-barriers-hold"


async def follow(store: Store, channel: int, topic: str = "", **options: Any) -> None:
    await store.feeds.subscribe(channel, topic, actor="test", guild_id=1, **options)


async def test_a_channels_mode_is_its_topic_feeds_then_new_thread_edit(
    store: Store, store_dir: Path
) -> None:
    await follow(store, 1, updates=Updates.NEW)
    await follow(store, 1, "Climate", updates=Updates.EDIT)  # a topic's feed decides
    await follow(store, 2, "Climate", updates=Updates.THREAD)
    await follow(store, 2, "World", updates=Updates.NEW)  # among equals: new
    await follow(store, 3, kind=ChannelKind.FORUM)  # a forum's default: thread
    await follow(store, 4, threads=True)  # a text feed with threads: thread
    await follow(store, 5)  # a text channel's default: edit
    await follow(store, 6, kind=ChannelKind.ANNOUNCEMENT)  # edit
    write_article(store_dir, "flood", published=True, topics=["Climate", "World"])
    await store.folder.sync()

    modes = {d.channel_id: d.updates for d in await store.outbox.due()}

    assert modes == {
        1: Updates.EDIT,
        2: Updates.NEW,
        3: Updates.THREAD,
        4: Updates.THREAD,
        5: Updates.EDIT,
        6: Updates.EDIT,
    }


async def test_two_sources_published_together_make_one_post_led_by_the_first(
    store: Store, store_dir: Path
) -> None:
    await follow(store, 1)  # edit
    await follow(store, 2, threads=True)  # thread
    for name, at in (("daily", "2024-01-01T15:00:00Z"), ("wire", "2024-01-01T12:00:00Z")):
        write_article(store_dir, name, published=True, originalUrl=WIRE, publishedDateTime=at)
    await store.folder.sync()

    due = {(d.channel_id, d.article_id): d for d in await store.outbox.due()}

    # Only the first source's posts are to send: the edit channel's shows both sources; the
    # thread channel's reply waits for its post.
    assert set(due) == {(1, "wire"), (2, "wire")}
    _, shown = await store.outbox.stories.sources(due[(1, "wire")].id)
    assert sorted(shown) == ["daily", "wire"]
    posts = await store.outbox.posts("https://example.com/news/daily")
    assert posts == {1: (DeliveryState.SENT, None), 2: (DeliveryState.PENDING, None)}

    await store.outbox.done(due[(2, "wire")], 501)

    [reply] = [d for d in await store.outbox.due() if d.channel_id == 2]
    assert reply.article_id == "daily" and reply.lead_id == due[(2, "wire")].id


async def test_a_source_joining_while_the_post_is_in_flight_leaves_it_to_edit(
    store: Store, store_dir: Path
) -> None:
    await follow(store, 1)  # edit
    write_article(store_dir, "wire", published=True, originalUrl=WIRE)
    await store.folder.sync()
    [post] = await store.outbox.due()
    shown, _ = await store.outbox.stories.sources(post.id)  # read as the post is rendered
    write_article(
        store_dir,
        "daily",
        published=True,
        originalUrl=WIRE,
        publishedDateTime="2024-01-01T15:00:00Z",
    )
    await store.folder.sync()  # joins while the send is in flight

    await store.outbox.done(post, 1001, shown=shown)  # the answer: it showed one source

    [edit] = await store.outbox.due()
    assert (edit.id, edit.state, edit.message_id) == (post.id, DeliveryState.EDIT, 1001)
    token, ids = await store.outbox.stories.sources(post.id)
    await store.outbox.done(edit, 1001, shown=token)  # the edit showed both: settled
    assert await store.outbox.due() == [] and sorted(ids) == ["daily", "wire"]
