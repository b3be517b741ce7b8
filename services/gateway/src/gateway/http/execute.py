"""Execution, the last stage of /graphql: the compiled statement where it applies, else strawberry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import asyncpg
from fastapi import Request
from graphql import GraphQLError, get_operation_ast
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType as StrawberryOperationType

from gateway.http import limits
from gateway.http.access import query_timeout, request_record
from gateway.http.admission import (
    GraphQLRequest,
    RequestError,
)
from gateway.http.languages import in_korean
from gateway.http.prepared import Prepared
from gateway.http.response_cache import Cached
from gateway.partners.keys import Partner
from gateway.read.compiled import Declined, compile_operation
from gateway.read.schema import Context, schema
from gateway.settings import GatewaySettings
from gateway.state import state_of
from mpe_kit.db import statement_timed_out
from mpe_kit.logging import get_logger

log = get_logger("gateway.http")

# Fallback reasons of this stage, beside the compiler's own (`gateway.read.compiled`).
INVALID = "invalid"  # a document that does not parse or validate: strawberry reports it
LIMITS = "limits"  # over a limit: strawberry refuses it
REFUSED = "refused"  # Postgres refused the statement


def body_of(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def answer_of(
    data: bytes, errors: list[GraphQLError], name: str | None, operation_type: str | None, cost: int | None
) -> Cached:
    """The answer of `data` (its JSON) and its errors, in English and, where known, in Korean."""
    if not errors:
        return Cached(b'{"data":' + data + b"}", name, operation_type, cost, ())
    formatted = [e.formatted for e in errors]
    said, whole = in_korean(formatted, errors)
    head = b'{"data":' + data + b',"errors":'
    return Cached(
        head + body_of(formatted) + b"}",
        name,
        operation_type,
        cost,
        tuple(str((e.extensions or {}).get("code")) for e in errors),
        body_ko=head + body_of(said) + b"}",
        korean_whole=whole,
    )


async def execute(
    request: Request,
    settings: GatewaySettings,
    partner: Partner,
    query: str,
    req: GraphQLRequest,
    prepared: Prepared,
    measured: limits.Measure | None,
) -> Cached:
    context = Context(
        pool=request.app.state.pool,
        partner=partner,
        max_page=settings.max_page_size,
        document=prepared.document,
        validation=prepared.errors if prepared.document is not None else None,
        measured=measured,
    )
    context.request = request
    try:
        result = await schema.execute(
            query,
            variable_values=req.variables,
            context_value=context,
            operation_name=req.operation_name,
            allowed_operation_types={StrawberryOperationType.QUERY},
        )
    except CannotGetOperationTypeError as exc:
        if exc.operation_name is None:
            raise RequestError(
                "The document holds no operation to run.", "BAD_REQUEST", ko="문서에 실행할 연산이 없습니다."
            ) from exc
        raise RequestError(
            f"The document has no operation named {exc.operation_name!r}.",
            "BAD_REQUEST",
            ko=f"문서에 {exc.operation_name!r}(이)라는 연산이 없습니다.",
        ) from exc
    except InvalidOperationTypeError as exc:
        raise RequestError(
            "Only queries are answered over HTTP; subscriptions use the graphql-transport-ws"
            " protocol on this path.",
            "BAD_REQUEST",
            ko="HTTP로는 쿼리만 답합니다. 구독(subscription)은 이 경로의 graphql-transport-ws 프로토콜을 쓰십시오.",
        ) from exc
    record = request_record(request)
    return answer_of(
        body_of(result.data),
        list(result.errors or ()),
        record.operation if record else req.operation_name,
        record.operation_type if record else None,
        record.cost if record else None,
    )


def measure_operation(
    settings: GatewaySettings, prepared: Prepared, req: GraphQLRequest
) -> limits.Measure | None:
    """The operation's depth, aliases and cost, once per request (strawberry reuses it)."""
    if prepared.document is None or not prepared.valid:
        return None
    return prepared.measure(req.operation_name, req.variables, settings.max_page_size)


@dataclass(frozen=True)
class Fallback:
    """Why the compiled path left an operation to strawberry (None: the compiled path is off)."""

    reason: str | None


async def compiled(
    request: Request,
    settings: GatewaySettings,
    partner: Partner,
    prepared: Prepared,
    req: GraphQLRequest,
    found: limits.Measure | None,
) -> Cached | Fallback:
    """The answer of the one SQL statement the operation compiles to, or why strawberry must answer.

    Only a valid document within every limit is compiled: refusals and errors stay strawberry's.
    """
    if not settings.compiled_queries:
        return Fallback(None)
    if prepared.document is None or not prepared.valid:
        return Fallback(INVALID)
    if found is None or limits.check(found, state_of(request.app).limits) is not None:
        return Fallback(LIMITS)
    plan = compile_operation(
        prepared.compilable(req.operation_name),
        req.variables,
        scopes=partner.scopes,
        max_page=settings.max_page_size,
    )
    if isinstance(plan, Declined):
        return Fallback(plan.reason)
    operation = get_operation_ast(prepared.document, req.operation_name)
    name = operation.name.value if operation is not None and operation.name else None
    try:
        async with request.app.state.pool.acquire() as conn:
            data = await plan.run(conn)
    except asyncpg.PostgresError as exc:
        if statement_timed_out(exc):
            # Strawberry would only run into the same limit again.
            return answer_of(b"null", [query_timeout()], name, "query", found.cost)
        # What the statement refuses (a NUL in a search, say), strawberry reports as it always
        # does; logged, since a refusal strawberry then answers would be a compiler bug.
        log.warning("compiled statement refused; strawberry answers", operation=name, error=repr(exc))
        return Fallback(REFUSED)
    return Cached(b'{"data":' + data + b"}", name, "query", found.cost, ())
