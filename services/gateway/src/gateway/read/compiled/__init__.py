"""Operations answered by one SQL statement that builds the answer's JSON in Postgres.

Strawberry resolves every field in Python (~7 µs a field): a page of 50 technologies with their
industry, funding and firms is ~1,000 fields. Here the selection is compiled, once per distinct
document, operation and outcome of its @skip/@include conditions, into a single statement of
nested subqueries that returns the `data` object as text: objects over rows are records named
by their response keys, given to `json_agg` / `to_json`, the others `json_build_object`s. Each
call only coerces the variables, checks the arguments as strawberry would, and binds them.

The rows are chosen as the resolvers and their loaders choose them: both are written from the
same description (`gateway.read.describe`), and the hand-written fields reuse the store's
filters, orders and sums. `test_differential.py` and `test_compiled.py` compare both answers.
Anything this package does not know, and every case where strawberry would answer with an
error (a missing scope, a bad `first`, cursor or BRN, variables that do not coerce), is
Declined with its reason, which the gateway counts in `mpe_gateway_compile_fallbacks_total`,
and strawberry answers as before.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLObjectType,
    OperationType,
    VariableNode,
    get_argument_values,
    get_named_type,
    visit,
)
from graphql.execution.collect_fields import FragmentDetails
from graphql.execution.values import VariableValues, get_variable_values
from graphql.language import DirectiveNode, Visitor
from graphql.utilities import get_operation_ast

from gateway.read.compiled.compiler import Compiler
from gateway.read.compiled.core import (
    ARGUMENTS,
    BINDING_SCOPES,
    OPERATION,
    SCOPE,
    VARIABLES,
    CompiledQuery,
    Declined,
    Document,
    Unsupported,
)
from gateway.read.compiled.fields import (
    CONNECTION_FIELDS,
    DECLINED,
    EDGE_FIELDS,
    LOOKUPS,
    PAGE_INFO_FIELDS,
    RELATIONS,
    SCALARS,
)
from gateway.read.schema import schema

__all__ = [
    "ARGUMENTS",
    "DECLINED",
    "MAX_PLANS",
    "CompiledQuery",
    "Declined",
    "compile_operation",
    "compiled_fields",
    "inspect_operation",
]


# The most plans one document keeps, one per outcome of its @skip/@include variables.
MAX_PLANS = 16


def compile_operation(
    doc: Document | Declined,
    variables: dict[str, Any] | None,
    *,
    scopes: frozenset[str],
    max_page: int,
) -> CompiledQuery | Declined:
    """The operation as one statement, or why strawberry must answer it.

    `doc` is what `inspect_operation` made of a parsed, valid document within the limits, kept
    by the caller with the document; its plans are compiled once per outcome of its
    @skip/@include variables, and the variables are bound per call.
    """
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
            plan = Compiler(doc, coerced).compile()
        except Unsupported as exc:
            plan = Declined(exc.reason)
        if len(doc.plans) >= MAX_PLANS:
            # The oldest goes: a client sending every combination of many @include variables
            # must not grow the document's plans without end (2^k of them).
            del doc.plans[next(iter(doc.plans))]
        doc.plans[shape] = plan
    if isinstance(plan, Declined):
        return plan
    if not plan.scopes <= scopes:
        return Declined(SCOPE)
    values: list[object] = []
    bound = BINDING_SCOPES.set(scopes)
    try:
        for site in plan.sites:
            values.extend(site.read(get_argument_values(site.field, site.node, coerced), max_page))
    except Unsupported as exc:
        return Declined(exc.reason if exc.reason == SCOPE else ARGUMENTS)
    except GraphQLError:
        return Declined(ARGUMENTS)
    finally:
        BINDING_SCOPES.reset(bound)
    return CompiledQuery(plan.sql, tuple(values))


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


def inspect_operation(document: DocumentNode, operation_name: str | None) -> Document | Declined:
    """What the compiler keeps of a document's operation; Declined if no variables can make it compile."""
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
    return Document(operation, fragments, tuple(sorted(found.variables)), {})


def compiled_fields() -> frozenset[tuple[str, str]]:
    """Every (type, field) the compiler writes SQL for."""
    found = {(t, f) for t, fields in SCALARS.items() for f in fields}
    found |= RELATIONS.keys() | LOOKUPS.keys()
    for name in dir(Compiler):
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
