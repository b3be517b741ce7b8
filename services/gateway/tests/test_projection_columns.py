"""The projection's upserts are written from the description: every column they write is a field
of the event they project (or a value the upsert computes), so a described column the event does
not carry fails here rather than in the projector."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from gateway.store import projection as p
from mpe_events import budget as bev
from mpe_events import catalog as ev
from mpe_events import firms as fev

pytestmark = pytest.mark.unit

UPSERTS: list[tuple[p.Upsert, type[BaseModel], set[str]]] = [
    (p.INDUSTRIES, ev.IndustryV1, set()),
    (p.TECHNOLOGIES, ev.TechnologyV1, set()),
    (p.REVISIONS, ev.RevisionV1, set()),
    (p.FIRMS, fev.FirmV1, set()),
    (p.DESIGNATIONS, fev.DesignationV1, {"ended_on"}),
    (p.FISCAL_YEARS, bev.FiscalYearV1, set()),
    (p.PROGRAMS, bev.ProgramV1, set()),
    (p.PROJECTS, bev.ProjectV1, set()),
    (p.DISBURSEMENTS, bev.DisbursementV1, set()),
]


@pytest.mark.parametrize(("upsert", "model", "computed"), UPSERTS, ids=lambda v: getattr(v, "__name__", ""))
def test_every_column_an_upsert_writes_comes_from_its_event(
    upsert: p.Upsert, model: type[BaseModel], computed: set[str]
) -> None:
    assert "version" in upsert.columns
    assert upsert.key in model.model_fields
    assert [c for c in upsert.columns if c not in model.model_fields and c not in computed] == []


def test_the_statement_updates_only_a_newer_version() -> None:
    sql = p.upsert_sql("industries", "code", ("code", "name_en", "version"))
    assert sql == (
        "insert into industries (code, name_en, version) select code, name_en, version"
        " from jsonb_populate_recordset(null::industries, $1::jsonb)"
        " on conflict (code) do update set name_en = excluded.name_en, version = excluded.version,"
        " updated_at = now() where industries.version < excluded.version returning code"
    )
