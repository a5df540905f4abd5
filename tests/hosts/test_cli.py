"""The command line and the offline console, run as a user runs them: a real subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shutil
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.console import Console
from bot.store import Store
from tests.support.cli import newsbot
from tests.support.helpers import SEED_ID, SEED_PATH, write_article
from tests.support.postgres import PASSWORD

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
    """`check DIR` and `load --replace-with DIR` need no ./seeds where they run, nor a
    NEWS_STORE_DIR."""
    folder = store_with_seed(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    checked = newsbot(elsewhere, "check", str(folder), NEWS_STORE_DIR="")
    assert checked.returncode == 0, checked.stderr
    assert f"checked 2 files in {folder}: 2 good, 0 bad" in checked.stdout
    # NEWS_STORE_DIR: missing
    loaded = newsbot(elsewhere, "load", "--replace-with", str(folder), LOG_LEVEL="DEBUG")
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
    preview, post = out.split("The post:\n")
    # The card as text: the time in UTC, each related item's title, link and provider.
    assert "Government Technology · 2023-05-12 13:24 UTC\n" in post
    assert (
        "Related coverage\nThe open-source AI boom is built on Big Tech’s handouts. How long "
        "will it last? <https://www.technologyreview.com/2023/05/12/1072950/"
        "open-source-ai-google-openai-eleuther-meta/>\nMIT Technology Review\n"
        "picture: <https://wp.technologyreview.com/wp-content/uploads/2023/05/open-closed2.jpeg"
        "?w=3000>\nOpen source AI continues"  # the second item has no picture: none shown
    ) in post
    read = "[Read] https://www.govtech.com/artificial-intelligence/how-long-will-the-open-source-"
    assert f"{read}ai-boom-last\n[Save]\n" in post
    assert read in preview and "[Save]" not in preview  # a preview is not for readers yet
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
    assert garbage.stderr.strip().endswith("(not a SQLite database file); check NEWS_DB_PATH")
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
    now = time.time()
    clock = {"ahead": 0.0}
    async with Store.open(
        tmp_path / "db.sqlite", folder, clock=lambda: now + clock["ahead"]
    ) as store:
        await store.folder.sync()  # "ai-news" becomes published now
        clock["ahead"] = 2 * 86400
        ahead = Console(store, io.StringIO())
        assert "Nothing to show" in await ahead.execute("/digest now")  # two days on
        weekly = await ahead.execute("/digest now every:weekly topic:AI")
        assert "Weekly digest: AI" in weekly and "1. Robots write news" in weekly


# --- secrets and hygiene ----------------------------------------------------------------------


def in_query(url: str) -> str:
    """The same URL with its password in the query string (`?password=`) instead."""
    return url.replace(f":{PASSWORD}@", "@") + f"?password={PASSWORD}"


def test_a_password_in_the_query_string_is_never_shown(tmp_path: Path, pg_url: str) -> None:
    store_with_seed(tmp_path)
    url = in_query(pg_url)
    port = url.split("@127.0.0.1:", 1)[1].split("/", 1)[0]
    closed = url.replace(f":{port}/", ":1/")  # nobody listens
    shown = closed.replace(PASSWORD, "***")
    down = newsbot(tmp_path, "news", NEWS_DATABASE_URL=closed)
    assert down.returncode == 1
    [line] = down.stderr.strip().splitlines()
    assert f"cannot open the database {shown} (" in line and line.endswith("NEWS_DATABASE_URL")

    loaded = newsbot(tmp_path, "load", NEWS_DATABASE_URL=url, LOG_LEVEL="DEBUG")
    assert loaded.returncode == 0, loaded.stderr
    assert PASSWORD not in loaded.stdout + loaded.stderr

    # migrate-db names the URL it was given, --to, not NEWS_DATABASE_URL
    assert newsbot(tmp_path, "load").returncode == 0  # the SQLite database to move
    refused = newsbot(tmp_path, "migrate-db", "--to", closed)
    assert refused.returncode == 1
    [line] = refused.stderr.strip().splitlines()
    assert f"cannot open the database {shown} (" in line and line.endswith("; check --to")
    moved = newsbot(tmp_path, "migrate-db", "--to", url, LOG_LEVEL="DEBUG")
    assert moved.returncode == 0, moved.stderr
    assert f"now start the bot with NEWS_DATABASE_URL={url.replace(PASSWORD, '***')}" in (
        moved.stdout
    )
    assert PASSWORD not in moved.stdout + moved.stderr
    bad = newsbot(tmp_path, "migrate-db", "--to", url.replace(f":{port}/", ":port/"))
    assert bad.returncode == 2
    assert bad.stderr.strip() == "newsbot: --to: not a valid URL (postgresql://user@host/db)"


class Cuttable:
    """A TCP relay to the database that can be cut, as a network outage would."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.transport.abort()


