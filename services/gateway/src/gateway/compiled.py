"""Headline GraphQL operations answered by one SQL statement that builds the answer's JSON in Postgres.

Strawberry resolves every field in Python (~7 µs a field): a page of 50 technologies with their
industry, funding and firms is ~1,000 fields. Here the selection is compiled, once per distinct
document, operation and outcome of its @skip/@include conditions, into a single statement of
nested `json_build_object` / `json_agg` subqueries that returns the `data` object as text. Each
call only coerces the variables, checks the arguments as strawberry would, and binds them.

The rows are chosen exactly as the resolvers and DataLoaders of `gateway.graphql` choose them
(same filters, orders, cursors and sums, reusing the repository's SQL builders where they are
shared cleanly); `tests/test_compiled.py` compares both answers over many shapes. Anything this
module does not know, and every case where strawberry would answer with an error (a missing
scope, a bad `first`, cursor or BRN, variables that do not coerce), compiles to None, and the
caller runs strawberry as before. Each decline names its reason (`Declined.reason`), which the
gateway counts in `mpe_gateway_compile_fallbacks_total{reason}`.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    get_argument_values,
    get_named_type,
    print_ast,
    visit,
)
from graphql.execution.collect_fields import (
    FieldDetailsList,
    FragmentDetails,
    GroupedFieldSet,
    collect_fields,
    collect_subfields,
)
from graphql.execution.values import VariableValues, get_variable_values
from graphql.language import DirectiveNode, Visitor
from graphql.utilities import get_operation_ast
from strawberry.permission import PermissionExtension

from gateway import store
from gateway.graphql import HasScope, schema
from mpe_kit.db import Conn
from mpe_kit.errors import Invalid
from mpe_kit.pagination import decode_text_cursor

__all__ = ["CompiledQuery", "Declined", "compile_operation"]

# Documents kept compiled; a client with ever-new documents only evicts the oldest.
CACHE_SIZE = 512
# json_build_object takes at most 100 arguments: 50 keys.
MAX_KEYS = 50


# Why an operation is left to strawberry, as the fallback counter's `reason` label says it.
OPERATION = "operation"  # not a query, or a directive or fragment form the compiler does not take
FIELD = "field"  # a field the compiler does not know (introspection included)
WIDTH = "width"  # more selections on one object than json_build_object takes
VARIABLES = "variables"  # variables that do not coerce: strawberry reports them
SCOPE = "scope"  # the key lacks a scope a selected field needs: strawberry answers FORBIDDEN
ARGUMENTS = "arguments"  # an argument strawberry refuses (page size, cursor, BRN, year)


class Unsupported(Exception):
    """The operation, or this call of it, is left to strawberry, for `reason`."""

    def __init__(self, reason: str = FIELD) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Declined:
    """The compiler leaves the operation to strawberry, for `reason`."""

    reason: str


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    """One statement and its bound values; `run` returns the JSON text of the `data` object."""

    sql: str
    values: tuple[object, ...]

    async def run(self, conn: Conn) -> bytes:
        """Run the statement on `conn` and return the answer's `data` as UTF-8 JSON."""
        text: str = await conn.fetchval(self.sql, *self.values)
        return text.encode()


# What a site does with its field's coerced arguments: the SQL values of its placeholders.
Reader = Callable[[dict[str, Any], int], list[object]]


@dataclass(frozen=True, slots=True)
class _Site:
    """A field occurrence with arguments, and how they become SQL values on each call."""

    field: GraphQLField
    node: FieldNode
    read: Reader


@dataclass(frozen=True, slots=True)
class _Plan:
    """A compiled shape: the statement, its argument sites in placeholder order, the scopes it needs."""

    sql: str
    sites: tuple[_Site, ...]
    scopes: frozenset[str]


@dataclass(slots=True)
class _Document:
    """A document's operation, its fragments and the plans per outcome of its @skip/@include."""

    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDetails]
    condition_variables: tuple[str, ...]
    plans: dict[tuple[object, ...], _Plan | Declined]


_documents: OrderedDict[tuple[str, str | None], _Document | Declined] = OrderedDict()


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


