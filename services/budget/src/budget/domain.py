"""The money rules: commitments, cost-share caps, the project lifecycle, consortia, alchemist
funnels. No I/O.

All amounts are whole won (int). Committed and disbursed money are never mixed: a project commits
its government money when selected; when terminated, only what was paid stays committed.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from mpe_kit.errors import Conflict, Invalid

Status = Literal["proposed", "selected", "agreement_signed", "active", "completed", "terminated"]
Size = Literal["large", "mid", "sme"]
Role = Literal["lead", "participant"]
Kind = Literal["firm", "university", "institute"]
KOREA = "KR"

MOVES: dict[str, tuple[str, ...]] = {
    "proposed": ("selected", "terminated"),
    "selected": ("agreement_signed", "terminated"),
    "agreement_signed": ("active", "terminated"),
    "active": ("completed", "terminated"),
    "completed": (),
    "terminated": (),
}
PAYABLE = frozenset({"agreement_signed", "active"})
STAGES = ("concept", "preliminary", "main")


@dataclass(frozen=True)
class ShareCap:
    """Government share ceiling and private-cash floor, in percent (Enforcement Decree Art. 19)."""

    max_government_pct: int
    min_cash_pct: int


CAPS: dict[str, ShareCap] = {
    "large": ShareCap(50, 15),
    "mid": ShareCap(70, 13),
    "sme": ShareCap(75, 10),
}


# The size classes as Korean readers know them.
SIZE_KO = {"large": "대기업", "mid": "중견기업", "sme": "중소기업"}


def check_cost_share(size: str | None, *, government: int, cash: int, in_kind: int) -> None:
    """The caps for the lead firm's size, in exact integer arithmetic; no lead firm, no cap.

    Government share = government / (government + cash + in kind) must not exceed the ceiling;
    cash must be at least the floor's share of the private contribution (cash + in kind).
    """
    if size is None:
        return
    cap = CAPS[size]
    total = government + cash + in_kind
    if government * 100 > cap.max_government_pct * total:
        raise Invalid.field(
            "government_krw",
            f"a {size} lead firm's project may take at most {cap.max_government_pct}% government money; "
            f"this asks {government:,} of {total:,} won",
            ko=f"{SIZE_KO.get(size, size)} 주관기업의 과제는 정부 출연금이 총사업비의 {cap.max_government_pct}% 이하여야 합니다. 이 과제는 {total:,}원 중 {government:,}원을 요청합니다",
        )
    if cash * 100 < cap.min_cash_pct * (cash + in_kind):
        raise Invalid.field(
            "private_cash_krw",
            f"a {size} lead firm pays at least {cap.min_cash_pct}% of its share in cash; "
            f"this is {cash:,} of {cash + in_kind:,} won",
            ko=f"{SIZE_KO.get(size, size)} 주관기업은 민간부담금의 {cap.min_cash_pct}% 이상을 현금으로 부담해야 합니다. 이 과제는 {cash + in_kind:,}원 중 현금이 {cash:,}원입니다",
        )


def check_fits(*, what: str, what_ko: str, used: int, adding: int, limit: int) -> None:
    """`used + adding` must stay within `limit`; a 409 with the figures otherwise."""
    if used + adding > limit:
        raise Conflict(
            f"{what}: {used:,} won already, {adding:,} more would exceed the limit of {limit:,} won.",
            used_krw=used,
            adding_krw=adding,
            limit_krw=limit,
            ko=f"{what_ko}: 이미 {used:,}원이며, {adding:,}원을 더하면 한도 {limit:,}원을 넘습니다.",
        )


@dataclass(frozen=True, kw_only=True)
class Step:
    """One move of a project's status."""

    from_status: Status
    to_status: Status
    at: datetime
    effective_on: date
    actor: str
    reason: str | None


@dataclass(frozen=True, kw_only=True)
class Project:
    """A project's money and status."""

    code: str
    status: Status
    government_krw: int
    committed_krw: int
    disbursed_krw: int
    version: int


def move(p: Project, *, to: str, reason: str | None) -> Project:
    """The project after one move, with what it commits; Conflict if the move is not allowed."""
    if to not in MOVES[p.status]:
        options = ", ".join(MOVES[p.status]) or "none (it is final)"
        options_ko = ", ".join(MOVES[p.status]) or "없음(마지막 상태)"
        raise Conflict(
            f"A project in status {p.status} cannot move to {to}; allowed: {options}.",
            current_status=p.status,
            allowed=list(MOVES[p.status]),
            ko=f"{p.status} 상태의 과제는 {to}(으)로 바꿀 수 없습니다. 가능한 상태: {options_ko}.",
        )
    if to == "terminated" and not (reason and reason.strip()):
        raise Invalid.field(
            "reason", "terminating a project needs a reason", ko="과제를 중단하려면 사유가 필요합니다"
        )
    committed = p.committed_krw
    if to == "selected":
        committed = p.government_krw
    elif to == "terminated":
        committed = p.disbursed_krw
    return dataclasses.replace(p, status=to, committed_krw=committed, version=p.version + 1)  # type: ignore[arg-type]


