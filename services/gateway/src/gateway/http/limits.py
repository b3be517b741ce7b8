"""Limits on what one GraphQL request may ask for, enforced before any resolver runs.

- tokens: the parser stops past `max_tokens` tokens, comments included, so an oversized
  document is never built;
- depth, aliases and cost: measured on the operation to execute, once it is valid, with its
  variables applied; past a limit the answer is an error and `data: null`, and nothing runs;
- introspection: refused during validation unless enabled.

Every refusal is a GraphQL error whose `extensions` carry `code` (QUERY_TOO_DEEP,
TOO_MANY_ALIASES, TOO_MANY_TOKENS, QUERY_TOO_COSTLY, INTROSPECTION_DISABLED), and for the
limits `limit` and `actual`. As GraphQL over HTTP has it for `application/json`, the HTTP
status is 200. The limits apply to requests over HTTP (they come from the app's settings);
the schema executed in-process by trusted code is not limited.

Strawberry's QueryDepthLimiter and MaxAliasesLimiter fix their limit when the schema is built
(ours are per app, from settings), report neither a code nor the actual value, and walk a
fragment again at every spread (exponential on a document that spreads fragments in
fragments); the measure here visits each fragment once. MaxTokensLimiter is what the token
limit does, with the parser's non-deprecated options.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInt,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    Lexer,
    SelectionSetNode,
    Source,
    TokenKind,
    ValidationRule,
    VariableNode,
    get_named_type,
    get_operation_ast,
    value_from_ast_untyped,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from gateway.http.access import record_of
from gateway.read.common import LocalizedError
from gateway.read.describe import MOST, Sizer
from gateway.settings import GatewaySettings
from gateway.state import started


@dataclass(frozen=True)
class Limits:
    """The limits of one app, from its settings."""

    max_depth: int
    max_aliases: int
    max_tokens: int
    max_cost: int
    max_page: int
    introspection: bool

    @classmethod
    def of(cls, settings: GatewaySettings) -> Limits:
        """The limits a settings object sets."""
        return cls(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_tokens=settings.max_tokens,
            max_cost=settings.max_query_cost,
            max_page=settings.max_page_size,
            introspection=settings.answers_introspection,
        )


@dataclass(frozen=True)
class Measure:
    """How deep an operation nests, how many aliases it uses and what it may cost."""

    depth: int
    aliases: int
    cost: int


_Sizes = tuple[int, int, int]  # depth, aliases, cost, as Measure has them


def _is_list(kind: GraphQLOutputType) -> bool:
    if isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    return isinstance(kind, GraphQLList)


def unpaged_list(field: GraphQLField) -> bool:
    """Whether a field is a list without `first`."""
    return _is_list(field.type) and "first" not in field.args


def declared_size(field: GraphQLField) -> int | Sizer | None:
    """What a list field declares it holds (`gateway.read.describe.most`); None if nothing."""
    metadata = getattr(field.extensions.get("strawberry-definition"), "metadata", None) or {}
    size = metadata.get(MOST)
    return size if isinstance(size, int) or callable(size) else None


class _Walk:
    """Measures selection sets; a fragment is measured once, however often it is spread.

    That works because each measure of a selection set is per object of its parent: a parent
    that stands for n objects multiplies the cost by n, and depth and aliases do not depend on n.
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
        max_page: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.max_page = max_page
        self.measured: dict[str, _Sizes] = {}
        self.visiting: set[str] = set()

    def selections(self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None) -> _Sizes:
        depth = aliases = cost = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                d, a, c = self.field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                d, a, c = self.selections(
                    selection.selection_set,
                    self.schema.get_type(condition.name.value) if condition else parent,
                )
            elif isinstance(selection, FragmentSpreadNode):
                d, a, c = self.fragment(selection.name.value)
            else:  # pragma: no cover - the grammar has no other selection
                continue
            depth = max(depth, d)
            aliases += a
            cost += c
        return depth, aliases, cost

    def field(self, node: FieldNode, parent: GraphQLNamedType | None) -> _Sizes:
        if node.name.value.startswith("__"):
            return 0, 0, 0
        aliases = 1 if node.alias else 0
        definition = (
            parent.fields.get(node.name.value)
            if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType)
            else None
        )
        if node.selection_set is None or definition is None:
            return 1, aliases, 0
        depth, inner_aliases, cost = self.selections(node.selection_set, get_named_type(definition.type))
        size = self.page(definition, node)
        return 1 + depth, aliases + inner_aliases, size * (1 + cost)

    def page(self, definition: GraphQLField, node: FieldNode) -> int:
        """How many objects a field may return per parent.

        A field with `first`: that. A list without it: what the field declares (`most`: a number,
        or a function of its arguments as given), else a full page. One object: one.
        """
        argument = definition.args.get("first")
        if argument is None:
            if not _is_list(definition.type):
                return 1
            bound = declared_size(definition)
            if callable(bound):
                arguments = {
                    a.name.value: value_from_ast_untyped(a.value, self.variables)
                    for a in node.arguments or ()
                }
                return max(int(bound(arguments)), 0)
            return bound if isinstance(bound, int) else self.max_page
        given = next((a.value for a in node.arguments or () if a.name.value == "first"), None)
        value: object = None
        if isinstance(given, IntValueNode):
            value = int(given.value)
        elif isinstance(given, VariableNode) and self.variables.get(given.name.value) is not None:
            # As execution will coerce it: 5.0 is 5; what is no Int fails there, before any resolver.
            with contextlib.suppress(GraphQLError):
                value = GraphQLInt.parse_value(self.variables[given.name.value])
        if not isinstance(value, int):
            value = argument.default_value if isinstance(argument.default_value, int) else 1
        # Out of range, the resolver refuses `first` itself with a clearer message.
        return min(max(value, 0), self.max_page)

    def fragment(self, name: str) -> _Sizes:
        known = self.measured.get(name)
        if known is not None:
            return known
        definition = self.fragments.get(name)
        if definition is None or name in self.visiting:
            return 0, 0, 0
        self.visiting.add(name)
        sizes = self.selections(
            definition.selection_set, self.schema.get_type(definition.type_condition.name.value)
        )
        self.visiting.discard(name)
        self.measured[name] = sizes
        return sizes