def compile_operation(
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    *,
    scopes: frozenset[str],
    max_page: int,
) -> CompiledQuery | Declined:
    """The operation as one statement, or why strawberry must answer it.

    `document` is already parsed, validated and within the limits; compilation is cached per
    document text and operation name, and the variables are bound per call.
    """
    doc = _document(document, operation_name)
    if isinstance(doc, Declined):
        return doc
    coerced = get_variable_values(schema._schema, doc.operation.variable_definitions or (), variables or {})
    if not isinstance(coerced, VariableValues):
        return Declined(VARIABLES)
    shape = tuple(coerced.coerced.get(v) for v in doc.condition_variables)
    if shape in doc.plans:
        plan = doc.plans[shape]
    else:
        try:
            plan = _Compiler(doc, coerced).compile()
        except Unsupported as exc:
            plan = Declined(exc.reason)
        doc.plans[shape] = plan
    if isinstance(plan, Declined):
        return plan
    if not plan.scopes <= scopes:
        return Declined(SCOPE)
    values: list[object] = []
    try:
        for site in plan.sites:
            values.extend(site.read(get_argument_values(site.field, site.node, coerced), max_page))
    except (Unsupported, GraphQLError):
        return Declined(ARGUMENTS)
    return CompiledQuery(plan.sql, tuple(values))


def _document(document: DocumentNode, operation_name: str | None) -> _Document | Declined:
    """The cached entry of a document's operation (Declined: not compilable whatever the variables)."""
    text = document.loc.source.body if document.loc else print_ast(document)
    key = (text, operation_name)
    if key in _documents:
        _documents.move_to_end(key)
        return _documents[key]
    entry = _inspect(document, operation_name)
    _documents[key] = entry
    if len(_documents) > CACHE_SIZE:
        _documents.popitem(last=False)
    return entry


class _Directives(Visitor):
    """Notes directives other than @skip/@include, and the variables their conditions read."""

    def __init__(self) -> None:
        super().__init__()
        self.foreign = False
        self.variables: set[str] = set()

    def enter_directive(self, node: DirectiveNode, *_: object) -> None:
        if node.name.value not in ("skip", "include"):
            self.foreign = True
        for arg in node.arguments or ():
            if isinstance(arg.value, VariableNode):
                self.variables.add(arg.value.name.value)


def _inspect(document: DocumentNode, operation_name: str | None) -> _Document | Declined:
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation != OperationType.QUERY:
        return Declined(OPERATION)
    fragments: dict[str, FragmentDetails] = {}
    for d in document.definitions:
        if isinstance(d, FragmentDefinitionNode):
            if d.variable_definitions:
                return Declined(OPERATION)
            fragments[d.name.value] = FragmentDetails(d)
    found = _Directives()
    visit(document, found)
    if found.foreign:
        return Declined(OPERATION)
    return _Document(operation, fragments, tuple(sorted(found.variables)), {})


# Argument checks, as the resolvers make them; a value strawberry would refuse is Unsupported.


def _first(args: Mapping[str, Any], max_page: int) -> int:
    first = args["first"]
    if not isinstance(first, int) or not 1 <= first <= max_page:
        raise Unsupported
    return first


def _after(args: Mapping[str, Any]) -> str | None:
    try:
        return decode_text_cursor(args.get("after"))
    except Invalid as exc:
        raise Unsupported from exc


def _enum(value: Any) -> str | None:
    return None if value is None else str(value.value)


_BRN = re.compile(r"^([0-9]{10}|[0-9]{3}-[0-9]{2}-[0-9]{5})$")
_BRN_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)


def _brn(value: str) -> str:
    """The 10 digits of a valid BRN, as `gateway.graphql` accepts it; Unsupported otherwise."""
    text = value.strip()
    if not _BRN.match(text):
        raise Unsupported
    digits = [int(c) for c in text.replace("-", "")]
    total = sum(d * w for d, w in zip(digits[:9], _BRN_WEIGHTS, strict=True)) + digits[8] * 5 // 10
    if (10 - total % 10) % 10 != digits[9]:
        raise Unsupported
    return "".join(map(str, digits))


def _shift(sql: str, base: int) -> str:
    """A repository clause written with $1, $2 … renumbered to start after `base` placeholders."""
    return re.sub(r"\$(\d+)", lambda m: f"${int(m[1]) + base}", sql)


def _cols(cols: str, alias: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in cols.split(","))


def _cursor(expr: str) -> str:
    """SQL for `encode_cursor([expr])`: URL-safe base64 of the compact JSON list, unpadded."""
    # textsend: the text's bytes in UTF-8 (the client encoding), far cheaper than convert_to.
    return (
        f"rtrim(translate(replace(encode(textsend(json_build_array({expr})::text), 'base64'),"
        " E'\\n', ''), '+/', '-_'), '=')"
    )


