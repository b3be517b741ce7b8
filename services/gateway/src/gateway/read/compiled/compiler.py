"""The compiler: walks an operation's collected fields and writes one statement.

Scalar fields, described relations and lookups are written from the read model's description;
the methods `f_<Type>_<field>` are the fields it cannot say (root connections with their
filters, sums, the year's overview, JSON list columns).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from graphql import FieldNode, GraphQLField, GraphQLObjectType, GraphQLSchema, get_named_type
from graphql.execution.collect_fields import (
    FieldDetailsList,
    GroupedFieldSet,
    collect_fields,
    collect_subfields,
)
from graphql.execution.values import VariableValues

from gateway import store
from gateway.read.budget.model import PROGRAM, PROJECT
from gateway.read.catalog.model import TECHNOLOGY
from gateway.read.common import today_in_korea
from gateway.read.compiled import budget, money
from gateway.read.compiled.core import (
    ARGUMENTS,
    MAX_COLUMN_NAME,
    MAX_KEYS,
    OPERATION,
    WIDTH,
    Document,
    Plan,
    Reader,
    Site,
    Unsupported,
    after_of,
    brn_of,
    cursor_sql,
    enum_value,
    first_of,
    json_list,
    json_object,
    shift,
)
from gateway.read.compiled.fields import (
    LOOKUPS,
    RELATIONS,
    SCALARS,
    SCOPES,
    firm_filter,
    project_filter,
    technology_filter,
)
from gateway.read.describe import Entity, Lookup, Relation
from gateway.read.firms.model import FIRM
from gateway.read.schema import schema
from mpe_kit.pagination import keyset_after

F = TypeVar("F")


class Compiler:
    """Builds one plan: walks the collected fields and writes the statement."""

    def __init__(self, doc: Document, variables: VariableValues) -> None:
        self.doc = doc
        self.variables = variables
        self.sites: list[Site] = []
        self.placeholders = 0
        self.scopes: set[str] = set()
        self.ctes: list[str] = []
        self.aliases = 0

    # Plumbing

    def alias(self) -> str:
        self.aliases += 1
        return f"a{self.aliases}"

    def site(self, field: GraphQLField, node: FieldNode, read: Reader, count: int) -> list[str]:
        """Reserve `count` placeholders for a field occurrence's arguments; their SQL names."""
        self.sites.append(Site(field, node, read))
        first = self.placeholders + 1
        self.placeholders += count
        return [f"${n}" for n in range(first, first + count)]

    def subfields(self, type_: GraphQLObjectType, details: FieldDetailsList) -> GroupedFieldSet:
        return collect_subfields(
            schema._schema, self.doc.fragments, self.variables, self.doc.operation, type_, details
        ).grouped_field_set

    def compile(self) -> Plan:
        s: GraphQLSchema = schema._schema
        query = s.query_type
        assert query is not None
        fields = collect_fields(s, self.doc.fragments, self.variables, query, self.doc.operation)
        if fields.new_defer_usages or fields.forbidden_directive_instances:
            raise Unsupported(OPERATION)
        body = self.object("Query", "", fields.grouped_field_set)
        with_ = f"with {', '.join(self.ctes)} " if self.ctes else ""
        # textsend: the answer as UTF-8 bytes (bytea), which asyncpg hands over without decoding.
        return Plan(f"{with_}select textsend(({body})::text)", tuple(self.sites), frozenset(self.scopes))

    def object(self, type_name: str, alias: str, fields: GroupedFieldSet) -> str:
        """`json_build_object` of the selected fields, in selection order, of the row `alias`."""
        return json_object(self.members(type_name, alias, fields))

    def members(self, type_name: str, alias: str, fields: GroupedFieldSet) -> list[tuple[str, str]]:
        """(response key, SQL of its value) of each selected field of the row `alias`, in selection order."""
        if len(fields) > MAX_KEYS:
            raise Unsupported(WIDTH)
        parts: list[tuple[str, str]] = []
        type_ = schema._schema.get_type(type_name)
        assert isinstance(type_, GraphQLObjectType)
        scalars = SCALARS.get(type_name, {})
        for key, details in fields.items():
            node = details[0].node
            name = node.name.value
            if name == "__typename":
                value = f"'{type_name}'"
            elif name.startswith("__"):
                raise Unsupported
            else:
                field = type_.fields.get(name)
                if field is None:
                    raise Unsupported
                scope = SCOPES.get((type_name, name))
                if scope is not None:
                    self.scopes.add(scope)
                described = (type_name, name)
                if name in scalars:
                    value = scalars[name](alias)
                elif described in RELATIONS:
                    value = self.relation(RELATIONS[described], alias, field, details)
                elif described in LOOKUPS:
                    value = self.lookup(LOOKUPS[described], alias, field, details)
                else:
                    method = getattr(self, f"f_{type_name}_{name}", None)
                    if method is None:
                        raise Unsupported
                    value = method(alias, field, details)
            parts.append((key, value))
        return parts

    def child(self, field: GraphQLField, details: FieldDetailsList, alias: str) -> str:
        """The object a field returns, built on the row `alias`."""
        return json_object(self.child_members(field, details, alias))

    def child_members(
        self, field: GraphQLField, details: FieldDetailsList, alias: str
    ) -> list[tuple[str, str]]:
        type_ = get_named_type(field.type)
        assert isinstance(type_, GraphQLObjectType)
        return self.members(type_.name, alias, self.subfields(type_, details))

    # Objects over rows: JSON of a record, whose column names are the response keys

    def record(self, field: GraphQLField, details: FieldDetailsList, x: str) -> tuple[str, str]:
        """The object a field returns on each row `x` of a from-clause: (SQL to follow `x` in it, JSON value).

        The fields are the columns of a lateral select named by their response keys, and the
        object is that row as JSON. Postgres builds that for less CPU than `json_build_object`
        (query 1's statement at 100×: a tenth less), and without the blanks around each colon
        (docs/measurements.md, "Objects over rows as records"). A key longer than a column name
        may be (63 bytes) keeps `json_build_object`.
        """
        members = self.child_members(field, details, x)
        if any(len(key.encode()) > MAX_COLUMN_NAME for key, _ in members):
            return "", json_object(members)
        r = self.alias()
        columns = ", ".join(f'{value} as "{key}"' for key, value in members)
        return f" cross join lateral (select {columns}) {r}", r

    def many(self, field: GraphQLField, details: FieldDetailsList, rows: str, x: str, order: str) -> str:
        """A JSON list, never null, of the field's object on each row of `rows` (aliased `x`) in `order`."""
        lateral, element = self.record(field, details, x)
        return json_list(element, rows, x, order, lateral)

    def one(self, field: GraphQLField, details: FieldDetailsList, rows: str, x: str) -> str:
        """The field's object on the single row of `rows` (aliased `x`), or null if there is none."""
        lateral, element = self.record(field, details, x)
        return f"(select to_json({element}) from ({rows}) {x}{lateral})"

    # The description's relations and lookups

    def by_key(self, entity: Entity, key: str, field: GraphQLField, details: FieldDetailsList) -> str:
        """The entity whose key is the SQL `key`, or null."""
        x = self.alias()
        rows = f"select {entity.select()} from {entity.table} where {entity.key} = {key}"
        return self.one(field, details, rows, x)

    def lookup(self, lookup: Lookup, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
        """A parent's key, or array of keys in its order (unknown ones left out), followed to rows."""
        ref = f"{a}.{lookup.parent_column}"
        if not lookup.many:
            return self.by_key(lookup.child, ref, field, details)
        child = lookup.child
        x = self.alias()
        rows = (
            f"select {child.select('t')}, u.ord from unnest({ref}) with ordinality u(k, ord)"
            f" join {child.table} t on t.{child.key} = u.k"
        )
        return self.many(field, details, rows, x, f"{x}.ord")

    def relation(self, relation: Relation, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
        """Up to `first` children of the parent row `a`, in the relation's order."""
        window = relation.valid

        def read(args: dict[str, Any], max_page: int) -> list[object]:
            values: list[object] = [first_of(args, max_page)]
            if relation.status is not None:
                values.append(enum_value(args.get("status")))
            if window is not None:
                day = args.get("validOn")
                values.append(today_in_korea() if day is None and window.today else day)
            return values

        count = 1 + (relation.status is not None) + (window is not None)
        size, *more = self.site(field, details[0].node, read, count)
        status = more.pop(0) if relation.status is not None else None
        day = more.pop(0) if window is not None else None
        x = self.alias()
        rows = relation.rows(f"{a}.{relation.parent_column}", f"{size}::int", status, day)
        return self.many(field, details, rows, x, relation.order_by(x))

    def connection(
        self,
        field: GraphQLField,
        details: FieldDetailsList,
        *,
        table: str,
        cols: str,
        where: str,
        key: str,
        params: list[str],
    ) -> str:
        """A Relay connection: `params` ends with the cursor's key, the page size + 1 and the size."""
        after, size1, size = params[-3:]
        cte = self.alias()
        self.ctes.append(
            f"{cte} as (select {cols} from {table}{where} and {keyset_after((key, after, 'text'))}"
            # `least` names the page size here too: a selection of totalCount alone uses no other
            # placeholder of the connection, and the statement must use every one it is sent.
            f" order by {key} limit least({size1}::int, {size}::int + 1))"
        )
        type_ = get_named_type(field.type)
        assert isinstance(type_, GraphQLObjectType)
        page = f"select * from {cte} order by {key} limit {size}::int"
        parts: list[tuple[str, str]] = []
        for k, sub in self.subfields(type_, details).items():
            name = sub[0].node.name.value
            if name == "__typename":
                value = f"'{type_.name}'"
            elif name == "totalCount":
                value = f"(select count(*) from {table}{where})"
            elif name == "edges":
                value = self.edges(type_.fields["edges"], sub, page, key)
            elif name == "pageInfo":
                value = self.page_info(type_.fields["pageInfo"], sub, cte, page, key, size)
            else:
                raise Unsupported
            parts.append((k, value))
        if len(parts) > MAX_KEYS:
            raise Unsupported(WIDTH)
        return json_object(parts)

    def edges(self, field: GraphQLField, details: FieldDetailsList, page: str, key: str) -> str:
        type_ = get_named_type(field.type)
        assert isinstance(type_, GraphQLObjectType)
        x = self.alias()
        parts: list[tuple[str, str]] = []
        for k, sub in self.subfields(type_, details).items():
            name = sub[0].node.name.value
            if name == "__typename":
                value = f"'{type_.name}'"
            elif name == "cursor":
                value = cursor_sql(f"{x}.{key}")
            elif name == "node":
                value = self.child(type_.fields["node"], sub, x)
            else:
                raise Unsupported
            parts.append((k, value))
        if len(parts) > MAX_KEYS:
            raise Unsupported(WIDTH)
        return json_list(json_object(parts), page, x, f"{x}.{key}")

    def page_info(
        self, field: GraphQLField, details: FieldDetailsList, cte: str, page: str, key: str, size: str
    ) -> str:
        type_ = get_named_type(field.type)
        assert isinstance(type_, GraphQLObjectType)
        parts: list[tuple[str, str]] = []
        for k, sub in self.subfields(type_, details).items():
            name = sub[0].node.name.value
            if name == "__typename":
                value = f"'{type_.name}'"
            elif name == "hasNextPage":
                value = f"((select count(*) from {cte}) > {size}::int)"
            elif name == "endCursor":
                z = self.alias()
                last = f"select {key} from ({page}) {z} order by {key} desc limit 1"
                value = f"(select {cursor_sql(f'{z}.{key}')} from ({last}) {z})"
            else:
                raise Unsupported
            parts.append((k, value))
        return json_object(parts)

    # Query

    def f_Query_industries(self, _: str, field: GraphQLField, details: FieldDetailsList) -> str:
        x = self.alias()
        rows = "select code, name_en, name_ko from industries"
        return self.many(field, details, rows, x, f"{x}.code")

    def filtered_connection(
        self,
        field: GraphQLField,
        details: FieldDetailsList,
        *,
        where_of: Callable[[F], tuple[str, list[Any]]],
        filter_of: Callable[[dict[str, Any]], F],
        entity: Entity,
    ) -> str:
        """A root connection of an entity whose `filter` argument the store turns into a where clause."""
        where, values = where_of(filter_of({}))

        def read(args: dict[str, Any], max_page: int) -> list[Any]:
            size = first_of(args, max_page)
            return [*where_of(filter_of(args.get("filter") or {}))[1], after_of(args), size + 1, size]

        params = self.site(field, details[0].node, read, len(values) + 3)
        return self.connection(
            field,
            details,
            table=entity.table,
            cols=entity.select(),
            where=shift(where, int(params[0][1:]) - 1),
            key=entity.key,
            params=params,
        )

    def f_Query_technologies(self, _: str, field: GraphQLField, details: FieldDetailsList) -> str:
        return self.filtered_connection(
            field,
            details,
            where_of=store.catalog.technology_where,
            filter_of=technology_filter,
            entity=TECHNOLOGY,
        )

    def f_Query_technology(self, _: str, field: GraphQLField, details: FieldDetailsList) -> str:
        (code,) = self.site(field, details[0].node, lambda args, _: [args["code"]], 1)
        return self.by_key(TECHNOLOGY, f"{code}::text", field, details)

    def f_Query_firm(self, _: str, field: GraphQLField, details: FieldDetailsList) -> str:
        (brn,) = self.site(field, details[0].node, lambda args, _: [brn_of(args["brn"])], 1)
        return self.by_key(FIRM, f"{brn}::text", field, details)

    def f_Query_firms(self, _: str, field: GraphQLField, details: FieldDetailsList) -> str:
        return self.filtered_connection(
            field,
            details,
            where_of=store.firms.firm_where,
            filter_of=firm_filter,
            entity=FIRM,
        )

    def f_Query_program(self, _: str, field: GraphQLField, details: FieldDetailsList) -> str:
        (code,) = self.site(field, details[0].node, lambda args, _: [args["code"]], 1)
        return self.by_key(PROGRAM, f"{code}::text", field, details)

    def f_Query_programs(self, _: str, field: GraphQLField, details: FieldDetailsList) -> str:
        def read(args: dict[str, Any], max_page: int) -> list[object]:
            year = args.get("fiscalYear")
            if year is not None and not 1 <= year <= 9999:
                raise Unsupported(ARGUMENTS)  # the resolver says what is wrong
            size = first_of(args, max_page)
            return [year, after_of(args), size + 1, size]

        params = self.site(field, details[0].node, read, 4)
        year = params[0]
        return self.connection(
            field,
            details,
            table="programs",
            cols=PROGRAM.select(),
            where=f" where ({year}::int is null or fiscal_year = {year}::int)",
            key="code",
            params=params,
        )

    def f_Query_project(self, _: str, field: GraphQLField, details: FieldDetailsList) -> str:
        (code,) = self.site(field, details[0].node, lambda args, _: [args["code"]], 1)
        return self.by_key(PROJECT, f"{code}::text", field, details)

    def f_Query_projects(self, _: str, field: GraphQLField, details: FieldDetailsList) -> str:
        return self.filtered_connection(
            field,
            details,
            where_of=store.budget.project_where,
            filter_of=project_filter,
            entity=PROJECT,
        )

    def f_Query_coverageGaps(self, _: str, field: GraphQLField, details: FieldDetailsList) -> str:
        def read(args: dict[str, Any], max_page: int) -> list[object]:
            year = args["fiscalYear"]
            if not 1 <= year <= 9999:
                raise Unsupported(ARGUMENTS)
            size = first_of(args, max_page)
            missing = enum_value(args.get("missing")) or "both"
            return [year, date(year, 1, 1), date(year, 12, 31), missing, after_of(args), size + 1, size]

        params = self.site(field, details[0].node, read, 7)
        return self.connection(
            field,
            details,
            table="technologies",
            cols=TECHNOLOGY.select(),
            where=shift(store.budget.gaps_where(), int(params[0][1:]) - 1),
            key="code",
            params=params,
        )

    # Industry

    def f_Industry_technologyCount(self, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
        (day,) = self.site(field, details[0].node, lambda args, _: [args.get("asOf")], 1)
        return (
            f"(select count(*) from technologies c where c.industry_code = {a}.code and case when {day}::date"
            f" is null then c.status = 'listed' else c.listed_on <= {day}::date and (c.retired_on is null"
            f" or {day}::date < c.retired_on) end)"
        )

    # Designation

    def f_Designation_history(self, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
        """A row's `history` JSON array, in its order (designations and projects alike)."""
        x = self.alias()
        rows = f"select h, n from jsonb_array_elements({a}.history) with ordinality e(h, n)"
        return self.many(field, details, rows, x, f"{x}.n")

    f_Project_history = f_Designation_history

    # The budget's hand-written fields (compiled/budget.py)

    f_Query_programOverview = budget.f_Query_programOverview
    f_ProgramOverview_byIndustry = budget.f_ProgramOverview_byIndustry
    f_ProgramOverview_byTrack = budget.f_ProgramOverview_byTrack
    f_IndustryFunding_industry = budget.f_IndustryFunding_industry
    f_Project_continuedBy = budget.f_Project_continuedBy
    f_Program_committedKrw = budget.f_Program_committedKrw
    f_Program_disbursedKrw = budget.f_Program_disbursedKrw
    f_Program_projectCount = budget.f_Program_projectCount
    f_Program_themes = budget.f_Program_themes
    f_Theme_stages = budget.f_Theme_stages
    f_ThemeStage_projects = budget.f_ThemeStage_projects

    # The money rollups (compiled/money.py)

    f_Query_spending = money.f_Query_spending
    f_SpendingRow_industry = money.f_SpendingRow_industry
    f_SpendingRow_program = money.f_SpendingRow_program
    f_Technology_funding = money.f_Technology_funding
    f_Technology_fundingByYear = money.f_Technology_fundingByYear
    f_Firm_funding = money.f_Firm_funding
    f_FirmFunding_asLead = money.f_FirmFunding_asLead
    f_FirmFunding_asParticipant = money.f_FirmFunding_asParticipant
