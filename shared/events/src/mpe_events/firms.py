"""Events of the firms service: firms (with their confirmations) and designations (version 1)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

FirmSize = Literal["large", "mid", "sme"]
DesignationKind = Literal["leading", "specialized"]
DesignationStatus = Literal[
    "applied", "under_review", "designated", "rejected", "withdrawn", "revoked", "expired"
]


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ConfirmationV1(_Event):
    """A key-strategic-technology confirmation (핵심전략기술 확인서) a firm holds."""

    technology_code: str
    issued_on: date
    valid_until: date = Field(description="First day it no longer holds.")


class FirmV1(_Event):
    """The full state of a firm after a change."""

    brn: str = Field(pattern=r"^\d{10}$", description="Business registration number, 10 digits.")
    brn_display: str = Field(description="The BRN as 123-45-67890.")
    name_en: str
    name_ko: str
    size: FirmSize
    size_since: date
    region: str
    mpe_sales_ratio: float | None = Field(ge=0, le=1)
    technology_codes: list[str]
    confirmations: list[ConfirmationV1]
    version: int = Field(ge=1)


class TransitionV1(_Event):
    """One move of a designation's status."""

    from_status: DesignationStatus | None
    to_status: DesignationStatus
    at: datetime
    effective_on: date
    actor: str
    reason: str | None


class DesignationV1(_Event):
    """The full state of a designation after a change, with its whole history."""

    id: uuid.UUID
    brn: str
    kind: DesignationKind
    cohort: int | None
    technology_codes: list[str]
    status: DesignationStatus
    applied_on: date
    designated_on: date | None
    valid_until: date | None = Field(description="First day the designation no longer holds.")
    history: list[TransitionV1]
    version: int = Field(ge=1)
