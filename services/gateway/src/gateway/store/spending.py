"""The rollup of projects' money by any set of dimensions (`spending`), and a firm's money by role.

One statement answers every `groupBy`: each dimension is grouped on when its flag is bound true,
so the text never changes with the arguments (both engines and the CSV export run the same SQL,
and Postgres prepares it once). The attribution rules, which the SDL and the partner guide state:
- a project counts under its primary (first) technology's industry;
- region and size are the lead firm's as at the selection day (the project event's snapshot);
- with PARTNER_COUNTRY, a project counts once under each country of its foreign partners, and
  the rows it falls into are flagged `overlaps`; a project without one falls under null;
- money and counts follow programOverview: committed and disbursed over every project (one that
  does not count commits nothing), the planned split and the count over the counted projects;
- with PAID_MONTH (or a paidMonth filter) only disbursed money is summed, from the payment lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from gateway.store.budget import SUMMED, SUMMED_NONEMPTY, SUMS_BY_INDUSTRY, counted, has_partner
from mpe_kit.db import Conn
from mpe_kit.regions import region_spellings

# The dimensions in their order (rows are sorted by them, nulls last), each with its output
# columns: the SQL of the value on the joined project row, and on a joined row of the sums kept
# per (fiscal year, primary technology) (`year_technology_sums`, migration 0013; None: those
# sums cannot tell it).
DIMENSIONS: tuple[tuple[str, tuple[tuple[str, str, str | None], ...]], ...] = (
    ("fiscal_year", (("fiscal_year", "p.fiscal_year", "s.fiscal_year"),)),
    (
        "industry",
        (
            ("industry_code", "i.code", "i.code"),
            ("industry_name_en", "i.name_en", "i.name_en"),
            ("industry_name_ko", "i.name_ko", "i.name_ko"),
        ),
    ),
    ("program", (("program_code", "g.code", None),)),
    ("program_kind", (("program_kind", "g.kind", None),)),
    ("track", (("track", "g.track", None),)),
    ("project_kind", (("project_kind", "p.kind", None),)),
    ("region", (("region", "p.lead_firm_region", None),)),
    ("firm_size", (("firm_size", "p.lead_firm_size", None),)),
    ("partner_country", (("partner_country", "pc.country", None),)),
    ("paid_month", (("paid_month", "pay.month", None),)),
)
DIMENSION_NAMES = tuple(name for name, _ in DIMENSIONS)

# The filters, in placeholder order after the flags: (name, SQL type, condition on `{}` for a
# project row, and for a row of the sums or None).
FILTERS: tuple[tuple[str, str, str, str | None], ...] = (
    ("fiscal_year", "int", "p.fiscal_year = {}", "s.fiscal_year = {}"),
    ("industry", "text", "i.code = {}", "i.code = {}"),
    ("program", "text", "p.program_code = {}", None),
    ("program_kind", "text", "g.kind = {}", None),
    ("track", "text", "g.track = {}", None),
    ("project_kind", "text", "p.kind = {}", None),
    ("region", "text[]", "p.lead_firm_region = any({})", None),
    ("firm_size", "text", "p.lead_firm_size = {}", None),
    ("partner_country", "text", "", None),  # has_partner, below
    ("technology", "text", "p.technology_codes @> array[{}]", None),
    ("firm", "text", "p.lead_firm_brn = {}", None),
    ("paid_month", "text", "", None),  # on the payment lines, below
)
# The flags of the dimensions, the paid flag, the summed flag, the filters.
PLACEHOLDERS = len(DIMENSIONS) + 2 + len(FILTERS)
SUMMED_DIMENSIONS = frozenset(name for name, cols in DIMENSIONS if all(c[2] is not None for c in cols))
SUMMED_FILTERS = frozenset(name for name, _, _, summed in FILTERS if summed is not None)


@dataclass(frozen=True, kw_only=True)
class Spending:
    """A rollup asked for: the dimensions to group by, and the filters (checked values, stored forms)."""

    group_by: frozenset[str]
    filters: dict[str, object]

    @property
    def paid(self) -> bool:
        """Only disbursed money, from the payment lines."""
        return "paid_month" in self.group_by or self.filters.get("paid_month") is not None

    @property
    def summed(self) -> bool:
        """The sums per (fiscal year, primary technology) answer it: by year and industry alone."""
        return (
            not self.paid
            and self.group_by <= SUMMED_DIMENSIONS
            and all(value is None or name in SUMMED_FILTERS for name, value in self.filters.items())
        )

    def values(self) -> list[object]:
        """The statement's values, in `spending_sql`'s placeholder order."""
        flags: list[object] = [name in self.group_by for name in DIMENSION_NAMES]
        return [
            *flags,
            self.paid,
            self.summed,
            *(_stored(name, self.filters.get(name)) for name, _, _, _ in FILTERS),
        ]


def spending_sql(ph: Sequence[str]) -> str:
    """The rollup's rows for the placeholders `ph` (flags per dimension, the paid and summed flags, the filters).

    Two branches, of which the summed flag runs one: the rows of the sums per (fiscal year,
    primary technology) when they can answer (a cost that does not grow with the projects), or
    every project matching the filters. Postgres evaluates such a constant condition before it
    reads anything of the branch.
    """
    assert len(ph) == PLACEHOLDERS
    flag = {name: f"{ph[n]}::boolean" for n, name in enumerate(DIMENSION_NAMES)}
    paid = f"{ph[len(DIMENSIONS)]}::boolean"
    summed = f"{ph[len(DIMENSIONS) + 1]}::boolean"
    f = {name: f"{ph[len(DIMENSIONS) + 2 + n]}::{t}" for n, (name, t, _, _) in enumerate(FILTERS)}
    by_country = flag["partner_country"]
    keys = [
        (col, f"(case when {flag[name]} then {expr} end)")
        for name, cols in DIMENSIONS
        for col, expr, _ in cols
    ]
    where = [f"({f[name]} is null or {cond.format(f[name])})" for name, _, cond, _ in FILTERS if cond]
    where.append(f"({f['partner_country']} is null or {has_partner(f['partner_country'], 'p.code')})")
    ok = counted("p")

    def split(column: str) -> str:
        return f"case when {paid} then null else coalesce(sum(p.{column}) filter (where {ok}), 0)::bigint end"

    projects = (
        f"select {', '.join(f'{expr} as {col}' for col, expr in keys)},"
        f" case when {paid} then null else coalesce(sum(p.committed_krw), 0)::bigint end as committed_krw,"
        f" (case when {paid} then coalesce(sum(pay.amount), 0) else coalesce(sum(p.disbursed_krw), 0) end)::bigint"
        " as disbursed_krw,"
        f" {split('government_krw')} as government_krw, {split('private_cash_krw')} as private_cash_krw,"
        f" {split('private_in_kind_krw')} as private_in_kind_krw,"
        f" count(distinct p.code) filter (where {ok}) as project_count,"
        " coalesce(bool_or(cardinality(fc.countries) > 1), false) as overlaps"
        " from projects p"
        " left join programs g on g.code = p.program_code"
        " left join technologies t on t.code = p.primary_technology"
        " left join industries i on i.code = t.industry_code"
        # The project's foreign partners' countries, read only when grouped by them.
        f" cross join lateral (select case when {by_country} then array(select distinct x.country"
        " from project_participants x where x.project_code = p.code and x.country <> 'KR' order by 1)"
        " else '{}'::text[] end as countries) fc"
        " cross join lateral (select c from unnest(case when cardinality(fc.countries) > 0"
        " then fc.countries else array[null::text] end) c) pc(country)"
        # The payment lines by month, read only for disbursed money alone.
        " cross join lateral (select m.month, m.amount from (select to_char(d.paid_on, 'YYYY-MM') as month,"
        " sum(d.amount_krw) as amount from disbursements d where d.project_code = p.code group by 1) m"
        f" where {paid} and ({f['paid_month']} is null or m.month = {f['paid_month']})"
        f" union all select null, null where not {paid}) pay(month, amount)"
        f" where not {summed} and {' and '.join(where)}"
        f" group by {', '.join(expr for _, expr in keys)}"
        f" having count(*) filter (where {ok}) > 0 or sum(p.committed_krw) > 0 or sum(p.disbursed_krw) > 0"
        f" or sum(pay.amount) > 0"
    )
    summed_keys = [
        (col, f"(case when {flag[name]} then {expr} end)" if expr else "null::text")
        for name, cols in DIMENSIONS
        for col, _, expr in cols
    ]
    summed_where = [f"({f[name]} is null or {cond.format(f[name])})" for name, _, _, cond in FILTERS if cond]
    sums = (
        f"select {', '.join(f'{expr} as {col}' for col, expr in summed_keys)}, {SUMMED},"
        " coalesce(sum(s.government_krw), 0)::bigint as government_krw,"
        " coalesce(sum(s.private_cash_krw), 0)::bigint as private_cash_krw,"
        " coalesce(sum(s.private_in_kind_krw), 0)::bigint as private_in_kind_krw,"
        " coalesce(sum(s.project_count), 0)::bigint as project_count, false as overlaps"
        f" from {SUMS_BY_INDUSTRY}"
        f" where {summed} and {' and '.join(summed_where)}"
        f" group by {', '.join(expr for _, expr in summed_keys if expr != 'null::text')} {SUMMED_NONEMPTY}"
    )
    return f"{projects} union all {sums}"


def spending_order(alias: str) -> str:
    """The rows' order: by the dimensions in their declared order, nulls last."""
    return ", ".join(f"{alias}.{col} nulls last" for _, cols in DIMENSIONS for col, *_ in cols[:1])


