"""The technology list's rules, without a database."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from catalog import domain
from catalog.domain import Add, Amend, Retire, TechnologyFields
from mpe_kit.errors import Conflict, Invalid

pytestmark = pytest.mark.unit

REV = uuid.UUID("00000000-0000-0000-0000-000000000001")
LATER_REV = uuid.UUID("00000000-0000-0000-0000-000000000002")


def fields(code: str = "SEMI-001", **overrides: str) -> TechnologyFields:
    values = {
        "code": code,
        "industry_code": "SEMI",
        "kind": "material",
        "name_en": "High-purity fluorine polyimide",
        "name_ko": "고순도 불화 폴리이미드",
        "description": "",
    }
    values.update(overrides)
    return TechnologyFields(**values)  # type: ignore[arg-type]


def listed_tech(on: date = date(2024, 3, 1)) -> domain.Technology:
    return domain.listed(fields(), on=on, revision_id=REV)


# listed / on_list


def test_listed_starts_at_version_one_on_the_list() -> None:
    tech = domain.listed(fields(), on=date(2024, 3, 1), revision_id=REV)
    assert tech.code == "SEMI-001"
    assert tech.name_ko == "고순도 불화 폴리이미드"
    assert tech.status == "listed"
    assert tech.listed_on == date(2024, 3, 1)
    assert tech.retired_on is None
    assert tech.version == 1
    assert tech.revision_id == REV


@pytest.mark.parametrize(
    ("day", "on_list"),
    [
        (date(2024, 2, 29), False),  # the day before listing
        (date(2024, 3, 1), True),  # the listing day is included
        (date(2099, 1, 1), True),  # no retirement: listed indefinitely
    ],
)
def test_on_list_without_retirement(day: date, on_list: bool) -> None:
    assert listed_tech(date(2024, 3, 1)).on_list(day) is on_list


@pytest.mark.parametrize(
    ("day", "on_list"),
    [
        (date(2024, 2, 29), False),
        (date(2024, 3, 1), True),
        (date(2024, 6, 30), True),  # the last day before retirement
        (date(2024, 7, 1), False),  # the retirement day is excluded
        (date(2025, 1, 1), False),
    ],
)
def test_on_list_is_half_open(day: date, on_list: bool) -> None:
    tech = domain.retire(listed_tech(date(2024, 3, 1)), on=date(2024, 7, 1), revision_id=LATER_REV)
    assert tech.on_list(day) is on_list


# check_changes


def test_check_changes_accepts_a_valid_revision() -> None:
    changes: list[domain.Change] = [
        Add(fields("SEMI-002")),
        Retire("SEMI-001"),
        Amend("SEMI-003", {"name_en": "New name"}),
    ]
    domain.check_changes(changes, decided_on=date(2024, 1, 1), effective_on=date(2024, 1, 1))


def test_effective_before_decided_is_invalid() -> None:
    with pytest.raises(Invalid) as exc:
        domain.check_changes([Retire("SEMI-001")], decided_on=date(2024, 1, 2), effective_on=date(2024, 1, 1))
    assert exc.value.status == 422
    assert exc.value.errors == [
        {
            "field": "effective_on",
            "message": "cannot be before decided_on",
            "message_ko": "decided_on보다 앞설 수 없습니다",
        }
    ]


def test_empty_changes_are_invalid() -> None:
    with pytest.raises(Invalid) as exc:
        domain.check_changes([], decided_on=date(2024, 1, 1), effective_on=date(2024, 1, 1))
    assert exc.value.errors is not None
    assert exc.value.errors[0]["field"] == "changes"


def test_a_code_may_appear_once_per_revision() -> None:
    changes: list[domain.Change] = [
        Add(fields("SEMI-002")),
        Retire("SEMI-001"),
        Amend("SEMI-002", {"name_en": "x"}),
        Amend("SEMI-001", {"name_en": "y"}),
    ]
    with pytest.raises(Invalid) as exc:
        domain.check_changes(changes, decided_on=date(2024, 1, 1), effective_on=date(2024, 1, 1))
    assert exc.value.errors is not None
    assert exc.value.errors[0]["field"] == "changes"
    assert "SEMI-001, SEMI-002" in exc.value.detail


def test_amend_of_unknown_fields_is_invalid() -> None:
    changes: list[domain.Change] = [Retire("SEMI-001"), Amend("SEMI-002", {"status": "retired"})]
    with pytest.raises(Invalid) as exc:
        domain.check_changes(changes, decided_on=date(2024, 1, 1), effective_on=date(2024, 1, 1))
    assert exc.value.errors is not None
    assert exc.value.errors[0]["field"] == "changes[1]"
    assert "status" in exc.value.detail


def test_empty_amend_is_invalid() -> None:
    with pytest.raises(Invalid) as exc:
        domain.check_changes(
            [Amend("SEMI-001", {})], decided_on=date(2024, 1, 1), effective_on=date(2024, 1, 1)
        )
    assert exc.value.errors is not None
    assert exc.value.errors[0]["field"] == "changes[0]"


# check_publishable / check_editable


def test_published_revision_is_not_publishable() -> None:
    with pytest.raises(Conflict) as exc:
        domain.check_publishable(status="published", effective_on=date(2024, 1, 1), today=date(2024, 6, 1))
    assert exc.value.status == 409


def test_revision_in_force_later_is_not_publishable() -> None:
    with pytest.raises(Conflict) as exc:
        domain.check_publishable(status="draft", effective_on=date(2024, 6, 2), today=date(2024, 6, 1))
    assert "2024-06-02" in exc.value.detail


@pytest.mark.parametrize("effective_on", [date(2024, 6, 1), date(2020, 1, 1)])
def test_revision_in_force_today_or_before_is_publishable(effective_on: date) -> None:
    domain.check_publishable(status="draft", effective_on=effective_on, today=date(2024, 6, 1))


def test_only_drafts_are_editable() -> None:
    domain.check_editable("draft")
    with pytest.raises(Conflict):
        domain.check_editable("published")


# retire


def test_retire_takes_the_technology_off_the_list() -> None:
    tech = domain.retire(listed_tech(date(2024, 3, 1)), on=date(2024, 3, 2), revision_id=LATER_REV)
    assert tech.status == "retired"
    assert tech.retired_on == date(2024, 3, 2)
    assert tech.version == 2
    assert tech.revision_id == LATER_REV
    assert tech.listed_on == date(2024, 3, 1)


def test_retire_of_a_retired_technology_conflicts() -> None:
    once = domain.retire(listed_tech(), on=date(2024, 7, 1), revision_id=LATER_REV)
    with pytest.raises(Conflict) as exc:
        domain.retire(once, on=date(2024, 8, 1), revision_id=REV)
    assert "already retired" in exc.value.detail


@pytest.mark.parametrize("on", [date(2024, 3, 1), date(2024, 2, 1)])
def test_retire_on_or_before_listing_conflicts(on: date) -> None:
    with pytest.raises(Conflict):
        domain.retire(listed_tech(date(2024, 3, 1)), on=on, revision_id=LATER_REV)


# amend


def test_amend_changes_only_the_given_fields_and_bumps_the_version() -> None:
    before = listed_tech()
    after = domain.amend(before, {"name_en": "Fluorinated polyimide", "kind": "part"}, revision_id=LATER_REV)
    assert after.name_en == "Fluorinated polyimide"
    assert after.kind == "part"
    assert after.name_ko == before.name_ko
    assert after.industry_code == before.industry_code
    assert after.status == "listed"
    assert after.version == before.version + 1
    assert after.revision_id == LATER_REV


def test_successive_amends_increment_the_version() -> None:
    tech = listed_tech()
    for expected in (2, 3, 4):
        tech = domain.amend(tech, {"description": f"v{expected}"}, revision_id=LATER_REV)
        assert tech.version == expected


def test_amend_of_a_retired_technology_conflicts() -> None:
    retired = domain.retire(listed_tech(), on=date(2024, 7, 1), revision_id=LATER_REV)
    with pytest.raises(Conflict) as exc:
        domain.amend(retired, {"name_en": "x"}, revision_id=REV)
    assert "retired" in exc.value.detail
