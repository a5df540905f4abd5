"""A digest -> its one message: an embed whose description is the numbered list of the
period's best stories, each a linked title with its provider and "+N related".

Pure, like `embeds`, whose one escaper it uses: story text is cut to its share of the
description first, then escaped (`embeds.inert`), so ten huge titles still fit.
"""

from __future__ import annotations

import discord

from bot.articles import TOPIC_SEPARATOR
from bot.digest import Digest, Every, Story
from bot.embeds import BRAND_COLOUR, fit, inert, md_link

_TITLE_MAX = 256  # Discord's embed title
_DESCRIPTION_MAX = 4096  # Discord's embed description
_STORY_TITLE_MAX = 200
_PROVIDER_MAX = 80
_MIN_LINKED_TITLE = 20  # below this, a title is worth more than its link
_HEADINGS = {Every.DAILY: "Daily digest", Every.WEEKLY: "Weekly digest"}


def digest_embed(digest: Digest) -> discord.Embed:
    """The digest's message: heading, numbered stories, the period in the footer."""
    heading = _HEADINGS[digest.every] + (f": {digest.topic}" if digest.topic else "")
    embed = discord.Embed(
        title=inert(heading, _TITLE_MAX),
        colour=BRAND_COLOUR,
        timestamp=digest.period.end,
    )
    count = len(digest.stories)
    budget = (_DESCRIPTION_MAX - max(count - 1, 0)) // max(count, 1)  # newlines between
    embed.description = "\n".join(
        _line(number, story, budget) for number, story in enumerate(digest.stories, 1)
    )
    start, end = digest.period.start, digest.period.end
    embed.set_footer(
        text=f"Top {count} of {digest.considered} stories published "
        f"{start:%d %b %H:%M} – {end:%d %b %H:%M} UTC"
    )
    return embed


def _line(number: int, story: Story, budget: int) -> str:
    """`1. **[title](url)** · provider · +N related`, within `budget` characters; when room
    is short the title is cut, then its link is dropped."""
    provider = inert(story.provider, _PROVIDER_MAX)
    meta = "".join(
        f"{TOPIC_SEPARATOR}{part}" for part in (provider, f"+{story.related} related") if part
    )
    prefix = f"{number}. "
    title = inert(story.title, _STORY_TITLE_MAX) or "Untitled"
    room = budget - len(prefix) - len("****") - len(meta)
    link = md_link("", story.url)  # "[](target)", or "" when the URL may not be linked
    if link and room - len(link) >= _MIN_LINKED_TITLE:
        shown = md_link(fit(title, room - len(link)), story.url)
    else:
        shown = fit(title, room)
    return f"{prefix}**{shown}**{meta}"
