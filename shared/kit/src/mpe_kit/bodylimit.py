"""Limits on a request's size, enforced before any route reads it.

- URL: a path and query string longer than `max_url_bytes` is refused with 414;
- body: a declared Content-Length over the limit is refused with 413 at once, without reading
  the body; a body without one (chunked) is counted while it is read, and refused with 413
  as soon as it passes the limit, without reading the rest.

Both answers are problem+json. Each service sets its limits (the gateway takes a few hundred
KB of GraphQL; the REST services take more). The middleware is pure ASGI so that nothing
buffers the body before it counts it.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mpe_kit.korean import prefers_korean
from mpe_kit.problems import problem_response
from mpe_kit.settings import ServiceSettings

# Request heads up to this size reach the app, so that a long URL meets our 414 and not the
# HTTP parser's plain-text 400; past it the server itself refuses the request.
MAX_REQUEST_HEAD_BYTES = 1024 * 1024


class _BodyTooLarge(Exception):
    """The body passed its limit while the app read it."""


async def send_problem(
    send: Send,
    status: int,
    detail: str,
    instance: str,
    *,
    scope: Scope,
    ko: str,
    headers: list[tuple[bytes, bytes]] | None = None,
    **extra: Any,
) -> None:
    """Answer with a problem+json response straight from ASGI middleware; in Korean (`ko`) when
    the request's `Accept-Language` prefers Korean (`mpe_kit.korean`)."""
    response = problem_response(
        status,
        detail,
        instance=instance,
        headers={k.decode("latin-1"): v.decode("latin-1") for k, v in headers or ()},
        korean=prefers_korean(_header(scope, b"accept-language")),
        detail_ko=ko,
        **extra,
    )
    await send({"type": "http.response.start", "status": status, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


# The rest of a refused body is not read: the connection cannot carry another request.
_CLOSE = [(b"connection", b"close")]


class RequestLimits:
    """ASGI middleware: 414 past the URL limit, 413 past the body limit (see the module's docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_url_bytes: int,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_url_bytes = max_url_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        url_bytes = len(scope.get("raw_path") or path.encode()) + len(scope.get("query_string") or b"")
        if url_bytes > self.max_url_bytes:
            await send_problem(
                send,
                414,
                f"The URL has {url_bytes} bytes; the limit is {self.max_url_bytes}."
                " Send long input in the body (POST) instead.",
                path[:200],
                scope=scope,
                ko=f"URL이 {url_bytes}바이트로, 한도 {self.max_url_bytes}바이트를 넘습니다."
                " 긴 입력은 본문에 담아(POST) 보내십시오.",
                headers=_CLOSE,
                limit=self.max_url_bytes,
            )
            return
        limit = self.max_body_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._too_large(send, scope, limit, path)
            return
        received = 0
        exceeded = answered = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal answered
            # FastAPI turns what the body's reader raised into its own 400: ours replaces it.
            if exceeded:
                if not answered:
                    answered = True
                    await self._too_large(send, scope, limit, path)
                return
            if message["type"] == "http.response.start":
                answered = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not answered:
            await self._too_large(send, scope, limit, path)

    @staticmethod
    async def _too_large(send: Send, scope: Scope, limit: int, path: str) -> None:
        await send_problem(
            send,
            413,
            f"The request body is larger than {limit} bytes, the limit here.",
            path,
            scope=scope,
            ko=f"요청 본문이 한도({limit}바이트)보다 큽니다.",
            headers=_CLOSE,
            limit=limit,
        )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def install(app: FastAPI, settings: ServiceSettings) -> None:
    """Add the request limits of these settings to a FastAPI app."""
    app.add_middleware(
        RequestLimits, max_body_bytes=settings.max_body_bytes, max_url_bytes=settings.max_url_bytes
    )


def server_options(settings: ServiceSettings) -> dict[str, Any]:
    """uvicorn options that let a long URL reach the middleware (see MAX_REQUEST_HEAD_BYTES)."""
    if settings.http_parser == "h11":
        return {"http": "h11", "h11_max_incomplete_event_size": MAX_REQUEST_HEAD_BYTES}
    return {"http": "httptools"}
