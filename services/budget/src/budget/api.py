"""The budget service's REST routes: parse, call the use case, return."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse

from budget import projects, repository, schemas, service
from mpe_kit.auth import Principal, require
from mpe_kit.db import Pool
from mpe_kit.errors import Invalid
from mpe_kit.http import request_pool, request_uow
from mpe_kit.pagination import Cursor
from mpe_kit.problems import problem_response, wants_korean
from mpe_kit.readthrough import OwnerReader
from mpe_kit.uow import UnitOfWork
from mpe_replicas.technology import CatalogReader

router = APIRouter(prefix="/v1")

PoolDep = Annotated[Pool, Depends(request_pool)]
UowDep = Annotated[UnitOfWork, Depends(request_uow)]
Viewer = Annotated[Principal, Depends(require("viewer"))]
Editor = Annotated[Principal, Depends(require("editor"))]
Limit = Annotated[int, Query(ge=1, le=200, description="Page size (at most 200).")]
YearPath = Annotated[int, Path(ge=2000, le=2100)]


def _catalog(request: Request) -> CatalogReader:
    reader: CatalogReader = request.app.state.catalog_reader
    return reader


def _firms(request: Request) -> OwnerReader:
    reader: OwnerReader = request.app.state.firms_reader
    return reader


@router.put("/fiscal-years/{year}", tags=["fiscal years"])
async def put_fiscal_year(
    year: YearPath, body: schemas.FiscalYearPut, uow: UowDep, _: Editor
) -> schemas.FiscalYearRead:
    """Set a fiscal year's envelope (its appropriation)."""
    return await service.put_fiscal_year(uow, year=year, data=body)


@router.get("/fiscal-years/{year}", tags=["fiscal years"])
async def get_fiscal_year(year: YearPath, pool: PoolDep, _: Viewer) -> schemas.FiscalYearRead:
    """A fiscal year: envelope, programmed, committed and disbursed money."""
    return await service.get_fiscal_year(pool, year=year)


@router.post("/programs", status_code=status.HTTP_201_CREATED, tags=["programs"])
async def create_program(body: schemas.ProgramCreate, uow: UowDep, _: Editor) -> schemas.ProgramRead:
    """Add a program to a fiscal year."""
    return await service.create_program(uow, data=body)


@router.get("/programs", tags=["programs"])
async def list_programs(
    pool: PoolDep,
    _: Viewer,
    fiscal_year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> schemas.Page[schemas.ProgramRead]:
    """Programs, by code."""
    return await service.list_programs(pool, year=fiscal_year, cursor=cursor, limit=limit)


@router.get("/programs/{code}", tags=["programs"])
async def get_program(code: str, pool: PoolDep, _: Viewer) -> schemas.ProgramRead:
    """One program, with its commitments and alchemist themes."""
    return await service.get_program(pool, code=code)


@router.put("/programs/{code}/themes/{theme_code}", tags=["programs"])
async def put_theme(
    code: str,
    theme_code: Annotated[str, Path(pattern=r"^[A-Z0-9][A-Z0-9-]{0,47}$")],
    body: schemas.ThemePut,
    uow: UowDep,
    _: Editor,
) -> schemas.ProgramRead:
    """Create or replace an alchemist theme: teams per stage, never growing stage to stage."""
    return await service.put_theme(uow, code=code, theme_code=theme_code, data=body)


@router.post("/projects", status_code=status.HTTP_201_CREATED, tags=["projects"])
async def propose_project(
    body: schemas.ProjectCreate,
    uow: UowDep,
    _: Editor,
    catalog: Annotated[CatalogReader, Depends(_catalog)],
    firms: Annotated[OwnerReader, Depends(_firms)],
) -> schemas.ProjectRead:
    """Propose a project (it commits nothing until selected)."""
    return await projects.propose_project(uow, catalog, firms, data=body)


@router.get("/projects", tags=["projects"])
async def list_projects(
    pool: PoolDep,
    _: Viewer,
    program: str | None = None,
    technology: str | None = None,
    firm: str | None = None,
    status: schemas.ProjectStatus | None = None,
    fiscal_year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    participant: Annotated[
        str | None, Query(description="A firm's BRN: the projects whose consortium it is in, as lead or not.")
    ] = None,
    partner_country: Annotated[
        str | None,
        Query(
            pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2: the projects with a participant of it."
        ),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> schemas.Page[schemas.ProjectRead]:
    """Projects, by code."""
    brn = firm.replace("-", "") if firm else None
    filters = repository.ProjectFilter(
        program=program,
        technology=technology,
        firm=brn,
        status=status,
        fiscal_year=fiscal_year,
        participant=participant.replace("-", "") if participant else None,
        partner_country=partner_country,
    )
    return await projects.list_projects(pool, filters=filters, cursor=cursor, limit=limit)


@router.get("/projects/{code}", tags=["projects"])
async def get_project(code: str, pool: PoolDep, _: Viewer) -> schemas.ProjectRead:
    """One project with its money and history."""
    return await projects.get_project(pool, code=code)


@router.post("/projects/{code}/transitions", tags=["projects"])
async def transition_project(
    code: str, body: schemas.ProjectTransition, uow: UowDep, who: Editor
) -> schemas.ProjectRead:
    """Move a project; selecting commits its government money."""
    return await projects.transition_project(uow, code=code, data=body, actor=who.sub)


@router.post("/projects/{code}/disbursements", status_code=status.HTTP_201_CREATED, tags=["projects"])
async def disburse(
    code: str,
    body: schemas.DisbursementCreate,
    request: Request,
    uow: UowDep,
    who: Editor,
    idempotency_key: Annotated[
        str | None,
        Header(description="Required. Repeating a request with the same key returns the first answer."),
    ] = None,
) -> Response:
    """Pay a project once per Idempotency-Key."""
    if not idempotency_key or not (1 <= len(idempotency_key) <= 200) or "\x00" in idempotency_key:
        raise Invalid.field(
            "Idempotency-Key",
            "send a unique key of 1 to 200 characters with every disbursement",
            ko="지급 요청마다 1~200자의 고유한 키를 보내십시오",
        )
    code_, body_ = await projects.disburse(uow, code=code, data=body, key=idempotency_key, actor=who.sub)
    if code_ >= 400:
        detail = body_.pop("detail", None)
        detail_ko = body_.pop("detail_ko", None)  # absent from answers stored before it was kept
        return problem_response(
            code_,
            detail,
            instance=request.url.path,
            korean=wants_korean(request),
            detail_ko=detail_ko,
            **body_,
        )
    return JSONResponse(body_, status_code=code_)


@router.get("/projects/{code}/disbursements", tags=["projects"])
async def list_disbursements(
    code: str, pool: PoolDep, _: Viewer, limit: Limit = 50, cursor: Cursor = None
) -> schemas.Page[schemas.DisbursementRead]:
    """A project's payments, in the order they were recorded."""
    return await projects.list_disbursements(pool, code=code, cursor=cursor, limit=limit)
