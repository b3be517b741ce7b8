"""The data of `make demo-scale`: firms, designations and ten fiscal years of projects and payments.

Deterministic for a given scale (a seeded random generator). At 1× it is 100 firms with a
designation each, 200 yearly project records over 2017-2026 and ~2,000 payments; everything
grows linearly with the scale. The catalog is the demo's (deploy/demo/catalog.json): its
current technologies are what the firms and projects name.

Every change becomes the event the owning service would have written, built with the event
models of mpe_events (so it validates), in the order the service would have written it; the
final state of each aggregate becomes the service's table row. Nothing here touches a database.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel

from mpe_devstack.jars import repo_root
from mpe_events import brn as brns
from mpe_events import budget as bev
from mpe_events import firms as fev
from mpe_events import registry as reg
from mpe_events.registry import EventType

YEARS = range(2017, 2027)
TODAY = date(2026, 11, 25)  # the demo's last dated day: nothing is dated after it
ACTOR = "demo-scale"
SIZES: list[fev.FirmSize] = ["large", "mid", "sme"]
GOV_SHARE = {"large": 0.45, "mid": 0.65, "sme": 0.70}
REGIONS = [
    "서울",
    "경기",
    "인천",
    "충남",
    "충북",
    "대전",
    "경북",
    "경남",
    "울산",
    "부산",
    "전북",
    "전남",
    "광주",
]
PAYMENTS_PER_RECORD = 10


@dataclass(frozen=True)
class Outgoing:
    """One event as its service's outbox holds it."""

    event_type: EventType
    subject: str
    data: BaseModel
    at: datetime


@dataclass
class ServiceData:
    """A service's table rows (column name -> value dicts) and its outbox, in write order."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    outbox: list[Outgoing] = field(default_factory=list)

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.rows.setdefault(table, []).append(row)


@dataclass
class ScaleData:
    """What `make demo-scale` writes: the firms service's and the budget service's share."""

    scale: int
    firms: ServiceData = field(default_factory=ServiceData)
    budget: ServiceData = field(default_factory=ServiceData)

    def events(self) -> Iterator[Outgoing]:
        """Every event, firms first."""
        yield from self.firms.outbox
        yield from self.budget.outbox


def current_technologies() -> dict[str, date]:
    """The demo list's technologies still listed, with the day each was listed."""
    data = json.loads((repo_root() / "deploy" / "demo" / "catalog.json").read_text(encoding="utf-8"))
    listed: dict[str, date] = {}
    for revision in data["revisions"]:
        for change in revision["changes"]:
            if change["op"] == "add":
                listed[change["technology"]["code"]] = date.fromisoformat(revision["effective_on"])
            elif change["op"] == "retire":
                listed.pop(change["code"], None)
    return listed


def _at(day: date, rnd: random.Random) -> datetime:
    """A moment of a working day in Korea (09:00-18:00 KST), in UTC."""
    return datetime.combine(day, time(0, 0), UTC) + timedelta(minutes=rnd.randrange(0, 540))


