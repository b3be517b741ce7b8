"""`GET /export/spending.csv?group_by=industry,fiscal_year`: the `spending` rollup for spreadsheets.

The same rows as the GraphQL field (one statement of `gateway.store.spending`), the same scope
(budget:read) and the same checks. UTF-8 with a byte order mark, so that a spreadsheet opens the
Korean names right; Korean headers (docs/partner-guide.md lists them with their GraphQL names).
Values are as GraphQL gives them: enums by name, won as whole digits, a missing value empty.
A rollup has at most a few thousand rows, so the file is built whole rather than streamed.
"""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import asyncpg
from fastapi import APIRouter, Request
from graphql import GraphQLError
from starlette.responses import Response

from gateway import store
from gateway.http.export_access import Transfer, admit, observe, outcome
from gateway.http.export_formats import BOM, spreadsheet_safe, unknown_parameters
from gateway.read.budget.model import BUDGET_READ, ProgramKind, ProjectKind
from gateway.read.budget.spending import SpendingDimension, asked
from gateway.read.firms.model import FIRMS_READ, FirmSize
from mpe_kit.db import statement_timed_out
from mpe_kit.errors import Problem

PATH = "/export/spending.csv"

# Per dimension, its columns: (header, rollup column, how the value is written).
_AS_IS = None
COLUMNS: dict[str, tuple[tuple[str, str, Any], ...]] = {
    "fiscal_year": (("회계연도", "fiscal_year", _AS_IS),),
    "industry": (
        ("산업코드", "industry_code", _AS_IS),
        ("산업명", "industry_name_ko", _AS_IS),
        ("산업명(영문)", "industry_name_en", _AS_IS),
    ),
    "program": (("사업코드", "program_code", _AS_IS),),
    "program_kind": (("사업유형", "program_kind", ProgramKind),),
    "track": (("트랙", "track", _AS_IS),),
    "project_kind": (("과제구분", "project_kind", ProjectKind),),
    "region": (("지역", "region", _AS_IS),),
    "firm_size": (("기업규모", "firm_size", FirmSize),),
    "partner_country": (("협력국", "partner_country", _AS_IS),),
    "paid_month": (("지급월", "paid_month", _AS_IS),),
}
MEASURES = (
    ("약정액(원)", "committed_krw"),
    ("지급액(원)", "disbursed_krw"),
    ("정부출연금(원)", "government_krw"),
    ("민간현금(원)", "private_cash_krw"),
    ("민간현물(원)", "private_in_kind_krw"),
    ("과제수", "project_count"),
    ("중복집계", "overlaps"),
)
# The filters, by query parameter: the GraphQL filter field, and the enum its value names.
FILTERS: dict[str, tuple[str, Any]] = {
    "fiscal_year": ("fiscalYear", int),
    "industry": ("industry", str),
    "program": ("program", str),
    "program_kind": ("programKind", ProgramKind),
    "track": ("track", str),
    "project_kind": ("projectKind", ProjectKind),
    "region": ("region", str),
    "firm_size": ("firmSize", FirmSize),
    "partner_country": ("partnerCountry", str),
    "paid_month": ("paidMonth", str),
    "technology": ("technology", str),
    "firm": ("firm", str),
}


# The rollup's checks name the arguments as GraphQL does (`paidMonth`, and `brn` for the firm);
# the export's answer names the parameter the partner sent.
_ARGUMENTS = {**{name: param for param, (name, _) in FILTERS.items()}, "brn": "firm"}


def _invalid(message: str, ko: str | None, *, field: str | None = None, **extra: Any) -> Problem:
    if field is not None:
        error = {"field": field, "message": message} | ({"message_ko": ko} if ko is not None else {})
        extra.setdefault("errors", [error])
    return Problem(message, status=422, ko=ko, **extra)


def _in_export_words(exc: GraphQLError) -> Problem:
    """A refusal of the rollup, naming the export's parameter where GraphQL named its argument."""
    message, ko = exc.message, getattr(exc, "ko", None)
    for argument, param in _ARGUMENTS.items():
        if f"`{argument}`" in message:
            message = message.replace(f"`{argument}`", f"`{param}`")
            ko = ko.replace(f"`{argument}`", f"`{param}`") if ko is not None else None
            return _invalid(message, ko, field=param)
    return _invalid(message, ko)


def _group_by(value: str | None) -> list[SpendingDimension]:
    names = [n.strip() for n in (value or "").split(",") if n.strip()]
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise _invalid(
            f"group_by: unknown dimension {', '.join(unknown)}; the dimensions are {', '.join(COLUMNS)}.",
            f"group_by: 없는 차원 {', '.join(unknown)}. 차원은 {', '.join(COLUMNS)}입니다.",
            field="group_by",
            dimensions=list(COLUMNS),
        )
    return [SpendingDimension(n) for n in dict.fromkeys(names)]


