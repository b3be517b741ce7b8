"""The compiler's hand-written budget fields: the year's overview, a program's sums, themes and stages (the `Compiler` takes them).

Their rows are aggregates and JSON list members the description cannot say; the objects over
them are built as the `Compiler` builds every object over rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from graphql import GraphQLField
from graphql.execution.collect_fields import FieldDetailsList

from gateway import store
from gateway.read.budget.model import PROJECT
from gateway.read.common import fiscal_year
from gateway.read.compiled.core import checked

if TYPE_CHECKING:
    from gateway.read.compiled.compiler import Compiler


def f_Query_programOverview(c: Compiler, _: str, field: GraphQLField, details: FieldDetailsList) -> str:
    (year,) = c.site(field, details[0].node, lambda args, _: [checked(fiscal_year, args["fiscalYear"])], 1)
    x = c.alias()
    return c.one(field, details, store.budget.year_totals_sql(f"{year}::int"), x)


def f_ProgramOverview_byIndustry(c: Compiler, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
    x = c.alias()
    rows = store.budget.year_by_industry_sql(f"{a}.fiscal_year")
    return c.many(field, details, rows, x, f"{x}.code nulls last")


def f_ProgramOverview_byTrack(c: Compiler, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
    x = c.alias()
    rows = (
        f"select g.track, {store.budget.ROLLUP} from projects p left join programs g on g.code = p.program_code"
        f" where p.fiscal_year = {a}.fiscal_year group by g.track {store.budget.NONEMPTY}"
    )
    return c.many(field, details, rows, x, f"{x}.track nulls last")


def f_IndustryFunding_industry(c: Compiler, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
    return f"(case when {a}.code is null then null else {c.child(field, details, a)} end)"


def f_Project_continuedBy(c: Compiler, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
    # At most one record continues another (the budget service's unique index).
    x = c.alias()
    rows = f"select {PROJECT.select()} from projects where continues = {a}.code order by code limit 1"
    return c.one(field, details, rows, x)


def _program_sum(a: str, expr: str) -> str:
    return f"(select {expr} from projects p where p.program_code = {a}.code)"


def f_Program_committedKrw(c: Compiler, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
    return _program_sum(a, "coalesce(sum(p.committed_krw), 0)::bigint::text")


def f_Program_disbursedKrw(c: Compiler, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
    return _program_sum(a, "coalesce(sum(p.disbursed_krw), 0)::bigint::text")


def f_Program_projectCount(c: Compiler, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
    return _program_sum(a, f"count(*) filter (where {store.budget.counted('p')})")


def f_Program_themes(c: Compiler, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
    x = c.alias()
    rows = f"select t, n from jsonb_array_elements({a}.themes) with ordinality e(t, n)"
    return c.many(field, details, rows, x, f"{x}.n")


def f_Theme_stages(c: Compiler, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
    x = c.alias()
    rows = f"select s, n from jsonb_array_elements({a}.t->'stages') with ordinality e(s, n)"
    return c.many(field, details, rows, x, f"{x}.n")


def f_ThemeStage_projects(c: Compiler, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
    # The stage's project codes in their order; one whose event has not arrived is left out.
    x = c.alias()
    rows = (
        f"select {PROJECT.select('p')}, u.ord from jsonb_array_elements_text(coalesce({a}.s->'project_codes',"
        " '[]'::jsonb)) with ordinality u(k, ord) join projects p on p.code = u.k"
    )
    return c.many(field, details, rows, x, f"{x}.ord")
