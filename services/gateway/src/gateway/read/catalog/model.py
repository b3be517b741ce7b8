"""The catalog family, described once: industries and technologies."""

from __future__ import annotations

from enum import Enum

import strawberry

from gateway.read.describe import Column, Encoding, Entity, Lookup

CATALOG_READ = "catalog:read"


@strawberry.enum
class TechnologyKind(Enum):
    """What a technology is."""

    MATERIAL = "material"
    PART = "part"
    EQUIPMENT = "equipment"


@strawberry.enum
class TechnologyStatus(Enum):
    """Whether a technology is on the list now."""

    LISTED = "listed"
    RETIRED = "retired"


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
