"""A digest -> its one message, in each style: a card (numbered stories with their small
thumbnails, separators between them), an embed (the numbered list as its description,
for digests made before cards), or plain lines (the `link` style's content).

Pure, like `cards`, whose escaper it shares (`card_layout.untrusted`: invisible controls
dropped, markdown escaped, mentions neutralised): story text is cut to its share of the room
first, then escaped, so ten huge titles still fit; the card's 40 components are met by
giving up separators, then thumbnails, before any story (`card_layout.stack`).
"""

from __future__ import annotations

import discord

from bot.articles import TOPIC_SEPARATOR
from bot.card_layout import (
    MAX_COMPONENTS,
    MAX_TEXT,
    Card,
    Entry,
    finish,
    more_length,
    stack,
    thumbnail,
    untrusted,
)
from bot.cards import LINK_URL_MAX, accent, picture
from bot.digest import Digest, Every, Story
from bot.embeds import BRAND_COLOUR, fit, linkable, md_link

_TITLE_MAX = 256  # Discord's embed title
_DESCRIPTION_MAX = 4096  # Discord's embed description
_CONTENT_MAX = 2000  # Discord's message content
_STORY_TITLE_MAX = 200
_PROVIDER_MAX = 80
_MIN_LINKED_TITLE = 20  # below this, a title is worth more than its link
_HEADINGS = {Every.DAILY: "Daily digest", Every.WEEKLY: "Weekly digest"}


def digest_embed(digest: Digest) -> discord.Embed:
    """The digest's message: heading, numbered stories, the period in the footer."""
    embed = discord.Embed(
        title=_heading(digest),
        colour=BRAND_COLOUR,
        timestamp=digest.period.end,
    )
    embed.description = "\n".join(_lines(digest, _DESCRIPTION_MAX, masked=True))
    embed.set_footer(text=_period(digest))
    return embed


def digest_card(digest: Digest) -> Card:
    """The digest as one card: "## Daily digest: AI", the numbered stories (each a linked
    title, provider, "+N more sources" and "+N related", beside its picture), the period in
    small text."""
    heading = f"## {_heading(digest)}"
    footer = f"-# {_period(digest)}"
    room = MAX_TEXT - len(heading) - len(footer) - more_length(len(digest.stories))
    stories = [
        Entry(line, thumbnail(image, story.title) if (image := picture(story.image)) else None)
        for line, story in zip(_lines(digest, room, masked=True), digest.stories, strict=True)
    ]
    parts = MAX_COMPONENTS - 3  # the container, the heading and the footer
    listed = stack(stories, len(stories), parts, divider=True, frame=True)
    return finish(
        discord.ui.Container[Card](
            discord.ui.TextDisplay[Card](heading),
            *listed,
            discord.ui.TextDisplay[Card](footer),
            accent_colour=accent([digest.topic]),
        )
    )


def digest_text(digest: Digest) -> str:
    """The `link` style: plain lines in a message's content (2,000 characters at most),
    "1. title · provider · +N related <url>" under the heading, the period last."""
    heading, footer = _heading(digest), _period(digest)
    room = _CONTENT_MAX - len(heading) - len(footer) - 2  # the two newlines around the list
    return "\n".join([heading, *_lines(digest, room, masked=False), footer])


# --- helpers -------------------------------------------------------------------------------


def _heading(digest: Digest) -> str:
    heading = _HEADINGS[digest.every] + (f": {digest.topic}" if digest.topic else "")
    return untrusted(heading, _TITLE_MAX)


def _period(digest: Digest) -> str:
    start, end = digest.period.start, digest.period.end
    return (
        f"Top {len(digest.stories)} of {digest.considered} stories published "
        f"{start:%d %b %H:%M} – {end:%d %b %H:%M} UTC"
    )


def _lines(digest: Digest, room: int, *, masked: bool) -> list[str]:
    """One line per story, sharing `room` characters with the newlines between them."""
    count = len(digest.stories)
    budget = (room - max(count - 1, 0)) // max(count, 1)
    return [_line(n, story, budget, masked=masked) for n, story in enumerate(digest.stories, 1)]


def _line(number: int, story: Story, budget: int, *, masked: bool) -> str:
    """`1. **[title](url)** · provider · +N more sources · +N related` (`masked`), or
    `1. title · provider · +N more sources · +N related <url>`, within `budget` characters
    (no "more sources" for a story of one article); when room is short the title is cut,
    then its link is dropped."""
    provider = untrusted(story.provider, _PROVIDER_MAX)
    others = f"+{story.more} more source{'' if story.more == 1 else 's'}" if story.more else ""
    meta = "".join(
        f"{TOPIC_SEPARATOR}{part}"
        for part in (provider, others, f"+{story.related} related")
        if part
    )
    prefix = f"{number}. "
    title = untrusted(story.title, _STORY_TITLE_MAX) or "Untitled"
    bold = "****" if masked else ""
    room = budget - len(prefix) - len(bold) - len(meta)
    if masked:
        link = md_link("", story.url)  # "[](target)", or "" when the URL may not be linked
    else:
        link = f" <{story.url}>" if linkable(story.url, LINK_URL_MAX) else ""
    if not link or room - len(link) < _MIN_LINKED_TITLE:
        shown = fit(title, room)
        return f"{prefix}**{shown}**{meta}" if masked else f"{prefix}{shown}{meta}"
    shown = fit(title, room - len(link))
    if masked:
        return f"{prefix}**{md_link(shown, story.url)}**{meta}"
    return f"{prefix}{shown}{meta}{link}"