@contextlib.asynccontextmanager
async def console_process(tmp_path: Path, **env: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """`newsbot console` reading commands from a pipe, in tests.support.cli's clean environment."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "NEWS_"))}
    environ |= {"NEWS_STORE_DIR": str(tmp_path / "store"), "NEWS_DB_PATH": str(tmp_path / "db")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "console",
        cwd=tmp_path,
        env=environ | env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_the_unreachable_warning_hides_a_query_string_password(
    tmp_path: Path, pg_url: str
) -> None:
    folder = store_with_seed(tmp_path)
    port = int(pg_url.split("@127.0.0.1:", 1)[1].split("/", 1)[0])
    relay = Cuttable(port)
    url = in_query(pg_url).replace(f":{port}/", f":{await relay.start()}/")
    loaded = await asyncio.to_thread(newsbot, tmp_path, "load", NEWS_DATABASE_URL=url)
    assert loaded.returncode == 0, loaded.stderr  # through the relay: it must keep serving
    async with console_process(tmp_path, NEWS_DATABASE_URL=url) as proc:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        proc.stdin.write(b"/news\n")
        await proc.stdin.drain()
        answer = b""
        while b"Robots write news" not in answer:
            answer += await asyncio.wait_for(proc.stdout.readline(), 30)
        relay.cut()
        proc.stdin.write(b"/news\n")
        proc.stdin.close()
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    log = err.decode()
    assert "briefly unavailable" in out.decode()
    assert f"database {url.replace(PASSWORD, '***')} unreachable" in log
    assert PASSWORD not in log + out.decode()
    assert folder.is_dir()


def test_load_loads_the_configured_store_unless_told_to_replace_it(tmp_path: Path) -> None:
    """A folder typed after `load` (a mistyped one, or the wrong one) changes nothing: it
    would have withdrawn every article missing from it, and a live bot deleted their posts."""
    store_with_seed(tmp_path)
    assert "2 files: 2 new" in newsbot(tmp_path, "load").stdout
    other = tmp_path / "other"
    other.mkdir()
    write_article(other, "elsewhere", published=True, topics=["AI"], title="Another folder")
    database = (tmp_path / "db.sqlite").read_bytes()
    for typed in (other, tmp_path / "stroe"):
        refused = newsbot(tmp_path, "load", str(typed))
        assert refused.returncode == 2 and refused.stdout == ""
        [line] = refused.stderr.strip().splitlines()
        assert line.startswith(f"newsbot: load {typed}: nothing was changed.")
        assert f"`newsbot load --replace-with {typed}`" in line
        assert (tmp_path / "db.sqlite").read_bytes() == database  # not even opened
    replaced = newsbot(tmp_path, "load", "--replace-with", str(other))
    assert replaced.returncode == 0, replaced.stderr
    assert "1 files: 1 new, 0 changed, 2 withdrawn, 0 unchanged, 0 bad" in replaced.stdout
    news = newsbot(tmp_path, "news", NEWS_STORE_DIR=str(other))
    assert "Another folder" in news.stdout and "Robots write news" not in news.stdout
    nowhere = newsbot(tmp_path, "load", "--replace-with", str(tmp_path / "nowhere"))
    assert nowhere.returncode == 2
    assert nowhere.stderr.strip() == f"newsbot: {tmp_path / 'nowhere'}: not a folder"


RAW_CONTROLS = ("\x1b", "\x07", "\x9b", "\r", "\u202e", "\x00")


def test_control_characters_in_articles_reach_the_terminal_escaped(tmp_path: Path) -> None:
    """ESC [2J clears the moderator's screen, OSC 0 sets the terminal's title, BEL rings,
    U+009B is a one-byte CSI, U+202E reverses what follows: printed escaped (or, in a card,
    dropped), never raw."""
    folder = tmp_path / "store"
    folder.mkdir()
    write_article(
        folder,
        "evil",
        published=True,
        topics=["AI"],
        title="Evil \x1b[2J title \x07 here",
        excerpt="Excerpt \x1b]0;pwned\x07 then \x9b31m red \u202e reversed",
    )
    news = newsbot(tmp_path, "news")
    found = newsbot(tmp_path, "search", "evil")
    console = newsbot(tmp_path, "console", stdin="/article evil\n/news AI\n")
    unknown = newsbot(tmp_path, "publish", "no\x1b[2Jsuch")
    for result in (news, found, console, unknown):
        shown = result.stdout + result.stderr
        assert not [c for c in RAW_CONTROLS if c in shown], repr(shown)
    for result in (news, found, console):
        assert "Evil \\x1b[2J title \\x07 here" in result.stdout
    # A card drops U+202E itself (Discord would turn the line around); the rest is escaped.
    assert "\\x1b]0;pwned\\x07 then \\x9b31m red  reversed" in console.stdout
    assert "\\u202e" not in console.stdout
    assert "no\\x1b[2Jsuch" in unknown.stderr


def test_console_numbers_are_bounded_and_long_lines_refused(tmp_path: Path) -> None:
    """A page number of 20 digits (OverflowError) or `²` (ValueError) once ended the
    console; a 1 MB line took 13 s and 1.35 GB. Each is answered, and the next line too."""
    store_with_seed(tmp_path)
    script = (
        "/news page:99999999999999999999\n/news page:\u00b2\n/digest now size:\u00b2\n"
        + "/search "
        + "a " * 500_000
        + "\n/news AI\n"
    )
    started = time.monotonic()
    result = newsbot(tmp_path, "console", stdin=script, timeout=60, memory_limit=2 * 1024**3)
    assert time.monotonic() - started < 10
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "page:99999999999999999999 is not a page number" in out
    assert "page:\u00b2 is not a page number" in out
    assert "Usage: /digest now" in out
    assert "That line is too long (1,000,008 characters; at most 4,000): ignored." in out
    assert "Robots write news" in out  # the line after it was read and answered
    assert "Traceback" not in result.stderr


async def test_console_page_numbers_beyond_any_store_are_refused(tmp_path: Path) -> None:
    folder = store_with_seed(tmp_path)
    async with Store.open(tmp_path / "db.sqlite", folder) as store:
        await store.folder.sync()
        console = Console(store, io.StringIO())
        assert await console.execute("/news page:100000") == "No page 100000."
        assert "not a page number" in await console.execute("/news page:100001")
        assert "not a page number" in await console.execute("/news page:\u0663")  # Arabic 3
        assert "too long" in await console.execute("/search " + "x" * 4000)


def test_a_huge_command_line_query_is_refused(tmp_path: Path) -> None:
    store_with_seed(tmp_path)
    result = newsbot(tmp_path, "search", "word " * 1000)
    assert result.returncode == 2
    assert result.stderr.strip() == "newsbot: search: too long (at most 4,000 characters)"


@pytest.mark.parametrize("verb", ["news", "search"])
def test_the_cli_answers_a_query_of_the_longest_size(tmp_path: Path, verb: str) -> None:
    store_with_seed(tmp_path)
    result = newsbot(tmp_path, verb, "ai " * 1333)
    assert result.returncode in (0, 1) and "too long" not in result.stderr
