"""The money rules without I/O: cost-share caps, limits, the project lifecycle, alchemist themes."""

from __future__ import annotations

import itertools
from datetime import date
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from budget import domain
from mpe_kit.errors import Conflict, Invalid

pytestmark = pytest.mark.unit

P = pytest.param
STATUSES = ["proposed", "selected", "agreement_signed", "active", "completed", "terminated"]
FORWARD = ["proposed", "selected", "agreement_signed", "active", "completed"]
# (government ceiling, private-cash floor) by the lead firm's size: Enforcement Decree Art. 19.
CAPS = {"large": (Fraction(50, 100), Fraction(15, 100)), "mid": (Fraction(70, 100), Fraction(13, 100))}
CAPS["sme"] = (Fraction(75, 100), Fraction(10, 100))
WON = st.integers(min_value=0, max_value=2**63 - 1)


def project(
    status: str = "proposed", *, government: int = 1_000, committed: int = 0, disbursed: int = 0
) -> domain.Project:
    return domain.Project(
        code="P-1",
        status=status,  # type: ignore[arg-type]
        government_krw=government,
        committed_krw=committed,
        disbursed_krw=disbursed,
        version=3,
    )


# cost share


@given(size=st.sampled_from(sorted(CAPS)), government=WON, cash=WON, in_kind=WON)
def test_cost_share_is_exactly_the_fractions(size: str, government: int, cash: int, in_kind: int) -> None:
    ceiling, floor = CAPS[size]
    total = government + cash + in_kind
    within = (total == 0 or Fraction(government, total) <= ceiling) and (
        cash + in_kind == 0 or Fraction(cash, cash + in_kind) >= floor
    )
    try:
        domain.check_cost_share(size, government=government, cash=cash, in_kind=in_kind)
    except Invalid:
        assert not within
    else:
        assert within


@pytest.mark.parametrize("size", sorted(CAPS))
@given(private=st.integers(min_value=1, max_value=10**15))
def test_government_ceiling_is_inclusive_and_one_won_more_is_refused(size: str, private: int) -> None:
    ceiling, _ = CAPS[size]
    # The largest government amount whose share is within the ceiling: g / (g + p) <= c.
    g = (ceiling * private / (1 - ceiling)).__floor__()
    domain.check_cost_share(size, government=g, cash=private, in_kind=0)
    with pytest.raises(Invalid) as caught:
        domain.check_cost_share(size, government=g + 1, cash=private, in_kind=0)
    [error] = caught.value.errors
    assert (error["field"], set(error)) == ("government_krw", {"field", "message", "message_ko"})
    assert error["message_ko"].startswith(f"{domain.SIZE_KO[size]} 주관기업의 과제는 정부 출연금이")


@pytest.mark.parametrize("size", sorted(CAPS))
@given(private=st.integers(min_value=1, max_value=10**15))
def test_cash_floor_is_inclusive_and_one_won_less_is_refused(size: str, private: int) -> None:
    _, floor = CAPS[size]
    cash = (floor * private).__ceil__()  # the least cash that meets the floor
    domain.check_cost_share(size, government=0, cash=cash, in_kind=private - cash)
    if cash > 0:
        with pytest.raises(Invalid) as caught:
            domain.check_cost_share(size, government=0, cash=cash - 1, in_kind=private - cash + 1)
        assert caught.value.errors[0]["field"] == "private_cash_krw"


@pytest.mark.parametrize(
    ("size", "government", "cash", "in_kind", "field"),
    [
        P("large", 1_000, 1_000, 0, None, id="large-at-50pct"),
        P("large", 1_001, 1_000, 0, "government_krw", id="large-over-50pct"),
        P("mid", 7_000, 3_000, 0, None, id="mid-at-70pct"),
        P("mid", 7_001, 3_000, 0, "government_krw", id="mid-over-70pct"),
        P("sme", 3_000, 1_000, 0, None, id="sme-at-75pct"),
        P("sme", 3_001, 1_000, 0, "government_krw", id="sme-over-75pct"),
        P("large", 0, 150, 850, None, id="large-cash-at-15pct"),
        P("large", 0, 149, 851, "private_cash_krw", id="large-cash-under-15pct"),
        P("mid", 0, 13, 87, None, id="mid-cash-at-13pct"),
        P("mid", 0, 12, 88, "private_cash_krw", id="mid-cash-under-13pct"),
        P("sme", 0, 10, 90, None, id="sme-cash-at-10pct"),
        P("sme", 0, 9, 91, "private_cash_krw", id="sme-cash-under-10pct"),
        P("large", 2**63 - 1, 2**63 - 1, 0, None, id="64-bit-amounts-stay-exact"),
        P("large", 2**63 - 1, 2**63 - 2, 0, "government_krw", id="64-bit-one-won-over"),
    ],
)
def test_cost_share_boundaries(
    size: str, government: int, cash: int, in_kind: int, field: str | None
) -> None:
    if field is None:
        domain.check_cost_share(size, government=government, cash=cash, in_kind=in_kind)
    else:
        with pytest.raises(Invalid) as caught:
            domain.check_cost_share(size, government=government, cash=cash, in_kind=in_kind)
        assert [e["field"] for e in caught.value.errors or []] == [field]


