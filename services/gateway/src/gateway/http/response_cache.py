"""The response cache: whole answers by request and projection watermark.

It also shares an answer while it is being built: a request that finds no entry, while an
identical one (same key, same watermark) is already executing, waits for that one's answer
instead of executing the operation again (`Building`). Under writes the watermark moves every
projector batch and empties the cache, and identical reads then often arrive while the first of
them is still executing (the soak: 42 % of the misses, docs/measurements.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from dataclasses import dataclass

from gateway.http.prepared import LRU, Prepared

# Error codes of answers that depend on nothing but the request and the data: those may be cached.
DETERMINISTIC = frozenset({"FORBIDDEN", "BAD_USER_INPUT", "NOT_FOUND"})


@dataclass(frozen=True)
class Cached:
    """A whole answer: its body without `extensions`, and what the access log notes of it.

    An answer with errors has a second body with their messages in Korean (`body_ko`, for a
    request that prefers Korean; `korean_whole` when every message is), see `gateway.http.languages`.
    """

    body: bytes
    operation: str | None
    operation_type: str | None
    cost: int | None
    error_codes: tuple[str, ...]
    body_ko: bytes | None = None
    korean_whole: bool = False


class Building:
    """An answer one request is building at a watermark; identical requests there wait for it.

    The builder calls `done` once, whatever happened: with its answer if that may be shared (the
    rule of the cache: no error but deterministic ones), else with None. The waiting requests
    then ask `ResponseCache.building` again: one of them builds and the others wait for it
    (the endpoint does this once, then each executes on its own).
    """

    def __init__(self, cache: ResponseCache, slot: tuple[int, Hashable]) -> None:
        self._cache = cache
        self._slot = slot
        self._answer: asyncio.Future[Cached | None] = asyncio.get_running_loop().create_future()
        self.waiting = 0  # requests that came to wait for it

    async def wait(self) -> Cached | None:
        self.waiting += 1
        # Shielded: a waiting request that is cancelled must not cancel the answer for the others.
        answer = await asyncio.shield(self._answer)
        if answer is not None:
            self._cache.shared += 1
        return answer

    def done(self, answer: Cached | None) -> None:
        if self._cache._building.get(self._slot) is self:
            del self._cache._building[self._slot]
        if not self._answer.done():
            self._answer.set_result(answer)


class ResponseCache:
    """Whole answers by (document, operation, variables, scopes, watermark, day).

    Entries are only ever read at the watermark they were built at; when the watermark moves
    (a projected change), every older entry is dropped at once. An answer still being built is
    shared the same way: only with requests that asked at its watermark.
    """

    def __init__(self, size: int, max_entry_bytes: int) -> None:
        self._lru = LRU(size)
        self.max_entry_bytes = max_entry_bytes
        self.watermark = -1
        self.hits = 0
        self.misses = 0
        self.shared = 0
        self._building: dict[tuple[int, Hashable], Building] = {}

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
        size = len(value.body) + len(value.body_ko or b"")
        if watermark == self.watermark and size <= self.max_entry_bytes:
            self._lru.put(key, value)

    def building(self, watermark: int, key: Hashable) -> tuple[Building, bool]:
        """The answer being built for this request at this watermark, and whether this request builds it.

        Call it right after a miss of `get`, with no `await` between: then one identical request
        at a time is registered as building at a watermark, and the others find its `Building`.
        """
        slot = (watermark, key)
        found = self._building.get(slot)
        if found is not None:
            return found, False
        self._building[slot] = building = Building(self, slot)
        return building, True

    def under_way(self) -> list[Building]:
        """The answers being built now."""
        return list(self._building.values())

    def __len__(self) -> int:
        return len(self._lru)


def cacheable(prepared: Prepared, error_codes: tuple[str, ...]) -> bool:
    return not prepared.volatile and all(c in DETERMINISTIC for c in error_codes)
