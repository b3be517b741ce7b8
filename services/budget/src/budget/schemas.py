"""The REST API's request and response models. Money is whole won as JSON integers."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Annotated, Generic, Literal, TypeVar
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

_NO_NUL = r"^[^\x00]*$"
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300, pattern=_NO_NUL)]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9-]{0,47}$")]
TechCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9-]{0,31}$")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000, pattern=_NO_NUL)]
# Whole won in 64 bits (₩937.56bn does not fit in 32), capped at ₩10^16 (₩1경), some fifteen
# times Korea's whole national budget: no sum the services or the gateway make (a project's
# cost, a program's commitments, a rollup over every year 2000 to 2100) can then pass 2^63 − 1.
MAX_WON = 10**16
# Strict: money arrives as a JSON integer, never as a string or a float that happens to parse.
Won = Annotated[int, Field(strict=True, ge=0, le=MAX_WON, description="Whole won, 0 to 10^16.")]
PositiveWon = Annotated[int, Field(strict=True, gt=0, le=MAX_WON, description="Whole won, 1 to 10^16.")]
# A payment may be entered ahead of its day, by at most this many days.
PAYMENT_LEAD_DAYS = 31


def _not_far_ahead(day: date) -> date:
    if day > datetime.now(ZoneInfo("Asia/Seoul")).date() + timedelta(days=PAYMENT_LEAD_DAYS):
        raise ValueError(f"cannot be more than {PAYMENT_LEAD_DAYS} days after today (Asia/Seoul)")
    return day


# The program's days (its fiscal years are 2000 to 2100).
ProgramDay = Annotated[
    date,
    Field(ge=date(2000, 1, 1), le=date(2100, 12, 31), description="A day from 2000-01-01 to 2100-12-31."),
]
ProgramKind = Literal["rnd", "alchemist", "infrastructure", "other"]
ProjectKind = Literal["new", "continuing"]
ProjectStatus = Literal["proposed", "selected", "agreement_signed", "active", "completed", "terminated"]
Year = Annotated[int, Field(strict=True, ge=2000, le=2100)]

T = TypeVar("T")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """A page of a list; `next_cursor` is null on the last page."""

    items: list[T]
    next_cursor: str | None


class FiscalYearPut(_In):
    """A year's appropriation."""

    envelope_krw: Won


class FiscalYearRead(BaseModel):
    """A fiscal year with its money, committed and disbursed kept apart."""

    year: int
    envelope_krw: int
    programmed_krw: int = Field(description="Sum of the year's program budgets.")
    committed_krw: int = Field(
        description="Government money of the year's selected projects (paid part once terminated)."
    )
    disbursed_krw: int = Field(description="Sum paid.")
    version: int


class ThemeStage(_In):
    """Teams at one stage of an alchemist tournament."""

    stage: Literal["concept", "preliminary", "main"]
    teams: Annotated[int, Field(strict=True, ge=0, le=1000)]


class ThemePut(_In):
    """An alchemist theme."""

    title: Name
    stages: Annotated[list[ThemeStage], Field(min_length=1, max_length=3)]


class Theme(BaseModel):
    """An alchemist theme, as stored."""

    code: str
    title: str
    stages: list[ThemeStage]


class ProgramCreate(_In):
    """A program of one fiscal year."""

    code: Code
    fiscal_year: Year
    name_en: Name
    name_ko: Name
    kind: ProgramKind
    track: Name | None = None
    budget_krw: Won


class ProgramRead(BaseModel):
    """A program with its commitments."""

    code: str
    fiscal_year: int
    name_en: str
    name_ko: str
    kind: ProgramKind
    track: str | None
    budget_krw: int
    committed_krw: int
    disbursed_krw: int
    themes: list[Theme]
    version: int


class ProjectCreate(_In):
    """A proposed project."""

    code: Code
    program_code: Code
    title: Name
    kind: ProjectKind
    continues: Code | None = None
    technology_codes: Annotated[list[TechCode], Field(min_length=1, max_length=20)]
    lead_firm_brn: str | None = Field(
        default=None, description="10 digits or 123-45-67890; none for an institute-led project."
    )
    government_krw: Won
    private_cash_krw: Won = 0
    private_in_kind_krw: Won = 0
    start_on: ProgramDay
    end_on: ProgramDay = Field(
        description="The first day after the project: after start_on, within 10 years."
    )


class ProjectTransition(_In):
    """A move of a project's status."""

    to: Literal["selected", "agreement_signed", "active", "completed", "terminated"]
    reason: Reason | None = None


class StepRead(BaseModel):
    """One move in a project's history."""

    from_status: ProjectStatus
    to_status: ProjectStatus
    at: datetime
    actor: str
    reason: str | None


class ProjectRead(BaseModel):
    """A project, its money, and its history."""

    code: str
    program_code: str
    fiscal_year: int
    title: str
    kind: ProjectKind
    continues: str | None
    technology_codes: list[str]
    lead_firm_brn: str | None
    government_krw: int
    private_cash_krw: int
    private_in_kind_krw: int
    start_on: date
    end_on: date
    status: ProjectStatus
    committed_krw: int
    disbursed_krw: int
    history: list[StepRead]
    version: int


class DisbursementCreate(_In):
    """A payment to a project."""

    amount_krw: PositiveWon
    paid_on: Annotated[ProgramDay, AfterValidator(_not_far_ahead)] = Field(
        description="Within the project's period (start_on ≤ paid_on < end_on), at most 31 days after today."
    )


class DisbursementRead(BaseModel):
    """A payment."""

    id: uuid.UUID
    project_code: str
    amount_krw: int
    paid_on: date
    created_at: datetime
