"""What the offline console prints: the markdown, embeds and buttons we produced, read
back as plain text (links as "text <url>", no escapes, times in UTC)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import discord

from bot.articles import TOPIC_SEPARATOR
from bot.embeds import ZWSP

_TEXT_LINK = re.compile(r"(?<!\\)\[((?:\\.|[^\\\]])*)\]\(([^)\s]+)\)")
_TEXT_BOLD = re.compile(r"(?<!\\)\*\*")
_TEXT_ESCAPE = re.compile(r"\\([^A-Za-z0-9\s])")
_TEXT_TIMESTAMP = re.compile(r"<t:(-?\d+)(?::[tTdDfFR])?>")
_TEXT_CHANNEL = re.compile(r"<#(\d+)>")


def embed_to_text(embed: discord.Embed) -> str:
    """The embed as plain text for the offline console: links as "text <url>", no escapes."""
    blocks: list[str] = []
    head = [markdown_to_text(embed.title)] if embed.title else []
    if embed.url:
        head.append(embed.url)
    if embed.author.name:
        by = f"by {unplain(embed.author.name)}"
        head.append(f"{by} <{embed.author.url}>" if embed.author.url else by)
    if head:
        blocks.append("\n".join(head))
    if embed.description:
        blocks.append(markdown_to_text(embed.description))
    for field in embed.fields:
        name, value = markdown_to_text(field.name or ""), markdown_to_text(field.value or "")
        blocks.append(f"{name}:\n{value}")
    tail = [unplain(embed.footer.text)] if embed.footer.text else []
    if embed.timestamp is not None:
        tail.append(embed.timestamp.astimezone(UTC).isoformat())
    if tail:
        blocks.append(TOPIC_SEPARATOR.join(tail))
    return "\n\n".join(blocks)


def view_to_text(view: discord.ui.View | None) -> str:
    """The view's buttons as "[label] url" lines (a button without a URL as "[label]")."""
    if view is None:
        return ""
    lines: list[str] = []
    for item in view.children:
        if isinstance(item, discord.ui.Button):
            label = unplain(item.label or "")
            lines.append(f"[{label}] {item.url}" if item.url else f"[{label}]")
    return "\n".join(lines)


def markdown_to_text(text: str) -> str:
    """Markdown we produced, back to readable text: links, bold, escapes, timestamps,
    channel mentions (for the console)."""
    text = _TEXT_LINK.sub(lambda m: f"{m.group(1)} <{m.group(2)}>", text)
    text = _TEXT_BOLD.sub("", text)
    text = _TEXT_ESCAPE.sub(r"\1", text)
    text = _TEXT_TIMESTAMP.sub(_timestamp_text, text)
    text = _TEXT_CHANNEL.sub(r"#\1", text)
    return unplain(text)


def unplain(text: str) -> str:
    """Mention-breaking zero-width spaces out: the console pings no one."""
    return text.replace(ZWSP, "")


def _timestamp_text(match: re.Match[str]) -> str:
    try:
        return datetime.fromtimestamp(int(match.group(1)), UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, OSError, ValueError):
        return match.group(0)
