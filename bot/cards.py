"""Stories -> Discord Components V2 cards (`ui.LayoutView`), inside every Discord limit.

Pure functions, like `embeds`, whose one escaper they use: article text is cut to its
budget first, then made inert (`embeds._inert`: markdown escaped, mentions neutralised),
and only http(s) URLs are linked; a picture is shown only when its URL is https, and
only beside the item it belongs to. The message-wide limits (40 components, 4,000
characters of text) are met by construction: fixed parts first, then the excerpt and the
related coverage share what is left, and what does not fit is cut, never sent.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import discord

from bot.articles import TOPIC_SEPARATOR, Article, Image, RelatedLink, topic_key
from bot.embeds import (
    BRAND_COLOUR,
    _aware,
    _inert,
    _linkable,
    _md_link,
    _one_line,
    _plain,
    _result_entry,
    shorten,
)

SAVE_PREFIX = "newsbot:save:"
RELATED_PREFIX = "newsbot:related:"

# Discord's limits for a Components V2 message.
MAX_COMPONENTS = 40
MAX_TEXT = 4000
THUMBNAIL_DESCRIPTION_MAX = 1024
LABEL_MAX = 80
LINK_URL_MAX = 512
CUSTOM_ID_MAX = 100
MEDIA_URL_MAX = 2048

# Our own budgets.
_TITLE_MAX = 256
_PROVIDER_MAX = 80
_EXCERPT_MAX = 1500
_RELATED_TITLE_MAX = 200
_TOPICS_MAX = 300
_ELLIPSIS = "…"

# A stable palette: the same topic always gets the same colour (crc32 of its key).
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

Card = discord.ui.LayoutView
Item = discord.ui.Item[discord.ui.LayoutView]


def accent(topics: Sequence[str]) -> discord.Colour:
    """The colour of an article's first topic; the brand colour when it has none."""
    for topic in topics:
        key = topic_key(topic)
        if key:
            return PALETTE[zlib.crc32(key.encode("utf-8")) % len(PALETTE)]
    return BRAND_COLOUR


def picture(image: Image | None) -> str | None:
    """The URL Discord may show for `image`: https and within its length, else none."""
    if image is None or not image.url.startswith("https://") or len(image.url) > MEDIA_URL_MAX:
        return None
    return image.url if _linkable(image.url, MEDIA_URL_MAX) else None


def article_card(
    article: Article,
    *,
    ping: str | None = None,
    reader_buttons: bool = True,
    extra: Sequence[Item] = (),
) -> Card:
    """The story card: headline, provider and time, excerpt, the article's picture,
    related coverage with theirs, and Read / Related / Save buttons.

    `ping` (a role mention) goes in its own text display above the card, the only text a
    feed's `allowed_mentions` lets ping. `reader_buttons` False leaves Related and Save
    out (a draft's preview); `extra` buttons (Publish) join the row.
    """
    head = _headline(article)
    topics = TOPIC_SEPARATOR.join(_one_line(t) for t in article.topics)
    footer = f"-# {_inert(topics, _TOPICS_MAX)}" if topics.strip() else ""
    buttons = _buttons(article, reader_buttons=reader_buttons, extra=extra, cut=False)
    fixed_text = len(head) + len(footer) + (len(ping) if ping else 0) + _labels(buttons)
    # Components: container, head (section+text+thumbnail or one text), excerpt, separator,
    # related heading, footer, the row and its buttons (one more for Related if cut).
    fixed_parts = 1 + 3 + 1 + 1 + 1 + 1 + 1 + len(buttons) + 1 + (1 if ping else 0)
    related, dropped = _related(
        article.related,
        text_room=MAX_TEXT - fixed_text - 400,  # the excerpt keeps at least 400
        parts_room=MAX_COMPONENTS - fixed_parts,
    )
    related_text = sum(len(display.content) for display in _texts(related))
    excerpt_room = min(
        _EXCERPT_MAX, MAX_TEXT - fixed_text - related_text - len("**Related coverage**")
    )
    excerpt = _inert(article.excerpt, excerpt_room, multiline=True)

    body: list[Item] = []
    image = picture(article.image)
    texts = [discord.ui.TextDisplay[Card](head)]
    if excerpt:
        texts.append(discord.ui.TextDisplay[Card](excerpt))
    if image is not None:
        body.append(discord.ui.Section[Card](*texts, accessory=_thumbnail(image, article.title)))
    else:
        body.extend(texts)
    if related:
        body.append(discord.ui.Separator[Card]())
        body.append(discord.ui.TextDisplay[Card]("**Related coverage**"))
        body.extend(related)
    if footer:
        body.append(discord.ui.TextDisplay[Card](footer))
    buttons = _buttons(article, reader_buttons=reader_buttons, extra=extra, cut=dropped > 0)
    if buttons:
        body.append(discord.ui.ActionRow[Card](*buttons))
    card = Card(timeout=None)
    if ping:
        card.add_item(discord.ui.TextDisplay[Card](ping))
    card.add_item(discord.ui.Container[Card](*body, accent_colour=accent(article.topics)))
    card.stop()
    return card


