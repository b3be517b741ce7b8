"""Events of the catalog service: industries, technologies and list revisions (version 1)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Event(BaseModel):
    # Consumers must tolerate fields added later, so unknown fields are ignored, not rejected.
    model_config = ConfigDict(extra="ignore", frozen=True)


class IndustryV1(_Event):
    """The full state of an industry after a change."""

    code: str
    name_en: str
    name_ko: str
    version: int = Field(ge=1)


TechnologyKind = Literal["material", "part", "equipment"]
TechnologyStatus = Literal["listed", "retired"]


class TechnologyV1(_Event):
    """The full state of a technology after a change."""

    code: str
    industry_code: str
    kind: TechnologyKind
    name_en: str
    name_ko: str
    description: str
    status: TechnologyStatus
    listed_on: date
    retired_on: date | None
    version: int = Field(ge=1)
    revision_id: uuid.UUID = Field(description="The revision whose publication made this change.")


class TechnologyFieldsV1(_Event):
    """The editable fields of a technology, as a revision adds it."""

    code: str
    industry_code: str
    kind: TechnologyKind
    name_en: str
    name_ko: str
    description: str


class AddChangeV1(_Event):
    """A revision change that lists a new technology."""

    op: Literal["add"]
    technology: TechnologyFieldsV1


class RetireChangeV1(_Event):
    """A revision change that retires a listed technology."""

    op: Literal["retire"]
    code: str


class AmendedFieldsV1(_Event):
    """The values an amendment replaced: only the fields it amends are set."""

    industry_code: str | None = None
    kind: TechnologyKind | None = None
    name_en: str | None = None
    name_ko: str | None = None
    description: str | None = None


class AmendChangeV1(_Event):
    """A revision change that amends fields of a technology; absent fields stay as they are.

    The fields set here are the values after the change; `before` holds what they replaced.
    """

    op: Literal["amend"]
    code: str
    industry_code: str | None = None
    kind: TechnologyKind | None = None
    name_en: str | None = None
    name_ko: str | None = None
    description: str | None = None
    before: AmendedFieldsV1 | None = Field(
        default=None,
        description="The amended fields' values before publication; null in a draft, and in revisions "
        "published before this property existed.",
    )


RevisionChangeV1 = Annotated[AddChangeV1 | RetireChangeV1 | AmendChangeV1, Field(discriminator="op")]


class RevisionV1(_Event):
    """The full state of a list revision after a change."""

    id: uuid.UUID
    title: str
    decided_on: date
    effective_on: date
    status: Literal["draft", "published", "deleted"]
    changes: list[RevisionChangeV1]
    published_at: datetime | None
    version: int = Field(ge=1)
