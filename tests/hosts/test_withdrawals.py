"""The scanner's withdrawals: fenced by its lease and re-checked before they are written.

A file gone from the store folder withdraws its article (and deletes its posts), so a
withdrawal is written only by the process holding the scanner's lease, and only for files
still gone when it is written: one back by then (a pipeline rewriting it, a /publish) stays.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.store import LeaseLost, Role, Store, folder, leases
from tests.support.helpers import write_article


async def test_a_scanner_that_lost_its_lease_cannot_withdraw(
    pg_url: str, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "a" takes the scanner's lease and then stops renewing it (as if frozen); "b" takes it.
    monkeypatch.setattr(leases, "LEASE_SECONDS", 1.0)
    monkeypatch.setattr(leases, "MARGIN", 0.0)
    monkeypatch.setattr(leases, "RENEW_SECONDS", 3600.0)
    async with Store.open(pg_url, store_dir) as a, Store.open(pg_url, store_dir) as b:
        path = write_article(store_dir, "river", published=True)
        await b.folder.sync()
        async with a.leases.holding({Role.SCANNER}), b.leases.holding({Role.SCANNER}):
            await asyncio.wait_for(b.leases.wait_for(Role.SCANNER), 10)
            path.unlink()
            with pytest.raises(LeaseLost):
                await a.folder.sync()
            assert (await b.articles.get("river")).title == "Title of river"


async def test_a_file_back_in_the_folder_before_the_withdrawal_is_written_stays(
    store: Store, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_article(store_dir, "river", published=True)
    await store.folder.sync()

    def listed_while_it_was_away(folder: Path) -> dict[str, folder.FileStat]:
        """The scan lists the folder in the instant the file was being replaced."""
        found = real_scan(folder)
        del found["river.txt"]
        return found

    real_scan = folder.scan_store
    monkeypatch.setattr(folder, "scan_store", listed_while_it_was_away)
    report = await store.folder.sync()

    assert report.deleted == 0
    assert (await store.articles.get("river")).title == "Title of river"
    monkeypatch.undo()
    assert (await store.folder.sync()).deleted == 0
