"""A bare HTTP/1.1 client for tests that must control what goes on the wire.

httpx refuses URLs past 64 KiB and always sends the whole body; a limit's test needs a long
URL, a body sent in parts, and to know how much of it the server took before it answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import select
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Answer:
    """A response, and how many body bytes were sent before it arrived."""

    status: int
    headers: dict[str, str]
    body: bytes
    sent: int

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


async def exchange(
    port: int,
    head: str,
    parts: Iterable[bytes] = (),
    *,
    host: str = "127.0.0.1",
    timeout_s: float = 30,
) -> Answer:
    """Send a request head, then body parts until the server answers; read the answer."""
    return await asyncio.to_thread(_exchange, host, port, head.encode("latin-1"), list(parts), timeout_s)


def _exchange(host: str, port: int, head: bytes, parts: list[bytes], timeout_s: float) -> Answer:
    # Blocking sockets keep what arrived before a reset: a server that refuses a body closes
    # the connection with the rest unread, and the kernel then resets it.
    raw = b""
    sent = 0
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.sendall(head)
        for part in parts:
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(part)
            except ConnectionError:
                break
            sent += len(part)
        with contextlib.suppress(ConnectionError):
            while chunk := sock.recv(65536):
                raw += chunk
    head_bytes, _, body = raw.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = _unchunk(body)
    return Answer(int(lines[0].split()[1]), headers, body, sent)


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return out
