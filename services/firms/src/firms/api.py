"""The firms service's REST routes: parse, call the use case, return."""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status

from firms import repository, schemas, service
from mpe_kit.auth import Principal, require
from mpe_kit.db import Pool
from mpe_kit.errors import Problem
from mpe_kit.http import request_pool, request_uow
from mpe_kit.pagination import Cursor
from mpe_kit.uow import UnitOfWork
from mpe_replicas.technology import CatalogReader

router = APIRouter(prefix="/v1")

PoolDep = Annotated[Pool, Depends(request_pool)]
UowDep = Annotated[UnitOfWork, Depends(request_uow)]
Viewer = Annotated[Principal, Depends(require("viewer"))]
Editor = Annotated[Principal, Depends(require("editor"))]
Limit = Annotated[int, Query(ge=1, le=200, description="Page size (at most 200).")]
_ETAG = re.compile(r'^(?:W/)?"(\d+)"$')


def _reader(request: Request) -> CatalogReader:
    reader: CatalogReader = request.app.state.catalog_reader
    return reader


ReaderDep = Annotated[CatalogReader, Depends(_reader)]


def _etag(version: int) -> str:
    return f'"{version}"'


@router.post("/firms", status_code=status.HTTP_201_CREATED, tags=["firms"])
async def register_firm(
    body: schemas.FirmCreate, response: Response, uow: UowDep, reader: ReaderDep, _: Editor
) -> schemas.FirmRead:
    """Register a firm."""
    firm = await service.register_firm(uow, reader, data=body)
    response.headers["ETag"] = _etag(firm.version)
    response.headers["Location"] = f"/v1/firms/{firm.brn}"
    return firm


@router.get("/firms", tags=["firms"])
async def list_firms(
    pool: PoolDep,
    _: Viewer,
    size: schemas.Size | None = None,
    region: str | None = None,
    technology: str | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, pattern=r"^[^\x00]*$")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> schemas.Page[schemas.FirmRead]:
    """Firms, by BRN."""
    filters = repository.FirmFilter(size=size, region=region, technology=technology, q=q)
    return await service.list_firms(pool, filters=filters, cursor=cursor, limit=limit)


@router.get("/firms/{brn}", tags=["firms"])
async def get_firm(brn: str, response: Response, pool: PoolDep, _: Viewer) -> schemas.FirmRead:
    """One firm; its ETag is its version."""
    firm = await service.get_firm(pool, brn=brn)
    response.headers["ETag"] = _etag(firm.version)
    return firm


@router.patch("/firms/{brn}", tags=["firms"])
async def patch_firm(
    brn: str,
    body: schemas.FirmPatch,
    response: Response,
    uow: UowDep,
    reader: ReaderDep,
    _: Editor,
    if_match: Annotated[str | None, Header(description="The ETag of the version you read.")] = None,
) -> schemas.FirmRead:
    """Change a firm; send If-Match with the ETag you read (412 if it is stale)."""
    if if_match is None:
        raise Problem(
            "Send If-Match with the firm's ETag, so that a concurrent change is not lost.",
            status=428,
            ko="동시에 일어난 변경을 잃지 않도록 기업의 ETag를 If-Match에 담아 보내십시오.",
        )
    wanted: int | None = None  # RFC 9110: `*` matches whatever version exists
    if if_match.strip() != "*":
        m = _ETAG.match(if_match.strip())
        if m is None:
            raise Problem(
                f"If-Match {if_match!r} is not an ETag of this API.",
                status=412,
                ko=f"If-Match {if_match!r}은(는) 이 API의 ETag가 아닙니다.",
            )
        wanted = int(m[1])
    firm = await service.patch_firm(uow, reader, brn=brn, data=body, if_match=wanted)
    response.headers["ETag"] = _etag(firm.version)
    return firm


@router.post("/firms/{brn}/confirmations", status_code=status.HTTP_201_CREATED, tags=["firms"])
async def add_confirmation(
    brn: str, body: schemas.ConfirmationCreate, uow: UowDep, reader: ReaderDep, _: Editor
) -> schemas.ConfirmationRead:
    """Record a key-strategic-technology confirmation the firm holds."""
    return await service.add_confirmation(uow, reader, brn=brn, data=body)


@router.get("/firms/{brn}/confirmations", tags=["firms"])
async def list_confirmations(
    brn: str, pool: PoolDep, _: Viewer, limit: Limit = 50, cursor: Cursor = None
) -> schemas.Page[schemas.ConfirmationRead]:
    """A firm's confirmations, in the order they were recorded."""
    return await service.list_confirmations(pool, brn=brn, cursor=cursor, limit=limit)


@router.post("/firms/{brn}/designations", status_code=status.HTTP_201_CREATED, tags=["designations"])
async def apply(
    brn: str, body: schemas.DesignationCreate, request: Request, uow: UowDep, reader: ReaderDep, who: Editor
) -> schemas.DesignationRead:
    """Apply for a designation (status applied)."""
    return await service.apply(
        uow, reader, brn=brn, data=body, actor=who.sub, today=service.clock_of(request.app.state)
    )


@router.get("/designations", tags=["designations"])
async def list_designations(
    pool: PoolDep,
    _: Viewer,
    kind: schemas.Kind | None = None,
    status: schemas.Status | None = None,
    cohort: Annotated[
        int | None, Query(ge=1, le=100, description="Cohort number, 1 to 100 as in an application.")
    ] = None,
    technology: str | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> schemas.Page[schemas.DesignationRead]:
    """Designations, in the order they were applied for."""
    filters = repository.DesignationFilter(kind=kind, status=status, cohort=cohort, technology=technology)
    return await service.list_designations(pool, filters=filters, cursor=cursor, limit=limit)


@router.get("/designations/{designation_id}", tags=["designations"])
async def get_designation(designation_id: uuid.UUID, pool: PoolDep, _: Viewer) -> schemas.DesignationRead:
    """One designation with its history."""
    return await service.get_designation(pool, designation_id=designation_id)


@router.post("/designations/{designation_id}/transitions", tags=["designations"])
async def transition(
    designation_id: uuid.UUID, body: schemas.TransitionCreate, request: Request, uow: UowDep, who: Editor
) -> schemas.DesignationRead:
    """Move a designation's status; the answer names the allowed moves when this one is not."""
    return await service.transition(
        uow,
        designation_id=designation_id,
        data=body,
        actor=who.sub,
        today=service.clock_of(request.app.state),
    )
