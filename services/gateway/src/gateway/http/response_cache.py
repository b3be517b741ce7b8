"""The response cache: whole answers by request and projection watermark."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from gateway.http.prepared import LRU, Prepared

# Error codes of answers that depend on nothing but the request and the data: those may be cached.
DETERMINISTIC = frozenset({"FORBIDDEN", "BAD_USER_INPUT", "NOT_FOUND"})


@dataclass(frozen=True)
class Cached:
    """A whole answer: its body without `extensions`, and what the access log notes of it."""

    body: bytes
    operation: str | None
    operation_type: str | None
    cost: int | None
    error_codes: tuple[str, ...]


class ResponseCache:
    """Whole answers by (document, operation, variables, scopes, watermark, day).

    Entries are only ever read at the watermark they were built at; when the watermark moves
    (a projected change), every older entry is dropped at once.
    """

    def __init__(self, size: int, max_entry_bytes: int) -> None:
        self._lru = LRU(size)
        self.max_entry_bytes = max_entry_bytes
        self.watermark = -1
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self._lru.size > 0

    def _at(self, watermark: int) -> None:
        if watermark != self.watermark:
            self._lru.clear()
            self.watermark = watermark

    def get(self, watermark: int, key: Hashable) -> Cached | None:
        self._at(watermark)
        found: Cached | None = self._lru.get(key)
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def put(self, watermark: int, key: Hashable, value: Cached) -> None:
        # An answer built before the watermark moved may mix states: never keep it.
        if watermark == self.watermark and len(value.body) <= self.max_entry_bytes:
            self._lru.put(key, value)

    def __len__(self) -> int:
        return len(self._lru)


def cacheable(prepared: Prepared, error_codes: tuple[str, ...]) -> bool:
    return not prepared.volatile and all(c in DETERMINISTIC for c in error_codes)
