"""The technology list's rules: what a revision may change and how it changes a technology.

Plain data and functions, no I/O. A technology is on the list on day D when
listed_on <= D < retired_on (retired_on may be null); dates are Seoul calendar dates.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Literal

from mpe_kit.errors import Conflict, Invalid

Kind = Literal["material", "part", "equipment"]
Status = Literal["listed", "retired"]
AMENDABLE = ("industry_code", "kind", "name_en", "name_ko", "description")


@dataclass(frozen=True, kw_only=True)
class TechnologyFields:
    """What a revision's add sets."""

    code: str
    industry_code: str
    kind: Kind
    name_en: str
    name_ko: str
    description: str


@dataclass(frozen=True, kw_only=True)
class Technology:
    """A technology on (or once on) the list."""

    code: str
    industry_code: str
    kind: Kind
    name_en: str
    name_ko: str
    description: str
    status: Status
    listed_on: date
    retired_on: date | None
    version: int
    revision_id: uuid.UUID

    def on_list(self, day: date) -> bool:
        """Whether the technology was on the list on `day`."""
        return self.listed_on <= day and (self.retired_on is None or day < self.retired_on)


@dataclass(frozen=True)
class Add:
    """List a new technology."""

    technology: TechnologyFields
    op: Literal["add"] = "add"

    @property
    def code(self) -> str:
        """The technology's code."""
        return self.technology.code


@dataclass(frozen=True)
class Retire:
    """Take a technology off the list."""

    code: str
    op: Literal["retire"] = "retire"


@dataclass(frozen=True)
class Amend:
    """Change some fields of a listed technology."""

    code: str
    fields: dict[str, str]
    op: Literal["amend"] = "amend"


Change = Add | Retire | Amend


def check_changes(changes: list[Change], *, decided_on: date, effective_on: date) -> None:
    """Rules that hold for a revision whatever the list looks like."""
    if effective_on < decided_on:
        raise Invalid.field(
            "effective_on", "cannot be before decided_on", ko="decided_on보다 앞설 수 없습니다"
        )
    if not changes:
        raise Invalid.field(
            "changes",
            "a revision changes at least one technology",
            ko="개정에는 변경 사항이 하나 이상 있어야 합니다",
        )
    dup = sorted(c for c, n in Counter(ch.code for ch in changes).items() if n > 1)
    if dup:
        raise Invalid.field(
            "changes",
            f"each technology may appear once per revision: {', '.join(dup)}",
            ko=f"한 개정에서 기술은 한 번씩만 나올 수 있습니다: {', '.join(dup)}",
        )
    for i, ch in enumerate(changes):
        if isinstance(ch, Amend):
            unknown = set(ch.fields) - set(AMENDABLE)
            if unknown:
                raise Invalid.field(
                    f"changes[{i}]",
                    f"fields that cannot be amended: {sorted(unknown)}",
                    ko=f"수정할 수 없는 항목: {sorted(unknown)}",
                )
            if not ch.fields:
                raise Invalid.field(
                    f"changes[{i}]",
                    "an amend changes at least one field",
                    ko="수정(amend)은 항목을 하나 이상 바꿉니다",
                )


def check_publishable(*, status: str, effective_on: date, today: date) -> None:
    """A draft can be published once it is in force."""
    if status != "draft":
        raise Conflict(
            "The revision is already published; a published revision is immutable.",
            ko="이미 공표된 개정입니다. 공표된 개정은 바꿀 수 없습니다.",
        )
    if effective_on > today:
        raise Conflict(
            f"The revision takes effect on {effective_on}, after today ({today} in Seoul); "
            "a plan not yet in force stays a draft.",
            ko=f"이 개정은 오늘({today}, 서울) 이후인 {effective_on}에 시행됩니다. 아직 시행되지 않은 계획은 초안으로 둡니다.",
        )


def check_editable(status: str) -> None:
    """Only drafts change."""
    if status != "draft":
        raise Conflict(
            "The revision is already published; a published revision is immutable.",
            ko="이미 공표된 개정입니다. 공표된 개정은 바꿀 수 없습니다.",
        )


def listed(fields: TechnologyFields, *, on: date, revision_id: uuid.UUID) -> Technology:
    """A technology added to the list on `on`."""
    return Technology(
        **dataclasses.asdict(fields),
        status="listed",
        listed_on=on,
        retired_on=None,
        version=1,
        revision_id=revision_id,
    )


def check_in_order(code: str, *, on: date, last_changed_on: date) -> None:
    """A revision changes a technology from a day no earlier than the last change to it.

    Revisions apply in the order they are published, so an earlier day would put this change
    before one already in force: an amend before the listing, the name in force on a day
    replaced by an older one, an amend in force after the retirement.
    """
    if on < last_changed_on:
        raise Conflict(
            f"Technology {code} last changed on {last_changed_on}; a revision taking effect on {on},"
            " before that, cannot change it. Date the revision on or after that day.",
            ko=f"기술 {code}은(는) {last_changed_on}에 마지막으로 바뀌었습니다. 그보다 앞선 {on}에 시행되는 개정은 이 기술을 바꿀 수 없습니다. 시행일(effective_on)을 그날이나 그 뒤로 하십시오.",
        )


def retire(tech: Technology, *, on: date, revision_id: uuid.UUID) -> Technology:
    """The technology taken off the list from `on`."""
    if tech.status == "retired":
        raise Conflict(
            f"Technology {tech.code} was already retired on {tech.retired_on}.",
            ko=f"기술 {tech.code}은(는) 이미 {tech.retired_on}에 제외되었습니다.",
        )
    if on <= tech.listed_on:
        raise Conflict(
            f"Technology {tech.code} was listed on {tech.listed_on}; it can only be retired after that.",
            ko=f"기술 {tech.code}은(는) {tech.listed_on}에 목록에 올랐습니다. 그 뒤에만 제외할 수 있습니다.",
        )
    return dataclasses.replace(
        tech, status="retired", retired_on=on, version=tech.version + 1, revision_id=revision_id
    )


def amend(tech: Technology, fields: dict[str, str], *, revision_id: uuid.UUID) -> Technology:
    """The technology with some fields changed."""
    if tech.status == "retired":
        raise Conflict(
            f"Technology {tech.code} is retired; retired technologies are not amended.",
            ko=f"기술 {tech.code}은(는) 제외된 기술입니다. 제외된 기술은 수정하지 않습니다.",
        )
    return dataclasses.replace(tech, **fields, version=tech.version + 1, revision_id=revision_id)  # type: ignore[arg-type]
