"""The REST API's request and response models."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from mpe_kit.text import NO_NUL, normalized
from mpe_kit.types import Day

Code = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9-]{0,31}$")]
# Postgres text cannot hold NUL; refusing it here names the field in the 422.
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NO_NUL),
    AfterValidator(normalized),
]
Description = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=2000, pattern=NO_NUL),
    AfterValidator(normalized),
]
Kind = Literal["material", "part", "equipment"]

T = TypeVar("T")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """A page of a list; `next_cursor` is null on the last page."""

    items: list[T]
    next_cursor: str | None


class IndustryCreate(_In):
    """A new industry."""

    code: Code
    name_en: Name
    name_ko: Name


class IndustryRead(BaseModel):
    """An industry."""

    code: str
    name_en: str
    name_ko: str
    version: int


class TechnologyIn(_In):
    """The fields of a technology a revision adds."""

    code: Code
    industry_code: Code
    kind: Kind
    name_en: Name
    name_ko: Name
    description: Description = ""


class AddChange(_In):
    """List a new technology."""

    op: Literal["add"]
    technology: TechnologyIn


class RetireChange(_In):
    """Retire a listed technology."""

    op: Literal["retire"]
    code: Code


class AmendChange(_In):
    """Amend fields of a listed technology; omitted fields stay."""

    op: Literal["amend"]
    code: Code
    industry_code: Code | None = None
    kind: Kind | None = None
    name_en: Name | None = None
    name_ko: Name | None = None
    description: Description | None = None


ChangeIn = Annotated[AddChange | RetireChange | AmendChange, Field(discriminator="op")]


class RevisionCreate(_In):
    """A draft revision of the list."""

    title: Name
    decided_on: Day
    effective_on: Day
    changes: Annotated[list[ChangeIn], Field(min_length=1, max_length=1000)]


class RevisionUpdate(_In):
    """Edits to a draft; omitted fields stay."""

    title: Name | None = None
    decided_on: Day | None = None
    effective_on: Day | None = None
    changes: Annotated[list[ChangeIn] | None, Field(min_length=1, max_length=1000)] = None


class RevisionRead(BaseModel):
    """A revision, draft or published."""

    id: uuid.UUID
    title: str
    decided_on: date
    effective_on: date
    status: Literal["draft", "published"]
    changes: list[ChangeIn]
    version: int
    created_by: str
    created_at: datetime
    published_by: str | None
    published_at: datetime | None


class HistoryEntry(BaseModel):
    """A revision that touched a technology."""

    revision_id: uuid.UUID
    title: str
    op: Literal["add", "retire", "amend"]
    effective_on: date
    version: int


class TechnologyRead(BaseModel):
    """A technology with its current fields."""

    code: str
    industry_code: str
    kind: Kind
    name_en: str
    name_ko: str
    description: str
    status: Literal["listed", "retired"]
    listed_on: date
    retired_on: date | None
    version: int


class TechnologyDetail(TechnologyRead):
    """A technology with the revisions that touched it, oldest first."""

    history: list[HistoryEntry]
