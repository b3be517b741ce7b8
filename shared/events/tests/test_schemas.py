import json
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel

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
