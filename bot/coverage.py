"""A story's post and its "More coverage": which of the post's articles leads it, and how
the others are shown in each style (a card's section, an embed's field, a plain line's
second line). Pure functions; article text made inert as `cards` makes it.

The lead is the best of the post's articles: the highest quality, then the earliest
publishedDateTime, then the smallest id. So a later source of higher quality takes the
headline, and the first one moves under "More coverage"."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.articles import TOPIC_SEPARATOR, Article
from bot.card_layout import untrusted
from bot.embeds import ELLIPSIS, aware, linkable, md_link

HEADING = "More coverage"
CARD_MAX = 1200  # a card's "More coverage" text, at most (within the card's 4,000)
_TITLE_MAX = 150
_PROVIDER_MAX = 80
_URL_MAX = 512  # as a card's link button's
_FIELD_MAX = 1024  # an embed field's value
_EMBED_MAX = 6000  # an embed's text in all
_FIELDS_MAX = 25
_MESSAGE_MAX = 2000  # a message's content


def lead_and_more(articles: Sequence[Article]) -> tuple[Article, list[Article]]:
    """The article a post leads with, and the others oldest first. `articles` not empty."""
    ranked = sorted(articles, key=lambda a: (-a.quality, aware(a.published_at), a.id))
    return ranked[0], sorted(ranked[1:], key=lambda a: (aware(a.published_at), a.id))


def entry(article: Article) -> str:
    """One source: its linked title, provider and time ("[title](url) · provider · 2 hours
    ago", the time in each reader's own language)."""
    title = untrusted(article.title, _TITLE_MAX) or "Untitled"
    provider = untrusted(article.provider_name or article.provider_domain, _PROVIDER_MAX)
    when = discord.utils.format_dt(aware(article.published_at), "R")
    return TOPIC_SEPARATOR.join(p for p in (md_link(title, article.url), provider, when) if p)


def listed(lines: Sequence[str], limit: int, start: str = "") -> str:
    """`start` then as many `lines` as fit in `limit` characters, one a line, then
    "…and N more"; "" when not even one fits."""
    text = start
    for index, line in enumerate(lines):
        left = len(lines) - index - 1
        tail = f"\n{ELLIPSIS}and {left} more" if left else ""
        if len(text) + 1 + len(line) + len(tail) > limit:
            if index == 0:
                return ""
            return f"{text}\n{ELLIPSIS}and {len(lines) - index} more"
        text = f"{text}\n{line}" if text else line
    return text


def card_text(more: Sequence[Article]) -> str:
    """The card's "More coverage" text display, or "" when there is no other source."""
    if not more:
        return ""
    return listed([f"- {entry(a)}" for a in more], CARD_MAX, f"**{HEADING}**")


def add_field(embed: discord.Embed, more: Sequence[Article]) -> discord.Embed:
    """The embed with a "More coverage" field, within the embed's limits."""
    room = min(_FIELD_MAX, _EMBED_MAX - len(embed) - len(HEADING))
    value = listed([entry(a) for a in more], room) if more else ""
    if value and len(embed.fields) < _FIELDS_MAX:
        embed.add_field(name=HEADING, value=value, inline=False)
    return embed


def with_line(line: str, more: Sequence[Article]) -> str:
    """A plain post's line, then a second line naming the other sources with their links
    (in <>: no previews), as many as fit in a message."""
    text = f"{HEADING}:"
    for index, article in enumerate(more):
        name = untrusted(article.provider_name or article.title, _PROVIDER_MAX) or "Untitled"
        piece = f"{name} <{article.url}>" if linkable(article.url, _URL_MAX) else name
        left = len(more) - index - 1
        tail = f" {ELLIPSIS}and {left} more" if left else ""
        joined = f"{text} {piece}" if index == 0 else f"{text}{TOPIC_SEPARATOR}{piece}"
        if len(line) + 1 + len(joined) + len(tail) > _MESSAGE_MAX:
            text += f" {ELLIPSIS}and {len(more) - index} more"
            break
        text = joined
    return f"{line}\n{text}" if more else line
