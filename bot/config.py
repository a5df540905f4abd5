"""Settings: built once from the environment and `.env`, then passed in (no module globals)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote_plus, urlsplit

from dotenv import dotenv_values

from bot.errors import ConfigError

_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_POLL_SECONDS = 30.0  # how often the store folder is rescanned (NEWS_POLL_SECONDS)
DEFAULT_POOL_SIZE = 10  # PostgreSQL connections per process (NEWS_DB_POOL_SIZE)
DEFAULT_ALERTS_PER_HOUR = 5  # alert DMs a member gets an hour at most (ALERTS_PER_HOUR)
MAX_ALERTS_PER_HOUR = 60
MAX_PORT = 65535
DEFAULT_METRICS_HOST = "127.0.0.1"  # METRICS_HOST: this host only, unless asked otherwise


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting, from the environment and `.env`; the token is out of repr, never logged."""

    token: str | None = field(default=None, repr=False)
    store_dir: Path = Path("seeds")
    db_path: Path = Path("data/news.db")
    channel_id: int | None = None
    guild_id: int | None = None
    # The servers where moderation commands exist; none: the command line and console only.
    newsroom_guild_ids: frozenset[int] = frozenset()
    moderator_role_ids: frozenset[int] = frozenset()
    poll_seconds: float = DEFAULT_POLL_SECONDS
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None
    delivery: bool | None = None
    log_level: str = "INFO"
    log_format: str = "text"  # or "json": one JSON object a line, for log shippers
    # PostgreSQL instead of SQLite; it may hold a password, so it stays out of repr (and logs).
    database_url: str | None = field(default=None, repr=False)
    pool_size: int = DEFAULT_POOL_SIZE
    # Alert DMs a member gets an hour; more stories wait and go as one "N more stories".
    alerts_per_hour: int = DEFAULT_ALERTS_PER_HOUR
    # /metrics, /healthz and /readyz on this port (0: any free one, logged); None: not served.
    metrics_port: int | None = None
    metrics_host: str = DEFAULT_METRICS_HOST

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        dotenv_path: str | os.PathLike[str] | None = ".env",
        require_store: bool = True,
    ) -> Settings:
        """Read `.env` (if present) under the real environment, which wins; validate everything.

        `require_store=False` is for a command given its own store folder (`check DIR`,
        `load DIR`): NEWS_STORE_DIR is still read, but the folder it names need not exist.
        """
        values: dict[str, str] = {}
        if dotenv_path is not None and Path(dotenv_path).is_file():
            values.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        env = {k: v.strip() for k, v in values.items() if v is not None and v.strip()}

        shard_count = _optional_int(env, "SHARD_COUNT", minimum=1)
        shard_ids = _id_list(env, "SHARD_IDS", minimum=0)
        if shard_ids is not None:
            if shard_count is None:
                raise ConfigError("SHARD_IDS: needs SHARD_COUNT (the total number of shards)")
            if any(s >= shard_count for s in shard_ids):
                raise ConfigError(f"SHARD_IDS: every id must be below SHARD_COUNT ({shard_count})")
        level = _one_of(env, "LOG_LEVEL", "INFO", _LEVELS, str.upper)
        log_format = _one_of(env, "LOG_FORMAT", "text", ("text", "json"), str.lower)
        guild_id = _optional_int(env, "DISCORD_GUILD_ID", minimum=1)
        newsroom = _id_list(env, "NEWSROOM_GUILD_IDS", minimum=1)
        if newsroom is None:  # unset: the guild the commands are synced to, if any
            newsroom = (guild_id,) if guild_id is not None else ()
        store_dir = Path(env.get("NEWS_STORE_DIR", "seeds"))
        raw_url = env.get("NEWS_DATABASE_URL")
        database_url = check_database_url(raw_url, "NEWS_DATABASE_URL") if raw_url else None
        # With PostgreSQL a host without the store folder still answers commands (and /publish,
        # through the scanner); it never takes the scanner's role.
        if require_store and not store_dir.is_dir() and database_url is None:
            raise ConfigError(f"NEWS_STORE_DIR: {str(store_dir)!r} is not a folder")
        return cls(
            token=env.get("DISCORD_TOKEN"),
            store_dir=store_dir,
            db_path=Path(env.get("NEWS_DB_PATH", "data/news.db")),
            channel_id=_optional_int(env, "NEWS_CHANNEL_ID", minimum=1),
            guild_id=guild_id,
            newsroom_guild_ids=frozenset(newsroom),
            moderator_role_ids=frozenset(_id_list(env, "MODERATOR_ROLE_IDS", minimum=1) or ()),
            poll_seconds=_seconds(env, "NEWS_POLL_SECONDS", DEFAULT_POLL_SECONDS),
            shard_count=shard_count,
            shard_ids=shard_ids,
            delivery=_optional_bool(env, "DELIVERY"),
            log_level=level,
            log_format=log_format,
            database_url=database_url,
            pool_size=_optional_int(env, "NEWS_DB_POOL_SIZE", minimum=1) or DEFAULT_POOL_SIZE,
            alerts_per_hour=_alerts_per_hour(env),
            metrics_port=_metrics_port(env),
            metrics_host=env.get("METRICS_HOST", DEFAULT_METRICS_HOST),
        )

    @property
    def log_level_number(self) -> int:
        return int(logging.getLevelName(self.log_level))

    @property
    def runs_delivery(self) -> bool:
        """Only one process delivers: the one owning shard 0, unless DELIVERY says otherwise.
        On PostgreSQL every process is a candidate for the deliverer's lease unless DELIVERY=0."""
        if self.delivery is not None:
            return self.delivery
        return self.database_url is not None or self.shard_ids is None or 0 in self.shard_ids

    @property
    def database_label(self) -> str:
        """Where the database is, fit for logs: the URL without its password, or the file."""
        return redact(self.database_url) if self.database_url else str(self.db_path)


