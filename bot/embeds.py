"""Articles and result pages -> `discord.Embed` and link buttons, inside every Discord limit.

Pure functions: no I/O, no store. Article text is untrusted, so every string taken
from an article goes through `clean` (markdown escaped, mentions neutralised)
*before* it is measured and cut, and only http(s) URLs are ever linked. The
confidential `secured` field is never read here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import discord

from bot.articles import TOPIC_SEPARATOR, Article, RelatedLink, is_http_url

BRAND_COLOUR: discord.Colour = discord.Colour(0x2B6CB0)

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
_TITLE_MAX = 256
_DESCRIPTION_MAX = 4096
_FIELD_VALUE_MAX = 1024
_FIELDS_MAX = 25
_AUTHOR_MAX = 256
_EMBED_TOTAL_MAX = 6000
_LABEL_MAX = 80
_BUTTONS_MAX = 25
_BUTTON_URL_MAX = 512

# Our own, tighter budgets: keep room for what matters most in each embed.
_FOOTER_BUDGET = 512  # topics are a hint, not content
_RELATED_RESERVE = 2048  # the excerpt never crowds out related coverage entirely
_RELATED_TEXT_MAX = 200  # "provider · title" of one related line
_MD_URL_MAX = 700  # a markdown link target longer than this is shown as text
_EMBED_URL_MAX = 2048
_RESULT_TITLE_MAX = 200
_RESULT_EXCERPT_MAX = 200
_RESULT_PROVIDER_MAX = 80
_MIN_LINKED_TITLE = 20  # below this, a title is worth more than its link
_RESULT_TITLE_KEEP = 60  # title characters an excerpt may not take away
_NOTE_MAX = 500
_TOPIC_NAME_MAX = 100

ELLIPSIS = "…"
ZWSP = "\u200b"  # after an "@", keeps a mention text (plain_text.unplain removes it)
_RELATED_NAME = "Related coverage"
_RELATED_CONT_NAME = "Related coverage (cont.)"

_MENTION = re.compile(r"@(?=everyone|here|[!&]?\d)", re.IGNORECASE)
_ORDERED_LIST = re.compile(r"^(\s*\d+)\.(?=\s)", re.MULTILINE)
_UNESCAPED_LINK_CHAR = re.compile(r"(?<!\\)((?:\\\\)*)([\[\]()])")
_SLACK = 4  # raw characters read per character shown: whitespace runs collapse
_MANY_NEWLINES = re.compile(r"\n{3,}")
_HOST = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", re.IGNORECASE
)
_MD_URL_ESCAPES = str.maketrans({"(": "%28", ")": "%29", "<": "%3C", ">": "%3E"})


def shorten(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, on a word boundary, ending with "…".

    A cut falls on the last space when one lies in the last ~30% of the room;
    otherwise (one long word, a URL, CJK text) the cut is hard.
    """
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    room = limit - len(ELLIPSIS)
    head = text[:room]
    if not text[room].isspace():
        space = max((i for i, c in enumerate(head) if c.isspace()), default=-1)
        if space >= room * 0.7:
            head = head[:space]
    return head.rstrip() + ELLIPSIS


def clean(text: str) -> str:
    """Make untrusted text inert for Discord: markdown escaped, mentions neutralised.

    The one place article text is escaped, so every caller measures the final string.
    """
    escaped = discord.utils.escape_markdown(text)
    # escape_markdown escapes one masked link per run of text: "[a](x) [b](y)" kept the
    # second live. Every bracket and parenthesis left bare is escaped, so none can link.
    escaped = _UNESCAPED_LINK_CHAR.sub(r"\1\\\2", escaped)
    escaped = _ORDERED_LIST.sub(r"\1\\.", escaped)  # "1. foo" would render as a list
    return _neutralise(escaped)


def inert(text: str, limit: int, *, multiline: bool = False) -> str:
    """Untrusted text made inert within `limit`: cut to budget first, then escaped, so a
    huge excerpt costs no more than a short one."""
    raw = bounded(text, limit)
    flat = _multiline(raw) if multiline else one_line(raw)
    return fit(clean(shorten(flat, limit)), limit)


