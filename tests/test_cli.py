"""The command line and the offline console, run as a user runs them: a real subprocess."""

from __future__ import annotations

import io
import shutil
import time
from pathlib import Path

from bot.console import Console
from bot.store import Store
from tests.support.cli import newsbot
from tests.support.helpers import SEED_ID, SEED_PATH, write_article

# The console and the bot answer in the same words (bot.answers).
PUBLISHED_SEED = "Published How Long Will the Open-Source AI Boom Last?: no channel follows it yet."


def store_with_seed(tmp_path: Path) -> Path:
    folder = tmp_path / "store"
    folder.mkdir()
    shutil.copy(SEED_PATH, folder)
    write_article(folder, "ai-news", published=True, topics=["AI"], title="Robots write news")
    return folder


def test_check_passes_a_good_store_and_names_each_bad_file(tmp_path: Path) -> None:
    folder = store_with_seed(tmp_path)
    good = newsbot(tmp_path, "check")
    assert good.returncode == 0, good.stderr
    assert "2 good, 0 bad" in good.stdout
    (folder / "broken.txt").write_text("no front matter here\n", encoding="utf-8")
    write_article(folder, "badurl", webUrl="javascript:alert(1)")
    bad = newsbot(tmp_path, "check")
    assert bad.returncode == 1
    assert "broken.txt: line 1: no front matter" in bad.stdout
    assert "badurl.txt: webUrl: must be an http(s) URL" in bad.stdout
    assert "Traceback" not in bad.stdout + bad.stderr