@given(government=WON, cash=WON, in_kind=WON)
def test_no_lead_firm_means_no_cap(government: int, cash: int, in_kind: int) -> None:
    domain.check_cost_share(None, government=government, cash=cash, in_kind=in_kind)


# limits


@given(used=WON, adding=WON, limit=WON)
def test_fits_when_the_sum_is_within_the_limit(used: int, adding: int, limit: int) -> None:
    if used + adding <= limit:
        domain.check_fits(what="x", what_ko="엑스", used=used, adding=adding, limit=limit)
    else:
        with pytest.raises(Conflict) as caught:
            domain.check_fits(what="x", what_ko="엑스", used=used, adding=adding, limit=limit)
        assert caught.value.extra == {"used_krw": used, "adding_krw": adding, "limit_krw": limit}


# the lifecycle


@pytest.mark.parametrize(
    ("before", "after"),
    list(itertools.pairwise(FORWARD)) + [(s, "terminated") for s in FORWARD[:-1]],
)
def test_allowed_moves(before: str, after: str) -> None:
    moved = domain.move(project(before), to=after, reason="no longer needed")
    assert (moved.status, moved.version) == (after, 4)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (a, b)
        for a in STATUSES
        for b in STATUSES
        if not (b == "terminated" and a in FORWARD[:-1])
        and not (a in FORWARD and b in FORWARD and FORWARD.index(b) == FORWARD.index(a) + 1)
    ],
)
def test_every_other_move_conflicts_naming_the_status_and_the_allowed_moves(before: str, after: str) -> None:
    with pytest.raises(Conflict) as caught:
        domain.move(project(before), to=after, reason="why not")
    assert before in caught.value.detail
    assert caught.value.extra["current_status"] == before
    assert caught.value.extra["allowed"] == list(domain.MOVES[before])


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_terminating_needs_a_reason(reason: str | None) -> None:
    with pytest.raises(Invalid) as caught:
        domain.move(project("selected"), to="terminated", reason=reason)
    assert caught.value.errors[0]["field"] == "reason"  # type: ignore[index]


def test_selecting_commits_the_government_money_and_terminating_keeps_only_what_was_paid() -> None:
    proposed = project("proposed", government=900)
    assert proposed.committed_krw == 0
    selected = domain.move(proposed, to="selected", reason=None)
    assert selected.committed_krw == 900
    paying = domain.move(domain.move(selected, to="agreement_signed", reason=None), to="active", reason=None)
    paid = project("active", government=900, committed=900, disbursed=250)
    terminated = domain.move(paid, to="terminated", reason="the firm withdrew")
    assert (terminated.committed_krw, terminated.disbursed_krw) == (250, 250)
    assert paying.committed_krw == 900
    assert domain.move(proposed, to="terminated", reason="not selected").committed_krw == 0


@pytest.mark.parametrize("status", ["agreement_signed", "active"])
def test_payable_while_signed_or_active_up_to_the_government_money(status: str) -> None:
    domain.check_payable(project(status, government=1_000, committed=1_000, disbursed=400), 600)
    with pytest.raises(Conflict):
        domain.check_payable(project(status, government=1_000, committed=1_000, disbursed=400), 601)


@pytest.mark.parametrize("status", ["proposed", "selected", "completed", "terminated"])
def test_not_payable_in_other_states(status: str) -> None:
    with pytest.raises(Conflict) as caught:
        domain.check_payable(project(status), 1)
    assert status in caught.value.detail


# project shape


