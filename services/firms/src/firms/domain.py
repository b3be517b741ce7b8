"""Firms and designations: the BRN, the designation lifecycle and its rules. No I/O.

Periods include their first day and exclude their last: a designation holds on day D when
designated_on <= D < valid_until.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from mpe_events import brn
from mpe_kit.errors import Conflict, Invalid

Kind = Literal["leading", "specialized"]
Status = Literal["applied", "under_review", "designated", "rejected", "withdrawn", "revoked", "expired"]

# Years a designation lasts, by kind.
TERM_YEARS: dict[str, int] = {"leading": 5, "specialized": 3}
SPECIALIZED_MIN_RATIO = 0.5

# The moves staff may make; `expired` is set only by the expiry task.
MOVES: dict[str, tuple[str, ...]] = {
    "applied": ("under_review", "withdrawn"),
    "under_review": ("designated", "rejected", "withdrawn"),
    "designated": ("revoked",),
    "rejected": (),
    "withdrawn": (),
    "revoked": (),
    "expired": (),
}
NEEDS_REASON = frozenset({"rejected", "revoked"})


# The designation kinds as Korean readers know them.
KIND_KO = {"leading": "으뜸기업", "specialized": "전문기업"}


def brn_check_digit(first_nine: str) -> int:
    """The check digit of a business registration number's first nine digits."""
    return brn.check_digit(first_nine)


def normalize_brn(value: str) -> str:
    """The 10 digits of a valid BRN given as 1234567890 or 123-45-67890; Invalid otherwise."""
    try:
        return brn.normalize(value)
    except brn.InvalidBrn as exc:
        raise Invalid.field("brn", str(exc), ko=exc.ko) from exc


def brn_display(digits: str) -> str:
    """The BRN as 123-45-67890."""
    return brn.display(digits)


def add_years(day: date, years: int) -> date:
    """The same calendar day `years` later; 29 Feb moves to 1 Mar when that year has none."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


@dataclass(frozen=True, kw_only=True)
class Confirmation:
    """A key-strategic-technology confirmation: it holds on issued_on <= D < valid_until."""

    technology_code: str
    issued_on: date
    valid_until: date

    def holds_on(self, day: date) -> bool:
        """Whether the certificate is valid on `day`."""
        return self.issued_on <= day < self.valid_until


# A key-strategic-technology confirmation is checked against a list revised every two years or
# so, and the program's longest support package runs five years: no confirmation is issued
# for longer. (A specialized firm's designation runs three years; see TERM_YEARS.)
CONFIRMATION_MAX_YEARS = 5


def check_confirmation(issued_on: date, valid_until: date) -> None:
    """A confirmation's period must not be empty, nor longer than CONFIRMATION_MAX_YEARS."""
    if valid_until <= issued_on:
        raise Invalid.field("valid_until", "must be after issued_on", ko="issued_on보다 뒤여야 합니다")
    if valid_until > add_years(issued_on, CONFIRMATION_MAX_YEARS):
        raise Invalid.field(
            "valid_until",
            f"a confirmation holds at most {CONFIRMATION_MAX_YEARS} years from issued_on",
            ko=f"확인서는 issued_on부터 최대 {CONFIRMATION_MAX_YEARS}년 유효합니다",
        )


@dataclass(frozen=True, kw_only=True)
class Transition:
    """One move of a designation's status."""

    from_status: Status | None
    to_status: Status
    at: datetime
    effective_on: date
    actor: str
    reason: str | None


@dataclass(frozen=True, kw_only=True)
class Designation:
    """An application for, and then the state of, a designation."""

    id: uuid.UUID
    brn: str
    kind: Kind
    cohort: int | None
    technology_codes: tuple[str, ...]
    status: Status
    applied_on: date
    designated_on: date | None
    valid_until: date | None
    history: tuple[Transition, ...]
    version: int

    def active_period(self) -> tuple[date, date] | None:
        """The days it was (or is) active: from designation until it ended, was revoked or expired."""
        if self.designated_on is None or self.valid_until is None:
            return None
        if self.status == "designated":
            return self.designated_on, self.valid_until
        ended = next((t.effective_on for t in self.history if t.to_status in ("revoked", "expired")), None)
        return (self.designated_on, ended) if ended is not None else None

    def overlaps(self, start: date, end: date) -> bool:
        """Whether this designation was active on any day of [start, end)."""
        period = self.active_period()
        return period is not None and period[0] < end and start < period[1]


def check_application(*, kind: Kind, cohort: int | None, technology_codes: list[str]) -> None:
    """Rules of an application that need nothing but the application."""
    if not technology_codes:
        raise Invalid.field(
            "technology_codes", "name at least one technology", ko="기술을 하나 이상 적으십시오"
        )
    if kind == "specialized" and cohort is not None:
        raise Invalid.field(
            "cohort", "cohorts exist for leading firms only", ko="차수(cohort)는 으뜸기업에만 있습니다"
        )