def check_payable(p: Project, amount: int) -> None:
    """A disbursement needs a signed or active project and room under its government money."""
    if p.status not in PAYABLE:
        raise Conflict(
            f"Project {p.code} is {p.status}; disbursements are accepted only while it is "
            "agreement_signed or active.",
            ko=f"과제 {p.code}은(는) {p.status} 상태입니다. 지급은 agreement_signed 또는 active 상태에서만 받습니다.",
        )
    check_fits(
        what=f"Disbursements of project {p.code}",
        what_ko=f"과제 {p.code}의 지급액",
        used=p.disbursed_krw,
        adding=amount,
        limit=p.government_krw,
    )


@dataclass(frozen=True, kw_only=True)
class Participant:
    """A consortium member and its share of the project's money."""

    role: Role
    kind: Kind
    name: str | None
    brn: str | None
    country: str
    government_krw: int
    private_cash_krw: int
    private_in_kind_krw: int

    @property
    def korean(self) -> bool:
        """A Korean participant; any other country makes it a foreign partner."""
        return self.country == KOREA


@dataclass(frozen=True, kw_only=True)
class Shares:
    """Government, private cash and in-kind money."""

    government: int
    cash: int
    in_kind: int


def sole_lead(lead_firm_brn: str, totals: Shares) -> Participant:
    """The consortium of a project that names none: its lead firm alone, with all of its money."""
    return Participant(
        role="lead",
        kind="firm",
        name=None,
        brn=lead_firm_brn,
        country=KOREA,
        government_krw=totals.government,
        private_cash_krw=totals.cash,
        private_in_kind_krw=totals.in_kind,
    )


def check_participants(
    participants: list[Participant], *, lead_firm_brn: str | None, totals: Shares
) -> Shares:
    """A consortium's rules; returns the Korean side's money, on which the cost-share caps apply.

    One lead, Korean; a lead firm is the project's `lead_firm_brn`, and a project with a lead
    firm is led by it. A Korean firm is named by its BRN, anyone else by a name; nobody twice.
    Each money column summed over the participants is exactly the project's.
    """
    field = "participants"
    leads = [i for i, p in enumerate(participants) if p.role == "lead"]
    if len(leads) != 1:
        raise Invalid.field(
            field,
            f"a consortium has exactly one lead; this one has {len(leads)}",
            ko=f"컨소시엄의 주관기관은 정확히 하나여야 합니다. 이 컨소시엄에는 {len(leads)}개가 있습니다",
        )
    lead = participants[leads[0]]
    at = f"{field}[{leads[0]}]"
    if not lead.korean:
        raise Invalid.field(
            f"{at}.country",
            "the lead is Korean; a foreign partner takes part as a participant",
            ko="주관기관은 국내 기관이어야 합니다. 해외 기관은 참여기관으로 참여합니다",
        )
    if lead_firm_brn is not None and lead.brn != lead_firm_brn:
        raise Invalid.field(
            f"{at}.brn",
            f"the lead is the project's lead firm {lead_firm_brn}",
            ko=f"주관기관은 과제의 주관기업({lead_firm_brn})이어야 합니다",
        )
    if lead_firm_brn is None and lead.kind == "firm":
        raise Invalid.field(
            "lead_firm_brn",
            "a project led by a firm names it in lead_firm_brn",
            ko="기업이 주관하는 과제는 lead_firm_brn에 그 기업을 적어야 합니다",
        )
    seen: set[tuple[str | None, str | None, str]] = set()
    for i, p in enumerate(participants):
        at = f"{field}[{i}]"
        if p.kind == "firm" and p.korean:
            if p.brn is None:
                raise Invalid.field(
                    f"{at}.brn",
                    "a Korean firm is named by its business registration number",
                    ko="국내 기업은 사업자등록번호로 적어야 합니다",
                )
            if p.name is not None:
                raise Invalid.field(
                    f"{at}.name",
                    "a Korean firm is named by its BRN alone",
                    ko="국내 기업은 사업자등록번호만 적어야 합니다(name은 적지 않습니다)",
                )
        else:
            if p.brn is not None:
                raise Invalid.field(
                    f"{at}.brn",
                    "only a Korean firm has a business registration number here",
                    ko="사업자등록번호는 국내 기업만 적을 수 있습니다",
                )
            if not p.name:
                raise Invalid.field(
                    f"{at}.name",
                    "a university, an institute or a foreign partner needs a name",
                    ko="대학, 연구기관, 해외 기관은 name이 있어야 합니다",
                )
        key = (p.brn, p.name.casefold() if p.name else None, p.country)
        if key in seen:
            raise Invalid.field(
                at, "this participant is listed twice", ko="이 참여기관이 두 번 적혀 있습니다"
            )
        seen.add(key)
    for column, total in (
        ("government_krw", totals.government),
        ("private_cash_krw", totals.cash),
        ("private_in_kind_krw", totals.in_kind),
    ):
        summed = sum(getattr(p, column) for p in participants)
        if summed != total:
            raise Invalid.field(
                field,
                f"the participants' {column} add up to {summed:,} won; the project's is {total:,}",
                ko=f"참여기관의 {column} 합계는 {summed:,}원이지만 과제의 값은 {total:,}원입니다",
            )
    korean = [p for p in participants if p.korean]
    return Shares(
        government=sum(p.government_krw for p in korean),
        cash=sum(p.private_cash_krw for p in korean),
        in_kind=sum(p.private_in_kind_krw for p in korean),
    )