def bounded(text: str, limit: int) -> str:
    """At most what `limit` shown characters can need (whitespace collapses), marked cut."""
    cap = max(limit, 0) * _SLACK
    return text if len(text) <= cap else text[:cap] + ELLIPSIS


def relative_time(when: datetime) -> str:
    """A Discord timestamp that each reader sees as "3 hours ago" in their own locale."""
    return discord.utils.format_dt(aware(when), "R")  # naive is UTC, not the host's time


def article_embed(article: Article) -> discord.Embed:
    """The post and the /article view: the article with its related coverage, within 6000 chars."""
    title = inert(article.title, _TITLE_MAX) or "Untitled"
    embed = discord.Embed(
        title=title,
        url=article.url if linkable(article.url, _EMBED_URL_MAX) else None,
        colour=BRAND_COLOUR,
        timestamp=aware(article.published_at),
    )
    author = _author(article)
    if author is not None:
        name, url = author
        embed.set_author(name=name, url=url)
    topics = TOPIC_SEPARATOR.join(one_line(t) for t in article.topics)
    footer = shorten(plain(topics), _FOOTER_BUDGET)
    if footer:
        embed.set_footer(text=footer)

    first = _related_lines(article.related)
    total = len(article.related)
    wanted = count = 0  # what related coverage wants, up to the reserve
    while wanted < _RELATED_RESERVE and count < total:
        count += 1
        wanted = _fields_cost(_pack(first(count)))
    room = _EMBED_TOTAL_MAX - len(embed)
    room = min(_DESCRIPTION_MAX, room - min(wanted, _RELATED_RESERVE))
    description = inert(article.excerpt, room, multiline=True)
    if description:
        embed.description = description
    for name, value in _fit_lines(first, total, _EMBED_TOTAL_MAX - len(embed), _FIELDS_MAX):
        embed.add_field(name=name, value=value, inline=False)
    return embed


def _related_lines(links: Sequence[RelatedLink]) -> Callable[[int], list[str]]:
    """The first N "Related coverage" lines, each made when first asked for: a file's 200
    related items cost what the few that can fit in an embed do."""
    made: list[str] = []

    def first(count: int) -> list[str]:
        while len(made) < min(count, len(links)):
            made.append(_related_line(links[len(made)]))
        return made[:count]

    return first


def article_view(article: Article, *, room_for: int = 0) -> discord.ui.View:
    """Link buttons: read the article, then each related item; never more than 25 (5 rows
    of 5), less `room_for` buttons the caller adds (e.g. Publish)."""
    view = discord.ui.View(timeout=None)
    buttons: list[discord.ui.Button[discord.ui.View]] = []
    if linkable(article.url, _BUTTON_URL_MAX):
        buttons.append(_link_button("Read the article", article.url))
    for link in article.related:
        if len(buttons) >= _BUTTONS_MAX - room_for:
            break
        if linkable(link.url, _BUTTON_URL_MAX):
            label = plain(one_line(_related_label(link)))
            buttons.append(_link_button(label, link.url))
    for button in buttons:
        view.add_item(button)
    return view


def results_embed(
    heading: str, articles: Sequence[Article], *, page: int, has_next: bool, note: str = ""
) -> discord.Embed:
    """One list page (/news, /search, /drafts): one linked entry per article given.

    The caller pages (the store's pages are five articles); the entries share the
    description's 4096 characters, so a page's worth, not a whole result set, is passed.

    `heading` is raw text (it may hold the user's query) and is escaped here; `note` is
    the caller's own markdown (only mentions are neutralised: run user text through
    `clean` first). `page` is 0-based, as `store.Page.page`; the footer shows it 1-based.
    """
    embed = discord.Embed(title=inert(heading, _TITLE_MAX) or "Results", colour=BRAND_COLOUR)
    parts: list[str] = []
    note_text = page_note(note)
    if note_text:
        parts.append(note_text)
    for index, article in enumerate(articles):
        used = len("\n\n".join(parts))
        left = len(articles) - index
        budget = (_DESCRIPTION_MAX - used - 2 * left) // left
        entry = result_entry(article, budget)
        if len(entry) > budget:  # far more than a page: not even a bare entry fits its share
            parts.append(f"{ELLIPSIS}and {left} more")
            break
        parts.append(entry)
    if not articles:
        parts.append("No articles on this page.")
    embed.description = "\n\n".join(parts)
    embed.set_footer(text=page_footer(page, has_next))
    return embed


