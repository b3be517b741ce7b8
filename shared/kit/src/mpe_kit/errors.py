"""Errors a use case raises for the caller to act on; the HTTP layer turns them into RFC 9457.

Pure Python so that domain code can raise them without knowing about HTTP.
"""

from __future__ import annotations

from typing import Any


class Problem(Exception):
    """An error with a status, a human detail, and optional field errors or extra members."""

    status = 400

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        if status is not None:
            self.status = status
        self.detail = detail
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
    def field(cls, field: str, message: str) -> Invalid:
        """A 422 about one field."""
        return cls(f"{field}: {message}", errors=[{"field": field, "message": message}])