def related_card(article: Article) -> Card:
    """All of an article's related coverage (the Related button's answer), as much as fits."""
    heading = f"**Related coverage** of {_inert(article.title, _TITLE_MAX) or 'this story'}"
    related, _ = _related(
        article.related,
        text_room=MAX_TEXT - len(heading),
        parts_room=MAX_COMPONENTS - 2,
    )
    body: list[Item] = [discord.ui.TextDisplay[Card](heading), *related]
    if not related:
        body.append(discord.ui.TextDisplay[Card]("No related coverage."))
    card = Card(timeout=None)
    card.add_item(discord.ui.Container[Card](*body, accent_colour=accent(article.topics)))
    card.stop()
    return card


def results_card(
    heading: str,
    articles: Sequence[Article],
    *,
    page: int,
    has_next: bool,
    note: str = "",
    accessories: Sequence[Item | None] = (),
    buttons: Sequence[Item] = (),
) -> Card:
    """One list page (/news, /search, /drafts) as a card: one section per article, with its
    picture (or the caller's accessory for that article, e.g. Publish), page buttons below.

    `heading` is raw text (it may hold the user's query) and is made inert here; `note`
    is the caller's own markdown (mentions are neutralised). `page` is 0-based."""
    title = f"## {_inert(heading, _TITLE_MAX) or 'Results'}"
    note_text = _plain(note.strip())[:500]
    footer = f"-# Page {max(page, 0) + 1}" + (" · more on the next page" if has_next else "")
    fixed = len(title) + len(note_text) + len(footer) + _labels(buttons)
    count = max(len(articles), 1)
    budget = (MAX_TEXT - fixed) // count
    body: list[Item] = [discord.ui.TextDisplay[Card](title)]
    if note_text:
        body.append(discord.ui.TextDisplay[Card](note_text))
    for index, article in enumerate(articles):
        body.append(discord.ui.Separator[Card](visible=False))
        entry = discord.ui.TextDisplay[Card](_result_entry(article, budget))
        accessory = accessories[index] if index < len(accessories) else None
        image = picture(article.image)
        if accessory is None and image is not None:
            accessory = _thumbnail(image, article.title)
        body.append(
            entry if accessory is None else discord.ui.Section[Card](entry, accessory=accessory)
        )
    if not articles:
        body.append(discord.ui.TextDisplay[Card]("No articles on this page."))
    body.append(discord.ui.TextDisplay[Card](footer))
    if buttons:
        body.append(discord.ui.ActionRow[Card](*buttons))
    card = Card(timeout=None)
    card.add_item(discord.ui.Container[Card](*body, accent_colour=BRAND_COLOUR))
    card.stop()
    return card


def link_line(article: Article, ping: str | None = None) -> str:
    """The `link` style: one plain line, headline · provider and the link (no preview)."""
    parts = [_inert(article.title, _TITLE_MAX) or "Untitled"]
    provider = _inert(article.provider_name, _PROVIDER_MAX)
    if provider:
        parts.append(provider)
    line = TOPIC_SEPARATOR.join(parts)
    if _linkable(article.url, MEDIA_URL_MAX):
        line += f" <{article.url}>"
    return f"{ping} {line}" if ping else line