def _list(element: str, rows: str, alias: str, order: str) -> str:
    """A JSON list, never null, of `element` over the rows `rows` (aliased `alias`) in `order`."""
    return f"coalesce((select json_agg({element} order by {order}) from ({rows}) {alias}), '[]'::json)"


def _one(element: str, rows: str, alias: str) -> str:
    """`element` of the single row of `rows`, or null if there is none."""
    return f"(select {element} from ({rows}) {alias})"


_ENUM = "upper({})"
_WON = "({})::text"
# Python prints a whole float as 1.0 where Postgres prints 1.
_FLOAT = "(case when ({0})::text ~ '^-?[0-9]+$' then (({0})::text || '.0')::json else to_json({0}) end)"
# pydantic writes UTC as Z; strawberry prints the parsed datetime with +00:00.
_DATETIME = "regexp_replace({}, 'Z$', '+00:00')"


def _column(template: str, column: str) -> Callable[[str], str]:
    return lambda a: template.format(f"{a}.{column}")


def _plain(column: str) -> Callable[[str], str]:
    return lambda a: f"{a}.{column}"


TECH_COLS = store.catalog.TECH_COLS
FIRM_COLS = store.firms.FIRM_COLS
DESIGNATION_COLS = store.firms.DESIGNATION_COLS
PROGRAM_COLS = store.budget.PROGRAM_COLS
PROJECT_COLS = store.budget.PROJECT_COLS

# Scalar fields per type: the SQL of the value given the alias of the row.
SCALARS: dict[str, dict[str, Callable[[str], str]]] = {
    "Industry": {"code": _plain("code"), "nameEn": _plain("name_en"), "nameKo": _plain("name_ko")},
    "Technology": {
        "code": _plain("code"),
        "nameEn": _plain("name_en"),
        "nameKo": _plain("name_ko"),
        "description": _plain("description"),
        "kind": _column(_ENUM, "kind"),
        "status": _column(_ENUM, "status"),
        "listedOn": _plain("listed_on"),
        "retiredOn": _plain("retired_on"),
        "version": _plain("version"),
    },
    "Firm": {
        "brn": _plain("brn"),
        "brnDisplay": _plain("brn_display"),
        "nameEn": _plain("name_en"),
        "nameKo": _plain("name_ko"),
        "size": _column(_ENUM, "size"),
        "sizeSince": _plain("size_since"),
        "region": _plain("region"),
        "mpeSalesRatio": _column(_FLOAT, "mpe_sales_ratio"),
    },
    "Designation": {
        "id": _column("({})::text", "id"),
        "kind": _column(_ENUM, "kind"),
        "cohort": _plain("cohort"),
        "status": _column(_ENUM, "status"),
        "appliedOn": _plain("applied_on"),
        "designatedOn": _plain("designated_on"),
        "validUntil": _plain("valid_until"),
    },
    "DesignationTransition": {
        "fromStatus": lambda a: f"upper(nullif({a}.h->>'from_status', ''))",
        "toStatus": lambda a: f"upper({a}.h->>'to_status')",
        "at": lambda a: _DATETIME.format(f"{a}.h->>'at'"),
        "effectiveOn": lambda a: f"{a}.h->>'effective_on'",
        "actor": lambda a: f"{a}.h->>'actor'",
        "reason": lambda a: f"{a}.h->>'reason'",
    },
    "Program": {
        "code": _plain("code"),
        "fiscalYear": _plain("fiscal_year"),
        "nameEn": _plain("name_en"),
        "nameKo": _plain("name_ko"),
        "kind": _column(_ENUM, "kind"),
        "track": _plain("track"),
        "budgetKrw": _column(_WON, "budget_krw"),
    },
    "Theme": {"code": lambda a: f"{a}.t->>'code'", "title": lambda a: f"{a}.t->>'title'"},
    "ThemeStage": {
        "stage": lambda a: f"upper({a}.s->>'stage')",
        "teams": lambda a: f"({a}.s->>'teams')::int",
    },
    "Project": {
        "code": _plain("code"),
        "title": _plain("title"),
        "fiscalYear": _plain("fiscal_year"),
        "kind": _column(_ENUM, "kind"),
        "status": _column(_ENUM, "status"),
        "continues": _plain("continues"),
        "governmentKrw": _column(_WON, "government_krw"),
        "privateCashKrw": _column(_WON, "private_cash_krw"),
        "privateInKindKrw": _column(_WON, "private_in_kind_krw"),
        "committedKrw": _column(_WON, "committed_krw"),
        "disbursedKrw": _column(_WON, "disbursed_krw"),
        "startOn": _plain("start_on"),
        "endOn": _plain("end_on"),
    },
    # Rows of sums (committed_krw, disbursed_krw, project_count), as the repository names them.
    "Funding": {
        "committedKrw": _column(_WON, "committed_krw"),
        "disbursedKrw": _column(_WON, "disbursed_krw"),
        "projectCount": _plain("project_count"),
    },
    "IndustryFunding": {
        "committedKrw": _column(_WON, "committed_krw"),
        "disbursedKrw": _column(_WON, "disbursed_krw"),
        "projectCount": _plain("project_count"),
    },
    "TrackFunding": {
        "track": _plain("track"),
        "committedKrw": _column(_WON, "committed_krw"),
        "disbursedKrw": _column(_WON, "disbursed_krw"),
        "projectCount": _plain("project_count"),
    },
    "ProgramOverview": {
        "fiscalYear": _plain("fiscal_year"),
        "envelopeKrw": _column(_WON, "envelope_krw"),
        "programmedKrw": _column(_WON, "programmed_krw"),
        "committedKrw": _column(_WON, "committed_krw"),
        "disbursedKrw": _column(_WON, "disbursed_krw"),
        "newProjectCount": _plain("new_count"),
        "continuingProjectCount": _plain("continuing_count"),
    },
}

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
}


