"""Stories -> Discord Components V2 cards (`ui.LayoutView`), inside every Discord limit.

Pure functions, like `embeds`, whose escaper they share: article text loses its invisible
controls (`untrusted`), is cut to its budget, then made inert (`embeds.inert`: markdown
escaped, mentions neutralised); only http(s) URLs are linked, a picture is shown only when
its URL is https, and only beside the item it belongs to. The message-wide limits
(40 components, 4,000 characters of text displays) are met by construction: the fixed
parts are counted first, the excerpt and the related coverage share what is left, and
what does not fit is cut ("…and N more"), never sent for Discord to refuse.
"""

from __future__ import annotations

import dataclasses
import re
import zlib
from collections.abc import Sequence

import discord

from bot.articles import TOPIC_SEPARATOR, Article, RelatedLink, topic_key
from bot.card_layout import (
    BUTTONS_PER_ROW,
    MAX_COMPONENTS,
    MAX_TEXT,
    Card,
    Entry,
    Item,
    finish,
    more,
    more_length,
    parts_of,
    rows,
    stack,
    text_length,
    thumbnail,
    untrusted,
    visible,
)
from bot.embeds import (
    BRAND_COLOUR,
    aware,
    linkable,
    md_link,
    page_footer,
    page_note,
    result_entry,
)
from bot.pictures import Image
from bot.plain_text import markdown_to_text, unplain

# The API the cogs and the poster build on (`Card`, `Item` and the limits come from
# `card_layout`, named here so that one import serves).
__all__ = [
    "CUSTOM_ID_MAX",
    "FOLLOW_STORY_PREFIX",
    "LINK_URL_MAX",
    "MAX_COMPONENTS",
    "MAX_TEXT",
    "MEDIA_URL_MAX",
    "PALETTE",
    "RELATED_PREFIX",
    "SAVE_PREFIX",
    "Card",
    "Item",
    "accent",
    "article_card",
    "card_to_text",
    "custom_id",
    "link_line",
    "picture",
    "related_card",
    "results_card",
]

SAVE_PREFIX = "newsbot:save:"
FOLLOW_STORY_PREFIX = "newsbot:follow-story:"
RELATED_PREFIX = "newsbot:related:"

# Discord's limits (its components reference: link button url, custom_id, unfurled media
# url); the message-wide ones are in `card_layout`.
LINK_URL_MAX = 512
CUSTOM_ID_MAX = 100
MEDIA_URL_MAX = 2048

# Our own budgets.
_TITLE_MAX = 256
_PROVIDER_MAX = 80
_EXCERPT_MAX = 1500
_EXCERPT_MIN = 400  # related coverage never crowds the excerpt out below this
_RELATED_TITLE_MAX = 200
_TOPICS_MAX = 300
_ABOVE_MAX = 100  # a role mention is "<@&" + at most 20 digits + ">"; a note no longer
_RELATED_HEADING = "**Related coverage**"

# For the console: the headline's "<t:N:f> (<t:N:R>)" is one time; "### " and "-# " are
# our own headings and small text (a title's "#" is escaped, so never at a line's start).
_SAME_TIME = re.compile(r"(<t:(-?\d+):f>) \(<t:\2:R>\)")
_MARKER = re.compile(r"^(?:#{1,3}|-#) ", re.MULTILINE)

# A stable palette: the same topic always gets the same colour (crc32 of its key: Python's
# own hash() of a string changes with every process).
PALETTE: tuple[discord.Colour, ...] = tuple(
    discord.Colour(value)
    for value in (
        0x2B6CB0,  # blue
        0xC05621,  # orange
        0x2F855A,  # green
        0x6B46C1,  # purple
        0xC53030,  # red
        0x2C7A7B,  # teal
        0xB7791F,  # amber
        0xB83280,  # pink
        0x4A5568,  # slate
        0x276749,  # forest
    )
)


def accent(topics: Sequence[str]) -> discord.Colour:
    """The colour of an article's first topic; the brand colour when it has none."""
    for topic in topics:
        key = topic_key(topic)
        if key:
            return PALETTE[zlib.crc32(key.encode("utf-8")) % len(PALETTE)]
    return BRAND_COLOUR


