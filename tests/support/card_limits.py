"""Discord's rules for a Components V2 message, checked on what discord.py would send
(`LayoutView.to_components()`): the helper every card test runs its cards through.

Each rule is Discord's (its components reference and OpenAPI description): at most 40
components, nested ones included; at most 4,000 characters across all text displays, none
empty; a section holds 1-3 text displays and a thumbnail or button accessory; an action
row 1-5 buttons; a button label at most 80 characters; a link button's URL at most 512;
a custom_id 1-100 characters, unique in the message; a thumbnail's description 1-1,024;
a media URL at most 2,048 (and ours are https only). On top, the card must be inert: no
text that pings, and no masked link but to a URL the article gave. The stand-in's own
validation (what the bot's tests send through) must accept the card too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import discord

from bot.articles import Article, is_http_url
from tests.support.stand_in.components import check_components
from tests.support.stand_in.forms import FormErrors
from tests.support.stand_in.records import COMPONENTS_V2

TOP_LEVEL = {1, 9, 10, 12, 13, 14, 17}
IN_CONTAINER = {1, 9, 10, 12, 13, 14}
PING = re.compile(r"@(everyone|here)|<@[!&]?\d+>", re.IGNORECASE)
MASKED_LINK = re.compile(r"(?<!\\)\[((?:\\.|[^\\\]])*)\]\(([^)\s]+)\)")
MD_URL_ESCAPES = str.maketrans({"(": "%28", ")": "%29", "<": "%3C", ">": "%3E"})


@dataclass
class Walk:
    """What a card holds, for the assertions a test adds."""

    components: int = 0
    text: int = 0
    texts: list[str] = field(default_factory=list)
    thumbnails: list[dict[str, Any]] = field(default_factory=list)
    buttons: list[dict[str, Any]] = field(default_factory=list)
    custom_ids: list[str] = field(default_factory=list)


def beside(texts: list[str], url: str, description: str) -> dict[str, Any]:
    """A section as discord.py sends it: `texts` beside a thumbnail of `url`."""
    return {
        "type": 9,
        "components": [{"type": 10, "content": text} for text in texts],
        "accessory": {
            "type": 11,
            "spoiler": False,
            "media": {"url": url},
            "description": description,
        },
    }


SEPARATOR = {"type": 14, "divider": True, "spacing": 1}
SPACE = {"type": 14, "divider": False, "spacing": 1}


def article_urls(article: Article) -> set[str]:
    """The link targets a card of `article` may hold: the article's and its related items'."""
    return {article.url, *(link.url for link in article.related)}


def check_card(
    card: discord.ui.LayoutView, *, urls: Iterable[str] = (), ping: str | None = None
) -> Walk:
    """Every rule above, on `card`; `urls` are the only masked-link targets allowed and
    `ping` the only text allowed to mention (the feed's role, in its own text display)."""
    walk = Walk()
    payload = card.to_components()
    assert payload, "a V2 message needs at least one component"
    for component in payload:
        assert component["type"] in TOP_LEVEL, component
        _check(component, walk)
    assert walk.components <= 40, walk.components
    assert walk.text <= 4000, walk.text
    assert card.total_children_count == walk.components  # discord.py counts as Discord does
    assert len(set(walk.custom_ids)) == len(walk.custom_ids), walk.custom_ids
    stand_in = FormErrors()
    check_components(stand_in, payload, COMPONENTS_V2)
    assert stand_in.tree == {}, stand_in.tree
    targets = {url.translate(MD_URL_ESCAPES) for url in urls}
    for index, text in enumerate(walk.texts):
        if ping is not None and index == 0:
            assert text == ping and payload[0] == {"type": 10, "content": ping}
            continue
        assert not PING.search(text), text
        for match in MASKED_LINK.finditer(text):
            assert match.group(2) in targets, (match.group(2), text)
    return walk


def _check(component: dict[str, Any], walk: Walk) -> None:
    walk.components += 1
    kind = component["type"]
    if kind == 17:
        children = component["components"]
        assert children and all(c["type"] in IN_CONTAINER for c in children), component
        assert component["accent_color"] is None or 0 <= component["accent_color"] <= 0xFFFFFF
        for child in children:
            _check(child, walk)
    elif kind == 9:
        texts = component["components"]
        assert 1 <= len(texts) <= 3 and all(t["type"] == 10 for t in texts), component
        assert component["accessory"]["type"] in (2, 11), component
        for child in (*texts, component["accessory"]):
            _check(child, walk)
    elif kind == 10:
        content = component["content"]
        assert 1 <= len(content) <= 4000, content
        walk.text += len(content)
        walk.texts.append(content)
    elif kind == 11:
        url = component["media"]["url"]
        assert url.startswith("https://") and is_http_url(url) and len(url) <= 2048, url
        description = component.get("description")
        assert description is None or 1 <= len(description) <= 1024, description
        walk.thumbnails.append(component)
    elif kind == 1:
        buttons = component["components"]
        assert 1 <= len(buttons) <= 5 and all(b["type"] == 2 for b in buttons), component
        for child in buttons:
            _check(child, walk)
    elif kind == 2:
        _check_button(component, walk)
    else:
        assert kind == 14, component


def _check_button(button: dict[str, Any], walk: Walk) -> None:
    assert len(button.get("label") or "") <= 80, button
    if button["style"] == 5:
        assert "custom_id" not in button and len(button["url"]) <= 512, button
        assert is_http_url(button["url"]), button
    else:
        assert "url" not in button and 1 <= len(button["custom_id"]) <= 100, button
        walk.custom_ids.append(button["custom_id"])
    walk.buttons.append(button)
