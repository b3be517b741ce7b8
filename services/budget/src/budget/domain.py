"""The money rules: commitments, cost-share caps, the project lifecycle, alchemist funnels. No I/O.

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
        )
    if cash * 100 < cap.min_cash_pct * (cash + in_kind):
        raise Invalid.field(
            "private_cash_krw",
            f"a {size} lead firm pays at least {cap.min_cash_pct}% of its share in cash; "
            f"this is {cash:,} of {cash + in_kind:,} won",
        )


def check_fits(*, what: str, used: int, adding: int, limit: int) -> None:
    """`used + adding` must stay within `limit`; a 409 with the figures otherwise."""
    if used + adding > limit:
        raise Conflict(
            f"{what}: {used:,} won already, {adding:,} more would exceed the limit of {limit:,} won.",
            used_krw=used,
            adding_krw=adding,
            limit_krw=limit,
        )


@dataclass(frozen=True, kw_only=True)
class Step:
    """One move of a project's status."""

    from_status: Status
    to_status: Status
    at: datetime
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
        raise Conflict(
            f"A project in status {p.status} cannot move to {to}; allowed: {options}.",
            current_status=p.status,
            allowed=list(MOVES[p.status]),
        )
    if to == "terminated" and not (reason and reason.strip()):
        raise Invalid.field("reason", "terminating a project needs a reason")
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
            "agreement_signed or active."
        )
    check_fits(
        what=f"Disbursements of project {p.code}", used=p.disbursed_krw, adding=amount, limit=p.government_krw
    )


# The longest the program funds one project: an alchemist project's stages (about a year of
# concept and preliminary work, then up to five of main stage) fit with room to spare.
MAX_PROJECT_YEARS = 10


def check_project_shape(*, kind: str, continues: str | None, start_on: date, end_on: date) -> None:
    """Rules of a project that need nothing but the project."""
    if end_on <= start_on:
        raise Invalid.field("end_on", "must be after start_on")
    if end_on > _add_years(start_on, MAX_PROJECT_YEARS):
        raise Invalid.field("end_on", f"a project runs at most {MAX_PROJECT_YEARS} years from start_on")
    if kind == "continuing" and not continues:
        raise Invalid.field("continues", "a continuing project names the previous year's project")
    if kind == "new" and continues:
        raise Invalid.field("continues", "a new project continues nothing")


def check_payment_day(paid_on: date, *, start_on: date, end_on: date) -> None:
    """A payment falls within its project's period: start_on ≤ paid_on < end_on."""
    if not start_on <= paid_on < end_on:
        raise Invalid.field(
            "paid_on", f"must fall within the project's period, from {start_on} until (before) {end_on}"
        )


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February, in a year that has none
        return day.replace(year=day.year + years, month=3, day=1)


def check_theme(stages: list[tuple[str, int]]) -> None:
    """An alchemist theme's stages in order, and its team count never growing stage to stage."""
    names = [s for s, _ in stages]
    if len(set(names)) != len(names) or names != [s for s in STAGES if s in names]:
        raise Invalid.field("stages", f"stages appear once each, in the order {' → '.join(STAGES)}")
    for (a, na), (b, nb) in itertools.pairwise(stages):
        if nb > na:
            raise Invalid.field("stages", f"teams never grow from stage to stage: {a} has {na}, {b} has {nb}")
