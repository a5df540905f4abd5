"""Discord's rules for a message's ``components``: legacy action rows, and Components V2.

Per Discord's API reference ("Component reference", "Using message components") and its
OpenAPI description (the ``...ComponentForMessageRequest`` schemas):

- Without the ``IS_COMPONENTS_V2`` flag (1 << 15) only action rows sit at the top level, at
  most 5 of them; a layout or content component there is refused.
- With it, the top level holds action rows (1), sections (9), text displays (10), media
  galleries (12), files (13), separators (14) and containers (17); a container holds the
  same minus containers. A section has 1-3 text displays and exactly one accessory, a
  thumbnail (11) or a button (2). An action row holds 1-5 buttons, or one select menu.
- A V2 message has at most 40 components, every nested one counted (accessories too), and
  its text displays hold at most 4,000 characters in all, each one at least one.
- ``media.url`` (thumbnails, gallery items) is ``http``, ``https`` or ``attachment://``, at
  most 2,048 characters; a file component takes ``attachment://`` only. Descriptions (alt
  text) at most 1,024; a gallery 1-10 items; a container's ``accent_color`` 0..0xFFFFFF;
  a separator's ``spacing`` 1 (small) or 2 (large).
- Buttons: label at most 80; a link button (style 5) has a ``url`` (at most 512) and no
  ``custom_id``; other buttons a ``custom_id`` (at most 100).

Every refusal is reported into the caller's FormErrors (400, code 50035) at the path of the
offending field, e.g. ``components.0.components.1.accessory.media.url``. The error codes are
the ones Discord answers where they are known (UNION_TYPE_CHOICES, BASE_TYPE_*,
URL_TYPE_INVALID_URL, COMPONENT_LAYOUT_WIDTH_EXCEEDED); where Discord documents a rule but not
its code, the code names the rule: rely on the status, 50035 and the path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .forms import FormErrors, Path, check_url, text
from .records import COMPONENTS_V2

__all__ = ["check_components", "text_displays"]

ACTION_ROW, BUTTON, SECTION, TEXT_DISPLAY, THUMBNAIL = 1, 2, 9, 10, 11
MEDIA_GALLERY, FILE, SEPARATOR, CONTAINER = 12, 13, 14, 17
SELECTS = (3, 5, 6, 7, 8)  # string, user, role, mentionable, channel
IN_ROW = (BUTTON, *SELECTS)
IN_CONTAINER = (ACTION_ROW, SECTION, TEXT_DISPLAY, MEDIA_GALLERY, FILE, SEPARATOR)
V2_TOP_LEVEL = (*IN_CONTAINER, CONTAINER)
ACCESSORIES = (BUTTON, THUMBNAIL)
LINK_STYLE, PREMIUM_STYLE = 5, 6

MAX_ROWS, MAX_ROW_ITEMS = 5, 5  # legacy messages: 5 rows of 5
MAX_COMPONENTS, MAX_TEXT = 40, 4000  # V2 messages, nested components included
SECTION_TEXTS, GALLERY_ITEMS = 3, 10
BUTTON_LABEL, CUSTOM_ID, LINK_URL = 80, 100, 512
MEDIA_URL, DESCRIPTION = 2048, 1024
MAX_COLOUR = 0xFFFFFF
SPACINGS = (1, 2)


def walk(components: Any) -> Iterator[dict[str, Any]]:
    """Every component at any depth: children and section accessories (not gallery items,
    which are not components)."""
    for comp in components if isinstance(components, list) else []:
        if not isinstance(comp, dict):
            continue
        yield comp
        yield from walk(comp.get("components"))
        if isinstance(comp.get("accessory"), dict):
            yield from walk([comp["accessory"]])


def text_displays(components: Any) -> list[str]:
    """The content of every text display, in order: the text a V2 message shows (and pings)."""
    return [text(c.get("content")) for c in walk(components) if c.get("type") == TEXT_DISPLAY]


def check_components(errs: FormErrors, components: Any, flags: int) -> None:
    """A message's ``components`` under the rules its flags choose (legacy, or V2)."""
    if not isinstance(components, list):
        errs.add(("components",), "LIST_TYPE_CONVERT", "Must be an array.")
        return
    if not flags & COMPONENTS_V2:
        if len(components) > MAX_ROWS:
            errs.too_long(("components",), MAX_ROWS)
        for i, row in enumerate(components):
            _check(errs, ("components", i), row, (ACTION_ROW,))
        return
    if sum(1 for _ in walk(components)) > MAX_COMPONENTS:
        errs.add(
            ("components",),
            "BASE_TYPE_MAX_LENGTH",
            f"Must be {MAX_COMPONENTS} or fewer in length, nested components included.",
        )
    if sum(len(t) for t in text_displays(components)) > MAX_TEXT:
        errs.add(
            ("components",),
            "BASE_TYPE_MAX_LENGTH",
            f"The text of all text displays must be {MAX_TEXT} or fewer in length.",
        )
    for i, comp in enumerate(components):
        _check(errs, ("components", i), comp, V2_TOP_LEVEL)


