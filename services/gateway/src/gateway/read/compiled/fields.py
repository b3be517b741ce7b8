"""The SQL of each scalar field, by type; the fields the compiler declines on purpose; filter arguments.

The entities' scalar fields come from their descriptions (`gateway.read.describe`); what is
here by hand are the rows the compiler computes itself (sums, the year's overview) and the
members of JSON list columns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from strawberry.permission import PermissionExtension

from gateway import store
from gateway.read import families
from gateway.read.budget.model import SUMS
from gateway.read.common import HasScope, fiscal_year, partner_country
from gateway.read.compiled import money
from gateway.read.compiled.core import brn_of, checked, enum_value, require_scope
from gateway.read.describe import Column, Encoding, Lookup, Relation
from gateway.read.firms.model import FIRMS_READ
from gateway.read.schema import schema

# pydantic writes UTC as Z; strawberry prints the parsed datetime with +00:00.
_DATETIME = "regexp_replace({}, 'Z$', '+00:00')"


def _json(key: str, row: str, template: str = "{}") -> Callable[[str], str]:
    """A text member of a JSON value `row` of the row alias."""
    return lambda a: template.format(f"{a}.{row}->>'{key}'")


def _won(column: str) -> Callable[[str], str]:
    return Column(column, Encoding.WON).sql


_SUM_FIELDS: dict[str, Callable[[str], str]] = {c.field: c.sql for c in SUMS}

# Scalar fields per type: the SQL of the value given the alias of the row. The entities' come
# from their descriptions; the rest are rows the compiler computes (sums, overviews) or members
# of a JSON list column (a designation's history, a program's themes).
SCALARS: dict[str, dict[str, Callable[[str], str]]] = {
    **{e.type_name: e.scalars() for e in families.ENTITIES},
    "DesignationTransition": {
        "fromStatus": lambda a: f"upper(nullif({a}.h->>'from_status', ''))",
        "toStatus": _json("to_status", "h", "upper({})"),
        "at": _json("at", "h", _DATETIME),
        "effectiveOn": _json("effective_on", "h"),
        "actor": _json("actor", "h"),
        "reason": _json("reason", "h"),
    },
    "ProjectStep": {
        "fromStatus": _json("from_status", "h", "upper({})"),
        "toStatus": _json("to_status", "h", "upper({})"),
        "at": _json("at", "h", _DATETIME),
        "effectiveOn": _json("effective_on", "h"),
        "actor": _json("actor", "h"),
        "reason": _json("reason", "h"),
    },
    "Theme": {"code": _json("code", "t"), "title": _json("title", "t")},
    "ThemeStage": {
        "stage": _json("stage", "s", "upper({})"),
        "teams": _json("teams", "s", "({})::int"),
        "fiscalYear": _json("fiscal_year", "s", "({})::int"),
    },
    "Funding": _SUM_FIELDS,
    "IndustryFunding": _SUM_FIELDS,
    "YearFunding": {"fiscalYear": lambda a: f"{a}.fiscal_year", **_SUM_FIELDS},
    "TrackFunding": {"track": lambda a: f"{a}.track", **_SUM_FIELDS},
    **money.SCALARS,
    "ProgramOverview": {
        "fiscalYear": lambda a: f"{a}.fiscal_year",
        "envelopeKrw": _won("envelope_krw"),
        "programmedKrw": _won("programmed_krw"),
        "committedKrw": _won("committed_krw"),
        "disbursedKrw": _won("disbursed_krw"),
        "newProjectCount": lambda a: f"{a}.new_count",
        "continuingProjectCount": lambda a: f"{a}.continuing_count",
    },
}

# The described relations and lookups, by (type, field): the compiler writes their SQL itself.
RELATIONS: dict[tuple[str, str], Relation] = {(r.parent, r.field): r for r in families.RELATIONS}
LOOKUPS: dict[tuple[str, str], Lookup] = {(k.parent, k.field): k for k in families.LOOKUPS}

# Fields of a Relay connection, its edges and its page info, which `connection` builds.
CONNECTION_FIELDS = frozenset({"edges", "pageInfo", "totalCount"})
EDGE_FIELDS = frozenset({"cursor", "node"})
PAGE_INFO_FIELDS = frozenset({"hasNextPage", "endCursor"})

# Fields the compiler leaves to strawberry on purpose, each with why; `test_coverage.py` fails
# on a field reachable from Query that is neither compiled nor here.
DECLINED: dict[tuple[str, str], str] = {
    (
        "Query",
        "designationProgress",
    ): "a day's default is today in Seoul, computed in Python; rarely asked, one small statement",
    (
        "Query",
        "dataAsOf",
    ): "volatile: how current the read model is at answer time, never cached nor compiled",
    (
        "Query",
        "changes",
    ): "a union per change row and a seq cursor over scope-filtered types: the feed pages the change log",
    (
        "Query",
        "revisions",
    ): "a revision's changes are a JSON list of three shapes built in Python; rarely asked",
    (
        "Query",
        "revision",
    ): "a revision's changes are a JSON list of three shapes built in Python; rarely asked",
    (
        "Project",
        "disbursements",
    ): "a connection under each project (a keyset page per parent row): read per project, on demand",
}


def technology_filter(f: dict[str, Any]) -> store.catalog.TechnologyFilter:
    return store.catalog.TechnologyFilter(
        industry=f.get("industry"),
        kind=enum_value(f.get("kind")),
        status=enum_value(f.get("status")),
        as_of=f.get("asOf"),
        search=f.get("search"),
    )


def firm_filter(f: dict[str, Any]) -> store.firms.FirmFilter:
    return store.firms.FirmFilter(
        size=enum_value(f.get("size")),
        region=f.get("region"),
        technology=f.get("technology"),
        designation_kind=enum_value(f.get("designationKind")),
        designation_status=enum_value(f.get("designationStatus")),
        search=f.get("search"),
    )


def project_filter(f: dict[str, Any]) -> store.budget.ProjectFilter:
    firm = f.get("firm")
    if firm is not None:
        require_scope(FIRMS_READ)  # which projects a firm leads is the firms' to tell
    return store.budget.ProjectFilter(
        program=f.get("program"),
        technology=f.get("technology"),
        firm=brn_of(firm) if firm is not None else None,
        status=enum_value(f.get("status")),
        fiscal_year=checked(fiscal_year, f.get("fiscalYear")),
        kind=enum_value(f.get("kind")),
        partner_country=checked(partner_country, f.get("partnerCountry")),
    )


def _scopes_by_field() -> dict[tuple[str, str], str]:
    """(type, field) → the scope strawberry's HasScope permission asks for, read off the schema."""
    found: dict[tuple[str, str], str] = {}
    for name, t in schema._schema.type_map.items():
        definition = (getattr(t, "extensions", None) or {}).get("strawberry-definition")
        for f in getattr(definition, "fields", None) or []:
            for ext in f.extensions:
                if isinstance(ext, PermissionExtension):
                    for p in ext.permissions:
                        if isinstance(p, HasScope):
                            found[(name, schema.config.name_converter.get_graphql_name(f))] = p.scope
    return found


SCOPES = _scopes_by_field()
