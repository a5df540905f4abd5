"""/story's answer: a story's timeline and its source mix as a Components V2 card (and, by
`cards.card_to_text`, as the console's text). Pure.

Article text is made inert as on every card (`card_layout.untrusted`). The card is one
container: the lead's headline, the mix, then the timeline, one line an article, oldest
first ("<t:…:f> · provider · linked title"), in one text display; what does not fit the
4,000 characters of a message is cut at the end ("…and N more"), so a story of any size
is one valid message of 10 components at the most.
"""

from __future__ import annotations

import discord

from bot.articles import TOPIC_SEPARATOR, Article
from bot.card_layout import MAX_TEXT, Card, Item, finish, more, more_length, rows, untrusted
from bot.cards import FOLLOW_STORY_PREFIX, LINK_URL_MAX, accent, custom_id
from bot.embeds import aware, linkable, md_link
from bot.providers import Mix
from bot.story_desk import Story

_TITLE_MAX = 256  # the headline's
_LINE_TITLE_MAX = 150  # a timeline line's
_PROVIDER_MAX = 60
_COUNTRIES_SHOWN = 8
_TIMELINE_HEADING = "**Timeline**"


def lead(articles: tuple[Article, ...]) -> Article:
    """What the card shows first: the highest quality, then the earliest, then the
    smallest id."""
    return min(articles, key=lambda a: (-a.quality, a.published_at, a.id))


def story_card(story: Story) -> Card:
    """The timeline and mix of a story (one article at least), within Discord's limits."""
    first = lead(story.articles)
    title = untrusted(first.title, _TITLE_MAX) or "Untitled"
    head = f"### Full coverage: {md_link(title, first.url)}"
    mix = mix_text(story.mix, len(story.articles))
    room = MAX_TEXT - len(head) - len(mix) - len(_TIMELINE_HEADING) - 1
    timeline, left_out = _timeline(story.articles, room - more_length(len(story.articles)))
    body: list[Item] = [
        discord.ui.TextDisplay[Card](head),
        discord.ui.TextDisplay[Card](mix),
        discord.ui.Separator[Card](),
        discord.ui.TextDisplay[Card](f"{_TIMELINE_HEADING}\n{timeline}"),
    ]
    if left_out:
        body.append(more(left_out))
    body.extend(rows(_buttons(first, story.asked)))
    return finish(discord.ui.Container[Card](*body, accent_colour=accent(first.topics)))


def mix_text(mix: Mix, articles: int) -> str:
    """The source mix in words: counts, then (with providers.yaml) each kind the file
    uses, 0 included ("0 trade": who did not cover it), and where the sources come from."""
    text = (
        f"**{_count(articles, 'article')}** from {_count(mix.providers, 'provider')}, "
        f"{_count(mix.domains, 'domain')}"
    )
    if not mix.listed:
        return text
    parts: list[str] = []
    if mix.kinds:
        parts.append(", ".join(f"{n} {kind}" for kind, n in mix.kinds))
    if len(mix.countries) == 1:
        parts.append(f"no source from outside {mix.countries[0][0]}")
    elif mix.countries:
        shown = ", ".join(f"{code} {n}" for code, n in mix.countries[:_COUNTRIES_SHOWN])
        others = len(mix.countries) - _COUNTRIES_SHOWN
        shown += f" and {others} more" if others > 0 else ""
        parts.append(f"from {len(mix.countries)} countries: {shown}")
    if mix.unlisted:
        parts.append(f"{_count(mix.unlisted, 'domain')} not in providers.yaml")
    return f"{text}\n{'; '.join(parts)}" if parts else text


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _line(article: Article) -> str:
    """`<t:…:f> · provider · [title](url)`: each reader's own time and language."""
    when = discord.utils.format_dt(aware(article.published_at), "f")
    provider = untrusted(article.provider_name or article.provider_domain, _PROVIDER_MAX)
    title = md_link(untrusted(article.title, _LINE_TITLE_MAX) or "Untitled", article.url)
    return TOPIC_SEPARATOR.join(p for p in (when, provider, title) if p)


def _timeline(articles: tuple[Article, ...], room: int) -> tuple[str, int]:
    """As many lines as fit `room` characters, oldest first; and how many were left out."""
    lines: list[str] = []
    used = 0
    for index, article in enumerate(articles):
        line = _line(article)
        if used + len(line) + 1 > room:
            return "\n".join(lines), len(articles) - index
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines), 0


def _buttons(first: Article, asked: str) -> list[Item]:
    """Read (the lead) and Follow story (the article asked about)."""
    buttons: list[Item] = []
    if linkable(first.url, LINK_URL_MAX):
        buttons.append(
            discord.ui.Button[Card](style=discord.ButtonStyle.link, label="Read", url=first.url)
        )
    follow = custom_id(FOLLOW_STORY_PREFIX, asked)
    if follow:
        buttons.append(discord.ui.Button[Card](label="Follow story", custom_id=follow))
    return buttons
