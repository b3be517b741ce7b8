"""Events of the budget service: fiscal years, programs (with alchemist themes), projects and
disbursements (v1).

Money is whole won as a JSON integer (64-bit); committed and disbursed money are separate fields.
Properties added after a type was first published carry a default, so events written before
them stay valid.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Won = int
ProgramKind = Literal["rnd", "alchemist", "infrastructure", "other"]
ProjectKind = Literal["new", "continuing"]
ProjectStatus = Literal["proposed", "selected", "agreement_signed", "active", "completed", "terminated"]
ThemeStage = Literal["concept", "preliminary", "main"]
FirmSize = Literal["large", "mid", "sme"]
ParticipantRole = Literal["lead", "participant"]
ParticipantKind = Literal["firm", "university", "institute"]


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class FiscalYearV1(_Event):
    """A fiscal year's appropriation."""

    year: int
    envelope_krw: Won = Field(ge=0)
    version: int = Field(ge=1)


class ThemeStageV1(_Event):
    """How many teams an alchemist theme carries at one stage in one fiscal year, and their projects."""

    stage: ThemeStage
    teams: int = Field(ge=0)
    fiscal_year: int | None = Field(
        default=None, description="The year of this stage's funding; null only in events from before years."
    )
    project_codes: list[str] = Field(
        default_factory=list, description="The projects (one per team) funded at this stage in this year."
    )


class ThemeV1(_Event):
    """An alchemist theme: a tournament whose team count never grows from stage to stage.

    Its stages are in order (concept, preliminary, main), each stage's years ascending; along that
    order the team count never grows.
    """

    code: str
    title: str
    stages: list[ThemeStageV1]


class ProgramV1(_Event):
    """The full state of a program after a change."""

    code: str
    fiscal_year: int
    name_en: str
    name_ko: str
    kind: ProgramKind
    track: str | None
    budget_krw: Won = Field(ge=0)
    themes: list[ThemeV1]
    version: int = Field(ge=1)


class ProjectStepV1(_Event):
    """One move of a project's status."""

    from_status: ProjectStatus
    to_status: ProjectStatus
    at: datetime = Field(description="When the move was recorded (UTC).")
    effective_on: date = Field(description="The calendar day in Korea the move took effect.")
    actor: str = Field(description="The staff member (token subject) who recorded it.")
    reason: str | None


class ParticipantV1(_Event):
    """A member of a project's consortium with its own share of the project's money.

    A participant with `country` other than KR is a foreign partner. Each money column summed
    over the participants equals the project's column of the same name.
    """

    role: ParticipantRole
    kind: ParticipantKind
    name: str | None = Field(description="Null for a Korean firm, which its BRN names.")
    brn: str | None = Field(description="10 digits, for a Korean firm only.")
    country: str = Field(
        pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2; KR for a Korean participant."
    )
    government_krw: Won = Field(ge=0)
    private_cash_krw: Won = Field(ge=0)
    private_in_kind_krw: Won = Field(ge=0)


class ProjectV1(_Event):
    """The full state of a project after a change, with what it commits and what was paid."""

    code: str
    program_code: str
    fiscal_year: int
    title: str
    kind: ProjectKind
    continues: str | None
    technology_codes: list[str]
    lead_firm_brn: str | None
    government_krw: Won = Field(ge=0)
    private_cash_krw: Won = Field(ge=0)
    private_in_kind_krw: Won = Field(ge=0)
    start_on: date
    end_on: date
    status: ProjectStatus
    committed_krw: Won = Field(ge=0, description="Government money committed: 0 until selected.")
    disbursed_krw: Won = Field(ge=0, description="Sum of the disbursements paid.")
    version: int = Field(ge=1)
    history: list[ProjectStepV1] = Field(default_factory=list, description="Every status move, oldest first.")
    chain_root: str | None = Field(
        default=None,
        description="The first yearly record of this multi-year project (its own code if it continues nothing).",
    )
    participants: list[ParticipantV1] = Field(
        default_factory=list,
        description="The consortium; empty for a project led by no firm and naming nobody.",
    )
    program_kind: ProgramKind | None = Field(default=None, description="The program's kind.")
    track: str | None = Field(default=None, description="The program's track.")
    selected_on: date | None = Field(default=None, description="The day it was selected; null before.")
    lead_firm_size: FirmSize | None = Field(
        default=None,
        description="The lead firm's size class on the selection day (before selection: at the proposal).",
    )
    lead_firm_region: str | None = Field(
        default=None, description="The lead firm's region, taken with its size class."
    )


class DisbursementV1(_Event):
    """One payment to a project. A payment never changes once made, so its version is always 1."""

    id: uuid.UUID
    project_code: str
    program_code: str
    fiscal_year: int = Field(description="The project's fiscal year.")
    paid_on: date = Field(description="The calendar day in Korea the money was paid.")
    amount_krw: Won = Field(gt=0)
    recorded_at: datetime = Field(description="When the payment was recorded (UTC).")
    project_disbursed_krw: Won = Field(ge=0, description="The project's disbursed total after this payment.")
    project_version: int = Field(ge=1, description="The project's version this payment produced.")
    version: int = Field(ge=1)
