"""The language of a /graphql answer's errors: English, or Korean for a request that prefers it.

A request whose `Accept-Language` ranks Korean above English (`mpe_kit.korean.prefers_korean`,
as on the REST services) gets each error's `message` in Korean; `extensions.code`, the paths
and every other member stay as they are, and data is data. The Korean of an error comes from:
- the error itself: the gateway's own refusals carry it (`LocalizedError.ko`, `RequestError.ko`);
- its code: FORBIDDEN names its scope;
- graphql-core's and strawberry's fixed wordings (`gateway.http.korean`).
An error with none of these keeps its English message, and the answer then carries no
`Content-Language: ko`. A subscription's socket asks once, in its handshake's `Accept-Language`,
and each result it is sent has its errors said in that language (`said_in_korean`).

Both renderings of an answer with errors are made once, when it is executed, and kept together
(`Cached.body_ko`), so that the response cache and the shared answers serve either language.
An answer without errors has one body.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from graphql import GraphQLError

from gateway.http.korean import graphql_message_ko
from gateway.read.common import forbidden_ko
from mpe_kit.korean import prefers_korean


def korean_message(error: GraphQLError) -> str | None:
    """The Korean of an error's message, or None when it is not known."""
    cause: BaseException | None = error
    while isinstance(cause, GraphQLError):
        ko = getattr(cause, "ko", None)
        # A wrapper keeps the message of what it wraps; one that adds words of its own (a
        # coercion error around a scalar's refusal) is not said by the refusal's Korean alone.
        if isinstance(ko, str) and cause.message == error.message:
            return ko
        cause = cause.original_error
    extensions = error.extensions or {}
    scope = extensions.get("scope")
    if extensions.get("code") == "FORBIDDEN" and isinstance(scope, str):
        return forbidden_ko(scope)
    return graphql_message_ko(error.message)


def in_korean(
    formatted: Sequence[Mapping[str, Any]], errors: Sequence[GraphQLError]
) -> tuple[list[Mapping[str, Any]], bool]:
    """The formatted errors with their messages in Korean where known, and whether all were."""
    said: list[Mapping[str, Any]] = []
    whole = True
    for shown, error in zip(formatted, errors, strict=True):
        ko = korean_message(error)
        if ko is None:
            whole = False
            said.append(shown)
        else:
            said.append({**shown, "message": ko})
    return said, whole


def said_in_korean(error: GraphQLError) -> GraphQLError:
    """The error with its message in Korean where known (for a socket: its answers are sent one by one)."""
    ko = korean_message(error)
    if ko is None:
        return error
    return GraphQLError(
        ko, error.nodes, error.source, error.positions, error.path, error.original_error, error.extensions
    )


def socket_prefers_korean(context: object) -> bool:
    """Whether the WebSocket behind a subscription's context asked for Korean in its handshake."""
    headers = getattr(getattr(context, "request", None), "headers", None)
    return headers is not None and prefers_korean(headers.get("accept-language"))


def content_headers(base: dict[str, str], korean_whole: bool) -> dict[str, str]:
    """An answer's headers: `Content-Language: ko` when every message read by people is Korean."""
    return {**base, "Content-Language": "ko"} if korean_whole else base
