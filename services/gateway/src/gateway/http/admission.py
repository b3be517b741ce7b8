"""Admission, the first stage of /graphql: the key and its rate, the request's parts, persisted queries."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from gateway.http.access import request_record
from gateway.http.prepared import LRU
from gateway.partners.keys import Partner
from gateway.settings import GatewaySettings
from gateway.state import state_of
from mpe_kit.errors import Problem

JSON = "application/json"
_SHA256 = re.compile(r"[0-9a-f]{64}")


def unauthorized(detail: str, ko: str) -> Problem:
    return Problem(detail, status=401, ko=ko, headers={"WWW-Authenticate": 'ApiKey header="X-API-Key"'})


def rate_message(retry_after: int, settings: GatewaySettings) -> str:
    """What a key past its rate is told, over HTTP and on a socket alike."""
    return (
        f"This key may make {settings.rate_limit_per_s:g} requests a second, in bursts of up to"
        f" {settings.rate_limit_burst}; retry in {retry_after} s."
    )


def rate_message_ko(retry_after: int, settings: GatewaySettings) -> str:
    """`rate_message` in Korean."""
    return (
        f"이 키는 초당 {settings.rate_limit_per_s:g}건, 한 번에 최대 {settings.rate_limit_burst}건까지"
        f" 요청할 수 있습니다. {retry_after}초 뒤에 다시 시도하십시오."
    )


def rate_limited(retry_after: int, settings: GatewaySettings) -> Problem:
    """The 429 of a key past its rate."""
    return Problem(
        rate_message(retry_after, settings),
        ko=rate_message_ko(retry_after, settings),
        status=429,
        headers={"Retry-After": str(retry_after)},
        retry_after_s=retry_after,
    )


async def authenticate(request: Request, secret: str | None) -> Partner:
    """The partner behind a key; 401 without a valid one."""
    gate = state_of(request.app).gate
    if not secret:
        raise unauthorized(
            "Send your partner API key in the X-API-Key header.",
            "기관 API 키를 X-API-Key 헤더에 담아 보내십시오.",
        )
    partner = await gate.keys.authenticate(request.app.state.pool, secret)
    if partner is None:
        raise unauthorized(
            "The API key is not valid or has been revoked.", "API 키가 유효하지 않거나 폐기되었습니다."
        )
    return partner


def spend(request: Request, partner: Partner) -> None:
    """Spend one request of the partner's rate; 429 past it."""
    gate = state_of(request.app).gate
    retry_after = gate.rate.take(partner.key_id)
    if retry_after is not None:
        raise rate_limited(retry_after, request.app.state.settings)


async def admit(request: Request, secret: str | None) -> Partner:
    """The partner behind a key, noted in the access record, one request of its rate spent."""
    partner = await authenticate(request, secret)
    record = request_record(request)
    if record is not None:
        record.admit(partner)
    spend(request, partner)
    return partner