def measure(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    *,
    max_page: int,
) -> Measure | None:
    """Depth, aliases and cost of the operation a request executes; None if there is none.

    Fields under @skip or @include count as if included.
    """
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    values = dict(variables) if isinstance(variables, dict) else {}
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if values.get(name) is None and isinstance(definition.default_value, IntValueNode):
            values[name] = int(definition.default_value.value)
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    walk = _Walk(schema, fragments, values, max_page)
    return Measure(*walk.selections(operation.selection_set, schema.get_root_type(operation.operation)))


def count_tokens(source: str, cap: int) -> tuple[int, bool]:
    """Lexical tokens of a document, comments included, read until they pass `cap`.

    Returns the count and whether the whole document was read.
    """
    lexer = Lexer(Source(source))
    token = lexer.token
    tokens = 0
    try:
        while tokens <= cap:
            token = lexer.read_next_token(token.end)
            if token.kind is TokenKind.EOF:
                return tokens, True
            tokens += 1
    except GraphQLError:
        pass
    return tokens, False


def limit_error(code: str, message: str, ko: str, *, limit: int, actual: int) -> GraphQLError:
    """A refusal by a limit, in English and Korean."""
    return LocalizedError(message, ko, extensions={"code": code, "limit": limit, "actual": actual})


def check(found: Measure, limits: Limits) -> GraphQLError | None:
    """The first limit an operation passes, as an error; None within them all."""
    if found.depth > limits.max_depth:
        return limit_error(
            "QUERY_TOO_DEEP",
            f"The operation nests fields {found.depth} deep; the limit is {limits.max_depth}.",
            f"연산의 필드가 {found.depth}단계 깊이로 중첩되어 있습니다. 한도는 {limits.max_depth}단계입니다.",
            limit=limits.max_depth,
            actual=found.depth,
        )
    if found.aliases > limits.max_aliases:
        return limit_error(
            "TOO_MANY_ALIASES",
            f"The operation uses {found.aliases} aliases; the limit is {limits.max_aliases}.",
            f"연산이 별칭(alias)을 {found.aliases}개 씁니다. 한도는 {limits.max_aliases}개입니다.",
            limit=limits.max_aliases,
            actual=found.aliases,
        )
    if found.cost > limits.max_cost:
        return limit_error(
            "QUERY_TOO_COSTLY",
            f"The operation could return {found.cost} objects; the limit is {limits.max_cost}."
            " Ask for smaller pages (`first`) or fewer nested lists, and follow the cursors.",
            f"연산이 객체를 최대 {found.cost}개 돌려줄 수 있습니다. 한도는 {limits.max_cost}개입니다."
            " 더 작은 페이지(`first`)나 더 적은 중첩 목록을 요청하고, 커서를 따라가십시오.",
            limit=limits.max_cost,
            actual=found.cost,
        )
    return None


def tokens_error(source: str, limit: int) -> GraphQLError | None:
    """The refusal of a document that has too many tokens (comments count); None if it has not."""
    tokens, whole = count_tokens(source, 10 * limit)
    if tokens > limit:
        return limit_error(
            "TOO_MANY_TOKENS",
            f"The document has {'' if whole else 'at least '}{tokens} tokens; the limit is {limit}.",
            f"문서의 토큰이 {tokens}개{'' if whole else ' 이상'}입니다. 한도는 {limit}개입니다.",
            limit=limit,
            actual=tokens,
        )
    return None