@pytest.mark.parametrize(
    ("kind", "continues", "start", "end", "field"),
    [
        P("new", None, date(2023, 1, 1), date(2023, 12, 31), None, id="new"),
        P("continuing", "P-2022", date(2023, 1, 1), date(2023, 12, 31), None, id="continuing"),
        P("new", "P-2022", date(2023, 1, 1), date(2023, 12, 31), "continues", id="new-continues"),
        P("continuing", None, date(2023, 1, 1), date(2023, 12, 31), "continues", id="continuing-alone"),
        P("new", None, date(2023, 1, 1), date(2023, 1, 1), "end_on", id="empty-period"),
        P("new", None, date(2023, 1, 2), date(2023, 1, 1), "end_on", id="ends-before-start"),
    ],
)
def test_project_shape(kind: str, continues: str | None, start: date, end: date, field: str | None) -> None:
    if field is None:
        domain.check_project_shape(kind=kind, continues=continues, start_on=start, end_on=end)
    else:
        with pytest.raises(Invalid) as caught:
            domain.check_project_shape(kind=kind, continues=continues, start_on=start, end_on=end)
        assert caught.value.errors[0]["field"] == field  # type: ignore[index]


# alchemist themes


def stages(*entries: tuple[str, int] | tuple[str, int, int]) -> list[domain.StageYear]:
    """Stage entries; a third number is the fiscal year (2023 if absent)."""
    return [
        domain.StageYear(stage=e[0], teams=e[1], fiscal_year=e[2] if len(e) == 3 else 2023)  # type: ignore[misc]
        for e in entries
    ]


@pytest.mark.parametrize(
    "entries",
    [
        P(stages(("concept", 6), ("preliminary", 3), ("main", 1)), id="6-3-1"),
        P(stages(("concept", 6)), id="concept-only"),
        P(stages(("concept", 2), ("preliminary", 2), ("main", 2)), id="equal-counts"),
        P(stages(("preliminary", 3), ("main", 1)), id="from-preliminary"),
        P(stages(("concept", 6), ("main", 1)), id="skipping-a-stage"),
        P(
            stages(("concept", 6, 2023), ("preliminary", 3, 2024), ("main", 1, 2025), ("main", 1, 2026)),
            id="over-four-years",
        ),
    ],
)
def test_good_themes(entries: list[domain.StageYear]) -> None:
    domain.check_theme(entries, first_year=2023)


@pytest.mark.parametrize(
    "entries",
    [
        P(stages(("concept", 6), ("preliminary", 7)), id="growing"),
        P(stages(("concept", 6), ("preliminary", 3), ("main", 4)), id="growing-at-main"),
        P(stages(("preliminary", 3), ("concept", 6)), id="out-of-order"),
        P(stages(("main", 1), ("concept", 6)), id="main-first"),
        P(stages(("concept", 6), ("concept", 3)), id="repeated"),
        P(stages(("concept", 6, 2024), ("preliminary", 3, 2023)), id="later-stage-earlier-year"),
        P(stages(("main", 2, 2025), ("main", 3, 2026)), id="growing-year-to-year"),
        P(stages(("main", 1, 2025), ("main", 1, 2024)), id="years-backwards"),
    ],
)
def test_bad_themes(entries: list[domain.StageYear]) -> None:
    with pytest.raises(Invalid) as caught:
        domain.check_theme(entries, first_year=2023)
    assert caught.value.errors[0]["field"] == "stages"  # type: ignore[index]


def test_a_theme_names_at_most_its_teams_projects_each_once_and_starts_with_its_program() -> None:
    two = domain.StageYear(stage="preliminary", fiscal_year=2024, teams=1, project_codes=("A", "B"))
    again = [
        domain.StageYear(stage="concept", fiscal_year=2023, teams=2, project_codes=("A",)),
        domain.StageYear(stage="preliminary", fiscal_year=2024, teams=1, project_codes=("A",)),
    ]
    early = domain.StageYear(stage="concept", fiscal_year=2022, teams=2)
    for entries, field in (
        ([two], "stages[0].project_codes"),
        (again, "stages[1].project_codes"),
        ([early], "stages[0].fiscal_year"),
    ):
        with pytest.raises(Invalid) as caught:
            domain.check_theme(entries, first_year=2023)
        assert caught.value.errors[0]["field"] == field  # type: ignore[index]


# consortia

LEAD = "1000000028"
TOTALS = domain.Shares(government=700, cash=100, in_kind=200)


def member(role: str = "participant", kind: str = "firm", **kw: Any) -> domain.Participant:
    """A participant; money defaults to nothing, a Korean firm to a BRN."""
    values: dict[str, Any] = {
        "name": None,
        "brn": None,
        "country": "KR",
        "government_krw": 0,
        "private_cash_krw": 0,
        "private_in_kind_krw": 0,
        **kw,
    }
    return domain.Participant(role=role, kind=kind, **values)  # type: ignore[arg-type]