def compiled_fields() -> frozenset[tuple[str, str]]:
    """Every (type, field) the compiler writes SQL for."""
    found = {(t, f) for t, fields in SCALARS.items() for f in fields}
    for name in dir(_Compiler):
        if name.startswith("f_"):
            type_name, field = name[2:].split("_", 1)
            found.add((type_name, field))
    query = schema._schema.query_type
    assert query is not None
    for type_name, field in list(found):
        if type_name == "Query":
            connection = get_named_type(query.fields[field].type)
            if isinstance(connection, GraphQLObjectType) and connection.fields.keys() >= CONNECTION_FIELDS:
                found |= {(connection.name, f) for f in CONNECTION_FIELDS}
                edge = get_named_type(connection.fields["edges"].type)
                found |= {(edge.name, f) for f in EDGE_FIELDS}
    found |= {("PageInfo", f) for f in PAGE_INFO_FIELDS}
    return frozenset(found)


# The sums of the projects `p` (Funding), as store.budget.technology_funding and program_totals make them.
_SUMS = (
    "coalesce(sum(p.committed_krw), 0)::bigint as committed_krw,"
    " coalesce(sum(p.disbursed_krw), 0)::bigint as disbursed_krw,"
    f" count(p.code) filter (where {store.budget.counted('p')}) as project_count"
)


def _size_reader(args: dict[str, Any], max_page: int) -> list[object]:
    return [_first(args, max_page)]


def _technology_filter(f: dict[str, Any]) -> store.catalog.TechnologyFilter:
    return store.catalog.TechnologyFilter(
        industry=f.get("industry"),
        kind=_enum(f.get("kind")),
        status=_enum(f.get("status")),
        as_of=f.get("asOf"),
        search=f.get("search"),
    )


def _firm_filter(f: dict[str, Any]) -> store.firms.FirmFilter:
    return store.firms.FirmFilter(
        size=_enum(f.get("size")),
        region=f.get("region"),
        technology=f.get("technology"),
        designation_kind=_enum(f.get("designationKind")),
        designation_status=_enum(f.get("designationStatus")),
        search=f.get("search"),
    )


def _project_filter(f: dict[str, Any]) -> store.budget.ProjectFilter:
    firm = f.get("firm")
    return store.budget.ProjectFilter(
        program=f.get("program"),
        technology=f.get("technology"),
        firm=_brn(firm) if firm is not None else None,
        status=_enum(f.get("status")),
        fiscal_year=f.get("fiscalYear"),
        kind=_enum(f.get("kind")),
    )


F = TypeVar("F")


