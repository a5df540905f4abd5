"""A paused channel is not a queue: what is published while it is paused never reaches it.

A channel pauses when it refuses the bot (gone, or a permission taken away); following it
anew resumes it. Only stories published after that are posted there: a burst of old news
on resume would be a surprise, and the channel's admin chose to follow again from now.
"""

from __future__ import annotations

from pathlib import Path

from bot.store import DeliveryState, Store
from tests.support.helpers import write_article

CHANNEL = 1


async def publish(store: Store, store_dir: Path, name: str) -> None:
    write_article(store_dir, name, published=True)
    await store.folder.sync()


async def test_stories_published_while_a_channel_is_paused_are_not_sent_on_resume(
    store: Store, store_dir: Path
) -> None:
    await store.feeds.subscribe(CHANNEL, "", actor="t")
    await store.outbox.pause_channel(CHANNEL, "channel not found")
    await publish(store, store_dir, "while-paused")
    await store.feeds.subscribe(CHANNEL, "", actor="t")  # followed anew: resumed
    await publish(store, store_dir, "after")

    due = await store.outbox.due()
    assert [d.article_id for d in due] == ["after"]
    assert await store.outbox.posts("https://example.com/news/while-paused") == {}
    assert await store.outbox.posts("https://example.com/news/after") == {
        CHANNEL: (DeliveryState.PENDING, None)
    }
