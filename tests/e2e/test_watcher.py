"""File-system events: a dropped, changed or deleted file reaches readers and channels
without waiting for the rescan (here an hour away), and costs a stat per file, not a scan."""

from __future__ import annotations

from pathlib import Path

import pytest

import bot.store.folder
from bot.store import Store
from tests.support.botenv import news_bot, settled, subscribe
from tests.support.helpers import card_title, write_article


async def test_sync_files_reads_only_the_named_files(
    store: Store, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_scan(folder: Path) -> dict[str, tuple[int, int]]:
        raise AssertionError("a named change must not scan the whole folder")

    monkeypatch.setattr(bot.store.folder, "scan_store", no_scan)
    write_article(store_dir, "fresh", published=True, title="Fresh")
    report = await store.folder.sync_files({"fresh.txt", ".fresh.txt.tmp", "notes.json"})
    assert (report.scanned, report.new, report.published) == (1, 1, ["fresh"])
    write_article(store_dir, "fresh", published=True, title="Fresher")
    assert (await store.folder.sync_files({"fresh.txt"})).changed == 1
    assert (await store.articles.get("fresh")).title == "Fresher"
    (store_dir / "fresh.txt").unlink()
    assert (await store.folder.sync_files({"fresh.txt"})).deleted == 1
    assert [a.id for a in (await store.articles.latest()).items] == []


async def test_dropped_changed_and_deleted_files_reach_the_channel_without_a_rescan(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    write_article(folder, "old", published=True)
    async with news_bot(tmp_path, poll_seconds=3600) as env:
        d, news = env.discord, env.guild.channels["news"]
        await subscribe(env, "news")
        write_article(folder, "breaking", published=True, title="Breaking")
        await d.wait_for(lambda: len(d.messages(news)) == 1, 10)
        assert card_title(d.messages(news)[0]) == "Breaking"

        write_article(folder, "breaking", published=True, title="Breaking, updated")
        await d.wait_for(lambda: card_title(d.messages(news)[0]) == "Breaking, updated", 10)
        (folder / "breaking.txt").unlink()
        await d.wait_for(lambda: d.messages(news) == [], 10)
        await settled(env)
        assert len([r for r in d.requests if r.method == "POST" and "/messages" in r.path]) == 1