# Query-string parameters a driver reads a secret from (`?password=...`), as decoded.
_SECRET_PARAMS = ("password", "sslpassword")


def redact(url: str) -> str:
    """A database URL fit to show: the password in its user part and in its query string
    (`?password=`, `?sslpassword=`) replaced by ***. Works on text `urlsplit` rejects too:
    every place a URL is shown (errors, logs, `migrate-db`) goes through here."""
    scheme, sep, rest = url.partition("://")
    if sep:
        end = len(rest)
        for mark in "/?#":  # the authority ends at the first of these
            end = min(end, rest.find(mark) if mark in rest else end)
        authority, tail = rest[:end], rest[end:]
        if "@" in authority:
            user, host = authority.rsplit("@", 1)
            if ":" in user:
                authority = f"{user.split(':', 1)[0]}:***@{host}"
        url = f"{scheme}://{authority}{tail}"
    head, mark, query = url.partition("?")
    if not mark:
        return url
    query, hash_, fragment = query.partition("#")
    items = query.split("&")
    for n, item in enumerate(items):
        key, eq, _ = item.partition("=")
        if eq and unquote_plus(key).strip().lower() in _SECRET_PARAMS:  # `pass%77ord` too
            items[n] = f"{key}=***"
    return f"{head}?{'&'.join(items)}{hash_}{fragment}"


def check_database_url(raw: str, name: str) -> str:
    """A PostgreSQL URL, or a ConfigError naming the setting (`name`) that gave it."""
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ConfigError(f"{name}: not a valid URL (postgresql://user@host/db)") from None
    if parts.scheme not in ("postgresql", "postgres"):
        raise ConfigError(
            f"{name}: must start with postgresql:// "
            f"(got {parts.scheme + '://' if parts.scheme else 'no scheme'})"
        )
    if not parts.path.strip("/") and "dbname=" not in parts.query:
        raise ConfigError(f"{name}: names no database (postgresql://user@host/db)")
    return raw


def _one_of(
    env: Mapping[str, str],
    name: str,
    default: str,
    allowed: Sequence[str],
    spelled: Callable[[str], str],
) -> str:
    """A setting from a fixed list, in its canonical case."""
    value = spelled(env.get(name, default))
    if value not in allowed:
        raise ConfigError(f"{name}: must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _optional_int(env: Mapping[str, str], name: str, *, minimum: int) -> int | None:
    raw = env.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name}: must be at least {minimum}, got {value}")
    return value


def _alerts_per_hour(env: Mapping[str, str]) -> int:
    value = _optional_int(env, "ALERTS_PER_HOUR", minimum=1)
    if value is None:
        return DEFAULT_ALERTS_PER_HOUR
    if value > MAX_ALERTS_PER_HOUR:
        raise ConfigError(f"ALERTS_PER_HOUR: must be at most {MAX_ALERTS_PER_HOUR}, got {value}")
    return value


def _metrics_port(env: Mapping[str, str]) -> int | None:
    port = _optional_int(env, "METRICS_PORT", minimum=0)
    if port is not None and port > MAX_PORT:
        raise ConfigError(f"METRICS_PORT: must be at most {MAX_PORT}, got {port}")
    return port


def _id_list(env: Mapping[str, str], name: str, *, minimum: int) -> tuple[int, ...] | None:
    raw = env.get(name)
    if raw is None:
        return None
    ids: list[int] = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdecimal() or int(part) < minimum:  # isdigit() lets "²" through to int()
            raise ConfigError(f"{name}: {part!r} is not a valid id (comma-separated numbers)")
        ids.append(int(part))
    return tuple(dict.fromkeys(ids))


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}: must be a number of seconds, got {raw!r}") from None
    if not 0.1 <= value <= 86400:
        raise ConfigError(f"{name}: must be between 0.1 and 86400 seconds, got {raw}")
    return value


def _optional_bool(env: Mapping[str, str], name: str) -> bool | None:
    raw = env.get(name)
    if raw is None:
        return None
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}: must be 1 or 0, got {raw!r}")
