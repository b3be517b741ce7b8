"""The firms family, described once: firms, designations, and how technologies reach them."""

from __future__ import annotations

from enum import Enum

import strawberry

from gateway.read.catalog.model import TECHNOLOGY
from gateway.read.describe import Column, Encoding, Entity, Link, Lookup, Relation, Window

FIRMS_READ = "firms:read"
FINANCIALS = "firms:financials"


@strawberry.enum
class FirmSize(Enum):
    """A firm's size class."""

    _value_: str  # the plain string: strawberry unwraps each enum_value

    LARGE = strawberry.enum_value("large", description="A large firm (대기업).")
    MID = strawberry.enum_value("mid", description="A mid-sized firm (중견기업).")
    SME = strawberry.enum_value("sme", description="A small or medium-sized enterprise (중소기업).")


@strawberry.enum
class DesignationKind(Enum):
    """Leading firm (으뜸기업) or specialized firm (전문기업)."""

    _value_: str  # the plain string: strawberry unwraps each enum_value

    LEADING = strawberry.enum_value(
        "leading", description="A leading firm (으뜸기업), designated in yearly cohorts toward 200 by 2030."
    )
    SPECIALIZED = strawberry.enum_value(
        "specialized",
        description="A specialized firm (전문기업): MPE sales at least half of its total sales.",
    )


@strawberry.enum
class DesignationStatus(Enum):
    """Where a designation stands."""

    _value_: str  # the plain string: strawberry unwraps each enum_value

    APPLIED = strawberry.enum_value("applied", description="Applied for, review not yet started.")
    UNDER_REVIEW = strawberry.enum_value("under_review", description="Under review.")
    DESIGNATED = strawberry.enum_value("designated", description="Designated, and holding until validUntil.")
    REJECTED = strawberry.enum_value("rejected", description="Refused after review; final.")
    WITHDRAWN = strawberry.enum_value(
        "withdrawn", description="Withdrawn by the firm before a decision; final."
    )
    REVOKED = strawberry.enum_value(
        "revoked", description="Designated, then revoked before validUntil; final."
    )
    EXPIRED = strawberry.enum_value("expired", description="Designated, and lapsed at validUntil; final.")


FIRM = Entity(
    "Firm",
    table="firms",
    key="brn",
    columns=(
        Column("brn"),
        Column("brn_display"),
        Column("name_en"),
        Column("name_ko"),
        Column("size", Encoding.ENUM, FirmSize),
        Column("size_since", Encoding.DATE),
        Column("region"),
        Column(
            "sales_ratio", Encoding.RATIO, column="mpe_sales_ratio", name="mpeSalesRatio", scope=FINANCIALS
        ),
        Column("technology_codes", Encoding.KEYS),
    ),
    extra=("version",),
)

DESIGNATION = Entity(
    "Designation",
    table="designations",
    key="id",
    key_type="uuid",
    columns=(
        Column("id", Encoding.ID),
        Column("brn", Encoding.KEYS, export="firmBrn"),
        Column("kind", Encoding.ENUM, DesignationKind),
        Column("cohort"),
        Column("technology_codes", Encoding.KEYS),
        Column("status", Encoding.ENUM, DesignationStatus),
        Column("applied_on", Encoding.DATE),
        Column("designated_on", Encoding.DATE),
        Column("valid_until", Encoding.DATE),
        Column("history", Encoding.JSON),
    ),
    extra=("version",),
)

CONFIRMATION = Entity(
    "Confirmation",
    table="confirmations",
    key="brn",
    columns=(
        Column("brn", Encoding.KEYS, export="firmBrn"),
        Column("technology_code", Encoding.KEYS),
        Column("issued_on", Encoding.DATE),
        Column("valid_until", Encoding.DATE),
    ),
)

IN_APPLIED_ORDER = (("applied_on", False), ("id", False))
# A confirmation holds from the day issued up to, not including, its validUntil.
_VALID = "confirmations.issued_on <= {day} and {day} < confirmations.valid_until"

# Holding a technology means holding a confirmation for it valid that day, not declaring it.
TECHNOLOGY_FIRMS = Relation(
    "Technology",
    "firms",
    FIRM,
    "",
    "code",
    (("brn", False),),
    valid=Window(
        "exists (select 1 from confirmations k where k.brn = firms.brn and k.technology_code = {parent}"
        " and k.issued_on <= {day} and {day} < k.valid_until)",
        today=True,
    ),
)
TECHNOLOGY_CONFIRMATIONS = Relation(
    "Technology",
    "confirmations",
    CONFIRMATION,
    "technology_code",
    "code",
    (("issued_on", False), ("brn", False)),
    valid=Window(_VALID),
)
FIRM_CONFIRMATIONS = Relation(
    "Firm", "confirmations", CONFIRMATION, "brn", "brn", (("technology_code", False), ("issued_on", False))
)
TECHNOLOGY_DESIGNATIONS = Relation(
    "Technology",
    "designations",
    DESIGNATION,
    "technology_codes",
    "code",
    IN_APPLIED_ORDER,
    contains=True,
    status="status",
    # Through the link table the designations' triggers keep (migration 0011), not `technology_codes @>`.
    via=Link(
        "designation_technologies",
        parent="technology_code",
        child="designation_id",
        copies=(("applied_on", "applied_on"), ("id", "designation_id"), ("status", "status")),
    ),
)
FIRM_DESIGNATIONS = Relation("Firm", "designations", DESIGNATION, "brn", "brn", IN_APPLIED_ORDER)

FIRM_TECHNOLOGIES = Lookup("Firm", "technologies", TECHNOLOGY, "technology_codes", many=True)
FIRM_DECLARED_TECHNOLOGIES = Lookup("Firm", "declaredTechnologies", TECHNOLOGY, "technology_codes", many=True)
CONFIRMATION_FIRM = Lookup("Confirmation", "firm", FIRM, "brn")
CONFIRMATION_TECHNOLOGY = Lookup("Confirmation", "technology", TECHNOLOGY, "technology_code")
DESIGNATION_FIRM = Lookup("Designation", "firm", FIRM, "brn")
DESIGNATION_TECHNOLOGIES = Lookup("Designation", "technologies", TECHNOLOGY, "technology_codes", many=True)