def _check(errs: FormErrors, at: Path, comp: Any, allowed: tuple[int, ...]) -> None:
    """One component where only ``allowed`` types may stand, then its own rules."""
    kind = comp.get("type") if isinstance(comp, dict) else None
    if kind not in allowed or isinstance(kind, bool):
        errs.add(
            (*at, "type"),
            "UNION_TYPE_CHOICES",
            f'Value of field "type" must be one of {tuple(sorted(allowed))}.',
        )
        return
    assert isinstance(comp, dict)
    if kind == ACTION_ROW:
        _check_row(errs, at, comp)
    elif kind == BUTTON:
        _check_button(errs, at, comp)
    elif kind in SELECTS:
        _check_select(errs, at, comp)
    elif kind == SECTION:
        _check_section(errs, at, comp)
    elif kind == TEXT_DISPLAY:
        if not 1 <= len(text(comp.get("content"))) <= MAX_TEXT:
            errs.bad_length((*at, "content"), 1, MAX_TEXT)
    elif kind == THUMBNAIL:
        _check_media(errs, (*at, "media"), comp.get("media"), attachment_only=False)
        _check_description(errs, at, comp)
    elif kind == MEDIA_GALLERY:
        _check_gallery(errs, at, comp)
    elif kind == FILE:
        _check_media(errs, (*at, "file"), comp.get("file"), attachment_only=True)
    elif kind == SEPARATOR:
        if comp.get("spacing") is not None and comp["spacing"] not in SPACINGS:
            errs.add((*at, "spacing"), "BASE_TYPE_CHOICES", f"Value must be one of {SPACINGS}.")
    else:  # container
        _check_container(errs, at, comp)


def _children(errs: FormErrors, at: Path, comp: dict[str, Any], high: int) -> list[Any]:
    """A layout component's ``components``: a list of 1..``high`` (reported otherwise)."""
    children = comp.get("components")
    if not isinstance(children, list) or not 1 <= len(children) <= high:
        errs.bad_length((*at, "components"), 1, high)
    return children if isinstance(children, list) else []


def _check_row(errs: FormErrors, at: Path, row: dict[str, Any]) -> None:
    items = _children(errs, at, row, MAX_ROW_ITEMS)
    if len(items) > 1 and any(isinstance(c, dict) and c.get("type") in SELECTS for c in items):
        errs.add(
            (*at, "components"),
            "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
            "A select menu takes a whole action row.",
        )
    for j, item in enumerate(items):
        _check(errs, (*at, "components", j), item, IN_ROW)


def _check_custom_id(errs: FormErrors, at: Path, comp: dict[str, Any]) -> None:
    custom_id = comp.get("custom_id")
    if custom_id is not None and len(text(custom_id)) > CUSTOM_ID:
        errs.too_long((*at, "custom_id"), CUSTOM_ID)


