"""The compiler's methods for the money rollups: `spending`, `Technology.funding` and `Firm.funding` (the `Compiler` takes them).

The rows are the store's statements (`gateway.store.spending`), which the resolvers run too, so
both engines sum the same way; only the JSON is built here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphql import GraphQLError, GraphQLField
from graphql.execution.collect_fields import FieldDetailsList

from gateway import store
from gateway.read.budget.model import PROGRAM
from gateway.read.budget.spending import asked
from gateway.read.common import fiscal_year
from gateway.read.compiled.core import ARGUMENTS, Unsupported, checked, require_scope
from gateway.read.firms.model import FIRMS_READ

if TYPE_CHECKING:
    from gateway.read.compiled.compiler import Compiler


def _won(column: str) -> Any:
    return lambda a: f"({a}.{column})::text"


def _upper(column: str) -> Any:
    return lambda a: f"upper({a}.{column})"


# The scalar fields of a rollup row and of a firm's money in one role.
SCALARS: dict[str, dict[str, Any]] = {
    "SpendingRow": {
        "fiscalYear": lambda a: f"{a}.fiscal_year",
        "programKind": _upper("program_kind"),
        "track": lambda a: f"{a}.track",
        "projectKind": _upper("project_kind"),
        "region": lambda a: f"{a}.region",
        "firmSize": _upper("firm_size"),
        "partnerCountry": lambda a: f"{a}.partner_country",
        "paidMonth": lambda a: f"{a}.paid_month",
        "committedKrw": _won("committed_krw"),
        "disbursedKrw": _won("disbursed_krw"),
        "governmentKrw": _won("government_krw"),
        "privateCashKrw": _won("private_cash_krw"),
        "privateInKindKrw": _won("private_in_kind_krw"),
        "projectCount": lambda a: f"{a}.project_count",
        "overlaps": lambda a: f"{a}.overlaps",
    },
    "RoleFunding": {
        "governmentKrw": _won("government_krw"),
        "privateCashKrw": _won("private_cash_krw"),
        "privateInKindKrw": _won("private_in_kind_krw"),
        "committedKrw": _won("committed_krw"),
        "disbursedKrw": _won("disbursed_krw"),
        "projectCount": lambda a: f"{a}.project_count",
    },
}


def _spending_values(args: dict[str, Any], _: int) -> list[object]:
    if (args.get("filter") or {}).get("firm") is not None:
        require_scope(FIRMS_READ)  # a firm's money tells which projects it leads
    try:
        return asked(args["groupBy"], args.get("filter") or {}).values()
    except GraphQLError as exc:
        raise Unsupported(ARGUMENTS) from exc


def f_Query_spending(c: Compiler, _: str, field: GraphQLField, details: FieldDetailsList) -> str:
    ph = c.site(field, details[0].node, _spending_values, store.spending.PLACEHOLDERS)
    x = c.alias()
    rows = store.spending.spending_sql(ph)
    return c.many(field, details, rows, x, store.spending.spending_order(x))


def f_SpendingRow_industry(c: Compiler, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
    x = c.alias()
    rows = (
        f"select {a}.industry_code as code, {a}.industry_name_en as name_en,"
        f" {a}.industry_name_ko as name_ko where {a}.industry_code is not null"
    )
    return c.one(field, details, rows, x)


def f_SpendingRow_program(c: Compiler, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
    return c.by_key(PROGRAM, f"{a}.program_code", field, details)


def f_Technology_funding(c: Compiler, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
    (year,) = c.site(
        field, details[0].node, lambda args, _: [checked(fiscal_year, args.get("fiscalYear"))], 1
    )
    x = c.alias()
    return c.one(field, details, store.budget.technology_sums(f"{a}.code", year), x)


def f_Technology_fundingByYear(c: Compiler, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
    x = c.alias()
    rows = store.budget.technology_years(f"{a}.code")
    return c.many(field, details, rows, x, f"{x}.fiscal_year")


def f_Firm_funding(c: Compiler, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
    x = c.alias()
    return c.one(field, details, f"select {a}.brn as brn", x)


def _role(c: Compiler, a: str, role: str, field: GraphQLField, details: FieldDetailsList) -> str:
    x = c.alias()
    return c.one(field, details, store.spending.role_funding_sql(f"{a}.brn", f"'{role}'"), x)


def f_FirmFunding_asLead(c: Compiler, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
    return _role(c, a, "lead", field, details)


def f_FirmFunding_asParticipant(c: Compiler, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
    return _role(c, a, "participant", field, details)
