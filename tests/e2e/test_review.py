"""Compare before write: nothing is published that nobody reviewed, no write is lost.

A /preview's Publish button is bound to the version shown; /publish and the button
refuse when the file changed since it was read; a rescan never writes an older read over
a newer state; a draft never hides a published story.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

import bot.store.folder
import bot.store.publishing
from bot.articles import read_store_bytes
from bot.errors import FileChanged, ServedByDuplicate
from bot.store import DeliveryState, Store
from bot.ui import PUBLISH_PREFIX
from tests.support import helpers
from tests.support.botenv import content, news_bot, store_with_seed, subscribe
from tests.support.helpers import SEED_ID, card_title, write_article


def publish_button(message: dict[str, Any]) -> str:
    [custom_id] = [
        c["custom_id"]
        for c in helpers.card_buttons(message)
        if str(c.get("custom_id", "")).startswith(PUBLISH_PREFIX)
    ]
    return str(custom_id)


async def test_a_preview_button_publishes_only_the_version_shown(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    path = write_article(folder, "scoop", title="What the moderator saw", published=False)
    async with news_bot(tmp_path) as env:
        d, news = env.discord, env.guild.channels["news"]
        await subscribe(env, "news")
        preview = await d.slash("preview", {"article": "scoop"}, user_id=env.guild.moderator)
        assert preview.message is not None
        button = publish_button(preview.message)

        # The pipeline rewrites the draft after the preview, and the bot reads it.
        write_article(folder, "scoop", title="Something nobody reviewed", published=False)
        await env.store.folder.sync()
        pressed = await d.click(button, message=preview.message, user_id=env.guild.moderator)
        assert pressed.ephemeral and "changed since it was read" in content(pressed)
        assert b"published: false" in path.read_bytes()
        assert not (await env.store.articles.get("scoop", include_hidden=True)).published

        # A fresh preview shows the new version; its button publishes it.
        again = await d.slash("preview", {"article": "scoop"}, user_id=env.guild.moderator)
        assert again.message is not None
        pressed = await d.click(
            publish_button(again.message), message=again.message, user_id=env.guild.moderator
        )
        assert (
            content(pressed)
            == "Published **Something nobody reviewed**: posting it to 1 channel(s)."
        )
        await d.wait_for(lambda: len(d.messages(news)) == 1, 5)
        assert card_title(d.messages(news)[0]) == "Something nobody reviewed"


async def test_publish_refuses_a_file_changed_since_it_was_read(tmp_path: Path) -> None:
    folder = store_with_seed(tmp_path)
    async with news_bot(tmp_path, poll_seconds=3600) as env:  # no rescan during the test
        d = env.discord
        path = folder / f"{SEED_ID}.txt"
        edited = path.read_bytes().replace(b"title:", b"title: EDITED", 1)
        path.write_bytes(edited)
        result = await d.slash("publish", {"article": SEED_ID}, user_id=env.guild.moderator)
        assert result.ephemeral and "changed since it was read" in content(result)
        assert path.read_bytes() == edited  # the editor's write is kept, untouched
        assert not (await env.store.articles.get(SEED_ID, include_hidden=True)).published


async def test_an_editors_write_during_publish_is_never_overwritten(
    store: Store, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = store_dir / f"{SEED_ID}.txt"
    editors_version = path.read_bytes().replace(b"excerpt:", b"excerpt: NEW", 1)
    real_read = read_store_bytes
    reads = 0

    def read_then_edit(folder: Any, name: str) -> bytes:
        # The editor's write lands right after publish read the file.
        nonlocal reads
        data = real_read(folder, name)
        reads += 1
        if reads == 1:
            path.write_bytes(editors_version)
        return data

    monkeypatch.setattr(bot.store.publishing, "read_store_bytes", read_then_edit)
    with pytest.raises(FileChanged):
        await store.publishing.publish(SEED_ID, "mod")
    monkeypatch.undo()
    assert reads == 2  # read, then read again just before the rename
    assert path.read_bytes() == editors_version
    assert not (await store.articles.get(SEED_ID, include_hidden=True)).published
    assert [p.name for p in store_dir.iterdir()] == [path.name]  # no temp file left


async def test_a_rescan_never_writes_an_older_read_over_a_publish(
    store: Store, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two scans race: the slow one read the file before a publish it must not undo."""
    path = write_article(store_dir, "race", title="Before", published=False)
    await store.folder.sync()
    write_article(store_dir, "race", title="After the pipeline's edit", published=False)
    reading, release = threading.Event(), threading.Event()
    real_read = bot.store.folder.read_file
    slow_calls = 0

    def slow_first_read(*args: Any) -> Any:
        nonlocal slow_calls
        result = real_read(*args)
        slow_calls += 1
        if slow_calls == 1:  # the first scan holds its (soon stale) read
            reading.set()
            release.wait(10)
        return result

    monkeypatch.setattr(bot.store.folder, "read_file", slow_first_read)
    slow_scan = asyncio.create_task(store.folder.sync())
    await asyncio.to_thread(reading.wait, 10)
    await store.folder.sync()  # another scan reads the edit and indexes it
    published = await store.publishing.publish("race", "mod")
    assert published.title == "After the pipeline's edit"
    release.set()
    report = await slow_scan
    assert report.changed == 0  # its read was older than the database: left out
    article = await store.articles.get("race")
    assert article.published and article.title == "After the pipeline's edit"
    assert b"published: true" in path.read_bytes()


async def test_a_newer_draft_never_hides_a_published_story(store: Store, store_dir: Path) -> None:
    url = "https://example.com/news/one-story"
    await store.feeds.subscribe(1, "", actor="test")
    write_article(store_dir, "live", webUrl=url, title="Live story", published=True, mtime=1_000)
    await store.folder.sync()
    [delivery] = await store.outbox.due()
    await store.outbox.done(delivery, 555)  # posted in channel 1 as message 555
    write_article(store_dir, "later", webUrl=url, title="Live story", published=True, mtime=2_000)
    write_article(store_dir, "update_draft", webUrl=url, title="A draft", mtime=3_000)
    await store.folder.sync()
    # The newest published file serves the story; the newer draft hides nothing.
    assert [a.id for a in (await store.articles.latest()).items if a.url == url] == ["later"]
    # "later" took the story over: its post is edited in place, never withdrawn.
    assert await store.outbox.posts(url) == {1: (DeliveryState.EDIT, 555)}
    with pytest.raises(ServedByDuplicate) as caught:
        await store.publishing.publish("update_draft", "mod")
    assert caught.value.served_by == "later"
    # Deleting the draft changes nothing readers see.
    (store_dir / "update_draft.txt").unlink()
    await store.folder.sync()
    assert [a.id for a in (await store.articles.latest()).items if a.url == url] == ["later"]
    assert await store.outbox.posts(url) == {1: (DeliveryState.EDIT, 555)}