def picture(image: Image | None) -> str | None:
    """The URL Discord may show for `image`: https, with a host, within 2,048 characters."""
    if image is None or not image.url.startswith("https://"):
        return None
    return image.url if linkable(image.url, MEDIA_URL_MAX) else None


def custom_id(prefix: str, article_id: str) -> str | None:
    """A reader button's custom_id, or None when the article id makes it too long."""
    value = prefix + article_id
    return value if len(value) <= CUSTOM_ID_MAX else None


def article_card(
    article: Article,
    *,
    above: str | None = None,
    related: bool = True,
    save: bool = True,
    extra: Sequence[Item] = (),
    more: str = "",
) -> Card:
    """The story card: headline, provider and time, excerpt, the article's picture,
    related coverage with theirs, and Read / Related / Save / Follow story buttons.

    `more` is the story's other sources in a feed's post, as text (`coverage.card_text`,
    at most `coverage.CARD_MAX` characters): shown below the excerpt, before related coverage.

    `above` is a line in its own text display above the card: a feed's role mention (the
    only text its `allowed_mentions` lets ping) or a preview's note. `related` and `save`
    False leave those buttons out (a draft's preview has neither; a DM copy is saved
    already, and Follow story goes with Save); `extra` buttons (Publish) join the row,
    five at the most.
    """
    if above is not None and len(above) > _ABOVE_MAX:
        raise ValueError(f"the line above a card is at most {_ABOVE_MAX} characters")
    head = _headline(article)
    footer = _topics(article.topics)
    image = picture(article.image)
    top: list[Item] = [discord.ui.TextDisplay[Card](above)] if above else []
    # The fixed parts as the largest they can be: the excerpt counted even when empty, and
    # the row with a Related button it may not need.
    widest = rows(_buttons(article, related=related, save=save, extra=extra, cut=True))
    fixed_parts = parts_of([*top, *widest]) + 1 + 2 + (2 if image else 0) + (1 if footer else 0)
    fixed_parts += 2 if more else 0  # a separator and its text display
    fixed_text = len(head) + len(footer) + len(above or "") + len(more)
    coverage, left_out = _related(
        article.related,
        text_room=MAX_TEXT - fixed_text - len(_RELATED_HEADING) - _EXCERPT_MIN,
        parts_room=MAX_COMPONENTS - fixed_parts - 2,  # a separator and the heading
    )
    excerpt_room = MAX_TEXT - fixed_text - text_length(coverage)
    excerpt_room -= len(_RELATED_HEADING) if coverage else 0
    excerpt = untrusted(article.excerpt, min(_EXCERPT_MAX, excerpt_room), multiline=True)

    texts = [discord.ui.TextDisplay[Card](head)]
    if excerpt:
        texts.append(discord.ui.TextDisplay[Card](excerpt))
    body: list[Item] = []
    if image is not None:
        body.append(discord.ui.Section[Card](*texts, accessory=thumbnail(image, article.title)))
    else:
        body.extend(texts)
    if more:
        body += [discord.ui.Separator[Card](), discord.ui.TextDisplay[Card](more)]
    if coverage:
        body += [discord.ui.Separator[Card](), discord.ui.TextDisplay[Card](_RELATED_HEADING)]
        body.extend(coverage)
    if footer:
        body.append(discord.ui.TextDisplay[Card](footer))
    cut = left_out > 0
    body.extend(rows(_buttons(article, related=related, save=save, extra=extra, cut=cut)))
    return finish(*top, discord.ui.Container[Card](*body, accent_colour=accent(article.topics)))


def related_card(article: Article) -> Card:
    """All of an article's related coverage (the Related button's answer), as much as fits."""
    title = untrusted(article.title, _TITLE_MAX) or "this story"
    heading = f"{_RELATED_HEADING} of {title}"
    related, _ = _related(
        article.related, text_room=MAX_TEXT - len(heading), parts_room=MAX_COMPONENTS - 2
    )
    body: list[Item] = [discord.ui.TextDisplay[Card](heading), *related]
    if not related:
        body.append(discord.ui.TextDisplay[Card]("No related coverage."))
    return finish(discord.ui.Container[Card](*body, accent_colour=accent(article.topics)))


