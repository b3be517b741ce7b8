"""The cost limit's assumed list sizes against the read model.

A list without `first` is counted by the cost limit as the figure it declares (`most(…)`,
`gateway.read.describe`): what the program holds, with room to spare, where the write service's
own bound is far larger. Data past such a figure makes the limit count a query too cheap. This
finds, in one statement, the largest list of each kind the read model holds, so that
`gateway check` can name each figure the data has outgrown. An occasional check, like the
kept tables': it reads the firms, designations, projects and programs once each.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.read import describe as d
from mpe_kit.db import Conn


@dataclass(frozen=True)
class Assumed:
    """One figure of `gateway.read.describe`, the lists it sizes, and the SQL of their largest."""

    name: str
    figure: int
    lists: str
    largest: str


def _greatest(*queries: str) -> str:
    return "greatest(" + ", ".join(f"coalesce(({q}), 0)" for q in queries) + ")"


_THEMES = "from programs p cross join lateral jsonb_array_elements(p.themes) t"

FIGURES: tuple[Assumed, ...] = (
    Assumed(
        "INDUSTRIES",
        d.INDUSTRIES,
        "Query.industries, ProgramOverview.byIndustry, Revision.industryCounts",
        "select count(*) from industries",
    ),
    Assumed(
        "FISCAL_YEARS",
        d.FISCAL_YEARS,
        "Technology.fundingByYear, DesignationProgress.byCohort and .byYear",
        _greatest(
            "select count(*) from fiscal_years",
            "select count(distinct fiscal_year) from projects",
            "select count(distinct cohort) + 1 from designations",
            # byYear runs from the first leading designation's year to asOf's (today by default).
            "select extract(year from current_date)::int - min(extract(year from designated_on))::int + 1"
            " from designations where kind = 'leading'",
        ),
    ),
    Assumed(
        "LISTED",
        d.LISTED,
        "Revision.changes, RevisionTouches.technologies",
        "select max(jsonb_array_length(changes)) from revisions",
    ),
    Assumed(
        "TRACKS",
        d.TRACKS,
        "ProgramOverview.byTrack",
        "select max(n) from (select count(distinct track) + 1 as n from programs group by fiscal_year) y",
    ),
    Assumed(
        "TRANSITIONS",
        d.TRANSITIONS,
        "Designation.history, Project.history",
        _greatest(
            "select max(jsonb_array_length(history)) from designations",
            "select max(jsonb_array_length(history)) from projects",
        ),
    ),
    Assumed(
        "TECHNOLOGY_CODES",
        d.TECHNOLOGY_CODES,
        "Firm.technologies, Firm.declaredTechnologies, Designation.technologies",
        _greatest(
            "select max(cardinality(technology_codes)) from firms",
            "select max(cardinality(technology_codes)) from designations",
        ),
    ),
    Assumed(
        "PROGRAM_THEMES",
        d.PROGRAM_THEMES,
        "Program.themes",
        "select max(jsonb_array_length(themes)) from programs",
    ),
    Assumed(
        "THEME_STAGES",
        d.THEME_STAGES,
        "Theme.stages",
        f"select max(jsonb_array_length(t->'stages')) {_THEMES}",
    ),
    Assumed(
        "STAGE_TEAMS",
        d.STAGE_TEAMS,
        "ThemeStage.projects",
        f"select max(jsonb_array_length(s->'project_codes')) {_THEMES}"
        " cross join lateral jsonb_array_elements(t->'stages') s",
    ),
    Assumed(
        "PROJECT_TECHNOLOGY_CODES",
        d.PROJECT_TECHNOLOGY_CODES,
        "Project.technologies",
        "select max(cardinality(technology_codes)) from projects",
    ),
)

_LARGEST = "select " + ", ".join(f"{_greatest(a.largest)} as {a.name.lower()}" for a in FIGURES)


async def largest(conn: Conn) -> dict[str, int]:
    """The largest list of each figure's kind in the read model (0 where there is none)."""
    row = await conn.fetchrow(_LARGEST)
    assert row is not None
    return {a.name: int(row[a.name.lower()]) for a in FIGURES}


async def outgrown(conn: Conn) -> list[tuple[Assumed, int]]:
    """Each figure some list of the read model holds more than, with that list's size."""
    sizes = await largest(conn)
    return [(a, sizes[a.name]) for a in FIGURES if sizes[a.name] > a.figure]
