"""The firms domain without I/O: the BRN check digit (property-based), periods and the lifecycle."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from firms import domain
from mpe_kit.errors import Conflict, Invalid

pytestmark = pytest.mark.unit

NINE_DIGITS = st.text(alphabet="0123456789", min_size=9, max_size=9)
AT = datetime(2024, 1, 1, tzinfo=UTC)


def valid(first_nine: str) -> str:
    return first_nine + str(domain.brn_check_digit(first_nine))


# the BRN


def test_check_digit_of_a_known_number() -> None:
    # 1·1 + 2·3 + 3·7 + 4·1 + 5·3 + 6·7 + 7·1 + 8·3 + 9·5 = 165; + ⌊9·5/10⌋ = 169; (10 − 9) mod 10.
    assert domain.brn_check_digit("123456789") == 1
    assert domain.normalize_brn("1234567891") == "1234567891"
    assert domain.normalize_brn("123-45-67891") == "1234567891"
    with pytest.raises(Invalid):
        domain.normalize_brn("1234567890")


@given(NINE_DIGITS)
def test_a_valid_number_is_accepted_in_both_forms(first_nine: str) -> None:
    brn = valid(first_nine)
    assert domain.normalize_brn(brn) == brn
    assert domain.normalize_brn(domain.brn_display(brn)) == brn
    assert domain.brn_display(brn) == f"{brn[:3]}-{brn[3:5]}-{brn[5:]}"


@given(NINE_DIGITS, st.integers(min_value=0, max_value=9), st.integers(min_value=1, max_value=9))
@example("123456789", 8, 1)  # the ninth digit also feeds ⌊d9·5/10⌋
@example("000000000", 9, 5)  # the check digit itself
def test_a_valid_number_with_any_one_digit_changed_is_rejected(
    first_nine: str, position: int, delta: int
) -> None:
    brn = valid(first_nine)
    changed = brn[:position] + str((int(brn[position]) + delta) % 10) + brn[position + 1 :]
    assert changed != brn
    with pytest.raises(Invalid) as info:
        domain.normalize_brn(changed)
    assert info.value.errors == [
        {
            "field": "brn",
            "message": f"{changed} fails the check digit",
            "message_ko": f"{changed}의 검증 번호(마지막 자리)가 맞지 않습니다",
        }
    ]
    with pytest.raises(Invalid):
        domain.normalize_brn(domain.brn_display(changed))


def _is_one_of_the_two_forms(value: str) -> bool:
    return re.fullmatch(r"[0-9]{10}|[0-9]{3}-[0-9]{2}-[0-9]{5}", value) is not None


@given(
    st.one_of(
        st.text(max_size=14),
        st.text(alphabet="0123456789-", max_size=14),
        st.from_regex(r"\A[0-9]{3} [0-9]{2} [0-9]{5}\Z"),
        st.from_regex(r"\A[0-9]{3}-[0-9]{7}\Z"),
        # Digits of other scripts: Python's str.isdigit and re's \d accept them, a BRN does not.
        st.text(alphabet=st.characters(categories=["Nd"]), min_size=10, max_size=10),
    ).filter(lambda s: not _is_one_of_the_two_forms(s))
)
@example("1234567891\n")  # `$` in a Python pattern also matches before a final newline
@example("１２３４５６７８９１")  # full-width digits, valid check digit
@example("123-45-6789１")
@example("١٢٣٤٥٦٧٨٩١")  # Arabic-Indic digits
def test_anything_but_the_two_ascii_forms_is_rejected_naming_the_field(value: str) -> None:
    with pytest.raises(Invalid) as info:
        domain.normalize_brn(value)
    assert [e["field"] for e in info.value.errors or []] == ["brn"]


# periods


@pytest.mark.parametrize(
    ("day", "years", "expected"),
    [
        (date(2024, 6, 3), 5, date(2029, 6, 3)),
        (date(2024, 6, 3), 3, date(2027, 6, 3)),
        (date(2024, 2, 29), 5, date(2029, 3, 1)),
        (date(2024, 2, 29), 4, date(2028, 2, 29)),
    ],
)
def test_add_years(day: date, years: int, expected: date) -> None:
    assert domain.add_years(day, years) == expected


def test_a_confirmation_holds_from_its_first_day_until_before_its_last() -> None:
    c = domain.Confirmation(
        technology_code="SEMI-001", issued_on=date(2023, 1, 1), valid_until=date(2024, 1, 1)
    )
    assert not c.holds_on(date(2022, 12, 31))
    assert c.holds_on(date(2023, 1, 1))
    assert c.holds_on(date(2023, 12, 31))
    assert not c.holds_on(date(2024, 1, 1))


def test_an_empty_confirmation_period_is_invalid() -> None:
    with pytest.raises(Invalid):
        domain.check_confirmation(date(2024, 1, 1), date(2024, 1, 1))


# the lifecycle


def application(kind: domain.Kind = "leading", on: date = date(2024, 1, 10)) -> domain.Designation:
    return domain.apply_for(
        id=uuid.uuid4(),
        brn=valid("123456789"),
        kind=kind,
        cohort=4 if kind == "leading" else None,
        technology_codes=["SEMI-002", "SEMI-001", "SEMI-002"],
        on=on,
        actor="tester",
        at=AT,
    )


def test_an_application_sorts_and_dedups_its_codes_and_starts_its_history() -> None:
    d = application()
    assert d.technology_codes == ("SEMI-001", "SEMI-002")
    assert (d.status, d.version, d.designated_on, d.valid_until) == ("applied", 1, None, None)
    assert [(t.from_status, t.to_status) for t in d.history] == [(None, "applied")]


@pytest.mark.parametrize(("kind", "years"), [("leading", 5), ("specialized", 3)])
def test_designating_sets_the_period_by_kind(kind: domain.Kind, years: int) -> None:
    d = domain.move(application(kind), to="under_review", on=date(2024, 2, 1), actor="a", at=AT)
    d = domain.move(d, to="designated", on=date(2024, 3, 4), actor="a", at=AT)
    assert d.designated_on == date(2024, 3, 4)
    assert d.valid_until == date(2024 + years, 3, 4)
    assert d.version == 3


def test_every_status_allows_exactly_its_moves() -> None:
    targets: tuple[domain.Status, ...] = (
        "applied",
        "under_review",
        "designated",
        "rejected",
        "withdrawn",
        "revoked",
        "expired",
    )
    paths: dict[str, list[domain.Status]] = {
        "applied": [],
        "under_review": ["under_review"],
        "designated": ["under_review", "designated"],
        "rejected": ["under_review", "rejected"],
        "withdrawn": ["withdrawn"],
        "revoked": ["under_review", "designated", "revoked"],
    }
    for status, path in paths.items():
        d = application()
        for step in path:
            d = domain.move(d, to=step, on=date(2024, 2, 1), actor="a", at=AT, reason="why")
        assert d.status == status
        for to in targets:
            if to in domain.MOVES[status]:
                assert domain.move(d, to=to, on=date(2024, 2, 1), actor="a", at=AT, reason="why").status == to
            else:
                with pytest.raises(Conflict) as info:
                    domain.move(d, to=to, on=date(2024, 2, 1), actor="a", at=AT, reason="why")
                assert info.value.extra == {"current_status": status, "allowed": list(domain.MOVES[status])}


def test_only_the_expiry_task_expires_and_only_a_designated_one() -> None:
    d = domain.move(application(), to="under_review", on=date(2024, 2, 1), actor="a", at=AT)
    with pytest.raises(Conflict):
        domain.move(d, to="expired", on=date(2024, 2, 1), actor="a", at=AT, by_expiry_task=True)
    d = domain.move(d, to="designated", on=date(2024, 2, 1), actor="a", at=AT)
    with pytest.raises(Conflict):
        domain.move(d, to="expired", on=date(2029, 2, 1), actor="a", at=AT)
    done = domain.move(
        d, to="expired", on=date(2029, 2, 1), actor="system:expiry", at=AT, by_expiry_task=True
    )
    assert done.status == "expired"


@pytest.mark.parametrize("reason", [None, "", "   "])
@pytest.mark.parametrize("to", ["rejected", "revoked"])
def test_rejecting_and_revoking_need_a_reason(to: domain.Status, reason: str | None) -> None:
    d = domain.move(application(), to="under_review", on=date(2024, 2, 1), actor="a", at=AT)
    if to == "revoked":
        d = domain.move(d, to="designated", on=date(2024, 2, 1), actor="a", at=AT)
    with pytest.raises(Invalid) as info:
        domain.move(d, to=to, on=date(2024, 2, 1), actor="a", at=AT, reason=reason)
    assert [e["field"] for e in info.value.errors or []] == ["reason"]


def test_a_move_may_not_precede_the_previous_one() -> None:
    d = application(on=date(2024, 1, 10))
    with pytest.raises(Invalid) as info:
        domain.move(d, to="under_review", on=date(2024, 1, 9), actor="a", at=AT)
    assert [e["field"] for e in info.value.errors or []] == ["effective_on"]
    assert domain.move(d, to="under_review", on=date(2024, 1, 10), actor="a", at=AT).status == "under_review"


def test_overlap_blocks_only_an_active_designation_of_the_same_kind() -> None:
    def designated(kind: domain.Kind, on: date) -> domain.Designation:
        d = domain.move(application(kind, on), to="under_review", on=on, actor="a", at=AT)
        return domain.move(d, to="designated", on=on, actor="a", at=AT)

    first = designated("specialized", date(2020, 1, 2))  # [2020-01-02, 2023-01-02)
    touching = designated("specialized", date(2023, 1, 2))
    overlapping = designated("specialized", date(2023, 1, 1))
    domain.check_no_overlap(touching, [first])
    with pytest.raises(Conflict):
        domain.check_no_overlap(overlapping, [first])
    domain.check_no_overlap(designated("leading", date(2021, 1, 1)), [first])
    revoked = domain.move(first, to="revoked", on=date(2021, 1, 1), actor="a", at=AT, reason="fraud")
    domain.check_no_overlap(overlapping, [revoked])