def results_card(
    heading: str,
    articles: Sequence[Article],
    *,
    page: int,
    has_next: bool,
    note: str = "",
    accessories: Sequence[Item | None] = (),
    buttons: Sequence[Item] = (),
    more_sources: Sequence[int] = (),
) -> Card:
    """One list page (/news, /search, /drafts) as a card: one entry per article, with its
    picture (or the caller's accessory for that article, e.g. Publish), page buttons below.
    An article standing for a story says how many other articles the story has
    (`more_sources`, one count per article: "+2 more sources").

    `heading` is raw text (it may hold the user's query) and is made inert here; `note`
    is the caller's own markdown (mentions are neutralised). `page` is 0-based. A page
    too big for one message loses its spacing, then its pictures, then its last
    articles ("…and N more"); a caller's accessory is kept as long as its article.
    """
    title = f"## {untrusted(heading, _TITLE_MAX) or 'Results'}"
    note_text = page_note(note)
    footer = f"-# {page_footer(page, has_next)}"
    button_rows = rows(buttons)
    fixed = [title, note_text, footer] if note_text else [title, footer]
    fixed_parts = 1 + len(fixed) + parts_of(button_rows)
    room = MAX_TEXT - sum(map(len, fixed)) - more_length(len(articles))
    budget = room // max(min(len(articles), MAX_COMPONENTS), 1)
    entries: list[Entry] = []
    for index, article in enumerate(articles):
        others = _more_sources(more_sources[index] if index < len(more_sources) else 0)
        text = result_entry(_visible(article), budget - len(others)) + others
        if len(text) > budget:  # not even a bare entry fits its share: the rest is "…more"
            break
        given = accessories[index] if index < len(accessories) else None
        image = picture(article.image)
        if given is not None:
            entries.append(Entry(text, given, optional=False))
        else:
            entries.append(Entry(text, thumbnail(image, article.title) if image else None))
    listed = stack(entries, len(articles), MAX_COMPONENTS - fixed_parts, divider=False, frame=True)
    body: list[Item] = [discord.ui.TextDisplay[Card](title)]
    if note_text:
        body.append(discord.ui.TextDisplay[Card](note_text))
    body.extend(listed or [discord.ui.TextDisplay[Card]("No articles on this page.")])
    body.append(discord.ui.TextDisplay[Card](footer))
    body.extend(button_rows)
    return finish(discord.ui.Container[Card](*body, accent_colour=BRAND_COLOUR))


def link_line(article: Article, ping: str | None = None) -> str:
    """The `link` style: one plain line, headline · provider and the link (no preview);
    at most 256 + 3 + 80 + 515 characters and the ping, far within a message's 2,000."""
    parts = [untrusted(article.title, _TITLE_MAX) or "Untitled"]
    provider = untrusted(article.provider_name, _PROVIDER_MAX)
    if provider:
        parts.append(provider)
    line = TOPIC_SEPARATOR.join(parts)
    if linkable(article.url, LINK_URL_MAX):
        line += f" <{article.url}>"
    return f"{ping} {line}" if ping else line


def card_to_text(view: discord.ui.LayoutView) -> str:
    """A card as the console prints it: its text displays as text (links "title <url>",
    times in UTC), a thumbnail as "picture: <url>", a separator as a blank line, buttons
    as "[label] url" (or "[label]")."""
    return "\n".join(line for item in view.children for line in _text_lines(item))


# --- helpers -------------------------------------------------------------------------------


def _headline(article: Article) -> str:
    """`### [title](url)` and "provider · <t:…:f> (<t:…:R>)": each reader's own time and
    language (a naive time is UTC). At most about 1,100 characters."""
    title = untrusted(article.title, _TITLE_MAX) or "Untitled"
    provider = untrusted(article.provider_name or article.provider_domain, _PROVIDER_MAX)
    when = aware(article.published_at)
    stamp = f"{discord.utils.format_dt(when, 'f')} ({discord.utils.format_dt(when, 'R')})"
    meta = TOPIC_SEPARATOR.join(p for p in (provider, stamp) if p)
    return f"### {md_link(title, article.url)}\n{meta}"


def _more_sources(count: int) -> str:
    """A listed story's other articles in small text below its entry, or "" for none."""
    if count <= 0:
        return ""
    return f"\n-# +{count} more source{'' if count == 1 else 's'}"


