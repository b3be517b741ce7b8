"""Query parameters a route does not take are refused, each named, rather than passed over.

A misspelt filter (`program=` for `program_code=`, `asOf=` for `as_of=`) used to be ignored, and
the list came back unfiltered: a client could total or act on rows it never asked for. The
services' routes now answer 422 naming each unknown parameter, pointing a camelCase one to its
snake_case form when the route takes that. The gateway's exports use the same words.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from mpe_kit.errors import Invalid

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def unknown_parameters(
    given: Sequence[str], known: Collection[str], *, of: str = "this route", of_ko: str = "이 경로"
) -> list[dict[str, str]]:
    """The query parameters not in `known`, each as a problem's field error; a name written in
    camelCase, as GraphQL writes it (`fiscalYear`), is pointed to its snake_case form."""
    errors = []
    for name in sorted(set(given) - set(known)):
        snake = _CAMEL.sub("_", name).lower()
        meant = snake != name and snake in known
        hint = f"; did you mean {snake}?" if meant else ""
        hint_ko = f" {snake}을(를) 의도하셨습니까?" if meant else ""
        errors.append(
            {
                "field": name,
                "message": f"is not a parameter of {of}{hint}",
                "message_ko": f"{of_ko}의 매개변수가 아닙니다.{hint_ko}",
            }
        )
    return errors


# Where a route keeps the names, worked out on its first request (routes are not hashable).
_KNOWN = "_mpe_query_names"


def _query_names(dependant: Dependant) -> set[str]:
    """The query parameters a route's dependant and its sub-dependencies declare (a model's fields
    by their aliases, where a whole model is taken from the query)."""
    names: set[str] = set()
    for param in dependant.query_params:
        model = param.field_info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            names |= {f.alias or n for n, f in model.model_fields.items()}
        else:
            names.add(param.alias)
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _known(route: APIRoute) -> frozenset[str]:
    known: frozenset[str] | None = getattr(route, _KNOWN, None)
    if known is None:
        known = frozenset(_query_names(route.dependant))
        setattr(route, _KNOWN, known)
    return known


async def refuse_unknown_query(request: Request) -> None:
    """A dependency for a router: 422 for a query parameter its route does not take."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    known = _known(route)
    unknown = unknown_parameters(list(request.query_params), known)
    if unknown:
        names = ", ".join(e["field"] for e in unknown)
        takes = ", ".join(sorted(known)) or "none"
        takes_ko = ", ".join(sorted(known)) or "없음"
        raise Invalid(
            f"Unknown query parameters: {names}. This route takes: {takes}.",
            errors=unknown,
            ko=f"받지 않는 쿼리 매개변수입니다: {names}. 이 경로가 받는 매개변수: {takes_ko}.",
        )
