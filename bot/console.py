"""The offline console: the bot's commands against the same store, printed as text.

An adapter over `desk`, like the cogs, worded by the same `answers`, `cards` and
`embeds`, so what it prints is what the bot would answer or post: a card as
`cards.card_to_text` reads it, an embed as `plain_text.embed_to_text` does. Reads a
terminal or piped input, one command a line.
"""

from __future__ import annotations

import asyncio
import shlex
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TextIO

from bot import answers, cards, desk, embeds, plain_text, story_answers, story_desk
from bot.articles import Article
from bot.digest import DEFAULT_SIZE, MAX_SIZE, MIN_SIZE, Every
from bot.digest_post import digest_card
from bot.errors import NewsError
from bot.frontmatter import terminal_text
from bot.store import Store

MAX_LINE = 4000  # characters of a command line: more is refused before anything reads it
MAX_PAGE = 100_000  # a page number beyond any store's pages, small enough for any database

HELP = """Commands (the same as the bot's slash commands):
  /news [topic] [page:N]             latest published articles
  /search words or "a phrase" [topic:NAME] [page:N]
  /topics                            topics with their article counts
  /article ID                        one article in full, as it would be posted
  /story ID                          the story's timeline and source mix
  /drafts [page:N]                   drafts awaiting review
  /preview ID                        how a draft's post will look
  /publish ID                        publish a draft (the running bot posts it)
  /unpublish ID                      withdraw an article (the running bot deletes its posts)
  /status                            store health
  /digest now [topic:NAME] [every:daily|weekly] [size:3-10]
                                     the digest of the last day (or week), as it would be posted
  /help                              this list
  /quit                              leave (or Ctrl-D)"""


class Console:
    """Runs console command lines against a store and writes the answers to `out`."""

    def __init__(
        self,
        store: Store,
        out: TextIO,
        actor: str = "console",
    ) -> None:
        self.store = store
        self.out = out
        self.actor = actor
        self.handlers: dict[str, Callable[[list[str], dict[str, str]], Awaitable[str]]] = {
            "news": self._news,
            "search": self._search,
            "topics": self._topics,
            "article": self._article,
            "story": self._story,
            "drafts": self._drafts,
            "preview": self._preview,
            "publish": self._publish,
            "unpublish": self._unpublish,
            "status": self._status,
            "digest": self._digest,
            "help": self._help,
        }

    async def execute(self, line: str) -> str:
        """Run one command line; domain errors come back as their one-line message."""
        line = line.strip()
        if not line or line.startswith("#"):
            return ""
        if len(line) > MAX_LINE:
            return _too_long(len(line))
        name, _, rest = line.lstrip("/").partition(" ")
        if name.lower() not in self.handlers:
            return f"Unknown command {line.split()[0]!r}. Type /help for the list."
        words, options = _split(rest)
        try:
            return await self.command(name.lower(), words, options)
        except NewsError as exc:
            return error_text(exc)

    async def command(self, name: str, words: list[str], options: dict[str, str]) -> str:
        """One command's answer; a domain error is raised (see `error_text`)."""
        return await self.handlers[name](words, options)

    async def run(self, source: TextIO) -> None:
        """Read commands until end of input or /quit."""
        interactive = source.isatty()
        if interactive:
            self.out.write("newsbot offline console. Type /help for commands, /quit to leave.\n")
        while True:
            if interactive:
                self.out.write("newsbot> ")
                self.out.flush()
            line, cut = await asyncio.to_thread(_read_line, source)
            if not line or line.strip() in ("/quit", "/exit", "quit", "exit"):
                break
            answer = _too_long(cut) if cut else await self.execute(line)
            if answer:
                self.out.write(terminal_text(answer.rstrip()) + "\n\n")
                self.out.flush()

    async def _news(self, words: list[str], options: dict[str, str]) -> str:
        topic = " ".join(words) or options.get("topic")
        return _listing(await desk.latest(self.store, topic, _page(options)))

    async def _search(self, words: list[str], options: dict[str, str]) -> str:
        query = " ".join(words)
        if not query:
            raise Usage('Usage: /search words or "a phrase" [topic:NAME]')
        return _listing(await desk.search(self.store, query, options.get("topic"), _page(options)))

    async def _topics(self, words: list[str], options: dict[str, str]) -> str:
        return plain_text.embed_to_text(embeds.topics_embed(await desk.topics(self.store)))

    async def _article(self, words: list[str], options: dict[str, str]) -> str:
        return _post(await desk.article(self.store, _one_id(words, "article")))

    async def _story(self, words: list[str], options: dict[str, str]) -> str:
        found = await story_desk.story(self.store, _one_id(words, "story"))
        return cards.card_to_text(story_answers.story_card(found))

    async def _drafts(self, words: list[str], options: dict[str, str]) -> str:
        listing = await desk.drafts(self.store, _page(options))
        ids = ", ".join(a.id for a in listing.page.items)
        return _listing(listing) + (f"\nPublish one with /publish ID: {ids}" if ids else "")

    async def _preview(self, words: list[str], options: dict[str, str]) -> str:
        shown = await desk.preview(self.store, _one_id(words, "preview"))
        return "Preview (not posted):\n" + _post(shown.article, preview=True)

    async def _publish(self, words: list[str], options: dict[str, str]) -> str:
        outcome = await desk.publish(self.store, _one_id(words, "publish"), self.actor)
        return f"{_text(answers.published_text(outcome))}\nThe post:\n{_post(outcome.article)}"

    async def _unpublish(self, words: list[str], options: dict[str, str]) -> str:
        article = await desk.unpublish(self.store, _one_id(words, "unpublish"), self.actor)
        return _text(answers.withdrawn_text(article))

    async def _status(self, words: list[str], options: dict[str, str]) -> str:
        return plain_text.embed_to_text(answers.status_embed(await desk.status(self.store)))

    async def _digest(self, words: list[str], options: dict[str, str]) -> str:
        usage = f"Usage: /digest now [topic:NAME] [every:daily|weekly] [size:{MIN_SIZE}-{MAX_SIZE}]"
        every, size = options.get("every", Every.DAILY), options.get("size", str(DEFAULT_SIZE))
        valid = every in tuple(Every) and _number(size, MAX_SIZE) in range(MIN_SIZE, MAX_SIZE + 1)
        if words != ["now"] or not valid:
            raise Usage(usage)
        now = datetime.fromtimestamp(self.store.clock(), UTC)
        topic = options.get("topic")
        digest = await desk.digest_now(self.store, topic, Every(every), int(size), now)
        return "Digest (not posted):\n" + cards.card_to_text(digest_card(digest))

    async def _help(self, words: list[str], options: dict[str, str]) -> str:
        return HELP


