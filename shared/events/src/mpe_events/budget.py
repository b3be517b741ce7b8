"""Events of the budget service: fiscal years, programs (with alchemist themes) and projects (v1).

Money is whole won as a JSON integer (64-bit); committed and disbursed money are separate fields.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Won = int
ProgramKind = Literal["rnd", "alchemist", "infrastructure", "other"]
ProjectKind = Literal["new", "continuing"]
ProjectStatus = Literal["proposed", "selected", "agreement_signed", "active", "completed", "terminated"]
ThemeStage = Literal["concept", "preliminary", "main"]


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class FiscalYearV1(_Event):
    """A fiscal year's appropriation."""

    year: int
    envelope_krw: Won = Field(ge=0)
    version: int = Field(ge=1)


class ThemeStageV1(_Event):
    """How many teams an alchemist theme carries at one stage."""

    stage: ThemeStage
    teams: int = Field(ge=0)


class ThemeV1(_Event):
    """An alchemist theme: a tournament whose team count never grows from stage to stage."""

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
