"""The offline console: the bot's commands against the same store, printed as text.

It calls the same store queries and the same `embeds` functions as the cogs, so what
it prints is what the bot would post. Reads a terminal or piped input, one command a line.
"""

from __future__ import annotations

import asyncio
import shlex
import sys
from collections.abc import Awaitable, Callable
from typing import TextIO

from bot import embeds
from bot.articles import Article
from bot.errors import NewsError
from bot.store import Page, Store

HELP = """Commands (the same as the bot's slash commands):
  /news [topic] [page:N]             latest published articles
  /search words or "a phrase" [topic:NAME] [page:N]
  /topics                            topics with their article counts
  /article ID                        one article in full, as it would be posted
  /drafts [page:N]                   drafts awaiting review
  /preview ID                        how a draft's post will look
  /publish ID                        publish a draft (the running bot posts it)
  /unpublish ID                      withdraw an article (the running bot deletes its posts)
  /status                            store health
  /help                              this list
  /quit                              leave (or Ctrl-D)"""


class Console:
    """Runs console command lines against a store and writes the answers to `out`."""

    def __init__(self, store: Store, out: TextIO, actor: str = "console") -> None:
        self.store = store
        self.out = out
        self.actor = actor
        self.handlers: dict[str, Callable[[list[str], dict[str, str]], Awaitable[str]]] = {
            "news": self._news,
            "search": self._search,
            "topics": self._topics,
            "article": self._article,
            "drafts": self._drafts,
            "preview": self._preview,
            "publish": self._publish,
            "unpublish": self._unpublish,
            "status": self._status,
            "help": self._help,
        }

    async def execute(self, line: str) -> str:
        """Run one command line; domain errors come back as their one-line message."""
        line = line.strip()
        if not line or line.startswith("#"):
            return ""
        name, _, rest = line.lstrip("/").partition(" ")
        handler = self.handlers.get(name.lower())
        if handler is None:
            return f"Unknown command {line.split()[0]!r}. Type /help for the list."
        words, options = _split(rest)
        try:
            return await handler(words, options)
        except NewsError as exc:
            return str(exc)

    async def run(self, source: TextIO) -> None:
        """Read commands until end of input or /quit."""
        interactive = source.isatty()
        if interactive:
            self.out.write("newsbot offline console. Type /help for commands, /quit to leave.\n")
        while True:
            if interactive:
                self.out.write("newsbot> ")
                self.out.flush()
            line = await asyncio.to_thread(source.readline)
            if not line or line.strip() in ("/quit", "/exit", "quit", "exit"):
                break
            answer = await self.execute(line)
            if answer:
                self.out.write(answer.rstrip() + "\n\n")
                self.out.flush()

    async def _news(self, words: list[str], options: dict[str, str]) -> str:
        topic = " ".join(words) or options.get("topic")
        name = await self.store.require_topic(topic) if topic else None
        page = await self.store.latest(name, _page(options))
        heading = f"Latest in {name}" if name else "Latest news"
        return _list(heading, page, "No published articles yet.")

    async def _search(self, words: list[str], options: dict[str, str]) -> str:
        query = " ".join(words)
        if not query:
            raise NewsError('Usage: /search words or "a phrase" [topic:NAME]')
        topic = options.get("topic")
        name = await self.store.require_topic(topic) if topic else None
        page = await self.store.search(query, name, _page(options))
        return _list(f"Search: {query}", page, f"Nothing found for “{query}”.")

    async def _topics(self, words: list[str], options: dict[str, str]) -> str:
        topics = await self.store.topics()
        if not topics:
            return "No published articles yet, so no topics."
        return embeds.embed_to_text(embeds.topics_embed(topics))

    async def _article(self, words: list[str], options: dict[str, str]) -> str:
        return _post(await self.store.get(_one_id(words, "article")))

    async def _drafts(self, words: list[str], options: dict[str, str]) -> str:
        page = await self.store.drafts(_page(options))
        lines = [_list("Drafts awaiting review", page, "No drafts awaiting review.")]
        if page.items:
            lines.append("Publish one with /publish ID: " + ", ".join(a.id for a in page.items))
        return "\n".join(lines)

    async def _preview(self, words: list[str], options: dict[str, str]) -> str:
        article = await self.store.get(_one_id(words, "preview"), include_hidden=True)
        return "Preview (not posted):\n" + _post(article)

    async def _publish(self, words: list[str], options: dict[str, str]) -> str:
        article = await self.store.publish(_one_id(words, "publish"), self.actor)
        queued = await self.store.queued_channels(article.url)
        where = (
            f"It is queued for {queued} channel(s); the running bot posts it."
            if queued
            else "No channel follows it yet."
        )
        return f"Published {article.id}. {where}\nThe post:\n" + _post(article)

    async def _unpublish(self, words: list[str], options: dict[str, str]) -> str:
        article = await self.store.unpublish(_one_id(words, "unpublish"), self.actor)
        return f"Withdrew {article.id}: hidden from readers; the running bot deletes its posts."

    async def _status(self, words: list[str], options: dict[str, str]) -> str:
        articles, published, drafts = await self.store.counts()
        lines = [f"Articles: {articles} ({published} published, {drafts} drafts)"]
        last = await self.store.last_sync()
        if last:
            lines.append(
                f"Last load: {last['at']}, {last['scanned']} files, {last['errors']} errors"
            )
        bad = await self.store.bad_files()
        lines.extend(f"  bad file: {error}" for _, error in bad[:20])
        return "\n".join(lines)

    async def _help(self, words: list[str], options: dict[str, str]) -> str:
        return HELP


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
        if sep and key.lower() in ("topic", "page") and value:
            options[key.lower()] = value
        else:
            words.append(f'"{token}"' if " " in token else token)
    return words, options


def _page(options: dict[str, str]) -> int:
    raw = options.get("page", "1")
    if not raw.isdigit() or int(raw) < 1:
        raise NewsError(f"page:{raw} is not a page number (1, 2, ...).")
    return int(raw) - 1


def _one_id(words: list[str], command: str) -> str:
    if len(words) != 1:
        raise NewsError(f"Usage: /{command} ARTICLE_ID")
    return words[0]


def _list(heading: str, page: Page, empty: str) -> str:
    if not page.items:
        return empty if page.page == 0 else f"No page {page.page + 1}."
    embed = embeds.results_embed(heading, page.items, page=page.page, has_next=page.has_next)
    text = embeds.embed_to_text(embed)
    ids = "\n".join(f"  id: {a.id}" for a in page.items)
    return f"{text}\nArticle ids (for /article):\n{ids}"


def _post(article: Article) -> str:
    embed = embeds.article_embed(article)
    return embeds.embed_to_text(embed) + "\n" + embeds.view_to_text(embeds.article_view(article))


async def run_console(store: Store, source: TextIO = sys.stdin, out: TextIO = sys.stdout) -> None:
    """The `newsbot console` entry point (also what `run` opens without a token)."""
    await Console(store, out).run(source)