class Usage(NewsError):
    """A console command typed wrong; the message says how to type it."""


def _split(rest: str) -> tuple[list[str], dict[str, str]]:
    """Words and `name:value` options; quotes group words as a shell would."""
    try:
        tokens = shlex.split(rest, posix=True)
    except ValueError:
        tokens = rest.split()
    words: list[str] = []
    options: dict[str, str] = {}
    for token in tokens:
        key, sep, value = token.partition(":")
        if sep and key.lower() in ("topic", "page", "every", "size") and value:
            options[key.lower()] = value
        else:
            words.append(f'"{token}"' if " " in token else token)
    return words, options


def _read_line(source: TextIO) -> tuple[str, int]:
    """One line of input ("" at its end), and 0; or, for a line over MAX_LINE characters,
    its start and its length: the rest is read and dropped, never held whole in memory."""
    line = source.readline(MAX_LINE + 1)
    if len(line) <= MAX_LINE or line.endswith("\n"):
        return line, 0
    length = len(line)
    while (rest := source.readline(MAX_LINE + 1)) and not rest.endswith("\n"):
        length += len(rest)
    return line, length + len(rest.rstrip("\n"))


def _too_long(length: int) -> str:
    return f"That line is too long ({length:,} characters; at most {MAX_LINE:,}): ignored."


def _number(raw: str, most: int) -> int | None:
    """A whole number of ASCII digits up to `most`; None for anything else (`²`, `1e9`, a
    number of a hundred digits)."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(most)):
        return None
    value = int(raw)
    return value if value <= most else None


def _page(options: dict[str, str]) -> int:
    raw = options.get("page", "1")
    number = _number(raw, MAX_PAGE)
    if number is None or number < 1:
        raise Usage(f"page:{raw} is not a page number (1, 2, ... up to {MAX_PAGE:,}).")
    return number - 1


def _one_id(words: list[str], command: str) -> str:
    if len(words) != 1:
        raise Usage(f"Usage: /{command} ARTICLE_ID")
    return words[0]


def _listing(listing: desk.Listing) -> str:
    page = listing.page
    if not page.items:
        return f"No page {page.page + 1}."
    card = cards.results_card(
        answers.listing_heading(listing),
        page.items,
        page=page.page,
        has_next=page.has_next,
        more_sources=page.more_sources,
    )
    text = cards.card_to_text(card)
    ids = "\n".join(f"  id: {a.id}" for a in page.items)
    return f"{text}\nArticle ids (for /article):\n{ids}"


def error_text(error: NewsError) -> str:
    """What the console says about a domain error: the bot's own words, as text."""
    return str(error) if isinstance(error, Usage) else _text(answers.error_text(error))


def _text(markdown: str) -> str:
    """An answer's Markdown as the console prints it."""
    return plain_text.markdown_to_text(markdown)


def _post(article: Article, *, preview: bool = False) -> str:
    """The article's card, as posted (a preview's has no Related and Save buttons)."""
    return cards.card_to_text(cards.article_card(article, related=not preview, save=not preview))


async def run_console(store: Store, source: TextIO = sys.stdin, out: TextIO = sys.stdout) -> None:
    """The `newsbot console` entry point (also what `run` opens without a token)."""
    await Console(store, out).run(source)
