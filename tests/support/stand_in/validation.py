"""Discord's body rules for messages, autocomplete choices and command syncs.

The stand-in rejects what Discord rejects (400, code 50035 "Invalid Form Body"
with a nested ``errors`` object) so a bot that passes against it does not learn
about the limits in production.
"""

from __future__ import annotations

import re
from typing import Any

from .components import check_components
from .forms import ApiError, FormErrors, Path, TooManyRequests, check_url, text
from .records import COMPONENTS_V2

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
LEGACY_FIELDS = ("content", "embeds", "poll", "sticker_ids")  # refused with IS_COMPONENTS_V2
_COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")


def embed_size(embed: dict[str, Any]) -> int:
    """Characters that count toward the 6000 limit (title, description, fields, footer, author)."""
    total = len(text(embed.get("title"))) + len(text(embed.get("description")))
    for field in embed.get("fields") or []:
        total += len(text(field.get("name"))) + len(text(field.get("value")))
    total += len(text((embed.get("footer") or {}).get("text")))
    total += len(text((embed.get("author") or {}).get("name")))
    return total


def _check_embed(errs: FormErrors, i: int, embed: dict[str, Any]) -> None:
    at: Path = ("embeds", i)
    for key, limit in EMBED_LIMITS.items():
        if len(text(embed.get(key))) > limit:
            errs.too_long((*at, key), limit)
    if embed.get("url") is not None:
        check_url(errs, (*at, "url"), embed["url"], attachment=False)
    fields = embed.get("fields") or []
    if len(fields) > MAX_FIELDS:
        errs.add(
            (*at, "fields"), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_FIELDS} or fewer in length."
        )
    for j, field in enumerate(fields):
        for key, limit in (("name", FIELD_NAME), ("value", FIELD_VALUE)):
            value = text(field.get(key))
            if not value.strip():
                errs.required((*at, "fields", j, key))
            elif len(value) > limit:
                errs.too_long((*at, "fields", j, key), limit)
    footer = embed.get("footer") or {}
    if len(text(footer.get("text"))) > FOOTER_TEXT:
        errs.too_long((*at, "footer", "text"), FOOTER_TEXT)
    if footer.get("icon_url") is not None:
        check_url(errs, (*at, "footer", "icon_url"), footer["icon_url"], attachment=True)
    author = embed.get("author") or {}
    if len(text(author.get("name"))) > AUTHOR_NAME:
        errs.too_long((*at, "author", "name"), AUTHOR_NAME)
    if author.get("url") is not None:
        check_url(errs, (*at, "author", "url"), author["url"], attachment=False)
    if author.get("icon_url") is not None:
        check_url(errs, (*at, "author", "icon_url"), author["icon_url"], attachment=True)
    for key in ("image", "thumbnail"):
        sub = embed.get(key) or {}
        if sub.get("url") is not None:
            check_url(errs, (*at, key, "url"), sub["url"], attachment=True)


def validate_message(
    body: dict[str, Any],
    *,
    creating: bool,
    prefix: Path = (),
    files: int = 0,
    stored: dict[str, Any] | None = None,
) -> None:
    """Raise ApiError(400) for a message body Discord would refuse.

    ``creating`` adds the "empty message" rule (code 50006) that edits do not have. An edit
    passes the message as stored (``stored``): its flags decide the component rules, and a
    V2 message keeps its flag and stays free of content and embeds.
    """
    errs = FormErrors(prefix)
    content = body.get("content")
    if content is not None and len(text(content)) > MAX_CONTENT:
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
    flags = _check_v2_flag(errs, body, stored or {})
    check_components(errs, body.get("components") or [], flags)
    if "nonce" in body and body["nonce"] is not None and len(text(body["nonce"])) > 25:
        errs.too_long(("nonce",), 25)
    errs.raise_if_any()
    if creating and not (
        text(content)
        or embeds
        or body.get("components")
        or body.get("sticker_ids")
        or body.get("poll")
        or files
    ):
        raise ApiError(400, 50006, "Cannot send an empty message")


def _check_v2_flag(errs: FormErrors, body: dict[str, Any], stored: dict[str, Any]) -> int:
    """The flags the message will have; with IS_COMPONENTS_V2 (sent now, or kept from the
    stored message, which cannot lose it) no legacy field may be left non-empty."""
    sent = int(body.get("flags") or 0)
    had = int(stored.get("flags") or 0) & COMPONENTS_V2
    if had and body.get("flags") is not None and not sent & COMPONENTS_V2:
        errs.add(
            ("flags",),
            "MESSAGE_CANNOT_REMOVE_COMPONENTS_V2_FLAG",
            "The IS_COMPONENTS_V2 flag cannot be removed from a message that has it.",
        )
    flags = sent | had
    if flags & COMPONENTS_V2:
        for key in LEGACY_FIELDS:
            if body.get(key, stored.get(key)):  # an edit that leaves it untouched keeps it
                errs.add(
                    (key,),
                    "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                    f"The '{key}' field cannot be used when using MessageFlags.IS_COMPONENTS_V2",
                )
    return flags


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
        name = text(choice.get("name"))
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


def _check_option(errs: FormErrors, at: Path, opt: dict[str, Any]) -> None:
    name = text(opt.get("name"))
    if not _COMMAND_NAME.match(name) or name != name.lower():
        errs.add((*at, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    if not 1 <= len(text(opt.get("description"))) <= 100:
        errs.add(
            (*at, "description"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
        )
    if len(opt.get("choices") or []) > 25:
        errs.add((*at, "choices"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    _check_options(errs, at, opt.get("options") or [])


def _check_options(errs: FormErrors, at: Path, options: list[dict[str, Any]]) -> None:
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


INSTALL_FIELDS = {"integration_types": (0, 1), "contexts": (0, 1, 2)}


def _check_installs(errs: FormErrors, at: Path, cmd: dict[str, Any]) -> None:
    """``integration_types`` (0 server install, 1 user install) and ``contexts`` (0 server,
    1 the DM with the bot, 2 group and other DMs): null or omitted, or a list of at least
    one known value, none twice (Discord's ApplicationCommandCreateRequest)."""
    for key, allowed in INSTALL_FIELDS.items():
        values = cmd.get(key)
        if values is None:
            continue
        if not isinstance(values, list):
            errs.add((*at, key), "LIST_TYPE_CONVERT", "Must be an array.")
            continue
        if not values:
            errs.add((*at, key), "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length.")
        for j, value in enumerate(values):
            if not isinstance(value, int) or isinstance(value, bool) or value not in allowed:
                choices = ", ".join(str(a) for a in allowed)
                errs.add((*at, key, j), "BASE_TYPE_CHOICES", f"Value must be one of {{{choices}}}.")
            elif values.index(value) != j:
                errs.add(
                    (*at, key, j),
                    "SET_TYPE_ALREADY_CONTAINS_VALUE",
                    "The set already contains this value.",
                )


def validate_commands(commands: Any) -> None:
    """Bulk-overwrite payload: names, description lengths, option counts and order, install
    types and contexts."""
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
        name = text(cmd.get("name"))
        if (name, kind) in seen:
            errs.add(
                (i, "name"),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                f"Application command names must be unique: {name}",
            )
        seen.add((name, kind))
        _check_installs(errs, (i,), cmd)
        if kind == 1:
            _check_option(errs, (i,), cmd)
        elif not 1 <= len(name) <= 32:
            errs.add((i, "name"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
    errs.raise_if_any()