def _check_button(errs: FormErrors, at: Path, button: dict[str, Any]) -> None:
    _check_custom_id(errs, at, button)
    if len(text(button.get("label"))) > BUTTON_LABEL:
        errs.too_long((*at, "label"), BUTTON_LABEL)
    style, custom_id = button.get("style"), button.get("custom_id")
    if style == LINK_STYLE:
        if button.get("url") is None:
            errs.required((*at, "url"))
        elif len(text(button["url"])) > LINK_URL:
            errs.too_long((*at, "url"), LINK_URL)
        else:
            check_url(errs, (*at, "url"), button["url"], attachment=False)
        if custom_id is not None:
            errs.add(
                (*at, "custom_id"),
                "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED",
                "A custom id cannot be specified for link buttons",
            )
    elif style != PREMIUM_STYLE and custom_id is None:  # a premium button has a sku_id
        errs.add(
            (*at, "custom_id"), "BUTTON_COMPONENT_CUSTOM_ID_REQUIRED", "A custom id is required"
        )


def _check_select(errs: FormErrors, at: Path, select: dict[str, Any]) -> None:
    _check_custom_id(errs, at, select)
    if select.get("custom_id") is None:
        errs.required((*at, "custom_id"))
    if len(select.get("options") or []) > 25:
        errs.too_long((*at, "options"), 25)


def _check_section(errs: FormErrors, at: Path, section: dict[str, Any]) -> None:
    for j, item in enumerate(_children(errs, at, section, SECTION_TEXTS)):
        _check(errs, (*at, "components", j), item, (TEXT_DISPLAY,))
    if section.get("accessory") is None:
        errs.required((*at, "accessory"))
    else:
        _check(errs, (*at, "accessory"), section["accessory"], ACCESSORIES)


def _check_media(errs: FormErrors, at: Path, media: Any, *, attachment_only: bool) -> None:
    """An unfurled media item: ``{"url": ...}``."""
    url = media.get("url") if isinstance(media, dict) else None
    if url is None:
        errs.required((*at, "url"))
    elif len(text(url)) > MEDIA_URL:
        errs.too_long((*at, "url"), MEDIA_URL)
    elif attachment_only and not text(url).lower().startswith("attachment://"):
        errs.add(
            (*at, "url"),
            "URL_TYPE_INVALID_URL",
            'Scheme must be "attachment": a file component shows an uploaded file.',
        )
    else:
        check_url(errs, (*at, "url"), url, attachment=True)


def _check_description(errs: FormErrors, at: Path, item: dict[str, Any]) -> None:
    if len(text(item.get("description"))) > DESCRIPTION:
        errs.too_long((*at, "description"), DESCRIPTION)


def _check_gallery(errs: FormErrors, at: Path, gallery: dict[str, Any]) -> None:
    items = gallery.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= GALLERY_ITEMS:
        errs.bad_length((*at, "items"), 1, GALLERY_ITEMS)
    for j, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            errs.required((*at, "items", j, "media"))
            continue
        _check_media(errs, (*at, "items", j, "media"), item.get("media"), attachment_only=False)
        _check_description(errs, (*at, "items", j), item)


def _check_container(errs: FormErrors, at: Path, container: dict[str, Any]) -> None:
    colour = container.get("accent_color")
    if colour is not None and (
        not isinstance(colour, int) or isinstance(colour, bool) or not 0 <= colour <= MAX_COLOUR
    ):
        errs.add(
            (*at, "accent_color"),
            "NUMBER_TYPE_MAX",
            f"Must be an integer between 0 and {MAX_COLOUR}.",
        )
    for j, item in enumerate(_children(errs, at, container, MAX_COMPONENTS)):
        _check(errs, (*at, "components", j), item, IN_CONTAINER)