def _visible(article: Article) -> Article:
    """The article with no invisible controls in what a list entry shows of it."""
    return dataclasses.replace(
        article,
        title=visible(article.title, _TITLE_MAX),
        excerpt=visible(article.excerpt, _EXCERPT_MAX),
        provider_name=visible(article.provider_name, _PROVIDER_MAX),
    )


def _topics(topics: Sequence[str]) -> str:
    """The topics in small text ("-# AI · AI Ethics"), or "" when there are none."""
    shown = untrusted(TOPIC_SEPARATOR.join(t for t in topics if t.strip()), _TOPICS_MAX)
    return f"-# {shown}" if shown else ""


def _related_item(link: RelatedLink) -> Entry:
    """A related item: "[title](url)" and its provider in small text, with its picture."""
    title = untrusted(link.title, _RELATED_TITLE_MAX) or "Related article"
    provider = untrusted(link.provider, _PROVIDER_MAX)
    text = md_link(title, link.url) + (f"\n-# {provider}" if provider else "")
    image = picture(link.image)
    return Entry(text, thumbnail(image, link.title) if image else None)


def _related(
    links: Sequence[RelatedLink], *, text_room: int, parts_room: int
) -> tuple[list[Item], int]:
    """As many related items as fit both budgets, in order, each with its picture (a
    section of 3 components; an item without one is 1 text display), then "…and N more";
    and how many were left out."""
    kept: list[Item] = []
    used_text = used_parts = 0
    reserve = more_length(len(links))
    for index, link in enumerate(links):
        entry = _related_item(link)
        tail = 0 if index == len(links) - 1 else 1  # room for "…and N more" after this one
        need_text = used_text + len(entry.text) + tail * reserve
        need_parts = used_parts + entry.parts(pictures=True) + tail
        if need_text > text_room or need_parts > parts_room:
            return [*kept, more(len(links) - index)], len(links) - index
        kept.append(entry.item(pictures=True))
        used_text += len(entry.text)
        used_parts += entry.parts(pictures=True)
    return kept, 0


def _buttons(
    article: Article, *, related: bool, save: bool, extra: Sequence[Item], cut: bool
) -> list[Item]:
    """Read (when the URL may be a link button), Related (when related coverage was cut),
    Save and Follow story, then the caller's: one row of five at the most."""
    buttons: list[Item] = []
    if linkable(article.url, LINK_URL_MAX):
        buttons.append(
            discord.ui.Button[Card](style=discord.ButtonStyle.link, label="Read", url=article.url)
        )
    related_id = custom_id(RELATED_PREFIX, article.id) if related else None
    if cut and related_id and article.related:
        buttons.append(discord.ui.Button[Card](label="Related", custom_id=related_id))
    save_id = custom_id(SAVE_PREFIX, article.id) if save else None
    if save_id:
        buttons.append(discord.ui.Button[Card](label="Save", custom_id=save_id))
    follow_id = custom_id(FOLLOW_STORY_PREFIX, article.id) if save else None
    if follow_id:
        buttons.append(discord.ui.Button[Card](label="Follow story", custom_id=follow_id))
    buttons.extend(extra)
    return buttons[:BUTTONS_PER_ROW]


def _text_lines(item: Item) -> list[str]:
    if isinstance(item, discord.ui.Container | discord.ui.ActionRow):
        return [line for child in item.children for line in _text_lines(child)]
    if isinstance(item, discord.ui.Section):
        return [line for child in (*item.children, item.accessory) for line in _text_lines(child)]
    if isinstance(item, discord.ui.TextDisplay):
        return [markdown_to_text(_MARKER.sub("", _SAME_TIME.sub(r"\1", item.content)))]
    if isinstance(item, discord.ui.Thumbnail):
        return [f"picture: <{item.media.url}>"]
    if isinstance(item, discord.ui.Button):
        label = unplain(item.label or "")
        return [f"[{label}] {item.url}" if item.url else f"[{label}]"]
    if isinstance(item, discord.ui.DynamicItem):  # a persistent button (Publish)
        return _text_lines(item.item)
    return [""] if isinstance(item, discord.ui.Separator) else []
