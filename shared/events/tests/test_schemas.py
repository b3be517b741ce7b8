import json
from typing import Literal

import pytest
from pydantic import BaseModel

from mpe_events import schemas

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("event_type", sorted(schemas.generate()))
def test_published_schema_is_compatible_and_current(event_type: str) -> None:
    path = schemas.path_for(event_type)
    assert path.exists(), f"{event_type} has no committed schema; run `make schemas`"
    current = schemas.generate()[event_type]
    published = json.loads(path.read_text())
    assert schemas.incompatibilities(published, current) == []
    assert schemas.dump(current) == path.read_text(), "schema file out of date; run `make schemas`"


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