class _Compiler:
    """Builds one plan: walks the collected fields and writes the statement."""

    def __init__(self, doc: _Document, variables: VariableValues) -> None:
        self.doc = doc
        self.variables = variables
        self.sites: list[_Site] = []
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
        self.sites.append(_Site(field, node, read))
        first = self.placeholders + 1
        self.placeholders += count
        return [f"${n}" for n in range(first, first + count)]

    def subfields(self, type_: GraphQLObjectType, details: FieldDetailsList) -> GroupedFieldSet:
        return collect_subfields(
            schema._schema, self.doc.fragments, self.variables, self.doc.operation, type_, details
        ).grouped_field_set

    def compile(self) -> _Plan:
        s: GraphQLSchema = schema._schema
        query = s.query_type
        assert query is not None
        fields = collect_fields(s, self.doc.fragments, self.variables, query, self.doc.operation)
        if fields.new_defer_usages or fields.forbidden_directive_instances:
            raise Unsupported(OPERATION)
        body = self.object("Query", "", fields.grouped_field_set)
        with_ = f"with {', '.join(self.ctes)} " if self.ctes else ""
        return _Plan(f"{with_}select ({body})::text", tuple(self.sites), frozenset(self.scopes))

    def object(self, type_name: str, alias: str, fields: GroupedFieldSet) -> str:
        """`json_build_object` of the selected fields, in selection order, of the row `alias`."""
        if len(fields) > MAX_KEYS:
            raise Unsupported(WIDTH)
        parts: list[str] = []
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
                if name in scalars:
                    value = scalars[name](alias)
                else:
                    method = getattr(self, f"f_{type_name}_{name}", None)
                    if method is None:
                        raise Unsupported
                    value = method(alias, field, details)
            parts.append(f"'{key}', {value}")
        return f"json_build_object({', '.join(parts)})"

    def child(self, field: GraphQLField, details: FieldDetailsList, alias: str) -> str:
        """The object a field returns, built on the row `alias`."""
        type_ = get_named_type(field.type)
        assert isinstance(type_, GraphQLObjectType)
        return self.object(type_.name, alias, self.subfields(type_, details))

    # Reusable nested shapes

    def technology_list(self, codes: str, field: GraphQLField, details: FieldDetailsList) -> str:
        """Technologies of a code array in its order, unknown codes left out (as `_technologies`)."""
        x = self.alias()
        rows = (
            f"select {_cols(TECH_COLS, 't')}, u.ord from unnest({codes}) with ordinality u(code, ord)"
            " join technologies t on t.code = u.code"
        )
        return _list(self.child(field, details, x), rows, x, f"{x}.ord")

    def firm_by_brn(self, brn: str, field: GraphQLField, details: FieldDetailsList) -> str:
        x = self.alias()
        return _one(self.child(field, details, x), f"select {FIRM_COLS} from firms where brn = {brn}", x)

    def industry_by_code(self, code: str, field: GraphQLField, details: FieldDetailsList) -> str:
        x = self.alias()
        rows = f"select code, name_en, name_ko from industries where code = {code}"
        return _one(self.child(field, details, x), rows, x)

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
            f"{cte} as (select {cols} from {table}{where} and ({after}::text is null or {key} > {after}::text)"
            # `least` names the page size here too: a selection of totalCount alone uses no other
            # placeholder of the connection, and the statement must use every one it is sent.
            f" order by {key} limit least({size1}::int, {size}::int + 1))"
        )
        type_ = get_named_type(field.type)
        assert isinstance(type_, GraphQLObjectType)
        page = f"select * from {cte} order by {key} limit {size}::int"
        parts: list[str] = []
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
            parts.append(f"'{k}', {value}")
        if len(parts) > MAX_KEYS:
            raise Unsupported(WIDTH)
        return f"json_build_object({', '.join(parts)})"

    def edges(self, field: GraphQLField, details: FieldDetailsList, page: str, key: str) -> str:
        type_ = get_named_type(field.type)
        assert isinstance(type_, GraphQLObjectType)
        x = self.alias()
        parts: list[str] = []
        for k, sub in self.subfields(type_, details).items():
            name = sub[0].node.name.value
            if name == "__typename":
                value = f"'{type_.name}'"
            elif name == "cursor":
                value = _cursor(f"{x}.{key}")
            elif name == "node":
                value = self.child(type_.fields["node"], sub, x)
            else:
                raise Unsupported
            parts.append(f"'{k}', {value}")
        if len(parts) > MAX_KEYS:
            raise Unsupported(WIDTH)
        return _list(f"json_build_object({', '.join(parts)})", page, x, f"{x}.{key}")

    def page_info(
        self, field: GraphQLField, details: FieldDetailsList, cte: str, page: str, key: str, size: str
    ) -> str:
        type_ = get_named_type(field.type)
        assert isinstance(type_, GraphQLObjectType)
        parts: list[str] = []
        for k, sub in self.subfields(type_, details).items():
            name = sub[0].node.name.value
            if name == "__typename":
                value = f"'{type_.name}'"
            elif name == "hasNextPage":
                value = f"((select count(*) from {cte}) > {size}::int)"
            elif name == "endCursor":
                z = self.alias()
                last = f"select {key} from ({page}) {z} order by {key} desc limit 1"
                value = f"(select {_cursor(f'{z}.{key}')} from ({last}) {z})"
            else:
                raise Unsupported
            parts.append(f"'{k}', {value}")
        return f"json_build_object({', '.join(parts)})"

    # Query

    def f_Query_industries(self, _: str, field: GraphQLField, details: FieldDetailsList) -> str:
        x = self.alias()
        rows = "select code, name_en, name_ko from industries"
        return _list(self.child(field, details, x), rows, x, f"{x}.code")

    def filtered_connection(
        self,
        field: GraphQLField,
        details: FieldDetailsList,
        *,
        where_of: Callable[[F], tuple[str, list[Any]]],
        filter_of: Callable[[dict[str, Any]], F],
        table: str,
        cols: str,
        key: str,
    ) -> str:
        """A root connection whose `filter` argument the repository turns into a where clause."""
        where, values = where_of(filter_of({}))

        def read(args: dict[str, Any], max_page: int) -> list[Any]:
            size = _first(args, max_page)
            return [*where_of(filter_of(args.get("filter") or {}))[1], _after(args), size + 1, size]

        params = self.site(field, details[0].node, read, len(values) + 3)
        return self.connection(
            field,
            details,
            table=table,
            cols=cols,
            where=_shift(where, int(params[0][1:]) - 1),
            key=key,
            params=params,
        )

    def f_Query_technologies(self, _: str, field: GraphQLField, details: FieldDetailsList) -> str:
        return self.filtered_connection(
            field,
            details,
            where_of=store.catalog.technology_where,
            filter_of=_technology_filter,
            table="technologies",
            cols=TECH_COLS,
            key="code",
        )

    def f_Query_technology(self, _: str, field: GraphQLField, details: FieldDetailsList) -> str:
        (code,) = self.site(field, details[0].node, lambda args, _: [args["code"]], 1)
        x = self.alias()
        rows = f"select {TECH_COLS} from technologies where code = {code}::text"
        return _one(self.child(field, details, x), rows, x)

    def f_Query_firm(self, _: str, field: GraphQLField, details: FieldDetailsList) -> str:
        (brn,) = self.site(field, details[0].node, lambda args, _: [_brn(args["brn"])], 1)
        return self.firm_by_brn(f"{brn}::text", field, details)

    def f_Query_firms(self, _: str, field: GraphQLField, details: FieldDetailsList) -> str:
        return self.filtered_connection(
            field,
            details,
            where_of=store.firms.firm_where,
            filter_of=_firm_filter,
            table="firms",
            cols=FIRM_COLS,
            key="brn",
        )

    def f_Query_program(self, _: str, field: GraphQLField, details: FieldDetailsList) -> str:
        (code,) = self.site(field, details[0].node, lambda args, _: [args["code"]], 1)
        x = self.alias()
        rows = f"select {PROGRAM_COLS} from programs where code = {code}::text"
        return _one(self.child(field, details, x), rows, x)

    def f_Query_programs(self, _: str, field: GraphQLField, details: FieldDetailsList) -> str:
        def read(args: dict[str, Any], max_page: int) -> list[object]:
            size = _first(args, max_page)
            return [args.get("fiscalYear"), _after(args), size + 1, size]

        params = self.site(field, details[0].node, read, 4)
        year = params[0]
        return self.connection(
            field,
            details,
            table="programs",
            cols=PROGRAM_COLS,
            where=f" where ({year}::int is null or fiscal_year = {year}::int)",
            key="code",
            params=params,
        )

    def f_Query_project(self, _: str, field: GraphQLField, details: FieldDetailsList) -> str:
        (code,) = self.site(field, details[0].node, lambda args, _: [args["code"]], 1)
        x = self.alias()
        rows = f"select {PROJECT_COLS} from projects where code = {code}::text"
        return _one(self.child(field, details, x), rows, x)

    def f_Query_projects(self, _: str, field: GraphQLField, details: FieldDetailsList) -> str:
        return self.filtered_connection(
            field,
            details,
            where_of=store.budget.project_where,
            filter_of=_project_filter,
            table="projects",
            cols=PROJECT_COLS,
            key="code",
        )

    def f_Query_coverageGaps(self, _: str, field: GraphQLField, details: FieldDetailsList) -> str:
        def read(args: dict[str, Any], max_page: int) -> list[object]:
            year = args["fiscalYear"]
            if not 1 <= year <= 9999:
                raise Unsupported
            size = _first(args, max_page)
            return [year, date(year, 1, 1), date(year, 12, 31), _after(args), size + 1, size]

        params = self.site(field, details[0].node, read, 6)
        return self.connection(
            field,
            details,
            table="technologies",
            cols=TECH_COLS,
            where=_shift(store.budget.gaps_where(), int(params[0][1:]) - 1),
            key="code",
            params=params,
        )

    def f_Query_programOverview(self, _: str, field: GraphQLField, details: FieldDetailsList) -> str:
        (year,) = self.site(field, details[0].node, lambda args, _: [args["fiscalYear"]], 1)
        x = self.alias()
        counted = store.budget.counted()
        rows = (
            f"select {year}::int as fiscal_year,"
            f" (select envelope_krw from fiscal_years where year = {year}::int) as envelope_krw,"
            " (select coalesce(sum(budget_krw), 0)::bigint from programs"
            f" where fiscal_year = {year}::int) as programmed_krw,"
            " coalesce(sum(committed_krw), 0)::bigint as committed_krw,"
            " coalesce(sum(disbursed_krw), 0)::bigint as disbursed_krw,"
            f" count(*) filter (where {counted} and kind = 'new') as new_count,"
            f" count(*) filter (where {counted} and kind = 'continuing') as continuing_count"
            f" from projects where fiscal_year = {year}::int"
        )
        return _one(self.child(field, details, x), rows, x)

    # ProgramOverview

    def f_ProgramOverview_byIndustry(self, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
        x = self.alias()
        rows = (
            f"select i.code, i.name_en, i.name_ko, {store.budget.ROLLUP} from projects p"
            " left join technologies t on t.code = p.primary_technology"
            " left join industries i on i.code = t.industry_code"
            f" where p.fiscal_year = {a}.fiscal_year group by i.code, i.name_en, i.name_ko {store.budget.NONEMPTY}"
        )
        return _list(self.child(field, details, x), rows, x, f"{x}.code nulls last")

    def f_ProgramOverview_byTrack(self, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
        x = self.alias()
        rows = (
            f"select g.track, {store.budget.ROLLUP} from projects p left join programs g on g.code = p.program_code"
            f" where p.fiscal_year = {a}.fiscal_year group by g.track {store.budget.NONEMPTY}"
        )
        return _list(self.child(field, details, x), rows, x, f"{x}.track nulls last")

    def f_IndustryFunding_industry(self, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
        return f"(case when {a}.code is null then null else {self.child(field, details, a)} end)"

    # Industry

    def f_Industry_technologyCount(self, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
        (day,) = self.site(field, details[0].node, lambda args, _: [args.get("asOf")], 1)
        return (
            f"(select count(*) from technologies c where c.industry_code = {a}.code and case when {day}::date"
            f" is null then c.status = 'listed' else c.listed_on <= {day}::date and (c.retired_on is null"
            f" or {day}::date < c.retired_on) end)"
        )

    # Technology

    def f_Technology_industry(self, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
        return self.industry_by_code(f"{a}.industry_code", field, details)

    def f_Technology_firms(self, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
        (size,) = self.site(field, details[0].node, _size_reader, 1)
        x = self.alias()
        rows = (
            f"select {FIRM_COLS} from firms where technology_codes @> array[{a}.code]"
            f" order by brn limit {size}::int"
        )
        return _list(self.child(field, details, x), rows, x, f"{x}.brn")

    def f_Technology_designations(self, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
        def read(args: dict[str, Any], max_page: int) -> list[object]:
            return [_enum(args.get("status")), _first(args, max_page)]

        status, size = self.site(field, details[0].node, read, 2)
        x = self.alias()
        rows = (
            f"select {DESIGNATION_COLS} from designations where technology_codes @> array[{a}.code]"
            f" and ({status}::text is null or status = {status}::text) order by applied_on, id limit {size}::int"
        )
        return _list(self.child(field, details, x), rows, x, f"{x}.applied_on, {x}.id")

    def f_Technology_projects(self, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
        (size,) = self.site(field, details[0].node, _size_reader, 1)
        x = self.alias()
        rows = (
            f"select {PROJECT_COLS} from projects where technology_codes @> array[{a}.code]"
            f" order by fiscal_year desc, code limit {size}::int"
        )
        return _list(self.child(field, details, x), rows, x, f"{x}.fiscal_year desc, {x}.code")

    def f_Technology_funding(self, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
        (year,) = self.site(field, details[0].node, lambda args, _: [args.get("fiscalYear")], 1)
        # The year's sums per technology in one pass over the projects, rather than one scan per
        # technology: a project counts once per distinct code it carries, as `@>` counts it.
        sums = self.alias()
        self.ctes.append(
            f"{sums} as materialized (select u.code, {_SUMS} from projects p cross join lateral"
            " (select distinct c from unnest(p.technology_codes) c) u(code)"
            f" where {year}::int is null or p.fiscal_year = {year}::int group by u.code)"
        )
        x = self.alias()
        rows = (
            "select coalesce(s.committed_krw, 0) as committed_krw, coalesce(s.disbursed_krw, 0) as disbursed_krw,"
            f" coalesce(s.project_count, 0) as project_count from (select) one left join {sums} s on s.code = {a}.code"
        )
        return _one(self.child(field, details, x), rows, x)

    # Firm

    def f_Firm_technologies(self, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
        return self.technology_list(f"{a}.technology_codes", field, details)

    def f_Firm_designations(self, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
        (size,) = self.site(field, details[0].node, _size_reader, 1)
        x = self.alias()
        rows = (
            f"select {DESIGNATION_COLS} from designations where brn = {a}.brn"
            f" order by applied_on, id limit {size}::int"
        )
        return _list(self.child(field, details, x), rows, x, f"{x}.applied_on, {x}.id")

    def f_Firm_projects(self, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
        (size,) = self.site(field, details[0].node, _size_reader, 1)
        x = self.alias()
        rows = (
            f"select {PROJECT_COLS} from projects where lead_firm_brn = {a}.brn"
            f" order by fiscal_year desc, code limit {size}::int"
        )
        return _list(self.child(field, details, x), rows, x, f"{x}.fiscal_year desc, {x}.code")

    # Designation

    def f_Designation_history(self, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
        x = self.alias()
        rows = f"select h, n from jsonb_array_elements({a}.history) with ordinality e(h, n)"
        return _list(self.child(field, details, x), rows, x, f"{x}.n")

    def f_Designation_firm(self, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
        return self.firm_by_brn(f"{a}.brn", field, details)

    def f_Designation_technologies(self, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
        return self.technology_list(f"{a}.technology_codes", field, details)

    # Program

    def program_sum(self, a: str, expr: str) -> str:
        return f"(select {expr} from projects p where p.program_code = {a}.code)"

    def f_Program_committedKrw(self, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
        return self.program_sum(a, "coalesce(sum(p.committed_krw), 0)::bigint::text")

    def f_Program_disbursedKrw(self, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
        return self.program_sum(a, "coalesce(sum(p.disbursed_krw), 0)::bigint::text")

    def f_Program_projectCount(self, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
        return self.program_sum(a, f"count(*) filter (where {store.budget.counted('p')})")

    def f_Program_themes(self, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
        x = self.alias()
        rows = f"select t, n from jsonb_array_elements({a}.themes) with ordinality e(t, n)"
        return _list(self.child(field, details, x), rows, x, f"{x}.n")

    def f_Theme_stages(self, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
        x = self.alias()
        rows = f"select s, n from jsonb_array_elements({a}.t->'stages') with ordinality e(s, n)"
        return _list(self.child(field, details, x), rows, x, f"{x}.n")

    def f_Program_projects(self, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
        (size,) = self.site(field, details[0].node, _size_reader, 1)
        x = self.alias()
        rows = f"select {PROJECT_COLS} from projects where program_code = {a}.code order by code limit {size}::int"
        return _list(self.child(field, details, x), rows, x, f"{x}.code")

    # Project

    def f_Project_program(self, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
        x = self.alias()
        rows = f"select {PROGRAM_COLS} from programs where code = {a}.program_code"
        return _one(self.child(field, details, x), rows, x)

    def f_Project_technologies(self, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
        return self.technology_list(f"{a}.technology_codes", field, details)

    def f_Project_leadFirm(self, a: str, field: GraphQLField, details: FieldDetailsList) -> str:
        return self.firm_by_brn(f"{a}.lead_firm_brn", field, details)
