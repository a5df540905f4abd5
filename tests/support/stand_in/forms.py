"""Discord's error answers: the JSON error body, the 429 body, and the nested ``errors``
object of a 400 "Invalid Form Body" (code 50035) that every body rule reports into."""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "FormErrors", "Path", "TooManyRequests", "check_url", "text"]

Path = tuple[str | int, ...]  # where in the body a field sits: ("embeds", 0, "title")


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

    def __init__(self, prefix: Path = ()) -> None:
        self.prefix = prefix
        self.tree: dict[str, Any] = {}

    def add(self, path: Path, code: str, message: str) -> None:
        node = self.tree
        for part in (*self.prefix, *path):
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def too_long(self, path: Path, limit: int) -> None:
        self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def bad_length(self, path: Path, low: int, high: int) -> None:
        self.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")

    def required(self, path: Path) -> None:
        self.add(path, "BASE_TYPE_REQUIRED", "This field is required")

    def raise_if_any(self) -> None:
        if self.tree:
            raise ApiError(400, 50035, "Invalid Form Body", self.tree)


def text(value: Any) -> str:
    """A body field as the text Discord measures (None counts as empty)."""
    return "" if value is None else str(value)


def check_url(errs: FormErrors, path: Path, url: Any, *, attachment: bool) -> None:
    """Only web URLs (and, where Discord takes an upload, ``attachment://``) are accepted."""
    schemes = ("http", "https", "attachment") if attachment else ("http", "https")
    scheme = text(url).split(":", 1)[0].lower() if ":" in text(url) else ""
    if scheme not in schemes:
        errs.add(
            path,
            "URL_TYPE_INVALID_URL",
            f'Scheme "{scheme}" is not supported. Scheme must be one of {schemes}.',
        )
