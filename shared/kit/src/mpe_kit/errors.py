"""Errors a use case raises for the caller to act on; the HTTP layer turns them into RFC 9457.

Pure Python so that domain code can raise them without knowing about HTTP.
"""

from __future__ import annotations

from typing import Any


class Problem(Exception):
    """An error with a status, a human detail, and optional field errors or extra members.

    `ko` is the detail in Korean, for a client whose `Accept-Language` prefers it
    (`mpe_kit.korean`); a field error may carry its own as `message_ko`.
    """

    status = 400

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        ko: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        if status is not None:
            self.status = status
        self.detail = detail
        self.detail_ko = ko
        self.errors = errors
        self.headers = headers
        self.extra = extra


class NotFound(Problem):
    """404: the resource does not exist."""

    status = 404


class Conflict(Problem):
    """409: a duplicate, an invalid transition, or a version mismatch."""

    status = 409


class Invalid(Problem):
    """422: well-formed input that is not acceptable."""

    status = 422

    @classmethod
    def field(cls, field: str, message: str, *, ko: str | None = None) -> Invalid:
        """A 422 about one field; `ko`, the message in Korean."""
        error: dict[str, Any] = {"field": field, "message": message}
        if ko is not None:
            error["message_ko"] = ko
        return cls(f"{field}: {message}", errors=[error], ko=None if ko is None else f"{field}: {ko}")
