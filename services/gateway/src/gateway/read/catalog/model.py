"""The catalog family, described once: industries and technologies."""

from __future__ import annotations

from enum import Enum

import strawberry

from gateway.read.describe import Column, Encoding, Entity, Lookup

CATALOG_READ = "catalog:read"


@strawberry.enum
class TechnologyKind(Enum):
    """What a technology is."""

    _value_: str  # the plain string: strawberry unwraps each enum_value

    MATERIAL = strawberry.enum_value("material", description="A material (소재), such as a photoresist.")
    PART = strawberry.enum_value("part", description="A part or component (부품).")
    EQUIPMENT = strawberry.enum_value("equipment", description="Manufacturing or test equipment (장비).")


@strawberry.enum
class TechnologyStatus(Enum):
    """Whether a technology is on the list now."""

    _value_: str  # the plain string: strawberry unwraps each enum_value

    LISTED = strawberry.enum_value("listed", description="On the list now: retiredOn is null.")
    RETIRED = strawberry.enum_value(
        "retired", description="Taken off the list by a revision, from the day retiredOn."
    )


INDUSTRY = Entity(
    "Industry",
    table="industries",
    key="code",
    columns=(Column("code"), Column("name_en"), Column("name_ko")),
)

TECHNOLOGY = Entity(
    "Technology",
    table="technologies",
    key="code",
    columns=(
        Column("code"),
        Column("industry_code", Encoding.KEYS),
        Column("kind", Encoding.ENUM, TechnologyKind),
        Column("name_en"),
        Column("name_ko"),
        Column("description"),
        Column("status", Encoding.ENUM, TechnologyStatus),
        Column("listed_on", Encoding.DATE),
        Column("retired_on", Encoding.DATE),
        Column("version"),
    ),
)

TECHNOLOGY_INDUSTRY = Lookup("Technology", "industry", INDUSTRY, "industry_code")