def _filters(request: Request) -> dict[str, Any]:
    unknown = unknown_parameters(list(request.query_params), ["group_by", *FILTERS])
    if unknown:
        # Passed over, a misspelt filter would answer the totals of everything.
        raise _invalid(
            f"{', '.join(e['field'] for e in unknown)}: not a parameter of spending.csv; it takes"
            f" group_by and the filters {', '.join(FILTERS)}.",
            f"{', '.join(e['field'] for e in unknown)}: spending.csv의 매개변수가 아닙니다. 받는 것은"
            f" group_by와 필터 {', '.join(FILTERS)}입니다.",
            errors=unknown,
        )
    found: dict[str, Any] = {}
    for param, (name, kind) in FILTERS.items():
        raw = request.query_params.get(param)
        if raw is None:
            continue
        try:
            found[name] = kind[raw.upper()] if kind in (ProgramKind, ProjectKind, FirmSize) else kind(raw)
        except (KeyError, ValueError):
            allowed = (
                f"; one of {', '.join(e.name for e in kind)}" if kind is not int and kind is not str else ""
            )
            allowed_ko = (
                f" 다음 중 하나여야 합니다: {', '.join(e.name for e in kind)}."
                if kind is not int and kind is not str
                else ""
            )
            raise _invalid(
                f"{param}: {raw!r} is not valid{allowed}.",
                f"{param}: {raw!r}은(는) 올바르지 않습니다.{allowed_ko}",
                field=param,
            ) from None
    return found


def _cell(value: Any, enum: Any) -> Any:
    if value is None:
        return ""
    if enum is not None:
        return enum(value).name
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return spreadsheet_safe(value) if isinstance(value, str) else value


def to_csv(dimensions: list[SpendingDimension], rows: list[asyncpg.Record]) -> bytes:
    """The rows as CSV, with a BOM: the grouped dimensions' columns in the order asked, then the measures."""
    columns = [c for d in dimensions for c in COLUMNS[str(d.value)]]
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([h for h, _, _ in columns] + [h for h, _ in MEASURES])
    for r in rows:
        writer.writerow([_cell(r[c], e) for _, c, e in columns] + [_cell(r[c], None) for _, c in MEASURES])
    return out.getvalue().encode("utf-8")


async def export_spending(request: Request) -> Response:
    """The rollup as CSV, after the key, its rate and its scope are checked."""
    transfer = Transfer(entity="spending", started=time.perf_counter())
    try:
        partner = await admit(request, transfer)
        if BUDGET_READ not in partner.scopes:
            raise Problem(
                f"This key lacks the {BUDGET_READ} scope.",
                status=403,
                scope=BUDGET_READ,
                ko=f"이 키에는 {BUDGET_READ} 범위(scope)가 없습니다.",
            )
        dimensions = _group_by(request.query_params.get("group_by"))
        filters = _filters(request)
        if "firm" in filters and FIRMS_READ not in partner.scopes:
            # A firm's money tells which projects it leads: the firms' to tell, as leadFirm is.
            raise Problem(
                f"The firm filter needs the {FIRMS_READ} scope.",
                status=403,
                scope=FIRMS_READ,
                ko=f"firm 필터에는 {FIRMS_READ} 범위(scope)가 필요합니다.",
            )
        try:
            rollup = asked(dimensions, filters)
        except GraphQLError as exc:
            # The rollup's refusals, with their Korean (`LocalizedError`), in the export's names.
            raise _in_export_words(exc) from None
        async with request.app.state.pool.acquire() as conn:
            rows = await store.spending.spending(conn, rollup)
    except Problem as problem:
        transfer.status, transfer.outcome = problem.status, outcome(problem.status)
        observe(request, transfer)
        raise
    except asyncpg.QueryCanceledError as exc:
        if statement_timed_out(exc):
            # Answered 503 by the kit's DatabaseFailover; counted and logged here, as every export.
            transfer.status, transfer.outcome = 503, "timed_out"
            observe(request, transfer)
        raise
    transfer.rows = len(rows)
    observe(request, transfer)
    return Response(
        to_csv(dimensions, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="spending.csv"', "Cache-Control": "no-store"},
    )


def spending_export_router() -> APIRouter:
    """The route, for the app's router list: before /export/{filename}, which it would otherwise meet."""
    router = APIRouter()
    router.add_api_route(
        PATH,
        export_spending,
        methods=["GET"],
        response_class=Response,
        summary="The spending rollup as CSV (UTF-8 with BOM, Korean headers)",
        description=(
            "group_by: comma-separated dimensions ("
            + ", ".join(COLUMNS)
            + "); filters: "
            + ", ".join(FILTERS)
            + ". Needs budget:read."
        ),
    )
    return router
