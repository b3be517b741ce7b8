"""The OpenAPI document says what the service answers: every error status, as problem+json.

FastAPI documents a route's success and, where it validates input, a 422 in its own JSON
shape. The services answer every error as RFC 9457 problem+json (mpe_kit.problems), and more
statuses than that. This module adds them to every operation, from what the route is:

- every route: 414 (URL too long) and 503 (database connection lost, or the instance already
  working on its most requests at once: mpe_kit.inflight; with Retry-After);
- a route that takes a staff token (it names the bearer scheme): 401 and 403;
- a route with a body: 400 (not JSON), 413 (too large), 422;
- a route with parameters: 422; with path parameters: 404;
- a write (POST, PUT, PATCH, DELETE): 409 (a conflict, an invalid transition, a stale version);
- a route that reads If-Match: 412 (stale or foreign ETag) and 428 (If-Match missing).

So generated clients and schema-driven fuzzers agree with what the service does. A 405's
`Allow` header is taken from the same document.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mpe_kit.problems import PROBLEM_JSON, TITLES

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": (
        "An RFC 9457 problem; 4xx answers about input name each field in `errors`. A request whose"
        " `Accept-Language` ranks Korean above English (`ko`) gets `title`, `detail` and each"
        " `message` in Korean, with `Content-Language: ko`; the other members do not change."
    ),
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {
                        "type": "string",
                        "description": "The field in the body, or the parameter, that was refused:"
                        " list items counted from 0 in brackets (participants[0].brn, limit);"
                        " 'body' for a body that is not JSON or not an object.",
                    },
                    "message": {
                        "type": "string",
                        "description": "Why, in Korean when Accept-Language prefers it, else English.",
                    },
                    "type": {
                        "type": "string",
                        "description": "pydantic's kind of refusal, for a format check.",
                    },
                },
            },
        },
    },
    # Some problems carry more: the limit passed, the allowed moves, a correlation id.
    "additionalProperties": True,
}
_RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}
}
_WRITES = frozenset({"post", "put", "patch", "delete"})


def _problem(status: int) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": TITLES.get(status, "Error"),
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if status == 503:
        answer["headers"] = _RETRY_AFTER
    return answer


def statuses(method: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses an operation can answer (see the module's docstring)."""
    found = {414, 503}
    params = operation.get("parameters", [])
    if operation.get("security"):
        found |= {401, 403}
    if "requestBody" in operation:
        found |= {400, 413, 422}
    if params:
        found.add(422)
    if any(p["in"] == "path" for p in params):
        found.add(404)
    if method in _WRITES:
        found.add(409)
    if any(p["in"] == "header" and p["name"].lower() == "if-match" for p in params):
        found |= {412, 428}
    return found


def document(schema: dict[str, Any]) -> None:
    """Add the problem answers of every operation to an OpenAPI document built by FastAPI."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            for param in operation.get("parameters", []):
                if param["in"] == "header" and param["name"].lower() == "if-match":
                    # Optional to the parser, so that its absence is a 428 and not a 422.
                    param["required"] = True
                    param["schema"] = {"type": "string", "description": "An ETag of this API, or *."}
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses(method, operation)):
                # A route's own description of a status stands (readiness answers 503 in
                # its own shape); FastAPI's 422 is replaced, it is not what is sent.
                if str(status) not in responses or status == 422:
                    responses[str(status)] = _problem(status)


def install(app: FastAPI) -> None:
    """Make the app's OpenAPI document list its problem answers."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document(build())
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(AllowFromDocument, document_of=openapi)


class AllowFromDocument:
    """ASGI middleware: a 405 lists in `Allow` every method the document gives the path.

    The router answers 405 from the first route whose path matches, so a path with GET and POST
    routes would say `Allow: POST` to a PUT; the document knows them all.
    """

    def __init__(self, app: ASGIApp, *, document_of: Callable[[], dict[str, Any]]) -> None:
        self.app = app
        self._document_of = document_of
        self._patterns: list[tuple[re.Pattern[str], str]] | None = None

    def allowed(self, path: str) -> str:
        """The methods of the document's paths matching `path`, as an Allow value."""
        if self._patterns is None:
            self._patterns = [
                (
                    re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"),
                    method.upper(),
                )
                for template, operations in self._document_of().get("paths", {}).items()
                for method in operations
            ]
        return ", ".join(sorted({m for pattern, m in self._patterns if pattern.match(path)}))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                allow = self.allowed(scope["path"])
                if allow:
                    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                    message = {**message, "headers": [*headers, (b"allow", allow.encode())]}
            await send(message)

        await self.app(scope, receive, send_with_allow)