async def spending(conn: Conn, asked: Spending) -> list[asyncpg.Record]:
    """The rollup's rows, in order."""
    ph = [f"${n}" for n in range(1, PLACEHOLDERS + 1)]
    return await conn.fetch(
        f"select * from ({spending_sql(ph)}) r order by {spending_order('r')}", *asked.values()
    )


# A firm's money in one role: its own shares, the whole projects' committed and disbursed money.
ROLE_FUNDING = (
    "government_krw",
    "private_cash_krw",
    "private_in_kind_krw",
    "committed_krw",
    "disbursed_krw",
    "project_count",
)


def role_funding_sql(brn: str, role: str) -> str:
    """One row of sums over the projects counted where the firm `brn` (SQL) holds `role` (SQL)."""
    return (
        "select coalesce(sum(pp.government_krw), 0)::bigint as government_krw,"
        " coalesce(sum(pp.private_cash_krw), 0)::bigint as private_cash_krw,"
        " coalesce(sum(pp.private_in_kind_krw), 0)::bigint as private_in_kind_krw,"
        " coalesce(sum(p.committed_krw), 0)::bigint as committed_krw,"
        " coalesce(sum(p.disbursed_krw), 0)::bigint as disbursed_krw, count(*) as project_count"
        " from project_participants pp join projects p on p.code = pp.project_code"
        f" where pp.brn = {brn} and pp.role = {role} and {counted('p')}"
    )


async def firm_funding(conn: Conn, brn: str) -> list[asyncpg.Record]:
    """A firm's sums as lead and as participant, one row per role."""
    return await conn.fetch(
        f"select r.role, s.* from (values ('lead'), ('participant')) r(role)"
        f" cross join lateral ({role_funding_sql('$1::text', 'r.role')}) s",
        brn,
    )


def _stored(name: str, value: Any) -> Any:
    """A filter's value as the read model stores it: a region by its short name (`경기도`, `Gyeonggi`
    are `경기`), as the firms service keeps it."""
    return region_spellings(value) if name == "region" and isinstance(value, str) else value