# The longest the program funds one project: an alchemist project's stages (about a year of
# concept and preliminary work, then up to five of main stage) fit with room to spare.
MAX_PROJECT_YEARS = 10


def check_project_shape(*, kind: str, continues: str | None, start_on: date, end_on: date) -> None:
    """Rules of a project that need nothing but the project."""
    if end_on <= start_on:
        raise Invalid.field("end_on", "must be after start_on", ko="start_on보다 뒤여야 합니다")
    if end_on > _add_years(start_on, MAX_PROJECT_YEARS):
        raise Invalid.field(
            "end_on",
            f"a project runs at most {MAX_PROJECT_YEARS} years from start_on",
            ko=f"과제 기간은 start_on부터 최대 {MAX_PROJECT_YEARS}년입니다",
        )
    if kind == "continuing" and not continues:
        raise Invalid.field(
            "continues",
            "a continuing project names the previous year's project",
            ko="계속 과제는 continues에 전년도 과제를 적어야 합니다",
        )
    if kind == "new" and continues:
        raise Invalid.field(
            "continues", "a new project continues nothing", ko="신규 과제는 continues를 적지 않습니다"
        )


def check_payment_day(paid_on: date, *, start_on: date, end_on: date) -> None:
    """A payment falls within its project's period: start_on ≤ paid_on < end_on."""
    if not start_on <= paid_on < end_on:
        raise Invalid.field(
            "paid_on",
            f"must fall within the project's period, from {start_on} until (before) {end_on}",
            ko=f"과제 기간 안이어야 합니다: {start_on}부터 {end_on} 전까지",
        )


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February, in a year that has none
        return day.replace(year=day.year + years, month=3, day=1)


@dataclass(frozen=True, kw_only=True)
class StageYear:
    """The teams an alchemist theme funds at one stage in one fiscal year, and their projects."""

    stage: str
    fiscal_year: int
    teams: int
    project_codes: tuple[str, ...] = ()


def check_theme(stages: list[StageYear], *, first_year: int) -> None:
    """An alchemist theme over years: stages in order, each stage's years ascending and never
    before the program's; along that order teams never grow, and each year names at most its
    teams' projects, each project once.
    """
    order = [(STAGES.index(s.stage), s.fiscal_year) for s in stages]
    if order != sorted(set(order)):
        raise Invalid.field(
            "stages",
            f"stages come in the order {' → '.join(STAGES)}, each stage's years ascending, each year once",
            ko=f"단계는 {' → '.join(STAGES)} 순서이고, 단계마다 연도는 오름차순, 연도는 한 번씩입니다",
        )
    for a, b in itertools.pairwise(stages):
        if b.fiscal_year < a.fiscal_year:
            raise Invalid.field(
                "stages",
                f"the {b.stage} stage of {b.fiscal_year} cannot come before the {a.stage} stage of {a.fiscal_year}",
                ko=f"{b.fiscal_year}년 {b.stage} 단계는 {a.fiscal_year}년 {a.stage} 단계보다 앞설 수 없습니다",
            )
        if b.teams > a.teams:
            raise Invalid.field(
                "stages",
                f"teams never grow from stage to stage: {a.stage} {a.fiscal_year} has {a.teams}, "
                f"{b.stage} {b.fiscal_year} has {b.teams}",
                ko=f"팀 수는 단계를 지나며 늘 수 없습니다: {a.stage} {a.fiscal_year}년 {a.teams}팀, {b.stage} {b.fiscal_year}년 {b.teams}팀",
            )
    seen: set[str] = set()
    for i, s in enumerate(stages):
        if s.fiscal_year < first_year:
            raise Invalid.field(
                f"stages[{i}].fiscal_year",
                f"the theme starts in its program's year {first_year}",
                ko=f"단계의 연도는 소속 사업의 연도({first_year}년)보다 앞설 수 없습니다",
            )
        if len(s.project_codes) > s.teams:
            raise Invalid.field(
                f"stages[{i}].project_codes",
                f"{len(s.project_codes)} projects for {s.teams} teams",
                ko=f"과제가 {len(s.project_codes)}개로 팀 수({s.teams}팀)보다 많습니다",
            )
        twice = seen.intersection(s.project_codes) or (len(set(s.project_codes)) != len(s.project_codes))
        if twice:
            raise Invalid.field(
                f"stages[{i}].project_codes",
                "a project is one team's year: it appears once",
                ko="과제 하나는 한 팀의 한 해입니다. 한 번만 적어야 합니다",
            )
        seen.update(s.project_codes)
