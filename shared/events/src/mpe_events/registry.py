"""Every event type: its CloudEvents type, the topic it travels on, and its payload model."""

from __future__ import annotations

import builtins
from dataclasses import dataclass

from pydantic import BaseModel

from mpe_events import budget, catalog, firms, topics


@dataclass(frozen=True)
class EventType:
    """One published event type and version."""

    type: str
    topic: topics.TopicSpec
    model: builtins.type[BaseModel]


def _t(service: str, aggregate: str, change: str, version: int) -> str:
    return f"kr.mpe.{service}.{aggregate}.{change}.v{version}"


INDUSTRY_CREATED = EventType(
    _t("catalog", "industry", "created", 1), topics.CATALOG_INDUSTRY, catalog.IndustryV1
)
TECHNOLOGY_LISTED = EventType(
    _t("catalog", "technology", "listed", 1), topics.CATALOG_TECHNOLOGY, catalog.TechnologyV1
)
TECHNOLOGY_AMENDED = EventType(
    _t("catalog", "technology", "amended", 1), topics.CATALOG_TECHNOLOGY, catalog.TechnologyV1
)
TECHNOLOGY_RETIRED = EventType(
    _t("catalog", "technology", "retired", 1), topics.CATALOG_TECHNOLOGY, catalog.TechnologyV1
)
REVISION_DRAFTED = EventType(
    _t("catalog", "revision", "drafted", 1), topics.CATALOG_REVISION, catalog.RevisionV1
)
REVISION_EDITED = EventType(
    _t("catalog", "revision", "edited", 1), topics.CATALOG_REVISION, catalog.RevisionV1
)
REVISION_DELETED = EventType(
    _t("catalog", "revision", "deleted", 1), topics.CATALOG_REVISION, catalog.RevisionV1
)
REVISION_PUBLISHED = EventType(
    _t("catalog", "revision", "published", 1), topics.CATALOG_REVISION, catalog.RevisionV1
)

FIRM_REGISTERED = EventType(_t("firms", "firm", "registered", 1), topics.FIRMS_FIRM, firms.FirmV1)
FIRM_UPDATED = EventType(_t("firms", "firm", "updated", 1), topics.FIRMS_FIRM, firms.FirmV1)
FIRM_CONFIRMATION_ADDED = EventType(
    _t("firms", "firm", "confirmation_added", 1), topics.FIRMS_FIRM, firms.FirmV1
)
DESIGNATION_EVENTS: dict[str, EventType] = {
    status: EventType(_t("firms", "designation", status, 1), topics.FIRMS_DESIGNATION, firms.DesignationV1)
    for status in ("applied", "under_review", "designated", "rejected", "withdrawn", "revoked", "expired")
}

FISCAL_YEAR_SET = EventType(
    _t("budget", "fiscal_year", "set", 1), topics.BUDGET_FISCAL_YEAR, budget.FiscalYearV1
)
PROGRAM_CREATED = EventType(_t("budget", "program", "created", 1), topics.BUDGET_PROGRAM, budget.ProgramV1)
PROGRAM_UPDATED = EventType(_t("budget", "program", "updated", 1), topics.BUDGET_PROGRAM, budget.ProgramV1)
PROJECT_DISBURSED = EventType(
    _t("budget", "project", "disbursed", 1), topics.BUDGET_PROJECT, budget.ProjectV1
)
DISBURSEMENT_PAID = EventType(
    _t("budget", "disbursement", "paid", 1), topics.BUDGET_DISBURSEMENT, budget.DisbursementV1
)
PROJECT_EVENTS: dict[str, EventType] = {
    status: EventType(_t("budget", "project", status, 1), topics.BUDGET_PROJECT, budget.ProjectV1)
    for status in ("proposed", "selected", "agreement_signed", "active", "completed", "terminated")
}

EVENT_TYPES: dict[str, EventType] = {
    e.type: e
    for e in (
        INDUSTRY_CREATED,
        TECHNOLOGY_LISTED,
        TECHNOLOGY_AMENDED,
        TECHNOLOGY_RETIRED,
        REVISION_DRAFTED,
        REVISION_EDITED,
        REVISION_DELETED,
        REVISION_PUBLISHED,
        FIRM_REGISTERED,
        FIRM_UPDATED,
        FIRM_CONFIRMATION_ADDED,
        *DESIGNATION_EVENTS.values(),
        FISCAL_YEAR_SET,
        PROGRAM_CREATED,
        PROGRAM_UPDATED,
        PROJECT_DISBURSED,
        DISBURSEMENT_PAID,
        *PROJECT_EVENTS.values(),
    )
}


def source(service: str) -> str:
    """The CloudEvents source of a service."""
    return f"/mpe/{service}"
