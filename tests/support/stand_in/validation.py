"""Discord's body rules for messages, autocomplete choices and command syncs.

The stand-in rejects what Discord rejects (400, code 50035 "Invalid Form Body"
with a nested ``errors`` object) so a bot that passes against it does not learn
about the limits in production.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "ApiError",
    "FormErrors",
    "TooManyRequests",
    "embed_size",
    "validate_choices",
    "validate_commands",
    "validate_message",
]

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
EMBED_LIMITS = {"title": 256, "description": 4096}
MAX_FIELDS = 25
FIELD_NAME, FIELD_VALUE = 256, 1024
FOOTER_TEXT, AUTHOR_NAME = 2048, 256
MAX_ROWS, MAX_ROW_ITEMS = 5, 5
BUTTON_LABEL, CUSTOM_ID = 80, 100
IS_COMPONENTS_V2 = 1 << 15
_COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")


class ApiError(Exception):
    """An error answer: raised by route handlers, turned into Discord's JSON error body."""

    def __init__(
        self, status: int, code: int, message: str, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status, self.code, self.message, self.errors = status, code, message, errors
        self.headers: dict[str, str] = {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            out["errors"] = self.errors
        return out


class TooManyRequests(ApiError):
    """A 429 from a route's own limit (not the generic buckets): Discord's body and headers."""

    def __init__(self, retry_after: float, headers: dict[str, str]) -> None:
        super().__init__(429, 0, "You are being rate limited.")
        self.retry_after = retry_after
        self.headers = headers

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "retry_after": round(self.retry_after, 3), "global": False}


class FormErrors:
    """Collects field errors into Discord's nested ``{"a": {"0": {"_errors": [...]}}}`` shape."""

    def __init__(self, prefix: tuple[str | int, ...] = ()) -> None:
        self.prefix = prefix
        self.tree: dict[str, Any] = {}

    def add(self, path: tuple[str | int, ...], code: str, message: str) -> None:
        node = self.tree
        for part in (*self.prefix, *path):
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def too_long(self, path: tuple[str | int, ...], limit: int) -> None:
        self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def required(self, path: tuple[str | int, ...]) -> None:
        self.add(path, "BASE_TYPE_REQUIRED", "This field is required")

    def raise_if_any(self) -> None:
        if self.tree:
            raise ApiError(400, 50035, "Invalid Form Body", self.tree)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _check_url(
    errs: FormErrors, path: tuple[str | int, ...], url: Any, *, attachment: bool
) -> None:
    schemes = ("http", "https", "attachment") if attachment else ("http", "https")
    scheme = _text(url).split(":", 1)[0].lower() if ":" in _text(url) else ""
    if scheme not in schemes:
        errs.add(
            path,
            "URL_TYPE_INVALID_URL",
            f'Scheme "{scheme}" is not supported. Scheme must be one of {schemes}.',
        )


def embed_size(embed: dict[str, Any]) -> int:
    """Characters that count toward the 6000 limit (title, description, fields, footer, author)."""
    total = len(_text(embed.get("title"))) + len(_text(embed.get("description")))
    for field in embed.get("fields") or []:
        total += len(_text(field.get("name"))) + len(_text(field.get("value")))
    total += len(_text((embed.get("footer") or {}).get("text")))
    total += len(_text((embed.get("author") or {}).get("name")))
    return total


def _check_embed(errs: FormErrors, i: int, embed: dict[str, Any]) -> None:
    at: tuple[str | int, ...] = ("embeds", i)
    for key, limit in EMBED_LIMITS.items():
        if len(_text(embed.get(key))) > limit:
            errs.too_long((*at, key), limit)
    if embed.get("url") is not None:
        _check_url(errs, (*at, "url"), embed["url"], attachment=False)
    fields = embed.get("fields") or []
    if len(fields) > MAX_FIELDS:
        errs.add(
            (*at, "fields"), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_FIELDS} or fewer in length."
        )
    for j, field in enumerate(fields):
        for key, limit in (("name", FIELD_NAME), ("value", FIELD_VALUE)):
            text = _text(field.get(key))
            if not text.strip():
                errs.required((*at, "fields", j, key))
            elif len(text) > limit:
                errs.too_long((*at, "fields", j, key), limit)
    footer = embed.get("footer") or {}
    if len(_text(footer.get("text"))) > FOOTER_TEXT:
        errs.too_long((*at, "footer", "text"), FOOTER_TEXT)
    if footer.get("icon_url") is not None:
        _check_url(errs, (*at, "footer", "icon_url"), footer["icon_url"], attachment=True)
    author = embed.get("author") or {}
    if len(_text(author.get("name"))) > AUTHOR_NAME:
        errs.too_long((*at, "author", "name"), AUTHOR_NAME)
    if author.get("url") is not None:
        _check_url(errs, (*at, "author", "url"), author["url"], attachment=False)
    if author.get("icon_url") is not None:
        _check_url(errs, (*at, "author", "icon_url"), author["icon_url"], attachment=True)
    for key in ("image", "thumbnail"):
        sub = embed.get(key) or {}
        if sub.get("url") is not None:
            _check_url(errs, (*at, key, "url"), sub["url"], attachment=True)


