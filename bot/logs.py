"""The process's log: to stderr, as text lines or (LOG_FORMAT=json) one JSON object a line
for log shippers; never a token, a password or a raw control character, in either."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from bot.config import Settings
from bot.frontmatter import terminal_text

# What a log line must never show: an interaction's token in discord.py's DEBUG lines (the
# request URLs of answers and follow-ups, and the gateway payload that delivers it).
_TOKENS = (
    (re.compile(r"(/interactions/\d+/)[^/\s'\"?]+"), r"\1***"),
    (re.compile(r"(/webhooks/\d+/)[^/\s'\"?]+"), r"\1***"),
    (re.compile(r"""(['"]token['"]\s*:\s*['"])[^'"]*"""), r"\1***"),
)
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class SafeLog(logging.Formatter):
    """Log lines with no interaction token and no bot token in them (discord.py's DEBUG
    lines show request URLs and gateway payloads), and no raw control characters."""

    def __init__(self, fmt: str, secrets: Sequence[str]) -> None:
        super().__init__(fmt)
        self.secrets = [s for s in secrets if s]

    def safe(self, text: str) -> str:
        for pattern, replacement in _TOKENS:
            text = pattern.sub(replacement, text)
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def format(self, record: logging.LogRecord) -> str:
        return terminal_text(self.safe(super().format(record)))


class JsonLog(SafeLog):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message and, when
    there is one, exc_info (the traceback as text); no raw control character (all escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.safe(record.getMessage()),
        }
        if record.exc_info:
            entry["exc_info"] = self.safe(self.formatException(record.exc_info))
        return json.dumps(entry)  # every control character escaped, C1 ones too


def log_to_stderr(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    secrets = [settings.token or "", *_password(settings.database_url)]
    kind = JsonLog if settings.log_format == "json" else SafeLog
    handler.setFormatter(kind(TEXT_FORMAT, secrets))
    logging.basicConfig(level=settings.log_level_number, handlers=[handler])


def _password(url: str | None) -> list[str]:
    """The database URL's password, if any: never shown, even in a driver's own message."""
    if not url:
        return []
    from urllib.parse import unquote, urlsplit

    password = urlsplit(url).password
    return [password, unquote(password)] if password else []
