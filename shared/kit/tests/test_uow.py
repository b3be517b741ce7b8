"""The unit of work's contract, on the in-memory one: events leave with the commit, and only then."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mpe_devstack.memory import InMemoryUnitOfWork
from mpe_events import catalog as ev
from mpe_events.registry import INDUSTRY_CREATED
from mpe_kit.outbox import PendingEvent
from mpe_kit.writes import WRITE_TOKEN_HEADER, WriteRecorder, WriteTokenHeader, Written, decode, recorder_of

pytestmark = pytest.mark.unit


def created(code: str) -> PendingEvent:
    return PendingEvent(
        INDUSTRY_CREATED, code, ev.IndustryV1(code=code, name_en=code, name_ko=code, version=1)
    )


async def test_a_commit_publishes_the_events_and_notes_the_write() -> None:
    writes = WriteRecorder()
    uow = InMemoryUnitOfWork(source="/mpe/catalog", writes=writes)
    async with uow:
        uow.add(created("SEMI"), created("DISP"))
        assert uow.published == []
    assert [e.subject for e in uow.published] == ["SEMI", "DISP"]
    token = writes.token()
    assert token is not None
    assert decode(token) == [Written("/mpe/catalog", 1, 2)]


async def test_an_error_rolls_back_the_tables_and_publishes_nothing() -> None:
    writes = WriteRecorder()
    uow = InMemoryUnitOfWork({"industries": ["SEMI"]}, writes=writes)

    async def refused() -> None:
        async with uow:
            uow.tables["industries"].append("DISP")
            uow.add(created("DISP"))
            raise LookupError("refused")

    with pytest.raises(LookupError):
        await refused()
    assert uow.tables == {"industries": ["SEMI"]}
    assert uow.published == []
    assert (uow.commits, uow.rollbacks) == (0, 1)
    assert writes.token() is None


async def test_a_failed_savepoint_drops_only_its_own_events() -> None:
    uow = InMemoryUnitOfWork({"rows": []})

    async def refused_inside() -> None:
        async with uow.savepoint():
            uow.tables["rows"].append("DISP")
            uow.add(created("DISP"))
            raise ValueError("inner")

    async with uow:
        uow.add(created("SEMI"))
        with pytest.raises(ValueError, match="inner"):
            await refused_inside()
        uow.tables["rows"].append("AUTO")
    assert [e.subject for e in uow.published] == ["SEMI"]
    assert uow.tables == {"rows": ["AUTO"]}


async def test_a_write_without_events_commits_and_notes_nothing() -> None:
    writes = WriteRecorder()
    uow = InMemoryUnitOfWork(writes=writes)
    async with uow:
        uow.tables["seen"] = True
    assert (uow.commits, uow.tables) == (1, {"seen": True})
    assert writes.token() is None


async def test_one_unit_may_run_again_but_never_inside_itself() -> None:
    writes = WriteRecorder()
    uow = InMemoryUnitOfWork(source="/mpe/firms", writes=writes)
    async with uow:
        uow.add(created("SEMI"))
        with pytest.raises(RuntimeError, match="re-entrant"):
            async with uow:
                pass
    async with uow:
        uow.add(created("DISP"))
    with pytest.raises(RuntimeError, match="inside"):
        uow.add(created("AUTO"))
    token = writes.token()
    assert token is not None
    assert decode(token) == [Written("/mpe/firms", 1, 1), Written("/mpe/firms", 2, 1)]


def app_writing(status: int) -> Starlette:
    """A route that commits one event through a unit of work noting into the request's recorder."""

    async def write(request: Request) -> JSONResponse:
        uow = InMemoryUnitOfWork(source="/mpe/catalog", writes=recorder_of(request.scope))
        async with uow:
            uow.add(created("SEMI"))
        return JSONResponse({}, status_code=status)

    app = Starlette(routes=[Route("/write", write, methods=["POST"])])
    app.add_middleware(WriteTokenHeader)
    return app


async def test_the_middleware_answers_a_successful_write_with_its_token() -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app_writing(201)), base_url="http://t"
    ) as client:
        r = await client.post("/write")
    assert r.status_code == 201
    assert decode(r.headers[WRITE_TOKEN_HEADER]) == [Written("/mpe/catalog", 1, 1)]


async def test_a_failed_answer_carries_no_token() -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app_writing(409)), base_url="http://t"
    ) as client:
        r = await client.post("/write")
    assert r.status_code == 409
    assert WRITE_TOKEN_HEADER not in r.headers
