"""How the soak's writers and probes talk HTTP: aiohttp, each answer read in full.

They use aiohttp, not httpx: they share the machine's two cores with the stack they load, and
httpx took about ten times aiohttp's CPU per request (1.3 against 0.1 ms, measured with 20
concurrent POSTs to a local server). With httpx the writers and probes took 12.4 % of the two
cores in a twenty-minute soak; with aiohttp they took 4.1 % (docs/measurements.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp


@dataclass(frozen=True)
class Answer:
    """An HTTP answer, read in full: its status, headers (case-insensitive) and body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


# A transport failure, a timeout or a body cut short: the request got no answer.
NO_ANSWER = (aiohttp.ClientError, TimeoutError)


async def send(
    session: aiohttp.ClientSession,
    path: str,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    *,
    method: str = "POST",
) -> Answer:
    """Send `body` as JSON (nothing when None) and read the whole answer."""
    async with session.request(method, path, json=body, headers=headers) as r:
        return Answer(r.status, r.headers, await r.read())


def retry_after_s(header: str | None) -> float:
    """Seconds a Retry-After header asks for: 1 when it is absent or not a number (an HTTP date)."""
    try:
        return min(max(float(header or "1"), 0.0), 10.0)
    except ValueError:
        return 1.0
