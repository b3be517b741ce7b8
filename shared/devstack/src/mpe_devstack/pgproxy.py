"""A TCP proxy in front of Postgres that can lose a client's connection at its COMMIT, for tests.

What a lost connection during COMMIT leaves behind depends on where the loss fell, and a test
cannot time a real fault to that instant. This proxy can: armed, it watches what clients send
for the simple query `COMMIT;` (how asyncpg commits) and, for the first connection that sends
it, does one of these:

- `DELIVER`: pass the COMMIT on, then close the client's side. The server commits and its
  answer never arrives: the client saw its connection lost, yet the transaction committed.
- `DROP`: keep the COMMIT back and close both sides. The server sees its client gone in the
  middle of a transaction and rolls it back.
- `HOLD`: keep the COMMIT back and close the client's side only. The server still waits for
  the client, its transaction `in progress`, until `release()` closes that side too.

Connections made after the fault pass through untouched. The client must not use TLS
(`sslmode=disable`, which `dsn` adds): the proxy reads the protocol in the clear.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

# asyncpg's `Transaction.commit()`: a simple-query message ('Q', length 12, "COMMIT;\0").
_COMMIT = b"Q\x00\x00\x00\x0cCOMMIT;\x00"


class Fault(enum.Enum):
    DELIVER = "deliver"
    DROP = "drop"
    HOLD = "hold"


class CommitProxy:
    """Relays connections to one Postgres; `arm(fault)` applies the fault at the next COMMIT."""

    def __init__(self, dsn: str) -> None:
        parts = urlsplit(dsn)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self._parts = parts
        self._fault: Fault | None = None
        self.struck = asyncio.Event()
        self._held: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    @property
    def dsn(self) -> str:
        """The DSN that reaches the database through the proxy, in the clear."""
        assert self._server is not None, "the proxy is not listening"
        port = self._server.sockets[0].getsockname()[1]
        netloc = self._parts.netloc.rsplit("@", 1)
        host = f"127.0.0.1:{port}"
        netloc_new = f"{netloc[0]}@{host}" if len(netloc) == 2 else host
        query = "&".join(q for q in (self._parts.query, "sslmode=disable") if q)
        return urlunsplit(self._parts._replace(netloc=netloc_new, query=query))

    def arm(self, fault: Fault) -> None:
        """Apply `fault` to the next COMMIT any connection sends (once)."""
        self._fault = fault
        self.struck.clear()

    def release(self) -> None:
        """Close the server's side of a `HOLD`: the server then rolls the transaction back."""
        for writer in self._held:
            writer.close()
        self._held.clear()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        self.release()
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*self._target)
        except OSError:
            client_w.close()
            return
        self._writers.update((client_w, server_w))
        upstream = asyncio.create_task(self._client_to_server(client_r, client_w, server_w))
        downstream = asyncio.create_task(self._pump(server_r, client_w))
        self._tasks.update((upstream, downstream))
        for task in (upstream, downstream):
            task.add_done_callback(self._tasks.discard)

    async def _client_to_server(
        self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter, server_w: asyncio.StreamWriter
    ) -> None:
        tail = b""
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while chunk := await client_r.read(65536):
                seen = tail + chunk
                at = seen.find(_COMMIT) if self._fault is not None else -1
                if at < 0:
                    server_w.write(chunk)
                    await server_w.drain()
                    tail = seen[-(len(_COMMIT) - 1) :]
                    continue
                fault, self._fault = self._fault, None
                # What came before the COMMIT in this read reaches the server either way.
                before = seen[len(tail) : at + (len(_COMMIT) if fault is Fault.DELIVER else 0)]
                server_w.write(before)
                await server_w.drain()
                client_w.close()
                if fault is Fault.DROP:
                    server_w.close()
                elif fault is Fault.HOLD:
                    self._held.append(server_w)
                # DELIVER: the server's side stays open; its answer is read and dropped.
                self.struck.set()
                return
        server_w.close()

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while chunk := await reader.read(65536):
                if writer.is_closing():
                    continue
                writer.write(chunk)
                await writer.drain()
        writer.close()


@asynccontextmanager
async def commit_proxy(dsn: str) -> AsyncIterator[CommitProxy]:
    """A listening `CommitProxy` in front of the database `dsn` names."""
    proxy = CommitProxy(dsn)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()