def test_a_consortium_whose_shares_add_up_gives_its_korean_side() -> None:
    members = [
        member("lead", brn=LEAD, government_krw=500, private_cash_krw=80, private_in_kind_krw=150),
        member(kind="university", name="KAIST", government_krw=150),
        member(
            kind="institute",
            name="Fraunhofer ILT",
            country="DE",
            government_krw=50,
            private_cash_krw=20,
            private_in_kind_krw=50,
        ),
    ]
    korean = domain.check_participants(members, lead_firm_brn=LEAD, totals=TOTALS)
    assert korean == domain.Shares(government=650, cash=80, in_kind=150)


@pytest.mark.parametrize(
    ("members", "field"),
    [
        P([member(kind="university", name="KAIST", government_krw=700)], "participants", id="no-lead"),
        P(
            [member("lead", brn=LEAD, government_krw=700), member("lead", brn="1000000014")],
            "participants",
            id="two-leads",
        ),
        P(
            [member("lead", brn="1000000014", government_krw=700)],
            "participants[0].brn",
            id="lead-not-lead-firm",
        ),
        P(
            [member("lead", kind="institute", name="DLR", country="DE", government_krw=700)],
            "participants[0].country",
            id="foreign-lead",
        ),
        P(
            [member("lead", brn=LEAD, government_krw=700), member()],
            "participants[1].brn",
            id="firm-without-brn",
        ),
        P(
            [
                member("lead", brn=LEAD, government_krw=700),
                member(kind="firm", brn=LEAD, country="DK", name="X"),
            ],
            "participants[1].brn",
            id="foreign-with-brn",
        ),
        P(
            [member("lead", brn=LEAD, government_krw=700), member(kind="university")],
            "participants[1].name",
            id="university-without-name",
        ),
        P(
            [
                member("lead", brn=LEAD, government_krw=600),
                member(kind="university", name="KAIST", government_krw=50),
                member(kind="university", name="kaist", government_krw=50),
            ],
            "participants[2]",
            id="twice",
        ),
        P(
            [member("lead", brn=LEAD, government_krw=699, private_cash_krw=100, private_in_kind_krw=200)],
            "participants",
            id="government-short",
        ),
        P(
            [member("lead", brn=LEAD, government_krw=700, private_cash_krw=100, private_in_kind_krw=201)],
            "participants",
            id="in-kind-over",
        ),
    ],
)
def test_bad_consortia(members: list[domain.Participant], field: str) -> None:
    with pytest.raises(Invalid) as caught:
        domain.check_participants(members, lead_firm_brn=LEAD, totals=TOTALS)
    assert caught.value.errors[0]["field"] == field  # type: ignore[index]


@pytest.mark.parametrize(
    ("shares", "column"),
    [
        ({"government_krw": 699, "private_cash_krw": 100, "private_in_kind_krw": 200}, "government_krw"),
        ({"government_krw": 700, "private_cash_krw": 100, "private_in_kind_krw": 201}, "private_in_kind_krw"),
    ],
)
def test_shares_that_do_not_add_up_name_the_column_on_the_whole_list(
    shares: dict[str, int], column: str
) -> None:
    # The sum is the list's, no one member's: the field is `participants`, the message names the column.
    with pytest.raises(Invalid) as caught:
        domain.check_participants([member("lead", brn=LEAD, **shares)], lead_firm_brn=LEAD, totals=TOTALS)
    error = caught.value.errors[0]  # type: ignore[index]
    assert error["field"] == "participants"
    assert f"the participants' {column} add up to" in error["message"]


def test_a_project_led_by_an_institute_names_no_lead_firm() -> None:
    led = [
        member(
            "lead",
            kind="institute",
            name="KIMS",
            government_krw=700,
            private_cash_krw=100,
            private_in_kind_krw=200,
        )
    ]
    assert domain.check_participants(led, lead_firm_brn=None, totals=TOTALS) == TOTALS
    firm_led = [member("lead", brn=LEAD, government_krw=700, private_cash_krw=100, private_in_kind_krw=200)]
    with pytest.raises(Invalid) as caught:
        domain.check_participants(firm_led, lead_firm_brn=None, totals=TOTALS)
    assert caught.value.errors[0]["field"] == "lead_firm_brn"  # type: ignore[index]
