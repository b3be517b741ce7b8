"""RFC 9457 problem details for every error a client can see; never a stack trace."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from mpe_kit import korean as korean_words
from mpe_kit.errors import Problem
from mpe_kit.logging import get_logger

log = get_logger("mpe.http")

PROBLEM_JSON = "application/problem+json"

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    414: "URI Too Long",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    428: "Precondition Required",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def problem_response(
    status: int,
    detail: str | None = None,
    *,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    korean: bool = False,
    detail_ko: str | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem+json response; in Korean (`korean`) where Korean words are known.

    In Korean the title is Korean, the detail is `detail_ko` when given, and each field error
    whose `message_ko` is given says that; `Content-Language: ko` is sent when nothing read by
    people is left in English.
    """
    title = (korean and korean_words.TITLES.get(status)) or TITLES.get(status, "Error")
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    english = not korean or status not in korean_words.TITLES
    if detail:
        if korean and detail_ko:
            detail = detail_ko
        else:
            english = True
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    errors = extra.pop("errors", None)
    if errors is not None:
        body["errors"] = [_in_language(e, korean) for e in errors]
        english = english or any(korean and "message_ko" not in e for e in errors)
    body.update({k: v for k, v in extra.items() if v is not None})
    out = dict(headers or {})
    out["Vary"] = ", ".join(v for v in (out.get("Vary"), "Accept-Language") if v)
    if not english:
        out["Content-Language"] = "ko"
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=out)


def _in_language(error: dict[str, Any], korean: bool) -> dict[str, Any]:
    out = {k: v for k, v in error.items() if k != "message_ko"}
    if korean and "message_ko" in error:
        out["message"] = error["message_ko"]
    return out


def wants_korean(request: Request) -> bool:
    """Whether the request's `Accept-Language` prefers Korean to English."""
    return korean_words.prefers_korean(request.headers.get("accept-language"))


def answer_to(problem: Problem, request: Request, *, instance: str | None = None) -> JSONResponse:
    """The problem+json answer to `problem`, in the language `request` asks for."""
    return problem_response(
        problem.status,
        problem.detail,
        instance=instance or request.url.path,
        headers=problem.headers,
        korean=wants_korean(request),
        detail_ko=problem.detail_ko,
        errors=problem.errors,
        **problem.extra,
    )


def unexpected(request: Request, *, instance: str | None = None) -> JSONResponse:
    """The 500 of an error nobody handled: logged here with a correlation id the answer quotes."""
    path = instance or request.url.path
    correlation_id = str(uuid.uuid4())
    log.exception("unhandled error", path=path, correlation_id=correlation_id)
    return problem_response(
        500,
        "An unexpected error occurred; quote the correlation id when reporting it.",
        instance=path,
        korean=wants_korean(request),
        detail_ko=korean_words.UNEXPECTED,
        correlation_id=correlation_id,
    )


# FastAPI's words for a body it could not decode (bytes that are not UTF-8, say EUC-KR).
_UNPARSED = "There was an error parsing the body"
# Starlette's details for a route or method that does not exist.
_HTTP_KO = {
    "Not Found": "그런 경로는 없습니다.",
    "Method Not Allowed": "이 경로는 그 메서드를 받지 않습니다.",
}


def _without_union_tags(loc: Sequence[Any], body: Any) -> list[Any]:
    """The location as the sender wrote it: pydantic names the member of a discriminated union
    it chose (`changes.0.add.technology`, where the input has `"op": "add"` and no `add` key).

    Walking the input along the location, a segment is such a tag when the object there has no
    key of that name and holds it as a value, and it is not the last segment (the last may name
    a missing field, which no input has)."""
    if not loc or loc[0] != "body":
        return list(loc)
    out: list[Any] = ["body"]
    node = body
    rest = list(loc[1:])
    for i, part in enumerate(rest):
        if (
            isinstance(node, dict)
            and isinstance(part, str)
            and part not in node
            and i + 1 < len(rest)
            and part in node.values()
        ):
            continue
        out.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return out


# pydantic writes a bound that is a day as its repr ("datetime.date(2000, 1, 1)"); people read
# 2000-01-01, as the Korean says it.
_DAY_REPR = re.compile(r"datetime\.date\((\d{1,4}), (\d{1,2}), (\d{1,2})\)")


def _readable(message: str) -> str:
    return _DAY_REPR.sub(lambda m: f"{int(m[1]):04d}-{int(m[2]):02d}-{int(m[3]):02d}", message)


# Where FastAPI says a value came from, ahead of its name in pydantic's location.
_SOURCES = frozenset({"body", "query", "path", "header", "cookie"})


def field_path(loc: Sequence[Any]) -> str:
    """A location as the services' own rules name a field: `participants[0].brn`, `limit`.

    pydantic's location starts with where the value came from (`body`, `query`) and counts list
    items as segments (`body.participants.0.brn`); the rules name the field in the body or the
    parameter alone. One style for both, so that a client can match either to its input. The
    body itself, when it is the field (not an object, say), stays `body`.
    """
    parts = list(loc[1:]) if len(loc) > 1 and loc[0] in _SOURCES else list(loc)
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f"{'.' if path else ''}{part}"
    return path


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = _without_union_tags(err.get("loc", ()), exc.body)
        if err.get("type") == "json_invalid" and len(loc) == 2 and loc[0] == "body":
            # FastAPI puts the character offset where a field would go ("body.11"): no field.
            message = f"The body is not valid JSON (UTF-8): {err.get('msg', '')}, at character {loc[1]}."
            ko = f"본문이 올바른 JSON(UTF-8)이 아닙니다(문자 위치 {loc[1]})."
            out.append({"field": "body", "message": message, "message_ko": ko, "type": "json_invalid"})
            continue
        error = {
            "field": field_path(loc),
            "message": _readable(err.get("msg", "")),
            "type": err.get("type", ""),
        }
        words = korean_words.field_message(err)
        if words is not None:
            error["message_ko"] = words
        out.append(error)
    return out


def install(app: FastAPI) -> None:
    """Make every error leave as problem+json."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return answer_to(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(
            422,
            "The request is not valid.",
            instance=request.url.path,
            korean=wants_korean(request),
            detail_ko=korean_words.INVALID_REQUEST,
            errors=_field_errors(exc),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = str(exc.detail)
        detail_ko = _HTTP_KO.get(detail)
        if exc.status_code == 400 and detail == _UNPARSED:
            detail = "The body could not be read: send JSON in UTF-8 (not EUC-KR or another encoding)."
            detail_ko = (
                "본문을 읽을 수 없습니다. JSON을 UTF-8로 보내십시오(EUC-KR 등 다른 인코딩은 안 됩니다)."
            )
        return problem_response(
            exc.status_code,
            detail,
            instance=request.url.path,
            headers=dict(exc.headers or {}),
            korean=wants_korean(request),
            detail_ko=detail_ko,
        )

    @app.exception_handler(asyncpg.CharacterNotInRepertoireError)
    @app.exception_handler(asyncpg.UntranslatableCharacterError)
    async def _unstorable(request: Request, exc: Exception) -> JSONResponse:
        # Postgres text cannot hold NUL (or bytes outside UTF-8); that is the client's input.
        return problem_response(
            422,
            "The request contains a character that cannot be stored, such as NUL.",
            instance=request.url.path,
            korean=wants_korean(request),
            detail_ko="요청에 저장할 수 없는 문자(NUL 등)가 있습니다.",
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return unexpected(request)
