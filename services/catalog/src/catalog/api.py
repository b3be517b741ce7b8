"""The catalog's REST routes: parse, call the use case, return."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status

from catalog import repository, schemas, service
from mpe_kit.auth import Principal, require
from mpe_kit.db import Pool
from mpe_kit.http import request_pool, request_uow
from mpe_kit.pagination import Cursor
from mpe_kit.types import Day
from mpe_kit.uow import UnitOfWork

router = APIRouter(prefix="/v1")

PoolDep = Annotated[Pool, Depends(request_pool)]
UowDep = Annotated[UnitOfWork, Depends(request_uow)]
Viewer = Annotated[Principal, Depends(require("viewer"))]
Editor = Annotated[Principal, Depends(require("editor"))]
Limit = Annotated[int, Query(ge=1, le=200, description="Page size (at most 200).")]


def _clock(request: Request) -> service.Clock:
    clock: service.Clock = getattr(request.app.state, "clock", service.seoul_today)
    return clock


@router.post("/industries", status_code=status.HTTP_201_CREATED, tags=["industries"])
async def create_industry(body: schemas.IndustryCreate, uow: UowDep, _: Editor) -> schemas.IndustryRead:
    """Add an industry."""
    return await service.create_industry(uow, data=body)


@router.get("/industries", tags=["industries"])
async def list_industries(
    pool: PoolDep, _: Viewer, limit: Limit = 50, cursor: Cursor = None
) -> schemas.Page[schemas.IndustryRead]:
    """Industries, by code."""
    return await service.list_industries(pool, cursor=cursor, limit=limit)


@router.get("/industries/{code}", tags=["industries"])
async def get_industry(code: str, pool: PoolDep, _: Viewer) -> schemas.IndustryRead:
    """One industry."""
    return await service.get_industry(pool, code=code)


@router.post("/revisions", status_code=status.HTTP_201_CREATED, tags=["revisions"])
async def create_revision(body: schemas.RevisionCreate, uow: UowDep, who: Editor) -> schemas.RevisionRead:
    """Draft a revision of the technology list."""
    return await service.create_revision(uow, data=body, actor=who.sub)


@router.get("/revisions", tags=["revisions"])
async def list_revisions(
    pool: PoolDep,
    _: Viewer,
    status: Literal["draft", "published"] | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> schemas.Page[schemas.RevisionRead]:
    """Revisions, in creation order."""
    return await service.list_revisions(pool, status=status, cursor=cursor, limit=limit)


@router.get("/revisions/{revision_id}", tags=["revisions"])
async def get_revision(revision_id: uuid.UUID, pool: PoolDep, _: Viewer) -> schemas.RevisionRead:
    """One revision."""
    return await service.get_revision(pool, revision_id=revision_id)


@router.patch("/revisions/{revision_id}", tags=["revisions"])
async def update_revision(
    revision_id: uuid.UUID, body: schemas.RevisionUpdate, uow: UowDep, _: Editor
) -> schemas.RevisionRead:
    """Edit a draft."""
    return await service.update_revision(uow, revision_id=revision_id, data=body)


@router.delete("/revisions/{revision_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["revisions"])
async def delete_revision(revision_id: uuid.UUID, uow: UowDep, _: Editor) -> Response:
    """Delete a draft."""
    await service.delete_revision(uow, revision_id=revision_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/revisions/{revision_id}/publish", tags=["revisions"])
async def publish_revision(
    revision_id: uuid.UUID, request: Request, uow: UowDep, who: Editor
) -> schemas.RevisionRead:
    """Apply a draft's changes at its effective date, atomically."""
    return await service.publish_revision(uow, revision_id=revision_id, actor=who.sub, today=_clock(request))


@router.get("/technologies", tags=["technologies"])
async def list_technologies(
    pool: PoolDep,
    _: Viewer,
    industry: str | None = None,
    kind: Literal["material", "part", "equipment"] | None = None,
    status: Literal["listed", "retired"] | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, description="Text in either name.")] = None,
    as_of: Annotated[
        Day | None, Query(description="Only technologies on the list that day (YYYY-MM-DD).")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> schemas.Page[schemas.TechnologyRead]:
    """Technologies, by code."""
    filters = repository.TechnologyFilter(industry=industry, kind=kind, status=status, q=q, as_of=as_of)
    return await service.list_technologies(pool, filters=filters, cursor=cursor, limit=limit)


@router.get("/technologies/{code}", tags=["technologies"])
async def get_technology(code: str, pool: PoolDep, _: Viewer) -> schemas.TechnologyDetail:
    """One technology, with the revisions that touched it."""
    return await service.get_technology(pool, code=code)