def custom_id(prefix: str, article_id: str) -> str | None:
    """A reader button's custom_id, or None when the article id makes it too long."""
    value = prefix + article_id
    return value if len(value) <= CUSTOM_ID_MAX else None


# --- helpers -------------------------------------------------------------------------------


def _headline(article: Article) -> str:
    """`### [title](url)` and "provider · <t:…:f> (<t:…:R>)": each reader's own time."""
    title = _inert(article.title, _TITLE_MAX) or "Untitled"
    provider = _inert(article.provider_name or article.provider_domain, _PROVIDER_MAX)
    when = discord.utils.format_dt(_aware(article.published_at), "f")
    ago = discord.utils.format_dt(_aware(article.published_at), "R")
    meta = TOPIC_SEPARATOR.join(p for p in (provider, f"{when} ({ago})") if p)
    return f"### {_md_link(title, article.url)}\n{meta}"


def _thumbnail(url: str, title: str) -> discord.ui.Thumbnail[Card]:
    description = shorten(
        _plain(_one_line(title[: THUMBNAIL_DESCRIPTION_MAX * 4])), THUMBNAIL_DESCRIPTION_MAX
    )
    return discord.ui.Thumbnail[Card](url, description=description or None)


def _related_item(link: RelatedLink) -> tuple[str, str | None]:
    """A related item's text ("[title](url)" and its provider) and its picture."""
    title = _inert(link.title, _RELATED_TITLE_MAX) or "Related article"
    provider = _inert(link.provider, _PROVIDER_MAX)
    text = _md_link(title, link.url) + (f"\n-# {provider}" if provider else "")
    return text, picture(link.image)


def _related(
    links: Sequence[RelatedLink], *, text_room: int, parts_room: int
) -> tuple[list[Item], int]:
    """As many related items as fit both budgets, in order, then "…and N more"; a picture
    makes its item a section (3 components), an item without one is one text display."""
    items: list[Item] = []
    used_text = used_parts = 0
    reserve = len(f"{_ELLIPSIS}and {len(links)} more")
    for index, link in enumerate(links):
        text, image = _related_item(link)
        parts = 3 if image else 1
        last = index == len(links) - 1
        need_text = used_text + len(text) + (0 if last else reserve)
        need_parts = used_parts + parts + (0 if last else 1)
        if need_text > text_room or need_parts > parts_room:
            dropped = len(links) - index
            items.append(discord.ui.TextDisplay[Card](f"{_ELLIPSIS}and {dropped} more"))
            return items, dropped
        display = discord.ui.TextDisplay[Card](text)
        if image:
            items.append(discord.ui.Section[Card](display, accessory=_thumbnail(image, link.title)))
        else:
            items.append(display)
        used_text += len(text)
        used_parts += parts
    return items, 0


def _buttons(
    article: Article, *, reader_buttons: bool, extra: Sequence[Item], cut: bool
) -> list[Item]:
    buttons: list[Item] = []
    if _linkable(article.url, LINK_URL_MAX):
        buttons.append(
            discord.ui.Button[Card](style=discord.ButtonStyle.link, label="Read", url=article.url)
        )
    if reader_buttons:
        related = custom_id(RELATED_PREFIX, article.id)
        if cut and related:
            buttons.append(discord.ui.Button[Card](label="Related", custom_id=related))
        save = custom_id(SAVE_PREFIX, article.id)
        if save:
            buttons.append(discord.ui.Button[Card](label="Save", custom_id=save))
    buttons.extend(extra)
    return buttons[:5]


def _labels(buttons: Sequence[Item]) -> int:
    return sum(len(b.label or "") for b in buttons if isinstance(b, discord.ui.Button))


def _texts(items: Sequence[Item]) -> list[discord.ui.TextDisplay[Card]]:
    out: list[discord.ui.TextDisplay[Card]] = []
    for item in items:
        if isinstance(item, discord.ui.TextDisplay):
            out.append(item)
        elif isinstance(item, discord.ui.Section):
            out.extend(c for c in item.children if isinstance(c, discord.ui.TextDisplay))
    return out
