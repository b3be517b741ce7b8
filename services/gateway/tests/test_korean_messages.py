"""graphql-core's and strawberry's messages in Korean: real messages, written by graphql-core against
the gateway's schema for bad documents and variables, each with its Korean; unit tests, no database."""

from __future__ import annotations

import re
from typing import Any

import pytest
from graphql import (
    ExecutionResult,
    GraphQLError,
    GraphQLScalarType,
    execute,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values
from graphql.language import OperationDefinitionNode
from graphql.utilities import validate_input_value
from strawberry.schema.exceptions import CannotGetOperationTypeError

from gateway.http.korean import graphql_message_ko
from gateway.read.schema import schema

pytestmark = pytest.mark.unit

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

HANGUL = re.compile("[가-힣]")
WORD = re.compile("[A-Za-z]{3,}")
# The parts of a message that are names, values or tokens, kept as they are: quoted ('…', "…",
# `…`), printed values ({…}, […]), tokens (<EOF>), dotted names (Query.dataAsOf) and paths (.status).
NAMED = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`|<\w+>|\{[^}]*\}|\[[^\]]*\]|\w+\.\w+| at (?:\.\w+|\[\d+\])+")
QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
# Unquoted names a message may hold: the schema's types (Int, Date, ...), token kinds (Name) and
# the values Python prints (True).
BARE_NAMES = {*SCHEMA.type_map, "Name", "BlockString", "True", "False"}


def english_left(english: str, korean: str) -> set[str]:
    """The words of the Korean that are neither a name, value or token of the English."""
    kept = {word for part in NAMED.findall(english) for word in WORD.findall(part)}
    kept |= {word for word in WORD.findall(english) if word in BARE_NAMES}
    return set(WORD.findall(korean)) - kept


@pytest.mark.parametrize(
    ("messages", "meant"), [case[1:] for case in CORPUS], ids=[case[0] for case in CORPUS]
)
def test_each_message_of_the_corpus_has_its_korean(messages: list[str], meant: str) -> None:
    assert any(meant in message for message in messages), messages
    for message in messages:
        korean = graphql_message_ko(message)
        assert korean is not None, message
        assert HANGUL.search(korean), korean
        assert not english_left(message, korean), (message, korean)
        for name in QUOTED.findall(message):
            assert name in korean, (name, message, korean)


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 40
    assert len({case[0] for case in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize(
    ("english", "korean"),
    [
        (
            "Syntax Error: Expected Name, found <EOF>.",
            "구문 오류: Name이(가) 와야 하는데 <EOF>이(가) 왔습니다.",
        ),
        (
            "Cannot query field 'technolgies' on type 'Query'. Did you mean 'technologies' or 'technology'?",
            "'Query' 타입에는 'technolgies' 필드가 없습니다. 혹시 'technologies' 또는 'technology'입니까?",
        ),
        (
            "Value 'RETIRD' does not exist in 'TechnologyStatus' enum. Did you mean the enum value 'RETIRED'?",
            "'TechnologyStatus' 열거형에는 'RETIRD' 값이 없습니다. 혹시 열거형 값 'RETIRED'입니까?",
        ),
        (
            "Variable '$f' has invalid value at .asOf: Value cannot represent a Date: \"2023-04-31\"."
            " day is out of range for month",
            "'$f' 변수의 .asOf 값이 올바르지 않습니다: \"2023-04-31\"은(는) Date 타입의 값이 될 수 없습니다."
            " 일이 그 달의 날짜 범위를 벗어났습니다.",
        ),
        (
            "There can be only one operation named 'Q'.",
            "이름이 'Q'인 연산은 하나만 둘 수 있습니다.",
        ),
        (
            "Fields 'x' conflict because subfields 'a' conflict because 'b' and 'c' are different fields"
            " and subfields 'd' conflict because they have differing arguments. Use different aliases on"
            " the fields to fetch both if this was intentional.",
            "'x' 필드가 서로 충돌합니다: 하위 필드 'a'에서 'b' 필드와 'c' 필드는 서로 다른 필드입니다; 하위 필드 'd'에서"
            " 두 필드의 인자가 서로 다릅니다. 둘 다 가져오려던 것이라면 서로 다른 별칭을 붙이십시오.",
        ),
    ],
)
def test_korean_words(english: str, korean: str) -> None:
    assert graphql_message_ko(english) == korean


@pytest.mark.parametrize("value", [5, "", "1e9", str(2**63)])
def test_the_won_scalars_refusals(value: object) -> None:
    """Won is no argument's type, so only a variable nothing uses meets it; its words still count."""
    won = SCHEMA.type_map["Won"]
    assert isinstance(won, GraphQLScalarType)
    errors: list[str] = []
    validate_input_value(value, won, lambda error, _path: errors.append(error.message))
    assert errors
    for message in errors:
        korean = graphql_message_ko(message)
        assert korean is not None, message
        assert not set(WORD.findall(korean)) - {"Won"}, korean


@pytest.mark.parametrize(
    "message",
    [
        "Something else entirely.",
        "",
        "Syntax Error: Something else entirely.",
        # a coercion error whose detail, or whose suggestion, is not one this module knows
        'Value cannot represent a Date: "2022-13-01". the moon is not aligned',
        "Variable '$d' has invalid value: Value cannot represent a Date: \"x\". the moon is not aligned",
        "Expected value of type 'Won', but encountered error 'boom'; found: 5.",
        "Cannot query field 'x' on type 'Query'. Did you perhaps mean 'y'?",
        # graphql-core never wraps a variable's error twice
        "Variable '$n' has invalid value: Variable '$n' has invalid value: Int cannot represent non-integer value: 'ten'",
        "Fields 'x' conflict because they are unlucky. Use different aliases on the fields to fetch both"
        " if this was intentional.",
    ],
)
def test_what_it_does_not_know_is_none(message: str) -> None:
    assert graphql_message_ko(message) is None