def _years_later(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes the 28th."""
    return day.replace(year=day.year + years, day=min(day.day, 28) if day.month == 2 else day.day)


def _brn(n: int) -> str:
    # 9xx-xx-xxxxx with a valid check digit: apart from the demo's firms, which start lower.
    first = f"9{n:08d}"
    return first + str(brns.check_digit(first))


def _firms(data: ScaleData, rnd: random.Random, techs: list[str]) -> list[fev.FirmV1]:
    out = data.firms
    firms: list[fev.FirmV1] = []
    for n in range(100 * data.scale):
        number = _brn(n)
        size = SIZES[rnd.choices(range(3), weights=(1, 3, 6))[0]]
        since = date(rnd.randrange(2010, 2020), 1, 1)
        held = sorted(rnd.sample(techs, rnd.randint(1, 3)))
        registered = _at(since + timedelta(days=rnd.randrange(0, 300)), rnd)
        firm = fev.FirmV1(
            brn=number,
            brn_display=brns.display(number),
            name_en=f"Scale Firm {n:05d} Co., Ltd.",
            name_ko=f"스케일소재 {n:05d} 주식회사",
            size=size,
            size_since=since,
            region=rnd.choice(REGIONS),
            mpe_sales_ratio=round(rnd.uniform(0.2, 0.9), 4),
            technology_codes=held,
            confirmations=[],
            version=1,
        )
        out.outbox.append(Outgoing(reg.FIRM_REGISTERED, number, firm, registered))
        for code in held[: rnd.randint(0, 2)]:
            issued = date(rnd.randrange(2021, 2026), rnd.randint(1, 12), rnd.randint(1, 28))
            confirmation = fev.ConfirmationV1(
                technology_code=code, issued_on=issued, valid_until=_years_later(issued, 3)
            )
            firm = firm.model_copy(
                update={"confirmations": [*firm.confirmations, confirmation], "version": firm.version + 1}
            )
            out.outbox.append(Outgoing(reg.FIRM_CONFIRMATION_ADDED, number, firm, _at(issued, rnd)))
            out.add(
                "confirmations",
                {
                    "id": uuid.uuid4(),
                    "brn": number,
                    **confirmation.model_dump(),
                    "created_at": _at(issued, rnd),
                },
            )
        row = firm.model_dump(exclude={"brn_display", "confirmations"})
        out.add("firms", {**row, "created_at": registered, "updated_at": registered})
        firms.append(firm)
        _designation(data, rnd, firm)
    return firms


def _designation(data: ScaleData, rnd: random.Random, firm: fev.FirmV1) -> None:
    applied_on = date(rnd.randrange(2023, 2026), rnd.randint(1, 12), rnd.randint(1, 28))
    kind: fev.DesignationKind = "specialized" if firm.size != "large" else "leading"
    steps: list[tuple[fev.DesignationStatus, date]] = [("applied", applied_on)]
    steps.append(("under_review", applied_on + timedelta(days=rnd.randint(10, 30))))
    outcome: fev.DesignationStatus = "designated" if rnd.random() < 0.7 else "rejected"
    steps.append((outcome, steps[-1][1] + timedelta(days=rnd.randint(30, 90))))
    ident = uuid.UUID(int=rnd.getrandbits(128))
    history: list[fev.TransitionV1] = []
    previous: fev.DesignationStatus | None = None
    for version, (status, day) in enumerate(steps, start=1):
        history.append(
            fev.TransitionV1(
                from_status=previous,
                to_status=status,
                at=_at(day, rnd),
                effective_on=day,
                actor=ACTOR,
                reason=None,
            )
        )
        designated = status == "designated"
        state = fev.DesignationV1(
            id=ident,
            brn=firm.brn,
            kind=kind,
            cohort=1 if kind == "leading" else None,
            technology_codes=firm.technology_codes[:1],
            status=status,
            applied_on=applied_on,
            designated_on=day if designated else None,
            valid_until=_years_later(day, 3) if designated else None,
            history=list(history),
            version=version,
        )
        data.firms.outbox.append(Outgoing(reg.DESIGNATION_EVENTS[status], str(ident), state, history[-1].at))
        previous = status
    row = state.model_dump(mode="json")
    row.update(
        id=ident, applied_on=applied_on, designated_on=state.designated_on, valid_until=state.valid_until
    )
    data.firms.add("designations", {**row, "created_at": history[0].at, "updated_at": history[-1].at})


def _chains(scale: int, rnd: random.Random) -> list[list[int]]:
    """Multi-year projects as lists of fiscal years: up to three yearly records each."""
    chains: list[list[int]] = []
    records = 0
    while records < 200 * scale:
        start = rnd.choice(YEARS)
        years = list(range(start, min(start + 3, YEARS.stop)))
        chains.append(years)
        records += len(years)
    return chains


def _money(rnd: random.Random, firm: fev.FirmV1 | None) -> tuple[int, int, int]:
    gov = rnd.randrange(300, 900) * 1_000_000
    if firm is None:
        return gov, 0, 0
    total = -(-gov * 100 // int(GOV_SHARE[firm.size] * 100))
    cash = -(-total * 20 // 100)
    return gov, cash, max(total - gov - cash, 0)


def _budget(
    data: ScaleData,
    rnd: random.Random,
    techs: list[str],
    firms: list[fev.FirmV1],
    envelopes: dict[int, tuple[int, int]],
) -> None:
    programs = {y: f"SC{y % 100:02d}-RND" for y in YEARS}
    records: list[tuple[bev.ProjectV1, list[Outgoing], list[dict[str, Any]]]] = []
    for number, years in enumerate(_chains(data.scale, rnd)):
        firm = rnd.choice(firms) if rnd.random() < 0.9 else None
        chosen = sorted(rnd.sample(techs, rnd.randint(1, 3)))
        previous: str | None = None
        root = f"SC{years[0] % 100:02d}-RND-{number:06d}"
        for year in years:
            code = f"SC{year % 100:02d}-RND-{number:06d}"
            records.append(_record(rnd, code, programs[year], year, previous, root, chosen, firm))
            previous = code
    spent: dict[int, int] = {}
    for project, _, _ in records:
        spent[project.fiscal_year] = spent.get(project.fiscal_year, 0) + project.government_krw
    for year in YEARS:
        # The year's envelope grows by what the new program spends: (envelope, version) so far.
        envelope, version = envelopes.get(year, (0, 0))
        fiscal = bev.FiscalYearV1(year=year, envelope_krw=envelope + spent.get(year, 0), version=version + 1)
        at = datetime(year - 1, 11, 1, tzinfo=UTC)
        data.budget.outbox.append(Outgoing(reg.FISCAL_YEAR_SET, str(year), fiscal, at))
        data.budget.add("fiscal_years", {**fiscal.model_dump(), "updated_at": at})
    for year in YEARS:
        program = bev.ProgramV1(
            code=programs[year],
            fiscal_year=year,
            name_en=f"Scale R&D program {year}",
            name_ko=f"스케일 연구개발 사업 {year}",
            kind="rnd",
            track="new-industries",
            budget_krw=spent.get(year, 0),
            themes=[],
            version=1,
        )
        at = datetime(year - 1, 12, 1, tzinfo=UTC)
        data.budget.outbox.append(Outgoing(reg.PROGRAM_CREATED, program.code, program, at))
        data.budget.add("programs", {**program.model_dump(), "created_at": at, "updated_at": at})
    # Records in year order, so a continuing record always comes after the one it continues.
    for project, events, payments in sorted(records, key=lambda r: (r[0].fiscal_year, r[0].code)):
        data.budget.outbox.extend(events)
        row = project.model_dump(mode="json", exclude={"history", "participants"})
        for name in ("start_on", "end_on", "selected_on"):
            row[name] = getattr(project, name)
        row["history"] = [s.model_dump(mode="json") for s in project.history]
        row["participants"] = [p.model_dump(mode="json") for p in project.participants]
        data.budget.add("projects", {**row, "created_at": events[0].at, "updated_at": events[-1].at})
        for payment in payments:
            data.budget.add("disbursements", payment)


def _record(
    rnd: random.Random,
    code: str,
    program: str,
    year: int,
    continues: str | None,
    root: str,
    techs: list[str],
    firm: fev.FirmV1 | None,
) -> tuple[bev.ProjectV1, list[Outgoing], list[dict[str, Any]]]:
    """One yearly record: proposed, selected, signed, active, paid monthly, completed in a past year."""
    gov, cash, in_kind = _money(rnd, firm)
    start = date(year, 1, 1) if continues else date(year, rnd.randint(3, 6), 1)
    participants = []
    if firm is not None:
        participants = [
            bev.ParticipantV1(
                role="lead",
                kind="firm",
                name=None,
                brn=firm.brn,
                country="KR",
                government_krw=gov,
                private_cash_krw=cash,
                private_in_kind_krw=in_kind,
            )
        ]
    state = bev.ProjectV1(
        code=code,
        program_code=program,
        fiscal_year=year,
        title=f"스케일 과제 {code} (Scale project {code})",
        kind="continuing" if continues else "new",
        continues=continues,
        technology_codes=techs,
        lead_firm_brn=firm.brn if firm else None,
        government_krw=gov,
        private_cash_krw=cash,
        private_in_kind_krw=in_kind,
        start_on=start,
        end_on=date(year + 1, 1, 1),  # the first day after it: the project runs through Dec 31
        status="proposed",
        committed_krw=0,
        disbursed_krw=0,
        version=1,
        chain_root=root,
        participants=participants,
        program_kind="rnd",
        track="new-industries",
        lead_firm_size=firm.size if firm else None,
        lead_firm_region=firm.region if firm else None,
    )
    proposed_on = start - timedelta(days=rnd.randint(30, 40))
    events = [Outgoing(reg.PROJECT_EVENTS["proposed"], code, state, _at(proposed_on, rnd))]
    moves: list[tuple[bev.ProjectStatus, date]] = [
        ("selected", start - timedelta(days=rnd.randint(20, 29))),
        ("agreement_signed", start - timedelta(days=rnd.randint(5, 9))),
        ("active", start),
    ]

    def move(to: bev.ProjectStatus, day: date) -> None:
        nonlocal state
        step = bev.ProjectStepV1(
            from_status=state.status,
            to_status=to,
            at=_at(day, rnd),
            effective_on=day,
            actor=ACTOR,
            reason=None,
        )
        update: dict[str, Any] = {
            "status": to,
            "version": state.version + 1,
            "history": [*state.history, step],
        }
        if to == "selected":
            update.update(committed_krw=gov, selected_on=day)
        state = state.model_copy(update=update)
        events.append(Outgoing(reg.PROJECT_EVENTS[to], code, state, step.at))

    for to, day in moves:
        move(to, day)
    payments: list[dict[str, Any]] = []
    instalment = gov // PAYMENTS_PER_RECORD
    spacing = (date(year, 12, 15) - start).days // PAYMENTS_PER_RECORD
    for month in range(PAYMENTS_PER_RECORD):
        paid_on = start + timedelta(days=5 + spacing * month + rnd.randint(0, 3))
        if paid_on > TODAY:
            break
        amount = instalment if month < PAYMENTS_PER_RECORD - 1 else gov - instalment * month
        at = _at(paid_on, rnd)
        state = state.model_copy(
            update={"disbursed_krw": state.disbursed_krw + amount, "version": state.version + 1}
        )
        ident = uuid.UUID(int=rnd.getrandbits(128))
        paid = bev.DisbursementV1(
            id=ident,
            project_code=code,
            program_code=program,
            fiscal_year=year,
            paid_on=paid_on,
            amount_krw=amount,
            recorded_at=at,
            project_disbursed_krw=state.disbursed_krw,
            project_version=state.version,
            version=1,
        )
        events.append(Outgoing(reg.PROJECT_DISBURSED, code, state, at))
        events.append(Outgoing(reg.DISBURSEMENT_PAID, str(ident), paid, at))
        payments.append(
            {
                "id": ident,
                "project_code": code,
                "amount_krw": amount,
                "paid_on": paid_on,
                "created_by": ACTOR,
                "created_at": at,
            }
        )
    if year < TODAY.year:
        move("completed", date(year, 12, rnd.randint(20, 30)))
    return state, events, payments


def generate(scale: int, *, envelopes: dict[int, tuple[int, int]] | None = None, seed: int = 13) -> ScaleData:
    """The whole dataset at this scale (1 = the demo's order of size).

    `envelopes` are the fiscal years the budget service already has: (envelope, version) by year;
    each of the ten years gets its envelope raised by what the new program spends.
    """
    if scale < 1:
        raise ValueError("the scale is a whole number, at least 1")
    rnd = random.Random(seed)  # noqa: S311 - reproducible data, not secrets
    techs = sorted(current_technologies())
    data = ScaleData(scale)
    firms = _firms(data, rnd, techs)
    _budget(data, rnd, techs, firms, envelopes or {})
    return data
