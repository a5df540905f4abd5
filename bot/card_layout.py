"""The parts every card is built of (`cards`, `digest_post`), and the count that keeps a
Components V2 message inside Discord's limits.

Discord counts every component of a message, nested ones too (a section is itself, its
text displays and its accessory): at most 40. The text of all its text displays together
is at most 4,000 characters (code points, as Python's `len`). A text display may not be
empty; a section holds one to three text displays and one accessory; an action row five
buttons at the most.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import discord

from bot.embeds import ELLIPSIS, bounded, inert, one_line, plain, shorten

MAX_COMPONENTS = 40
MAX_TEXT = 4000
THUMBNAIL_DESCRIPTION_MAX = 1024
BUTTONS_PER_ROW = 5

Card = discord.ui.LayoutView
Item = discord.ui.Item[discord.ui.LayoutView]

# Invisible characters with no place in a card: bidi marks, embeddings, overrides and
# isolates (U+202E turns the rest of a line around: "gpj.exe" shows as "exe.jpg"),
# zero-width spaces and word joiners that hide words or fake an empty title, the byte-order
# mark. ZWJ and ZWNJ stay: emoji sequences and Persian script need them.
_INVISIBLE = re.compile("[\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def untrusted(raw: str, limit: int, *, multiline: bool = False) -> str:
    """Article text for a card: invisible controls dropped, then made inert within `limit`."""
    return inert(visible(raw, limit), limit, multiline=multiline)


def visible(raw: str, limit: int) -> str:
    """`raw` without its invisible controls, bounded first (as `embeds.inert` would bound
    it for `limit`) so that a huge text is never read whole."""
    return _INVISIBLE.sub("", bounded(raw, limit))


def thumbnail(url: str, title: str) -> discord.ui.Thumbnail[Card]:
    """A thumbnail whose alt text is `title` (plain text, 1 to 1,024 characters, or none)."""
    shown = one_line(visible(title, THUMBNAIL_DESCRIPTION_MAX))
    alt = shorten(plain(shown), THUMBNAIL_DESCRIPTION_MAX)
    return discord.ui.Thumbnail[Card](url, description=alt or None)


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of a list card: its text, and the accessory beside it. An `optional`
    accessory (a picture) may go to make room; a caller's (a Publish button) may not."""

    text: str
    accessory: Item | None = None
    optional: bool = True

    def parts(self, pictures: bool) -> int:
        """Components it costs: a text display, or a section with its text and accessory."""
        return 3 if self._beside(pictures) else 1

    def item(self, pictures: bool) -> Item:
        display = discord.ui.TextDisplay[Card](self.text)
        if self._beside(pictures) and self.accessory is not None:
            return discord.ui.Section[Card](display, accessory=self.accessory)
        return display

    def _beside(self, pictures: bool) -> bool:
        return self.accessory is not None and (pictures or not self.optional)


def stack(
    entries: Sequence[Entry], total: int, room: int, *, divider: bool, frame: bool = False
) -> list[Item]:
    """`entries` within `room` components, a separator between each two (a line when
    `divider`) and, with `frame`, a space before the first and after the last. What does
    not fit goes in this order: the separators, the optional accessories, then entries
    from the end, said as "…and N more" (`total` counts the entries the caller left out
    already). The caller reserves that line's text."""
    tail = 1 if len(entries) < total else 0
    for separators, pictures in ((True, True), (False, True), (False, False)):
        if _cost(entries, separators and frame, separators, pictures) + tail <= room:
            return _build(entries, total, separators, pictures, divider, frame)
    kept = list(entries)
    while kept and _cost(kept, False, False, False) + 1 > room:
        kept.pop()
    return _build(kept, total, False, False, divider, frame)


def more(left: int) -> discord.ui.TextDisplay[Card]:
    """The line that says what a card left out."""
    return discord.ui.TextDisplay[Card](f"{ELLIPSIS}and {left} more")


def more_length(total: int) -> int:
    """The most text the "…and N more" line can take with `total` entries."""
    return len(more(total).content)


def rows(buttons: Sequence[Item]) -> list[discord.ui.ActionRow[Card]]:
    """Buttons in action rows of five."""
    return [
        discord.ui.ActionRow[Card](*buttons[start : start + BUTTONS_PER_ROW])
        for start in range(0, len(buttons), BUTTONS_PER_ROW)
    ]


def parts_of(items: Sequence[Item]) -> int:
    """How many components Discord counts for `items`, nested ones included."""
    return sum(1 + len(tuple(_walk(item))) for item in items)


def text_length(items: Sequence[Item]) -> int:
    """The characters of the text displays in `items`, nested ones included."""
    found = [node for item in items for node in (item, *_walk(item))]
    return sum(len(node.content) for node in found if isinstance(node, discord.ui.TextDisplay))


def finish(*items: Item) -> Card:
    """The card of `items`: no timeout (its buttons are answered by persistent handlers),
    stopped so that building one never leaves a view waiting."""
    card = Card(timeout=None)
    for item in items:
        card.add_item(item)
    card.stop()
    return card


def _walk(item: Item) -> list[Item]:
    if isinstance(item, discord.ui.Container | discord.ui.ActionRow | discord.ui.Section):
        return list(item.walk_children())
    return []


def _cost(entries: Sequence[Entry], frame: bool, separators: bool, pictures: bool) -> int:
    gaps = max(len(entries) - 1, 0) if separators else 0
    edges = 2 if frame and entries else 0
    return sum(entry.parts(pictures) for entry in entries) + gaps + edges


def _build(
    entries: Sequence[Entry],
    total: int,
    separators: bool,
    pictures: bool,
    divider: bool,
    frame: bool,
) -> list[Item]:
    items: list[Item] = []
    for index, entry in enumerate(entries):
        if separators and index:
            items.append(discord.ui.Separator[Card](visible=divider))
        items.append(entry.item(pictures))
    if len(entries) < total:
        items.append(more(total - len(entries)))
    if separators and frame and entries:
        space = discord.ui.Separator[Card](visible=False)
        return [space, *items, discord.ui.Separator[Card](visible=False)]
    return items