def page_note(note: str) -> str:
    """A list page's note: the caller's markdown, mentions neutralised, within 500 characters."""
    return fit(_neutralise(note.strip()), _NOTE_MAX)


def page_footer(page: int, has_next: bool) -> str:
    """ "Page 2 · more on the next page": `page` is 0-based, as `store.Page.page`."""
    return f"Page {max(page, 0) + 1}" + (" · more on the next page" if has_next else "")


def topics_embed(topics: Sequence[tuple[str, int]]) -> discord.Embed:
    """Known topics with their article counts, most articles first."""
    ordered = sorted(topics, key=lambda item: (-item[1], one_line(item[0]).casefold()))
    lines = [f"{inert(name, _TOPIC_NAME_MAX) or '(unnamed)'} — {count}" for name, count in ordered]
    kept = _fit_list(lines, _DESCRIPTION_MAX)
    embed = discord.Embed(title="Topics", colour=BRAND_COLOUR)
    embed.description = "\n".join(kept) if kept else "No topics yet."
    return embed


# --- helpers -------------------------------------------------------------------------------


def aware(when: datetime) -> datetime:
    """Naive datetimes are UTC (the store's rule), never the host's local time."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _neutralise(text: str) -> str:
    """`@everyone`, `<@123>`, `<@&123>` stay text: a zero-width space after the `@`."""
    return _MENTION.sub("@" + ZWSP, text)


def plain(text: str) -> str:
    """For places Discord shows without markdown (author, footer, labels): mentions only."""
    return _neutralise(text)


def one_line(text: str) -> str:
    """Titles, names and labels are one line; runs of whitespace become one space."""
    return " ".join(text.split())


def _multiline(text: str) -> str:
    """An excerpt keeps its paragraphs but not runs of blank lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    return _MANY_NEWLINES.sub("\n\n", text)


def fit(escaped: str, limit: int) -> str:
    """`shorten` for already-escaped markdown: never leave a dangling backslash before "…"."""
    result = shorten(escaped, limit)
    if result.endswith(ELLIPSIS) and result != escaped:
        head = result[: -len(ELLIPSIS)]
        trailing = len(head) - len(head.rstrip("\\"))
        if trailing % 2:
            result = head[:-1].rstrip() + ELLIPSIS
    return result


def linkable(url: str | None, max_len: int) -> bool:
    """Only http(s) URLs are linked, and only when Discord will accept their length."""
    return url is not None and is_http_url(url) and len(url) <= max_len


def md_link(text: str, url: str) -> str:
    """A masked link `[text](url)`, or the bare text when the URL may not be linked."""
    if not linkable(url, _BUTTON_URL_MAX):
        return text
    target = url.translate(_MD_URL_ESCAPES)  # a ")" in the URL would end the link early
    if len(target) > _MD_URL_MAX:
        return text
    return f"[{text}]({target})"


def _author(article: Article) -> tuple[str, str | None] | None:
    """Provider name (or its domain) for the author line, linked to the domain when it is a host."""
    domain = article.provider_domain.strip().rstrip(".")
    url = f"https://{domain}" if _HOST.match(domain) else None
    name = one_line(bounded(article.provider_name, _AUTHOR_MAX)) or (domain if url else "")
    if not name:
        return None
    return shorten(plain(name), _AUTHOR_MAX), url


def _related_label(link: RelatedLink) -> str:
    """ "provider · title" of a related item (raw text)."""
    parts = [one_line(bounded(p, _RELATED_TEXT_MAX)) for p in (link.provider, link.title)]
    parts = [p for p in parts if p]
    return TOPIC_SEPARATOR.join(parts) or "Related article"


