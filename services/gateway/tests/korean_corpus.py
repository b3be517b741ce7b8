"""The corpus test_korean_messages.py checks: real messages, written by graphql-core and strawberry
against the gateway's schema for bad documents and variables, each with what it is meant to say."""

from __future__ import annotations

from typing import Any

from graphql import (
    ExecutionResult,
    GraphQLError,
    execute,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values
from graphql.language import OperationDefinitionNode
from strawberry.schema.exceptions import CannotGetOperationTypeError

from gateway.read.schema import schema

SCHEMA = schema._schema
SINCE = '"2024-01-01T00:00:00+09:00"'
PAGE = "{ totalCount }"
CHANGES = "{ pageInfo { hasNextPage } }"


def parse_error(
    document: str,
    max_tokens: int | None = None,
    max_comments: int | None = None,
    max_source_length: int | None = None,
) -> list[str]:
    try:
        parse(document, max_tokens=max_tokens, max_comments=max_comments, max_source_length=max_source_length)
    except GraphQLError as error:
        return [error.message]
    return []


def validation(document: str) -> list[str]:
    return [error.message for error in validate(SCHEMA, parse(document))]


def variables(document: str, values: dict[str, Any]) -> list[str]:
    """What coercing `values` to the variables of the document's (first) operation reports."""
    operation = parse(document).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    result = get_variable_values(SCHEMA, operation.variable_definitions or (), values)
    return [error.message for error in result] if isinstance(result, list) else []


def returns_null(_next: Any, _root: Any, _info: Any, **_args: Any) -> None:
    """A middleware that answers every field with null, in place of the resolvers."""
    return None


def execution(document: str, values: dict[str, Any] | None = None, name: str | None = None) -> list[str]:
    result = execute(SCHEMA, parse(document), variable_values=values, operation_name=name)
    assert isinstance(result, ExecutionResult)
    return [error.message for error in result.errors or []]


def null_answers(document: str) -> list[str]:
    result = execute(SCHEMA, parse(document), middleware=[returns_null])
    assert isinstance(result, ExecutionResult)
    return [error.message for error in result.errors or []]


# (id, the messages graphql-core writes, a part of the English message meant)
CORPUS: list[tuple[str, list[str], str]] = [
    # language/parser.py and lexer.py
    ("syntax-eof", parse_error("{ technologies { totalCount }"), "Expected Name, found <EOF>"),
    (
        "syntax-expected-colon",
        parse_error("query ($n Int) { dataAsOf { topic } }"),
        "Expected ':', found Name",
    ),
    ("syntax-expected-on", parse_error("fragment F Query { dataAsOf { topic } }"), "Expected 'on'"),
    ("syntax-unexpected", parse_error("{ technologies(first: ) { totalCount } }"), "Unexpected ')'"),
    ("syntax-unterminated", parse_error('{ technology(code: "SEMI-001) { code } }'), "Unterminated string"),
    ("syntax-single-quote", parse_error("{ technology(code: 'SEMI-001') { code } }"), "single quote"),
    ("syntax-character", parse_error("{ technologies ? }"), "Unexpected character: '?'"),
    ("syntax-control", parse_error("{ technologies \x07 }"), "Unexpected character: U+0007"),
    ("syntax-surrogate", parse_error("{ technologies \ud800 }"), "Invalid character: U+D800"),
    ("syntax-two-dots", parse_error("{ .. on Query { dataAsOf { topic } } }"), "did you mean '...'"),
    ("syntax-number-dot", parse_error("{ technologies(first: .5) { totalCount } }"), "did you mean '0.5'"),
    ("syntax-number-zero", parse_error("{ technologies(first: 012) { totalCount } }"), "digit after 0"),
    ("syntax-number-exponent", parse_error("{ technologies(first: 1e) { totalCount } }"), "expected digit"),
    ("syntax-escape", parse_error('{ technology(code: "\\q") { code } }'), "character escape"),
    ("syntax-unicode-escape", parse_error('{ technology(code: "\\u12") { code } }'), "Unicode escape"),
    ("syntax-string-control", parse_error('{ technology(code: "a\ud800b") { code } }'), "within String"),
    ("syntax-constant", parse_error("query ($n: Int = $m) { dataAsOf { topic } }"), "in constant value"),
    ("syntax-description", parse_error('"Pages" { dataAsOf { topic } }'), "shorthand queries"),
    ("syntax-reserved", parse_error("enum Answer { true }"), "is reserved"),
    ("syntax-tokens", parse_error("{ dataAsOf { topic lag } }", max_tokens=5), "more than 5 tokens"),
    (
        "syntax-comments",
        parse_error("# a\n# b\n{ dataAsOf { topic } }", max_comments=1),
        "more than 1 comments",
    ),
    ("syntax-length", parse_error("{ dataAsOf { topic } }", max_source_length=8), "more than 8 code points"),
    (
        "syntax-depth",
        parse_error("{ technologies(filter: " + "[" * 5000 + "]" * 5000 + ") { totalCount } }"),
        "nested too deeply",
    ),
    # validation/rules/
    (
        "not-executable",
        validation("type Extra { x: Int } { dataAsOf { topic } }"),
        "definition is not executable",
    ),
    (
        "schema-not-executable",
        validation("schema { query: Query } { dataAsOf { topic } }"),
        "The schema definition",
    ),
    ("mutation", validation("mutation { dataAsOf { topic } }"), "operation is not supported"),
    (
        "duplicate-operation",
        validation("query Q { dataAsOf { topic } } query Q { industries { code } }"),
        "only one operation",
    ),
    (
        "anonymous-not-alone",
        validation("{ dataAsOf { topic } } query Q { industries { code } }"),
        "anonymous operation",
    ),
    (
        "subscription-two-fields",
        validation("subscription { technologyChanged { code } designationChanged { id } }"),
        "Anonymous Subscription must select only one",
    ),
    (
        "subscription-introspection",
        validation("subscription Watch { __typename }"),
        "introspection top level",
    ),
    (
        "subscription-skip",
        validation("subscription Watch { technologyChanged @skip(if: false) { code } }"),
        "`@skip` or `@include`",
    ),
    (
        "unknown-type",
        validation(f"query ($f: TechnologyFiltr) {{ technologies(filter: $f) {PAGE} }}"),
        "Unknown type",
    ),
    ("non-composite-fragment", validation("fragment S on String { x } { ...S }"), "non composite type"),
    ("non-composite-inline", validation("{ ... on Won { x } }"), "Fragment cannot condition"),
    (
        "non-input-variable",
        validation("query ($t: Technology) { technology(code: $t) { code } }"),
        "non-input type",
    ),
    ("leaf-selection", validation("{ technologies { totalCount { value } } }"), "must not have a selection"),
    ("missing-selection", validation("{ technologies }"), "must have a selection of subfields"),
    ("unknown-field", validation(f"{{ technolgies {PAGE} }}"), "Did you mean 'technologies'"),
    ("unknown-field-plain", validation("{ dataAsOf { xyzzy } }"), "Cannot query field 'xyzzy'"),
    (
        "unknown-field-on-union",
        validation(f"{{ changes(since: {SINCE}) {{ edges {{ node {{ entity {{ code }} }} }} }} }}"),
        "inline fragment on",
    ),
    (
        "duplicate-fragment",
        validation(
            "fragment F on Query { dataAsOf { topic } } fragment F on Query { industries { code } } { ...F }"
        ),
        "only one fragment",
    ),
    ("unknown-fragment", validation("{ ...Missing }"), "Unknown fragment"),
    (
        "unused-fragment",
        validation("fragment Unused on Query { dataAsOf { topic } } { dataAsOf { topic } }"),
        "never used",
    ),
    ("impossible-spread", validation("{ ... on Technology { code } }"), "can never be of type"),
    (
        "impossible-named-spread",
        validation("fragment T on Technology { code } { ...T }"),
        "Fragment 'T' cannot be spread",
    ),
    ("fragment-cycle", validation("fragment A on Query { ...A } { ...A }"), "within itself"),
    (
        "fragment-cycle-via",
        validation("fragment A on Query { ...B } fragment B on Query { ...A } { ...A }"),
        "within itself via",
    ),
    (
        "duplicate-variable",
        validation(f"query ($n: Int!, $n: Int!) {{ technologies(first: $n) {PAGE} }}"),
        "only one variable",
    ),
    ("undefined-variable", validation(f"{{ technologies(first: $n) {PAGE} }}"), "is not defined"),
    (
        "undefined-variable-named",
        validation(f"query Page {{ technologies(first: $n) {PAGE} }}"),
        "by operation 'Page'",
    ),
    ("unused-variable", validation("query ($n: Int) { dataAsOf { topic } }"), "is never used"),
    (
        "unused-variable-named",
        validation("query Page($n: Int) { dataAsOf { topic } }"),
        "in operation 'Page'",
    ),
    ("unknown-directive", validation("{ dataAsOf @cached { topic } }"), "Unknown directive"),
    ("misplaced-directive", validation("{ dataAsOf @hasScope { topic } }"), "may not be used on field"),
    (
        "directive-on-query",
        validation("query @skip(if: true) { dataAsOf { topic } }"),
        "may not be used on query",
    ),
    (
        "repeated-directive",
        validation("{ dataAsOf @skip(if: false) @skip(if: true) { topic } }"),
        "only be used once",
    ),
    ("unknown-argument", validation(f"{{ technologies(frist: 5) {PAGE} }}"), "Did you mean 'first'"),
    (
        "unknown-directive-argument",
        validation("{ dataAsOf @include(iff: true) { topic } }"),
        "on directive '@include'",
    ),
    ("duplicate-argument", validation(f"{{ technologies(first: 1, first: 2) {PAGE} }}"), "only one argument"),
    ("missing-argument", validation("{ technology { code } }"), "is required, but it was not provided"),
    (
        "variable-position",
        validation("query ($c: String) { technology(code: $c) { code } }"),
        "used in position expecting",
    ),
    (
        "different-fields",
        validation("{ x: dataAsOf { topic } x: industries { code } }"),
        "are different fields",
    ),
    (
        "differing-arguments",
        validation("{ technologies(first: 1) { totalCount } technologies(first: 2) { totalCount } }"),
        "differing arguments",
    ),
    (
        "subfields",
        validation("{ technologies { n: totalCount } technologies { n: edges { cursor } } }"),
        "subfields 'n'",
    ),
    (
        "conflicting-types",
        validation(
            f"{{ changes(since: {SINCE}) {{ edges {{ node {{ entity {{"
            " ... on Technology { status } ... on Designation { status } } } } } }"
        ),
        "conflicting types",
    ),
    (
        "duplicate-input-field",
        validation('{ technologies(filter: {search: "a", search: "b"}) { totalCount } }'),
        "only one input field",
    ),
    (
        "introspection-depth",
        validation(
            "{ __schema { types { fields { type { fields { type { fields { type { name } } } } } } } } }"
        ),
        "introspection depth",
    ),
    # values written in the document (ValuesOfCorrectTypeRule)
    ("int-literal", validation('{ technologies(first: "ten") { totalCount } }'), "non-integer value"),
    ("int-literal-large", validation("{ technologies(first: 3000000000) { totalCount } }"), "32-bit"),
    ("string-literal", validation("{ technology(code: 5) { code } }"), "non string value"),
    ("id-literal", validation("{ revision(id: 1.5) { title } }"), "non-string and non-integer"),
    ("boolean-literal", validation('{ dataAsOf @include(if: "yes") { topic } }'), "non boolean value"),
    ("null-literal", validation("{ technologies(first: null) { totalCount } }"), "not to be None"),
    (
        "enum-literal",
        validation("{ technologies(filter: {status: RETIRD}) { totalCount } }"),
        "the enum value 'RETIRED'",
    ),
    (
        "enum-as-string",
        validation('{ technologies(filter: {status: "RETIRED"}) { totalCount } }'),
        "non-enum value",
    ),
    ("enum-in-list", validation("{ spending(groupBy: [YEAR]) { overlaps } }"), "does not exist"),
    ("input-not-object", validation('{ technologies(filter: "SEMI") { totalCount } }'), "to be an object"),
    (
        "input-unknown-field",
        validation("{ technologies(filter: {stauts: RETIRED}) { totalCount } }"),
        "unknown field 'stauts'",
    ),
    (
        "date-month",
        validation('{ designationProgress(asOf: "2022-13-01") { asOf } }'),
        "month must be in 1..12",
    ),
    ("date-day", validation('{ designationProgress(asOf: "2022-02-30") { asOf } }'), "day is out of range"),
    ("date-year", validation('{ designationProgress(asOf: "0000-01-01") { asOf } }'), "year 0"),
    (
        "date-format",
        validation('{ designationProgress(asOf: "2022-1-1") { asOf } }'),
        "Invalid isoformat string",
    ),
    ("date-number", validation("{ designationProgress(asOf: 20220101) { asOf } }"), "Expected a string."),
    (
        "date-in-filter",
        validation('{ technologies(filter: {asOf: "yesterday"}) { totalCount } }'),
        "isoformat",
    ),
    (
        "datetime-hour",
        validation(f'{{ changes(since: "2024-01-01T25:00") {CHANGES} }}'),
        "hour must be in 0..23",
    ),
    # variables (execution/values.py)
    (
        "variable-missing",
        variables("query ($d: Date!) { designationProgress(asOf: $d) { asOf } }", {}),
        "to be provided",
    ),
    (
        "variable-null",
        variables(f"query ($n: Int!) {{ technologies(first: $n) {PAGE} }}", {"n": None}),
        "not to be None",
    ),
    (
        "variable-int",
        variables(f"query ($n: Int!) {{ technologies(first: $n) {PAGE} }}", {"n": "ten"}),
        "non-integer",
    ),
    (
        "variable-int-large",
        variables(f"query ($n: Int!) {{ technologies(first: $n) {PAGE} }}", {"n": 2**40}),
        "32-bit",
    ),
    ("variable-float", variables("query ($x: Float) { dataAsOf { topic } }", {"x": "1.5"}), "non numeric"),
    (
        "variable-float-large",
        variables("query ($x: Float) { dataAsOf { topic } }", {"x": 10**400}),
        "value is too large",
    ),
    (
        "variable-float-precision",
        variables("query ($x: Float) { dataAsOf { topic } }", {"x": 2**53 + 1}),
        "lose precision",
    ),
    (
        "variable-string",
        variables("query ($c: String!) { technology(code: $c) { code } }", {"c": 5}),
        "non string",
    ),
    (
        "variable-id",
        variables("query ($i: ID!) { revision(id: $i) { title } }", {"i": True}),
        "ID cannot represent",
    ),
    (
        "variable-boolean",
        variables("query ($b: Boolean!) { dataAsOf @include(if: $b) { topic } }", {"b": "yes"}),
        "non boolean",
    ),
    (
        "variable-enum",
        variables(
            f"query ($f: TechnologyFilter) {{ technologies(filter: $f) {PAGE} }}", {"f": {"status": "RETIRD"}}
        ),
        "has invalid value at .status",
    ),
    (
        "variable-enum-number",
        variables(
            f"query ($f: TechnologyFilter) {{ technologies(filter: $f) {PAGE} }}", {"f": {"status": 3}}
        ),
        "non-string value",
    ),
    (
        "variable-enum-list",
        variables(
            "query ($g: [SpendingDimension!]!) { spending(groupBy: $g) { overlaps } }",
            {"g": ["FISCAL_YEAR", "YEAR"]},
        ),
        "at [1]",
    ),
    (
        "variable-unknown-field",
        variables(
            f"query ($f: TechnologyFilter) {{ technologies(filter: $f) {PAGE} }}",
            {"f": {"stauts": "RETIRED"}},
        ),
        "Did you mean 'status'",
    ),
    (
        "variable-not-object",
        variables(f"query ($f: TechnologyFilter) {{ technologies(filter: $f) {PAGE} }}", {"f": "SEMI"}),
        "to be an object",
    ),
    (
        "variable-date",
        variables("query ($d: Date) { designationProgress(asOf: $d) { asOf } }", {"d": "2022-13-01"}),
        "month",
    ),
    (
        "variable-date-number",
        variables("query ($d: Date) { designationProgress(asOf: $d) { asOf } }", {"d": 5}),
        "string",
    ),
    (
        "variable-date-in-filter",
        variables(
            f"query ($f: TechnologyFilter) {{ technologies(filter: $f) {PAGE} }}",
            {"f": {"asOf": "2023-04-31"}},
        ),
        "at .asOf",
    ),
    (
        "variable-date-default",
        variables('query ($d: Date = "2022-1-1") { designationProgress(asOf: $d) { asOf } }', {}),
        "default value",
    ),
    *(
        (
            f"variable-datetime-{case}",
            variables(f"query ($s: DateTime!) {{ changes(since: $s) {CHANGES} }}", {"s": value}),
            "DateTime",
        )
        for case, value in [
            ("word", "yesterday"),
            ("short", "20"),
            ("minute", "2024-01-01T09:60:00+09:00"),
            ("second", "2024-01-01T09:00:61+09:00"),
            ("offset-hours", "2024-01-01T09:00:00+25:00"),
            ("offset-minutes", "2024-01-01T09:00:00+09:99"),
            ("offset-length", "2024-01-01T09:00:00+9"),
            ("hour-24", "2024-01-01T24:00:01"),
            ("time-short", "2024-01-01T9"),
            ("digits", "2024-01-01T09:0"),
            ("week", "2024-W60"),
            ("weekday", "2024-W01-9"),
            ("ordinal", "2024-0"),
            ("month", "2024-13-01T00:00:00+09:00"),
            ("non-ascii", "2024-01-01T09:00:00+09:00 서울"),
        ]
    ),
    # execution/
    (
        "non-null-field",
        null_answers("{ dataAsOf { topic } }"),
        "Cannot return null for non-nullable field Query.dataAsOf.",
    ),
    (
        "operation-name-needed",
        execution("query A { dataAsOf { topic } } query B { dataAsOf { topic } }"),
        "Must provide operation name",
    ),
    (
        "unknown-operation",
        execution("query A { dataAsOf { topic } }", name="B"),
        "Unknown operation named 'B'",
    ),
    ("no-operation", execution("fragment F on Query { dataAsOf { topic } }"), "Must provide an operation."),
    (
        "mutation-execution",
        execution("mutation { dataAsOf { topic } }"),
        "not configured to execute mutation",
    ),
    (
        "non-input-variable-execution",
        execution("query ($t: Technology) { dataAsOf { topic } }", {"t": 1}),
        "cannot be used as an input type",
    ),
    (
        "missing-argument-execution",
        execution("{ technology { code } }"),
        "of required type 'String!' was not provided",
    ),
    ("strawberry-unknown-operation", [CannotGetOperationTypeError("B").as_http_error_reason()], 'named "B"'),
    (
        "argument-null-variable",
        execution(f"query ($n: Int = 5) {{ technologies(first: $n) {PAGE} }}", {"n": None}),
        "Argument 'first' has invalid value",
    ),
]
