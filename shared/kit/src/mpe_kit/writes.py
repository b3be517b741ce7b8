"""Write tokens: what a client that just wrote shows a reader, to read its own writes.

Every event a use case commits carries its transaction's id (`Envelope.write`, set by the
outbox). The use case's unit of work notes each committed transaction in the request's
recorder, which the middleware below puts in the ASGI scope; a service answers a successful write with an `MPE-Write-Token` header listing, per
transaction, the event source, the transaction id and how many events it committed. A reader
(the gateway) waits until it has applied that many events of that transaction: one write that
changes dozens of aggregates is covered whole by one short token.

The token is opaque to clients: `v1.` then base64url of a JSON list of `[source, txid, count]`.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

WRITE_TOKEN_HEADER = "MPE-Write-Token"  # noqa: S105 - a header name, not a secret
_PREFIX = "v1."
# A token names a few transactions; anything longer is not one of ours.
MAX_TOKEN_LENGTH = 4096


class InvalidWriteToken(ValueError):
    """A write token this code did not make."""


@dataclass(frozen=True, order=True)
class Written:
    """The events one transaction of one source committed."""

    source: str
    txid: int
    count: int


class WriteRecorder:
    """Collects the transactions a request wrote events in."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}

    def add(self, source: str, txid: int, count: int) -> None:
        """Note `count` more events committed by one transaction."""
        key = (source, txid)
        self._counts[key] = self._counts.get(key, 0) + count

    def token(self) -> str | None:
        """The token for everything noted; None when nothing was written."""
        if not self._counts:
            return None
        return encode([Written(s, t, n) for (s, t), n in sorted(self._counts.items())])


# The request's recorder travels in the ASGI scope, where the unit of work's dependency finds it.
_SCOPE_KEY = "mpe.write_recorder"


def recorder_of(scope: Scope) -> WriteRecorder | None:
    """The recorder of the request this scope belongs to; None outside WriteTokenHeader."""
    recorder = scope.get(_SCOPE_KEY)
    return recorder if isinstance(recorder, WriteRecorder) else None


def encode(written: list[Written]) -> str:
    """The opaque token for these transactions."""
    raw = json.dumps([[w.source, w.txid, w.count] for w in written], separators=(",", ":"))
    return _PREFIX + base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(token: str) -> list[Written]:
    """The transactions a token names; InvalidWriteToken if it is not one."""
    token = token.strip()
    if len(token) > MAX_TOKEN_LENGTH or not token.startswith(_PREFIX):
        raise InvalidWriteToken("not a write token")
    body = token[len(_PREFIX) :]
    try:
        items = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (binascii.Error, ValueError, RecursionError) as exc:
        raise InvalidWriteToken("not a write token") from exc
    if not isinstance(items, list) or not items:
        raise InvalidWriteToken("not a write token")
    written = []
    for item in items:
        if not (
            isinstance(item, list)
            and len(item) == 3
            and isinstance(item[0], str)
            # A CloudEvents source as the services write it: no NUL, no half surrogate pair,
            # which the database would refuse (a 500) rather than not find.
            and 0 < len(item[0]) <= 200
            and item[0].isprintable()
            and all(type(n) is int and 0 < n < 2**63 for n in item[1:])
        ):
            raise InvalidWriteToken("not a write token")
        written.append(Written(item[0], item[1], item[2]))
    return written


class WriteTokenHeader:
    """ASGI middleware: a successful (2xx) response carries the token of the events its request wrote."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        recorder = WriteRecorder()
        scope[_SCOPE_KEY] = recorder

        async def send_with_token(message: Message) -> None:
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                token = recorder.token()
                if token is not None:
                    headers = list(message.get("headers", []))
                    headers.append((WRITE_TOKEN_HEADER.lower().encode(), token.encode()))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_token)
