"""`desk.save`, the Save button's one rule, on each backend: a published story is sent to
a member once, recorded only once it was sent; a draft is never sent. (The button itself,
DMs and racing presses: tests/e2e/test_reader_cards.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import desk
from bot.articles import Article
from bot.desk import Saved
from bot.errors import ArticleNotFound, DeskUnavailable
from bot.store import Store
from tests.support.helpers import SEED_ID, write_article

URL = "https://example.com/news/story"


@pytest.fixture
async def stored(store: Store, store_dir: Path) -> Store:
    """The seed (a draft) and one published story."""
    write_article(store_dir, "story", published=True)
    await store.folder.sync()
    return store


class Refused(Exception):
    """What a send that failed raises (the bot's: DMs closed)."""


class Outbox:
    """A `send` that keeps what it was given (or fails as told)."""

    def __init__(self, error: Exception | None = None) -> None:
        self.sent: list[Article] = []
        self.error = error

    async def __call__(self, article: Article) -> None:
        if self.error is not None:
            raise self.error
        self.sent.append(article)


async def test_a_story_is_sent_once_per_member(stored: Store) -> None:
    dms = Outbox()
    assert await desk.save(stored, 1, "story", dms) == Saved.SENT
    assert await desk.save(stored, 1, "story", dms) == Saved.ALREADY
    assert await desk.save(stored, 2, "story", dms) == Saved.SENT  # another member
    assert [a.url for a in dms.sent] == [URL, URL]
    assert await stored.saves.has(1, URL) and await stored.saves.has(2, URL)


async def test_a_failed_send_records_nothing_and_the_next_press_tries_again(
    stored: Store,
) -> None:
    closed = Outbox(Refused())
    with pytest.raises(Refused):
        await desk.save(stored, 1, "story", closed)
    assert not await stored.saves.has(1, URL)
    dms = Outbox()
    assert await desk.save(stored, 1, "story", dms) == Saved.SENT
    assert len(dms.sent) == 1


async def test_a_draft_or_no_story_is_not_found_and_nothing_is_sent(stored: Store) -> None:
    dms = Outbox()
    for article_id in (SEED_ID, "no-such-story", "x" * 200):
        with pytest.raises(ArticleNotFound):
            await desk.save(stored, 1, article_id, dms)
    assert dms.sent == [] and await stored.saves.count(1) == 0


async def test_sent_while_the_database_went_away_is_said_sent(
    stored: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The card reached the member; only the record failed (a later press may send it
    again once the nonce's minutes are over): the member is told it is in their DMs."""

    async def away(user_id: int, url: str) -> bool:
        raise DeskUnavailable("connection refused")

    monkeypatch.setattr(stored.saves, "add", away)
    dms = Outbox()
    assert await desk.save(stored, 1, "story", dms) == Saved.SENT
    assert len(dms.sent) == 1
