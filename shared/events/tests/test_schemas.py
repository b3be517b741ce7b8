import json
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field, create_model

from mpe_events import cli, schemas
from mpe_events.registry import EventType
from mpe_events.topics import CATALOG_INDUSTRY

pytestmark = pytest.mark.unit

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("event_type", sorted(schemas.generate()))
def test_published_schema_is_compatible_and_current(event_type: str) -> None:
    path = schemas.path_for(event_type)
    assert path.exists(), f"{event_type} has no committed schema; run `make schemas`"
    current = schemas.generate()[event_type]
    published = json.loads(path.read_text())
    assert schemas.incompatibilities(published, current) == []
    assert schemas.dump(current) == path.read_text(), "schema file out of date; run `make schemas`"


@pytest.mark.parametrize("event_type", sorted(schemas.generate()))
def test_every_published_version_is_kept_and_still_honoured(event_type: str) -> None:
    current = schemas.generate()[event_type]
    versions = schemas.published_versions(event_type)
    assert schemas.published_path(event_type, schemas.dump(current)) in versions, "run `make schemas`"
    assert schemas.check(event_type, current) == []


def test_the_repository_schemas_are_in_step() -> None:
    assert cli.main(["schemas", "--check"]) == 0


class Thing(BaseModel):
    code: str
    count: int
    version: int


class ThingWithoutCount(BaseModel):
    code: str
    version: int


def _thing(model: type[BaseModel], version: int = 1) -> dict[str, EventType]:
    event = EventType(f"kr.mpe.test.thing.changed.v{version}", CATALOG_INDUSTRY, model)
    return {event.type: event}


def test_a_breaking_edit_is_refused_and_written_nowhere(tmp_path: Path) -> None:
    first = schemas.sync(schemas.generate(_thing(Thing)), tmp_path)
    assert not first.refused
    committed = schemas.path_for("kr.mpe.test.thing.changed.v1", tmp_path).read_text()

    report = schemas.sync(schemas.generate(_thing(ThingWithoutCount)), tmp_path)

    assert list(report.refused) == ["kr.mpe.test.thing.changed.v1"]
    assert report.refused["kr.mpe.test.thing.changed.v1"][0].startswith("$.count: property removed")
    assert report.written == []
    assert schemas.path_for("kr.mpe.test.thing.changed.v1", tmp_path).read_text() == committed


def test_the_breaking_change_as_a_new_version_is_accepted(tmp_path: Path) -> None:
    schemas.sync(schemas.generate(_thing(Thing)), tmp_path)

    report = schemas.sync(schemas.generate({**_thing(Thing), **_thing(ThingWithoutCount, 2)}), tmp_path)

    assert not report.refused
    assert schemas.path_for("kr.mpe.test.thing.changed.v2", tmp_path).exists()
    assert len(schemas.published_versions("kr.mpe.test.thing.changed.v2", tmp_path)) == 1


def test_every_published_version_counts_not_only_the_last(tmp_path: Path) -> None:
    """A current file rewritten outside the check (by hand, or by a merge) cannot launder a break."""
    schemas.sync(schemas.generate(_thing(Thing)), tmp_path)
    without_count = schemas.generate(_thing(ThingWithoutCount))["kr.mpe.test.thing.changed.v1"]
    schemas.path_for("kr.mpe.test.thing.changed.v1", tmp_path).write_text(schemas.dump(without_count))

    report = schemas.sync(schemas.generate(_thing(ThingWithoutCount)), tmp_path)

    problems = report.refused["kr.mpe.test.thing.changed.v1"]
    assert len(problems) == 1
    assert "$.count: property removed (published as " in problems[0]


class Old(BaseModel):
    code: str
    count: int
    note: str | None
    kind: Literal["a", "b"]


def _schema(model: type[BaseModel]) -> schemas.Schema:
    return model.model_json_schema(mode="serialization")


def test_adding_an_optional_field_is_compatible() -> None:
    class New(Old):
        extra: str | None = None

    assert schemas.incompatibilities(_schema(Old), _schema(New)) == []


def test_removing_a_field_is_incompatible() -> None:
    class New(BaseModel):
        code: str
        note: str | None
        kind: Literal["a", "b"]

    assert schemas.incompatibilities(_schema(Old), _schema(New)) == ["$.count: property removed"]


def test_changing_a_type_is_incompatible() -> None:
    class New(BaseModel):
        code: str
        count: str
        note: str | None
        kind: Literal["a", "b"]

    problems = schemas.incompatibilities(_schema(Old), _schema(New))
    assert problems == ["$.count: type 'string' is not allowed by the published schema"]


def test_making_a_field_optional_or_nullable_is_incompatible() -> None:
    class New(BaseModel):
        code: str | None
        count: int = 0
        note: str | None
        kind: Literal["a", "b"]

    problems = schemas.incompatibilities(_schema(Old), _schema(New))
    assert "$.count: no longer required" in problems
    assert "$.code: type 'null' is not allowed by the published schema" in problems


def test_adding_an_enum_value_is_incompatible() -> None:
    class New(BaseModel):
        code: str
        count: int
        note: str | None
        kind: Literal["a", "b", "c"]

    assert schemas.incompatibilities(_schema(Old), _schema(New)) == ["$.kind: enum gained values ['c']"]


class Bounded(BaseModel):
    brn: str = Field(pattern=r"^[0-9]{10}$")
    amount: int = Field(gt=0, le=10**16)
    codes: list[str] = Field(min_length=1, max_length=100)
    name: str = Field(max_length=200)


@pytest.mark.parametrize(
    ("field", "definition", "problem"),
    [
        ("brn", (str, ...), "$.brn: pattern changed"),
        ("amount", (int, Field(ge=0, le=10**16)), "$.amount: exclusiveMinimum loosened"),
        ("amount", (int, Field(gt=0)), "$.amount: maximum loosened"),
        ("codes", (list[str], Field(max_length=100)), "$.codes: minItems loosened"),
        ("name", (str, Field(max_length=300)), "$.name: maxLength loosened from 200 to 300"),
    ],
    ids=["pattern-dropped", "minimum-lowered", "maximum-dropped", "min-items-dropped", "max-length-raised"],
)
def test_dropping_or_loosening_a_bound_is_incompatible(field: str, definition: Any, problem: str) -> None:
    # Found by a review: only format, const, enum and presence were compared; a value the new
    # schema allowed (a negative amount, a BRN of any shape) failed consumers on the published one.
    new = create_model("New", __base__=Bounded, **{field: definition})
    problems = schemas.incompatibilities(_schema(Bounded), _schema(new))
    assert any(p.startswith(problem) for p in problems), problems


def test_tightening_a_bound_is_compatible() -> None:
    class New(BaseModel):
        brn: str = Field(pattern=r"^[0-9]{10}$")
        amount: int = Field(gt=0, le=10**15)
        codes: list[str] = Field(min_length=2, max_length=50)
        name: str = Field(max_length=100)

    assert schemas.incompatibilities(_schema(Bounded), _schema(New)) == []


def test_moving_an_event_type_to_another_topic_is_incompatible() -> None:
    # Found by a review: consumers subscribe by topic, and per-key order holds only within one.
    old = {**_schema(Old), "x-topic": "mpe.firms.firm"}
    new = {**_schema(Old), "x-topic": "mpe.firms.designation"}
    assert schemas.incompatibilities(old, new) == [
        "$: topic changed from 'mpe.firms.firm' to 'mpe.firms.designation'"
    ]
