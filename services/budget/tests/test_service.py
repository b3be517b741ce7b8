"""The budget's use cases on an in-memory unit of work: no Postgres, events leave with the commit."""

from __future__ import annotations

from typing import Any

import pytest

from budget import repository, schemas, service
from mpe_devstack.memory import InMemoryUnitOfWork
from mpe_events import registry
from mpe_kit.errors import Conflict

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def years_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fiscal-year repository functions, over the unit of work's tables."""

    async def fiscal_year(
        tables: dict[str, Any], year: int, *, for_update: bool = False
    ) -> dict[str, Any] | None:
        row: dict[str, Any] | None = tables["years"].get(year)
        return row

    async def year_sums(tables: dict[str, Any], year: int) -> tuple[int, int, int]:
        return tables["programmed"].get(year, 0), 0, 0

    async def upsert_fiscal_year(tables: dict[str, Any], year: int, envelope: int) -> dict[str, Any]:
        old = tables["years"].get(year)
        row = {"year": year, "envelope_krw": envelope, "version": old["version"] + 1 if old else 1}
        tables["years"][year] = row
        return row

    for fn in (fiscal_year, year_sums, upsert_fiscal_year):
        monkeypatch.setattr(repository, fn.__name__, fn)


async def test_setting_an_envelope_publishes_the_year_at_its_new_version() -> None:
    uow = InMemoryUnitOfWork(
        {"years": {2023: {"year": 2023, "envelope_krw": 10, "version": 1}}, "programmed": {}}
    )
    year = await service.put_fiscal_year(
        uow, year=2023, data=schemas.FiscalYearPut(envelope_krw=937_560_000_000)
    )
    assert (year.envelope_krw, year.version) == (937_560_000_000, 2)
    [event] = uow.published
    assert (event.event_type, event.subject) == (registry.FISCAL_YEAR_SET, "2023")
    assert event.data.model_dump() == {"year": 2023, "envelope_krw": 937_560_000_000, "version": 2}


async def test_an_envelope_below_the_programs_is_refused_and_changes_nothing() -> None:
    tables = {"years": {2023: {"year": 2023, "envelope_krw": 500, "version": 3}}, "programmed": {2023: 400}}
    uow = InMemoryUnitOfWork(tables)
    with pytest.raises(Conflict, match="already hold 400 won"):
        await service.put_fiscal_year(uow, year=2023, data=schemas.FiscalYearPut(envelope_krw=399))
    assert uow.tables["years"][2023] == {"year": 2023, "envelope_krw": 500, "version": 3}
    assert (uow.published, uow.commits, uow.rollbacks) == ([], 0, 1)
