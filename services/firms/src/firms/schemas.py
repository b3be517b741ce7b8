"""The REST API's request and response models."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Generic, Literal, TypeVar
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from mpe_kit.korean import Refusal
from mpe_kit.regions import region
from mpe_kit.text import NO_NUL, normalized
from mpe_kit.types import Day, ProgramDay

Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NO_NUL),
    AfterValidator(normalized),
]
# One of the 17 시·도 by its short name, whichever way it is written (mpe_kit.regions).
Region = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NO_NUL),
    AfterValidator(region),
    Field(
        description="One of Korea's 17 시·도, stored by its short name: 경기, 경기도 and Gyeonggi are all 경기.",
        examples=["경기"],
    ),
]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9-]{0,31}$")]
Codes = Annotated[list[Code], Field(max_length=100)]
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=2000, pattern=NO_NUL),
    AfterValidator(normalized),
]
Size = Literal["large", "mid", "sme"]
Kind = Literal["leading", "specialized"]
Status = Literal["applied", "under_review", "designated", "rejected", "withdrawn", "revoked", "expired"]
# Strict: a JSON number, never true/false or a string that happens to parse.
Ratio = Annotated[float, Field(strict=True, ge=0, le=1)]


def _not_after_today(day: date) -> date:
    if day > datetime.now(ZoneInfo("Asia/Seoul")).date():
        raise Refusal("cannot be after today (Asia/Seoul)", ko="오늘(한국 시각)보다 뒤일 수 없습니다")
    return day


# Korea's oldest firms date from the 1890s; a size class applies from a day that has come.
SizeSince = Annotated[
    Day,
    Field(
        ge=date(1900, 1, 1),
        description="The day the size class applies from: from 1900-01-01, not after today.",
    ),
    AfterValidator(_not_after_today),
]

T = TypeVar("T")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """A page of a list; `next_cursor` is null on the last page."""

    items: list[T]
    next_cursor: str | None


class FirmCreate(_In):
    """A firm to register."""

    brn: str = Field(description="10 digits, as 1234567890 or 123-45-67890, with a valid check digit.")
    name_en: Name
    name_ko: Name
    size: Size
    size_since: SizeSince
    region: Region
    mpe_sales_ratio: Ratio | None = None
    technology_codes: Codes = []


class FirmPatch(_In):
    """Changes to a firm; omitted fields stay."""

    name_en: Name | None = None
    name_ko: Name | None = None
    size: Size | None = None
    size_since: SizeSince | None = None
    region: Region | None = None
    mpe_sales_ratio: Ratio | None = None
    technology_codes: Codes | None = None


class FirmRead(BaseModel):
    """A firm."""

    brn: str
    brn_display: str
    name_en: str
    name_ko: str
    size: Size
    size_since: date
    region: str
    mpe_sales_ratio: float | None
    technology_codes: list[str]
    version: int


class ConfirmationCreate(_In):
    """A key-strategic-technology confirmation the firm holds."""

    technology_code: Code
    issued_on: Annotated[ProgramDay, AfterValidator(_not_after_today)] = Field(
        description="The day it was issued: from 2000-01-01, not after today."
    )
    valid_until: ProgramDay = Field(
        description="The first day it no longer holds: after issued_on, at most 5 years later."
    )


class ConfirmationRead(BaseModel):
    """A confirmation."""

    id: uuid.UUID
    technology_code: str
    issued_on: date
    valid_until: date


class DesignationCreate(_In):
    """An application for a designation."""

    kind: Kind
    technology_codes: Annotated[list[Code], Field(min_length=1, max_length=100)]
    cohort: Annotated[int, Field(strict=True, ge=1, le=100)] | None = None
    effective_on: ProgramDay | None = Field(
        default=None,
        description="Day of the application, from 2000-01-01 and not after today; today if omitted.",
    )


class TransitionCreate(_In):
    """A move of a designation's status."""

    to: Literal["under_review", "designated", "rejected", "withdrawn", "revoked"]
    reason: Reason | None = None
    effective_on: ProgramDay | None = Field(
        default=None, description="Day the move takes effect, from 2000-01-01; today if omitted."
    )


class TransitionRead(BaseModel):
    """One move in a designation's history."""

    from_status: Status | None
    to_status: Status
    at: datetime
    effective_on: date
    actor: str
    reason: str | None


class DesignationRead(BaseModel):
    """A designation with its whole history."""

    id: uuid.UUID
    brn: str
    kind: Kind
    cohort: int | None
    technology_codes: list[str]
    status: Status
    applied_on: date
    designated_on: date | None
    valid_until: date | None
    history: list[TransitionRead]
    version: int