def check_leading_confirmation(confirmations: list[Confirmation], codes: list[str], *, on: date) -> None:
    """A leading application needs a confirmation valid on `on` for one of its technologies."""
    if not any(c.technology_code in codes and c.holds_on(on) for c in confirmations):
        raise Invalid.field(
            "technology_codes",
            f"a leading-firm application needs a confirmation valid on {on} for one of {', '.join(sorted(codes))}",
            ko=f"으뜸기업 신청에는 {', '.join(sorted(codes))} 중 하나의 확인서가 {on}에 유효해야 합니다",
        )


def check_specialized_ratio(ratio: float | None) -> None:
    """A specialized firm's MPE sales are at least half its sales."""
    if ratio is None or ratio < SPECIALIZED_MIN_RATIO:
        shown = "unknown" if ratio is None else f"{ratio:g}"
        raise Invalid.field(
            "mpe_sales_ratio",
            f"a specialized designation needs an MPE sales ratio of at least 0.5; the firm's is {shown}",
            ko=f"전문기업 지정에는 소부장 매출 비중이 0.5 이상이어야 합니다. 이 기업은 {shown}입니다",
        )


def apply_for(
    *,
    id: uuid.UUID,
    brn: str,
    kind: Kind,
    cohort: int | None,
    technology_codes: list[str],
    on: date,
    actor: str,
    at: datetime,
) -> Designation:
    """A new application, status applied."""
    check_application(kind=kind, cohort=cohort, technology_codes=technology_codes)
    first = Transition(
        from_status=None, to_status="applied", at=at, effective_on=on, actor=actor, reason=None
    )
    return Designation(
        id=id,
        brn=brn,
        kind=kind,
        cohort=cohort,
        technology_codes=tuple(sorted(set(technology_codes))),
        status="applied",
        applied_on=on,
        designated_on=None,
        valid_until=None,
        history=(first,),
        version=1,
    )


def move(
    d: Designation,
    *,
    to: Status,
    on: date,
    actor: str,
    at: datetime,
    reason: str | None = None,
    by_expiry_task: bool = False,
) -> Designation:
    """The designation after one move; Conflict if the move is not allowed from its status."""
    allowed = ("expired",) if by_expiry_task and d.status == "designated" else MOVES[d.status]
    if to not in allowed:
        options = ", ".join(MOVES[d.status]) or "none (it is final)"
        options_ko = ", ".join(MOVES[d.status]) or "없음(마지막 상태)"
        raise Conflict(
            f"A designation in status {d.status} cannot move to {to}; allowed: {options}.",
            current_status=d.status,
            allowed=list(MOVES[d.status]),
            ko=f"{d.status} 상태의 지정은 {to}(으)로 바꿀 수 없습니다. 가능한 상태: {options_ko}.",
        )
    if to in NEEDS_REASON and not (reason and reason.strip()):
        raise Invalid.field(
            "reason", f"moving to {to} needs a reason", ko=f"{to}(으)로 바꾸려면 사유가 필요합니다"
        )
    last = d.history[-1].effective_on
    if on < last:
        raise Invalid.field(
            "effective_on",
            f"cannot be before the previous move ({last})",
            ko=f"이전 상태 변경({last})보다 앞설 수 없습니다",
        )
    changes: dict[str, object] = {}
    if to == "designated":
        changes = {"designated_on": on, "valid_until": add_years(on, TERM_YEARS[d.kind])}
    elif to in ("revoked", "expired") and d.valid_until is not None and on > d.valid_until:
        raise Invalid.field(
            "effective_on",
            f"the designation already ended on {d.valid_until}",
            ko=f"이 지정은 이미 {d.valid_until}에 끝났습니다",
        )
    step = Transition(from_status=d.status, to_status=to, at=at, effective_on=on, actor=actor, reason=reason)
    return dataclasses.replace(d, status=to, history=(*d.history, step), version=d.version + 1, **changes)  # type: ignore[arg-type]


def check_no_overlap(candidate: Designation, others: list[Designation]) -> None:
    """A firm may not hold two active designations of one kind whose periods overlap.

    A revoked or expired designation still counts for the days it was active, so a backdated
    designation cannot overlap them either.
    """
    assert candidate.designated_on is not None
    assert candidate.valid_until is not None
    for other in others:
        if (
            other.id != candidate.id
            and other.kind == candidate.kind
            and other.overlaps(candidate.designated_on, candidate.valid_until)
        ):
            start, end = other.active_period() or (other.designated_on, other.valid_until)
            raise Conflict(
                f"The firm holds, or held, an active {candidate.kind} designation ({other.id}) from "
                f"{start} until {end}, which overlaps {candidate.designated_on} to {candidate.valid_until}.",
                ko=f"이 기업은 {start}부터 {end}까지 유효한 {KIND_KO[candidate.kind]} 지정({other.id})을 가지고 있거나 가졌으며, 이는 {candidate.designated_on}~{candidate.valid_until} 기간과 겹칩니다.",
            )
