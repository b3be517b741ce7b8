"""The REST API's request and response models. Money is whole won as JSON integers."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Annotated, Generic, Literal, TypeVar
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from mpe_kit.korean import Refusal
from mpe_kit.text import NO_NUL, normalized
from mpe_kit.types import ProgramDay

Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300, pattern=NO_NUL),
    AfterValidator(normalized),
]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9-]{0,47}$")]
TechCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9-]{0,31}$")]
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=2000, pattern=NO_NUL),
    AfterValidator(normalized),
]
# Whole won in 64 bits (₩937.56bn does not fit in 32), capped at ₩10^16 (₩1경), some fifteen
# times Korea's whole national budget. A project's cost and a program's commitments then stay
# within 2^63 − 1; the plans of a year's projects are capped too (MAX_YEAR_PLANNED_WON), since
# private money has no budget to bound it, so that no rollup over every year 2000 to 2100 can
# pass 2^63 − 1 either.
MAX_WON = 10**16
# What one fiscal year's projects may plan together, government and private money: 101 years of
# it stay under 2^63 − 1 (about 9.2 × 10^18).
MAX_YEAR_PLANNED_WON = 9 * 10**16
# Strict: money arrives as a JSON integer, never as a string or a float that happens to parse.
Won = Annotated[int, Field(strict=True, ge=0, le=MAX_WON, description="Whole won, 0 to 10^16.")]
PositiveWon = Annotated[int, Field(strict=True, gt=0, le=MAX_WON, description="Whole won, 1 to 10^16.")]
# A payment may be entered ahead of its day, by at most this many days.
PAYMENT_LEAD_DAYS = 31


def _not_far_ahead(day: date) -> date:
    if day > datetime.now(ZoneInfo("Asia/Seoul")).date() + timedelta(days=PAYMENT_LEAD_DAYS):
        raise Refusal(
            f"cannot be more than {PAYMENT_LEAD_DAYS} days after today (Asia/Seoul)",
            ko=f"오늘(한국 시각)에서 {PAYMENT_LEAD_DAYS}일이 넘게 뒤일 수 없습니다",
        )
    return day


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
    """Teams at one stage of an alchemist tournament in one fiscal year, and their projects."""

    stage: Literal["concept", "preliminary", "main"]
    teams: Annotated[int, Field(strict=True, ge=0, le=1000)]
    fiscal_year: Year | None = Field(default=None, description="Defaults to the program's fiscal year.")
    project_codes: Annotated[list[Code], Field(max_length=100)] = Field(
        default_factory=list, description="The projects funded at this stage in this year, one per team."
    )


class ThemePut(_In):
    """An alchemist theme: its stages in order, each stage year by year."""

    title: Name
    # Concept and preliminary take a year each, the main stage up to five: 24 leaves room.
    stages: Annotated[list[ThemeStage], Field(min_length=1, max_length=24)]


class ThemeStageRead(BaseModel):
    """Teams at one stage in one fiscal year, as stored."""

    stage: Literal["concept", "preliminary", "main"]
    teams: int
    fiscal_year: int | None = None
    project_codes: list[str] = Field(default_factory=list)


class Theme(BaseModel):
    """An alchemist theme, as stored."""

    code: str
    title: str
    stages: list[ThemeStageRead]


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


Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class ParticipantIn(_In):
    """A consortium member and its own share of the project's money."""

    role: Literal["lead", "participant"]
    kind: Literal["firm", "university", "institute"]
    name: Name | None = Field(default=None, description="For anyone but a Korean firm, which its BRN names.")
    brn: str | None = Field(default=None, description="A Korean firm's BRN, 10 digits or 123-45-67890.")
    country: Country = Field(
        default="KR", description="ISO 3166-1 alpha-2; any other than KR is a foreign partner."
    )
    government_krw: Won = 0
    private_cash_krw: Won = 0
    private_in_kind_krw: Won = 0


class Participant(BaseModel):
    """A consortium member, as stored."""

    role: Literal["lead", "participant"]
    kind: Literal["firm", "university", "institute"]
    name: str | None
    brn: str | None
    country: str
    government_krw: int
    private_cash_krw: int
    private_in_kind_krw: int


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
        description="The first day after the project (사업기간 2023.04.01~2023.12.31 is end_on"
        " 2024-01-01): after start_on, within 10 years."
    )
    participants: Annotated[list[ParticipantIn], Field(max_length=50)] | None = Field(
        default=None,
        description="The consortium, lead included; each money column must add up to the project's. "
        "Omitted: the lead firm alone with all of the money (nobody, for a project led by no firm).",
    )


class ProjectTransition(_In):
    """A move of a project's status."""

    to: Literal["selected", "agreement_signed", "active", "completed", "terminated"]
    reason: Reason | None = None
    effective_on: ProgramDay | None = Field(
        default=None,
        description="The day in Korea the move took effect (a committee's decision day); defaults to today.",
    )


class StepRead(BaseModel):
    """One move in a project's history."""

    from_status: ProjectStatus
    to_status: ProjectStatus
    at: datetime
    effective_on: date
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
    chain_root: str = Field(description="The first yearly record of this multi-year project.")
    participants: list[Participant]
    program_kind: ProgramKind
    track: str | None
    selected_on: date | None
    lead_firm_size: Literal["large", "mid", "sme"] | None = Field(
        description="The lead firm's size class on the selection day (before selection: at the proposal)."
    )
    lead_firm_region: str | None


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
