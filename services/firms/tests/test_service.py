"""The firms service's use cases on an in-memory unit of work: no Postgres, events leave with the commit."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from firms import domain, repository, schemas, service
from mpe_devstack.memory import InMemoryUnitOfWork
from mpe_events import registry
from mpe_kit.errors import Conflict
from mpe_kit.writes import WriteRecorder, Written, decode

pytestmark = pytest.mark.unit

BRN = "1234567891"
TODAY = date(2026, 3, 2)
ID = uuid.UUID(int=7)


def tables() -> dict[str, Any]:
    applied = domain.apply_for(
        id=ID,
        brn=BRN,
        kind="leading",
        cohort=5,
        technology_codes=["SEMI-001"],
        on=date(2026, 2, 2),
        actor="alice",
        at=datetime(2026, 2, 2, tzinfo=UTC),
    )
    return {"firms": {BRN: {"brn": BRN, "mpe_sales_ratio": 0.6}}, "designations": {ID: applied}}


@pytest.fixture(autouse=True)
def designations_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """The repository functions a transition needs, over the unit of work's tables."""

    async def get_designation(t: dict[str, Any], id: uuid.UUID, *, for_update: bool = False) -> Any:
        return t["designations"].get(id)

    async def get_firm(t: dict[str, Any], brn: str, *, for_update: bool = False) -> Any:
        return t["firms"].get(brn)

    async def update_designation(t: dict[str, Any], d: domain.Designation) -> None:
        t["designations"][d.id] = d

    for fn in (get_designation, get_firm, update_designation):
        monkeypatch.setattr(repository, fn.__name__, fn)


async def test_a_move_is_stored_and_published_with_its_commit() -> None:
    writes = WriteRecorder()
    uow = InMemoryUnitOfWork(tables(), source=registry.source("firms"), writes=writes)
    moved = await service.transition(
        uow,
        designation_id=ID,
        data=schemas.TransitionCreate(to="under_review"),
        actor="bob",
        today=lambda: TODAY,
    )
    assert moved.status == "under_review"
    assert uow.tables["designations"][ID].status == "under_review"
    [event] = uow.published
    assert (event.event_type, event.subject) == (registry.DESIGNATION_EVENTS["under_review"], str(ID))
    token = writes.token()
    assert token is not None
    assert decode(token) == [Written("/mpe/firms", 1, 1)]


async def test_a_move_the_lifecycle_forbids_is_a_conflict_that_publishes_nothing() -> None:
    writes = WriteRecorder()
    uow = InMemoryUnitOfWork(tables(), writes=writes)
    with pytest.raises(Conflict, match="applied"):
        await service.transition(
            uow,
            designation_id=ID,
            data=schemas.TransitionCreate(to="designated"),
            actor="bob",
            today=lambda: TODAY,
        )
    assert uow.tables["designations"][ID].status == "applied"
    assert (uow.published, uow.rollbacks) == ([], 1)
    assert writes.token() is None