def _related_line(link: RelatedLink) -> str:
    """One line of the "Related coverage" field: a masked link, or text for a non-http URL."""
    text = inert(_related_label(link), _RELATED_TEXT_MAX)
    return md_link(text, link.url)


def _link_button(label: str, url: str) -> discord.ui.Button[discord.ui.View]:
    return discord.ui.Button(
        style=discord.ButtonStyle.link, label=shorten(label, _LABEL_MAX) or "Open", url=url
    )


def _pack(lines: Sequence[str]) -> list[tuple[str, str]]:
    """Pack lines greedily into related-coverage fields of at most 1024 characters each."""
    fields: list[tuple[str, str]] = []
    for line in lines:
        if fields and len(fields[-1][1]) + 1 + len(line) <= _FIELD_VALUE_MAX:
            fields[-1] = (fields[-1][0], f"{fields[-1][1]}\n{line}")
        else:
            name = _RELATED_CONT_NAME if fields else _RELATED_NAME
            fields.append((name, line[:_FIELD_VALUE_MAX]))
    return fields


def _fields_cost(fields: Sequence[tuple[str, str]]) -> int:
    return sum(len(name) + len(value) for name, value in fields)


def _fits(fields: Sequence[tuple[str, str]], budget: int, max_fields: int) -> bool:
    return len(fields) <= max_fields and _fields_cost(fields) <= budget


def _fit_lines(
    first: Callable[[int], list[str]], total: int, budget: int, max_fields: int
) -> list[tuple[str, str]]:
    """The longest prefix of the `total` lines (`first(n)`: the first n) that fits, with a
    final "…and N more" when some are dropped."""
    if total == 0:
        return []
    kept = 0  # packing is greedy, so a prefix's fields are a prefix of the whole's fields
    while kept < total and _fits(_pack(first(kept + 1)), budget, max_fields):
        kept += 1
    if kept == total:
        return _pack(first(total))
    for count in range(kept, -1, -1):
        fields = _pack([*first(count), f"{ELLIPSIS}and {total - count} more"])
        if _fits(fields, budget, max_fields):
            return fields
    return []


def _fit_list(lines: Sequence[str], limit: int) -> list[str]:
    """Newline-joined lines within `limit`, ending with "…and N more" when some are dropped."""
    kept: list[str] = []
    size = -1
    for index, line in enumerate(lines):
        more = f"{ELLIPSIS}and {len(lines) - index - 1} more"
        last = index == len(lines) - 1
        if size + 1 + len(line) + (0 if last else 1 + len(more)) > limit:
            kept.append(f"{ELLIPSIS}and {len(lines) - index} more")
            return kept
        kept.append(line)
        size += 1 + len(line)
    return kept


def result_entry(article: Article, budget: int) -> str:
    """One list entry: bold linked title, "provider · <t:…:R>", a short excerpt; within `budget`.

    When room is short the excerpt gives way first, then the title, then the link itself.
    """
    provider = inert(article.provider_name, _RESULT_PROVIDER_MAX)
    when = relative_time(article.published_at)
    meta = "\n" + TOPIC_SEPARATOR.join(p for p in (provider, when) if p)
    title = inert(article.title, _RESULT_TITLE_MAX) or "Untitled"
    link = md_link("", article.url)  # "[](target)", or "" when the URL may not be linked
    fixed = len("****") + len(link) + len(meta) + min(len(title), _RESULT_TITLE_KEEP)
    excerpt_room = min(_RESULT_EXCERPT_MAX, budget - fixed - 1)
    excerpt = inert(article.excerpt, excerpt_room) if excerpt_room >= 20 else ""
    rest = meta + (f"\n{excerpt}" if excerpt else "")
    room = budget - len(rest) - len("****")
    if link and room - len(link) >= _MIN_LINKED_TITLE:
        short = fit(title, min(_RESULT_TITLE_MAX, room - len(link)))
        return f"**{md_link(short, article.url)}**{rest}"
    return f"**{fit(title, min(_RESULT_TITLE_MAX, room))}**{rest}"  # a URL too long for the page
