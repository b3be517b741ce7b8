"""The catalog's use cases on an in-memory unit of work: no Postgres, events leave with the commit."""

from __future__ import annotations

from typing import Any

import pytest

from catalog import repository, schemas, service
from mpe_devstack.memory import InMemoryUnitOfWork
from mpe_events import registry
from mpe_kit.errors import Conflict
from mpe_kit.writes import WriteRecorder, Written, decode

pytestmark = pytest.mark.unit

SEMI = schemas.IndustryCreate(code="SEMI", name_en="Semiconductors", name_ko="반도체")


@pytest.fixture(autouse=True)
def industries_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one repository function these use cases need, over the unit of work's tables."""

    async def insert_industry(tables: dict[str, Any], *, code: str, name_en: str, name_ko: str) -> bool:
        rows = tables.setdefault("industries", {})
        if code in rows:
            return False
        rows[code] = {"name_en": name_en, "name_ko": name_ko}
        return True

    monkeypatch.setattr(repository, "insert_industry", insert_industry)


async def test_a_new_industry_is_stored_and_published_in_one_commit() -> None:
    writes = WriteRecorder()
    uow = InMemoryUnitOfWork(source=registry.source("catalog"), writes=writes)
    industry = await service.create_industry(uow, data=SEMI)
    assert industry.version == 1
    assert uow.tables == {"industries": {"SEMI": {"name_en": "Semiconductors", "name_ko": "반도체"}}}
    [event] = uow.published
    assert (event.event_type, event.subject) == (registry.INDUSTRY_CREATED, "SEMI")
    assert event.data.model_dump() == {
        "code": "SEMI",
        "name_en": "Semiconductors",
        "name_ko": "반도체",
        "version": 1,
    }
    token = writes.token()
    assert token is not None
    assert decode(token) == [Written("/mpe/catalog", 1, 1)]


async def test_a_taken_code_is_a_conflict_that_publishes_nothing() -> None:
    writes = WriteRecorder()
    uow = InMemoryUnitOfWork({"industries": {"SEMI": {"name_en": "old", "name_ko": "old"}}}, writes=writes)
    with pytest.raises(Conflict, match="SEMI already exists"):
        await service.create_industry(uow, data=SEMI)
    assert uow.tables == {"industries": {"SEMI": {"name_en": "old", "name_ko": "old"}}}
    assert (uow.published, uow.rollbacks) == ([], 1)
    assert writes.token() is None