def _check_component(errs: FormErrors, at: tuple[str | int, ...], comp: dict[str, Any]) -> None:
    kind = comp.get("type")
    custom_id = comp.get("custom_id")
    if custom_id is not None and len(_text(custom_id)) > CUSTOM_ID:
        errs.too_long((*at, "custom_id"), CUSTOM_ID)
    if kind == 2:  # button
        if len(_text(comp.get("label"))) > BUTTON_LABEL:
            errs.too_long((*at, "label"), BUTTON_LABEL)
        if comp.get("style") == 5:
            if comp.get("url") is None:
                errs.required((*at, "url"))
            else:
                _check_url(errs, (*at, "url"), comp["url"], attachment=False)
            if custom_id is not None:
                errs.add(
                    (*at, "custom_id"),
                    "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED",
                    "A custom id cannot be specified for link buttons",
                )
        elif comp.get("style") != 6 and custom_id is None:  # 6 = premium (sku_id)
            errs.add(
                (*at, "custom_id"), "BUTTON_COMPONENT_CUSTOM_ID_REQUIRED", "A custom id is required"
            )
    elif kind in (3, 5, 6, 7, 8):  # select menus
        if custom_id is None:
            errs.required((*at, "custom_id"))
        if len(comp.get("options") or []) > 25:
            errs.add((*at, "options"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")


def _check_components(errs: FormErrors, components: list[Any], flags: int) -> None:
    if flags & IS_COMPONENTS_V2:
        return  # layout components: Discord's v2 rules are not modelled here
    if len(components) > MAX_ROWS:
        errs.add(("components",), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_ROWS} or fewer in length.")
    for i, row in enumerate(components):
        if not isinstance(row, dict) or row.get("type") != 1:
            errs.add(
                ("components", i, "type"),
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "Top-level components must be action rows",
            )
            continue
        items = row.get("components") or []
        if len(items) > MAX_ROW_ITEMS:
            errs.add(
                ("components", i, "components"),
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {MAX_ROW_ITEMS} or fewer in length.",
            )
        for j, comp in enumerate(items):
            _check_component(errs, ("components", i, "components", j), comp)


def validate_message(
    body: dict[str, Any], *, creating: bool, prefix: tuple[str | int, ...] = (), files: int = 0
) -> None:
    """Raise ApiError(400) for a message body Discord would refuse.

    ``creating`` adds the "empty message" rule (code 50006) that edits do not have.
    """
    errs = FormErrors(prefix)
    content = body.get("content")
    if content is not None and len(_text(content)) > MAX_CONTENT:
        errs.too_long(("content",), MAX_CONTENT)
    embeds = body.get("embeds") or []
    if len(embeds) > MAX_EMBEDS:
        errs.add(("embeds",), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_EMBEDS} or fewer in length.")
    for i, embed in enumerate(embeds):
        _check_embed(errs, i, embed)
    if sum(embed_size(e) for e in embeds) > MAX_EMBED_TOTAL:
        errs.add(
            ("embeds",),
            "MAX_EMBED_SIZE_EXCEEDED",
            f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}",
        )
    _check_components(errs, body.get("components") or [], int(body.get("flags") or 0))
    if "nonce" in body and body["nonce"] is not None and len(_text(body["nonce"])) > 25:
        errs.too_long(("nonce",), 25)
    errs.raise_if_any()
    if creating and not (
        _text(content)
        or embeds
        or body.get("components")
        or body.get("sticker_ids")
        or body.get("poll")
        or files
    ):
        raise ApiError(400, 50006, "Cannot send an empty message")


def validate_choices(choices: Any) -> None:
    """Autocomplete results: at most 25 choices, each name 1–100 characters."""
    errs = FormErrors(("data",))
    if not isinstance(choices, list):
        errs.required(("choices",))
        errs.raise_if_any()
        return
    if len(choices) > 25:
        errs.add(("choices",), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    for i, choice in enumerate(choices):
        name = _text(choice.get("name"))
        if not 1 <= len(name) <= 100:
            errs.add(
                ("choices", i, "name"),
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            )
        value = choice.get("value")
        if isinstance(value, str) and len(value) > 100:
            errs.too_long(("choices", i, "value"), 100)
    errs.raise_if_any()


def _check_option(errs: FormErrors, at: tuple[str | int, ...], opt: dict[str, Any]) -> None:
    name = _text(opt.get("name"))
    if not _COMMAND_NAME.match(name) or name != name.lower():
        errs.add((*at, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    if not 1 <= len(_text(opt.get("description"))) <= 100:
        errs.add(
            (*at, "description"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
        )
    if len(opt.get("choices") or []) > 25:
        errs.add((*at, "choices"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    _check_options(errs, at, opt.get("options") or [])


def _check_options(
    errs: FormErrors, at: tuple[str | int, ...], options: list[dict[str, Any]]
) -> None:
    if len(options) > 25:
        errs.add((*at, "options"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    seen_optional = False
    for i, opt in enumerate(options):
        if opt.get("type") not in (1, 2):
            if opt.get("required"):
                if seen_optional:
                    errs.add(
                        (*at, "options", i, "required"),
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    )
            else:
                seen_optional = True
        _check_option(errs, (*at, "options", i), opt)


def validate_commands(commands: Any) -> None:
    """Bulk-overwrite payload: names, description lengths, option counts and order."""
    if not isinstance(commands, list):
        raise ApiError(
            400,
            50035,
            "Invalid Form Body",
            {"_errors": [{"code": "LIST_TYPE_CONVERT", "message": "Must be an array."}]},
        )
    errs = FormErrors()
    if len(commands) > 100:
        errs.add((), "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
    seen: set[tuple[str, int]] = set()
    for i, cmd in enumerate(commands):
        kind = int(cmd.get("type", 1))
        name = _text(cmd.get("name"))
        if (name, kind) in seen:
            errs.add(
                (i, "name"),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                f"Application command names must be unique: {name}",
            )
        seen.add((name, kind))
        if kind == 1:
            _check_option(errs, (i,), cmd)
        elif not 1 <= len(name) <= 32:
            errs.add((i, "name"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
    errs.raise_if_any()