class NoIntrospection(ValidationRule):
    """Refuses `__schema` and `__type`; `__typename` stays allowed."""

    def enter_field(self, node: FieldNode, *_args: Any) -> Any:
        """Report an introspection root field once, and skip what it selects."""
        if node.name.value in ("__schema", "__type"):
            self.report_error(
                LocalizedError(
                    "Introspection is disabled on this gateway; the schema (SDL) is in the"
                    " partner documentation.",
                    "이 게이트웨이에서는 인트로스펙션을 쓸 수 없습니다. 스키마(SDL)는 파트너 문서에 있습니다.",
                    node,
                    extensions={"code": "INTROSPECTION_DISABLED"},
                )
            )
            return self.SKIP
        return None


class PreparedDocument(SchemaExtension):
    """Takes the document and its validation from the request's prepared operation, if it has one.

    The /graphql stage parses and validates a text once per app (`gateway.http.endpoint`);
    strawberry then neither parses nor validates it again. Without one (the WebSocket, a call
    in-process) strawberry parses and validates as it always does.
    """

    def on_parse(self) -> Iterator[None]:
        document = getattr(self.execution_context.context, "document", None)
        if isinstance(document, DocumentNode):
            self.execution_context.graphql_document = document
        yield

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        errors = getattr(ec.context, "validation", None)
        if errors is not None and ec.graphql_document is getattr(ec.context, "document", None):
            ec.pre_execution_errors = list(errors)
        yield
        if ec.pre_execution_errors:
            # Where strawberry validated itself (the WebSocket), its errors read as /graphql's.
            # In place: strawberry has already put this list in the result it returns.
            ec.pre_execution_errors[:] = [clearer(e) for e in ec.pre_execution_errors]


def limits_of(execution_context: ExecutionContext) -> Limits | None:
    """The limits of the app serving an operation; None for an operation run in-process."""
    request = getattr(execution_context.context, "request", None)
    if request is None:
        return None
    gateway = started(request.app)
    return gateway.limits if gateway is not None else None


class EnforceLimits(SchemaExtension):
    """Applies the app's limits to each operation (see the module's docstring)."""

    def __init__(self, *, execution_context: ExecutionContext | None = None) -> None:
        self.limits: Limits | None = None

    def on_operation(self) -> Iterator[None]:
        ec = self.execution_context
        self.limits = limits = limits_of(ec)
        if limits is not None:
            options = cast("dict[str, Any]", ec.parse_options)
            options["max_lexical_tokens"] = limits.max_tokens
            options["max_comments"] = limits.max_tokens
            # Tokens and comments together (graphql-core's max_tokens counts both).
            options["max_tokens"] = limits.max_tokens
            if not limits.introspection:
                ec.validation_rules = (*ec.validation_rules, NoIntrospection)
        yield
        result = ec.result
        if limits is None or ec.graphql_document is not None or ec.query is None or result is None:
            return
        error = tokens_error(ec.query, limits.max_tokens)
        if error is not None:
            result.errors = [error]
            record = record_of(ec)
            if record is not None:
                record.limit = "TOO_MANY_TOKENS"

    def on_execute(self) -> Iterator[None]:
        ec = self.execution_context
        limits = self.limits
        if limits is not None and ec.graphql_document is not None:
            # Measured once: by the /graphql stage when it did, else here.
            found = getattr(ec.context, "measured", None) or measure(
                ec.schema._schema,
                ec.graphql_document,
                ec.operation_name,
                ec.variables,
                max_page=limits.max_page,
            )
            if found is not None:
                record = record_of(ec)
                error = check(found, limits)
                if record is not None:
                    record.cost = found.cost
                    record.limit = str((error.extensions or {})["code"]) if error else None
                if error is not None:
                    # A result set before execution is what strawberry returns instead of executing.
                    ec.result = GraphQLExecutionResult(data=None, errors=[error])
        yield


def clearer(error: GraphQLError) -> GraphQLError:
    """graphql-core's bare "Validation aborted." (its validation ran out of recursion), said so a
    partner knows what to change: it comes of hundreds of sibling fields of one name, or of
    fragments spread within fragments some two hundred deep."""
    if error.message != "Validation aborted.":
        return error
    return LocalizedError(
        "The document is too repetitive or too deeply nested to validate: ask for each field once,"
        " and nest fragments in fragments no more than a few levels.",
        "문서가 너무 반복되거나 너무 깊이 중첩되어 검증할 수 없습니다. 필드마다 한 번씩만 요청하고,"
        " 프래그먼트 안의 프래그먼트는 몇 단계까지만 중첩하십시오.",
        extensions={"code": "GRAPHQL_VALIDATION_FAILED"},
    )