class RequestError(Exception):
    """A request the gateway cannot run: HTTP 400 with a GraphQL error body, its message in `ko` too."""

    def __init__(
        self, message: str, code: str, status: int = 400, *, ko: str | None, **extensions: Any
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.ko = ko
        self.extensions = extensions


@dataclass(frozen=True)
class GraphQLRequest:
    """The parts of a GraphQL-over-HTTP request."""

    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


def _from_mapping(data: Any) -> GraphQLRequest:
    if not isinstance(data, dict):
        raise RequestError(
            "The body must be a JSON object with `query`.",
            "BAD_REQUEST",
            ko="본문은 `query`가 있는 JSON 객체여야 합니다.",
        )
    query = data.get("query")
    variables = data.get("variables")
    operation_name = data.get("operationName")
    extensions = data.get("extensions")
    if query is not None and not isinstance(query, str):
        raise RequestError("`query` must be a string.", "BAD_REQUEST", ko="`query`는 문자열이어야 합니다.")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError(
            "`variables` must be an object.", "BAD_REQUEST", ko="`variables`는 객체여야 합니다."
        )
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestError(
            "`operationName` must be a string.", "BAD_REQUEST", ko="`operationName`은 문자열이어야 합니다."
        )
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestError(
            "`extensions` must be an object.", "BAD_REQUEST", ko="`extensions`는 객체여야 합니다."
        )
    return GraphQLRequest(query, variables or None, operation_name, extensions)


async def read_request(request: Request) -> GraphQLRequest:
    if request.method == "GET":
        params = request.query_params
        parsed: dict[str, Any] = {"query": params.get("query"), "operationName": params.get("operationName")}
        for name in ("variables", "extensions"):
            if name in params:
                try:
                    parsed[name] = json.loads(params[name])
                except ValueError as exc:
                    raise RequestError(
                        f"`{name}` is not JSON.", "BAD_REQUEST", ko=f"`{name}`이(가) JSON이 아닙니다."
                    ) from exc
                except RecursionError as exc:
                    raise RequestError(
                        f"`{name}` nests too deeply.", "BAD_REQUEST", ko=f"`{name}`의 중첩이 너무 깊습니다."
                    ) from exc
        return _from_mapping(parsed)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != JSON:
        raise RequestError(
            "Send the request as application/json.",
            "BAD_REQUEST",
            status=415,
            ko="요청은 application/json으로 보내십시오.",
        )
    try:
        data = json.loads(await request.body())
    except ValueError as exc:
        raise RequestError(
            "The body is not valid JSON.", "BAD_REQUEST", ko="본문이 올바른 JSON이 아닙니다."
        ) from exc
    except RecursionError as exc:
        # Python's parser gives up near a thousand levels of arrays or objects.
        raise RequestError(
            "The body's JSON nests too deeply.", "BAD_REQUEST", ko="본문 JSON의 중첩이 너무 깊습니다."
        ) from exc
    return _from_mapping(data)


# The longest query text the APQ cache remembers: a longer one is answered and not kept, so a
# client sends it whole again (as the protocol has it). Real queries are a few KB.
MAX_PERSISTED_CHARS = 50_000


def persisted(known_queries: LRU, req: GraphQLRequest) -> tuple[str, str | None]:
    """The query text, resolved through the APQ protocol, and the hash to remember it under once
    it has parsed and validated (None: nothing to remember). Remembered before that, a text that
    is no query at all would fill the cache."""
    apq = (req.extensions or {}).get("persistedQuery")
    if apq is None:
        if req.query is None:
            raise RequestError(
                "No GraphQL query found in the request.", "BAD_REQUEST", ko="요청에 GraphQL 쿼리가 없습니다."
            )
        return req.query, None
    if not isinstance(apq, dict) or apq.get("version") != 1:
        raise RequestError(
            "Only version 1 of persisted queries is supported.",
            "PERSISTED_QUERY_NOT_SUPPORTED",
            ko="persisted query는 버전 1만 지원합니다.",
        )
    digest = apq.get("sha256Hash")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        raise RequestError(
            "`sha256Hash` must be 64 lowercase hex digits.",
            "BAD_REQUEST",
            ko="`sha256Hash`는 소문자 16진수 64자리여야 합니다.",
        )
    if req.query is None:
        known: str | None = known_queries.get(digest)
        if known is None:
            # As the APQ protocol has it: 200, and the client sends the text with the hash once.
            # The message is the protocol's word, which clients match: English in every language.
            raise RequestError("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND", status=200, ko=None)
        return known, None
    if hashlib.sha256(req.query.encode()).hexdigest() != digest:
        raise RequestError(
            "The query's SHA-256 is not `sha256Hash`.",
            "PERSISTED_QUERY_HASH_MISMATCH",
            ko="쿼리의 SHA-256이 `sha256Hash`와 다릅니다.",
        )
    return req.query, digest if len(req.query) <= MAX_PERSISTED_CHARS else None