def test_check_and_load_a_named_folder_from_anywhere(tmp_path: Path) -> None:
    """`check DIR` and `load DIR` need no ./seeds where they run, nor a NEWS_STORE_DIR."""
    folder = store_with_seed(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    checked = newsbot(elsewhere, "check", str(folder), NEWS_STORE_DIR="")
    assert checked.returncode == 0, checked.stderr
    assert f"checked 2 files in {folder}: 2 good, 0 bad" in checked.stdout
    loaded = newsbot(elsewhere, "load", str(folder), LOG_LEVEL="DEBUG")  # NEWS_STORE_DIR: missing
    assert loaded.returncode == 0, loaded.stderr
    assert "2 files: 2 new" in loaded.stdout
    secured = SEED_PATH.read_text("utf-8").split('secured: "')[1][:40]
    assert secured not in loaded.stdout + loaded.stderr  # not even in aiosqlite's DEBUG log
    missing = newsbot(elsewhere, "check", str(elsewhere / "nowhere"))
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"newsbot: {elsewhere / 'nowhere'}: not a folder"


def test_load_reports_counts_and_errors(tmp_path: Path) -> None:
    folder = store_with_seed(tmp_path)
    (folder / "broken.txt").write_bytes(b"---\ntitle: \xff\n---\n")
    result = newsbot(tmp_path, "load")
    assert result.returncode == 0, result.stderr
    assert "3 files: 2 new, 0 changed, 0 withdrawn, 0 unchanged, 1 bad" in result.stdout
    assert "broken.txt: line 2: not UTF-8" in result.stderr
    again = newsbot(tmp_path, "load")
    assert "0 new, 0 changed, 0 withdrawn, 3 unchanged, 1 bad" in again.stdout  # nothing re-read
    assert "broken.txt: line 2: not UTF-8" in again.stderr  # still reported until fixed


def test_publish_news_and_search_from_the_command_line(tmp_path: Path) -> None:
    folder = store_with_seed(tmp_path)
    original = (folder / SEED_PATH.name).read_bytes()
    published = newsbot(tmp_path, "publish", SEED_ID)
    assert published.returncode == 0, published.stderr
    assert PUBLISHED_SEED in published.stdout
    assert (folder / SEED_PATH.name).read_bytes() == original.replace(
        b"published: false", b"published: true"
    )
    news = newsbot(tmp_path, "news", "ai")
    assert news.returncode == 0
    assert "How Long Will the Open-Source AI Boom Last?" in news.stdout
    assert "Robots write news" in news.stdout
    found = newsbot(tmp_path, "search", "open", "source")
    assert "How Long Will the Open-Source AI Boom Last?" in found.stdout
    nothing = newsbot(tmp_path, "search", "NEAR(")
    assert nothing.returncode == 0 and "Nothing found" in nothing.stdout
    again = newsbot(tmp_path, "publish", SEED_ID)
    assert again.returncode == 1 and "already published" in again.stderr
    unknown = newsbot(tmp_path, "publish", "no-such-article")
    assert unknown.returncode == 1 and "No article with id" in unknown.stderr


def test_bad_configuration_is_one_line_and_exit_2(tmp_path: Path) -> None:
    store_with_seed(tmp_path)
    result = newsbot(tmp_path, "load", NEWS_CHANNEL_ID="general")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "newsbot: NEWS_CHANNEL_ID: must be a whole number, got 'general'"
    )
    missing = newsbot(tmp_path, "news", NEWS_STORE_DIR=str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "NEWS_STORE_DIR" in missing.stderr


def test_run_without_token_opens_the_console_on_piped_input(tmp_path: Path) -> None:
    store_with_seed(tmp_path)
    result = newsbot(tmp_path, "run", stdin="/news AI\n/topics\n/drafts\n/help\n")
    assert result.returncode == 0, result.stderr
    assert "DISCORD_TOKEN is not set" in result.stderr
    assert "Robots write news" in result.stdout
    assert "AI — 1" in result.stdout
    assert "How Long Will the Open-Source AI Boom Last?" in result.stdout  # the draft
    assert "/publish ID" in result.stdout
    assert "secured" not in result.stdout + result.stderr


def test_console_pipes_commands_and_prints_the_post(tmp_path: Path) -> None:
    store_with_seed(tmp_path)
    script = f"/preview {SEED_ID}\n/publish {SEED_ID}\n/article {SEED_ID}\n/news Aii\n/bogus\n"
    result = newsbot(tmp_path, "console", stdin=script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Preview (not posted)" in out
    assert PUBLISHED_SEED in out
    assert "Related coverage" in out
    assert "MIT Technology Review · The open-source AI boom is built on Big Tech" in out
    assert "[Read the article] https://www.govtech.com/" in out
    assert "Did you mean AI?" in out
    assert "Unknown command '/bogus'" in out
    secured = SEED_PATH.read_text("utf-8").split('secured: "')[1][:40]
    assert secured not in out


async def test_console_and_store_share_one_implementation(tmp_path: Path) -> None:
    """The console answers from the same store queries the cogs use."""
    folder = store_with_seed(tmp_path)
    async with Store.open(tmp_path / "db.sqlite", folder) as store:
        await store.folder.sync()
        out = io.StringIO()
        console = Console(store, out)
        answer = await console.execute("/search robots topic:ai")
        assert "Robots write news" in answer
        page = await store.articles.search("robots", "AI")
        assert [a.id for a in page.items] == ["ai-news"]
        assert "page:0" not in answer
        bad_page = await console.execute("/news page:0")
        assert "not a page number" in bad_page


def test_an_unusable_database_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    store_with_seed(tmp_path)
    (tmp_path / "db-is-a-folder").mkdir()
    result = newsbot(tmp_path, "load", NEWS_DB_PATH=str(tmp_path / "db-is-a-folder"))
    assert result.returncode == 1
    assert "cannot open the database" in result.stderr and "NEWS_DB_PATH" in result.stderr
    (tmp_path / "not-sqlite.db").write_text("garbage")
    garbage = newsbot(tmp_path, "news", NEWS_DB_PATH=str(tmp_path / "not-sqlite.db"))
    assert garbage.returncode == 1
    assert garbage.stderr.strip().endswith("DatabaseError: file is not a database")
    assert "Traceback" not in result.stderr + garbage.stderr


def test_console_digest_now_prints_the_digest_as_it_would_be_posted(tmp_path: Path) -> None:
    folder = store_with_seed(tmp_path)  # the seed is a draft: never in a digest
    write_article(folder, "hot", published=True, title="A hot story", heat=80, topics=["Space"])
    script = "/digest now size:3\n/digest now topic:ai every:weekly\n/digest now every:monthly\n"
    result = newsbot(tmp_path, "console", stdin=script)
    assert result.returncode == 0, result.stderr
    _, daily, rest = result.stdout.split("Digest (not posted):")
    weekly, wrong = rest.split("Usage:")
    assert "Daily digest" in daily
    assert daily.index("1. A hot story <https://example.com/news/hot>") < daily.index(
        "2. Robots write news <https://example.com/news/ai-news>"
    )
    assert "Top 2 of 2 stories published" in daily and "Open-Source AI Boom" not in daily
    assert "Weekly digest: AI" in weekly and "A hot story" not in weekly
    assert wrong.startswith(" /digest now [topic:NAME] [every:daily|weekly] [size:3-10]")


async def test_console_digest_covers_the_day_up_to_its_clock(tmp_path: Path) -> None:
    folder = store_with_seed(tmp_path)
    async with Store.open(tmp_path / "db.sqlite", folder) as store:
        await store.folder.sync()  # "ai-news" becomes published now
        ahead = Console(store, io.StringIO(), clock=lambda: time.time() + 2 * 86400)
        assert "Nothing to show" in await ahead.execute("/digest now")  # two days on
        weekly = await ahead.execute("/digest now every:weekly topic:AI")
        assert "Weekly digest: AI" in weekly and "1. Robots write news" in weekly
