"""Korean for the messages graphql-core 3.3.2 and strawberry write, for a request that prefers Korean.

Each message is matched whole against the English templates below, tried in order; the Korean
keeps every name, value and token of the English as it was, quotes included. A message, or a part
of it (a scalar's parse error, a suggestion, a variable's inner error), that no template knows
gives None for the whole message: never half Korean, half English.
"""

# Left out on purpose (they give None), from reading every message graphql-core 3.3.2 writes:
# - The rules that check schema documents only (LoneSchemaDefinition, UniqueTypeNames,
#   UniqueDirectiveNames, UniqueOperationTypes, UniqueEnumValueNames, UniqueFieldDefinitionNames,
#   UniqueArgumentDefinitionNames, PossibleTypeExtensions, KnownArgumentNamesOnDirectives): they do
#   not run on a query, and a query holding type definitions is refused by ExecutableDefinitions.
# - @defer and @stream (DeferStreamDirectiveLabel, ...OnRootField, ...OnValidOperations,
#   StreamDirectiveOnListField, the "overlapping stream directives" conflict, the executor's
#   "initialCount must be a positive integer") and @oneOf inputs ("Within OneOf Input Object type
#   ...", "... must be non-nullable to be used for OneOf Input Object ..."): the schema has none.
# - Fragment arguments ("Unknown argument ... on fragment", "Fragment '...' argument '...' is
#   required", "... is never used in fragment", "Spreads ... conflict", "defined by fragment"): they
#   parse only with an experimental parser option, which the gateway does not turn on.
# - The custom rules NoDeprecatedCustomRule and NoSchemaIntrospectionCustomRule: not among the
#   gateway's rules (its own introspection refusal words its own message).
# - What only a fault of the server produces: serializing output ("String/ID/Boolean/Int cannot
#   represent value", "Enum '...' cannot represent value", "Expected Iterable ...", "Abstract type
#   ...", "Expected value of type '...' but got ...", "Cannot complete value ..."), and execution
#   internals ("Subscription field must return AsyncIterable", "The subscription field '...' is not
#   defined", "Expected subscription operation", "GraphQL execution failed to complete
#   synchronously"): the gateway answers those as internal errors.
# - strawberry's "Can't get GraphQL operation type" and "... are not allowed" (the gateway words
#   those itself), its "Incremental delivery ..." (no @defer), and the parse errors of its Time,
#   Decimal and UUID scalars (not in the schema).
# - A field conflict whose reason graphql-core cut short at 1000 characters (ending in "...").

from __future__ import annotations

import re
from collections.abc import Callable

# The English templates: `{name}` is a part kept as it is (or translated, see `_CONVERT`), matched
# by `_GROUPS[name]`, or by a name's pattern (no quote) when not listed there.
_NAME = "[^']+?"
_GROUPS = {
    "x": ".+?",  # a value as graphql-core prints it
    "via": ".+?",
    "eg": ".+?",
    "esc": ".+?",
    "inner": ".+",
    "detail": ".+",
    "reason": ".+",
    "syntax": ".+",
    "s": r"(?: Did you mean .+\?)?",
    "path": r"(?: at (?:\.\w+|\[\d+\])+)?",
    "op": "query|mutation|subscription",
    "kind": "argument|fragment|input field|operation|variable",
    "sub": "Anonymous Subscription|Subscription '[^']+'",
    "dfn": "schema|'[^']+'",
    "loc": "[a-z ]+",
    "tf": r"\w+\.\w+",
    "num": r"-?\d+",
    "c": r"<EOF>|'.'|U\+[0-9A-F]{4,6}",
    "exp": r"<EOF>|Name|Int|Float|String|BlockString|'[^']+'",
    "tok": r"<EOF>|'[^']{1,3}'|(?:Name|Int|Float|String|BlockString) '.*'",
}

SYNTAX = {  # language/lexer.py and parser.py, after "Syntax Error: "
    "Expected {exp}, found {tok}.": "{exp}이(가) 와야 하는데 {tok}이(가) 왔습니다.",
    "Unexpected {tok}.": "이 자리에 {tok}이(가) 올 수 없습니다.",
    "{tok} is reserved and cannot be used for an enum value.": "{tok}은(는) 예약어라서 열거형 값으로 쓸 수 없습니다.",
    "Unexpected character: {c}.": "쓸 수 없는 문자입니다: {c}.",
    "Invalid character: {c}.": "잘못된 문자입니다: {c}.",
    "Unexpected '..', did you mean '...'?": "'..'은(는) 쓸 수 없습니다. 혹시 '...'입니까?",
    "Invalid number, expected digit before '.', did you mean '0.{num}'?": "잘못된 숫자입니다. '.' 앞에 숫자가 있어야 합니다. 혹시 '0.{num}'입니까?",
    "Unexpected single quote character ('), did you mean to use a double quote (\")?": "작은따옴표(')는 쓸 수 없습니다. 문자열은 큰따옴표(\")로 감싸십시오.",
    "Invalid number, unexpected digit after 0: {c}.": "잘못된 숫자입니다. 0 뒤에 숫자 {c}이(가) 올 수 없습니다.",
    "Invalid number, expected digit but got: {c}.": "잘못된 숫자입니다. 숫자가 와야 하는데 {c}이(가) 왔습니다.",
    "Invalid character within String: {c}.": "문자열 안에 쓸 수 없는 문자가 있습니다: {c}.",
    "Unterminated string.": "문자열이 닫히지 않았습니다.",
    "Invalid Unicode escape sequence: '{esc}'.": "잘못된 유니코드 이스케이프 시퀀스입니다: '{esc}'.",
    "Invalid character escape sequence: '{esc}'.": "잘못된 문자 이스케이프 시퀀스입니다: '{esc}'.",
    "Unexpected description, descriptions are not supported on shorthand queries.": "축약형 쿼리에는 설명을 붙일 수 없습니다.",
    "Unexpected description, only GraphQL definitions support descriptions.": "설명은 정의에만 붙일 수 있습니다.",
    "Unexpected variable '{v}' in constant value.": "상수 값에는 '{v}' 변수를 쓸 수 없습니다.",
    "Document contains more than {num} tokens. Parsing aborted.": "문서의 토큰이 {num}개를 넘어 구문 분석을 중단했습니다.",
    "Document contains more than {num} comments. Parsing aborted.": "문서의 주석이 {num}개를 넘어 구문 분석을 중단했습니다.",
    "Source contains more than {num} code points. Parsing aborted.": "문서가 {num}자(코드 포인트)를 넘어 구문 분석을 중단했습니다.",
    "Document is nested too deeply. Parsing aborted.": "문서가 너무 깊게 중첩되어 구문 분석을 중단했습니다.",
}

MESSAGES = {
    "Syntax Error: {syntax}": "구문 오류: {syntax}",
    # validation/rules/, in the order of graphql-core's specified_rules
    "The {dfn} definition is not executable.": "{dfn} 정의는 실행할 수 있는 정의가 아닙니다. 문서에는 연산과 프래그먼트만 둘 수 있습니다.",
    "The {op} operation is not supported by the schema.": "이 스키마는 {op} 연산을 지원하지 않습니다.",
    "There can be only one {kind} named '{n}'.": "이름이 '{n}'인 {kind} 하나만 둘 수 있습니다.",
    "This anonymous operation must be the only defined operation.": "이름 없는 연산은 문서에 정의된 유일한 연산이어야 합니다.",
    "{sub} must select only one top level field.": "{sub}은 최상위 필드를 하나만 골라야 합니다.",
    "{sub} must select one top level field.": "{sub}은 최상위 필드를 하나 골라야 합니다.",
    "{sub} must not select an introspection top level field.": "{sub}은 최상위에서 인트로스펙션 필드를 고를 수 없습니다.",
    "{sub} must not use `@skip` or `@include` directives in the top level selection.": "{sub}은 최상위 선택에 `@skip`이나 `@include` 디렉티브를 쓸 수 없습니다.",
    "Unknown type '{t}'.{s}": "'{t}' 타입은 없습니다.{s}",
    "Fragment cannot condition on non composite type '{t}'.": "프래그먼트의 타입 조건으로 복합 타입이 아닌 '{t}' 타입을 쓸 수 없습니다.",
    "Fragment '{fr}' cannot condition on non composite type '{t}'.": "'{fr}' 프래그먼트의 타입 조건으로 복합 타입이 아닌 '{t}' 타입을 쓸 수 없습니다.",
    "Variable '{v}' cannot be non-input type '{t}'.": "'{t}' 타입은 입력 타입이 아니므로 '{v}' 변수의 타입이 될 수 없습니다.",
    "Field '{f}' must not have a selection since type '{t}' has no subfields.": "'{t}' 타입에는 하위 필드가 없으므로 '{f}' 필드 아래에 필드를 고를 수 없습니다.",
    "Field '{f}' of type '{t}' must have a selection of subfields. Did you mean '{eg}'?": "'{f}' 필드는 '{t}' 타입이므로 하위 필드를 골라야 합니다. '{eg}'처럼 쓰십시오.",
    "Field '{f}' of type '{t}' must have at least one field selected.": "'{f}' 필드('{t}' 타입)에서 필드를 하나 이상 골라야 합니다.",
    "Cannot query field '{f}' on type '{t}'.{s}": "'{t}' 타입에는 '{f}' 필드가 없습니다.{s}",
    "Unknown fragment '{fr}'.": "'{fr}' 프래그먼트는 정의되지 않았습니다.",
    "Fragment '{fr}' is never used.": "'{fr}' 프래그먼트는 정의되었지만 쓰이지 않습니다.",
    "Fragment cannot be spread here as objects of type '{p}' can never be of type '{t}'.": "'{p}' 타입의 객체는 '{t}' 타입일 수 없으므로 여기에 프래그먼트를 펼칠 수 없습니다.",
    "Fragment '{fr}' cannot be spread here as objects of type '{p}' can never be of type '{t}'.": "'{p}' 타입의 객체는 '{t}' 타입일 수 없으므로 여기에 '{fr}' 프래그먼트를 펼칠 수 없습니다.",
    "Cannot spread fragment '{fr}' within itself.": "'{fr}' 프래그먼트를 자기 자신 안에 펼칠 수 없습니다.",
    "Cannot spread fragment '{fr}' within itself via {via}.": "'{fr}' 프래그먼트를 {via}을(를) 거쳐 자기 자신 안에 펼칠 수 없습니다.",
    "Variable '{v}' is not defined.": "'{v}' 변수가 정의되지 않았습니다.",
    "Variable '{v}' is not defined by operation '{o}'.": "'{v}' 변수가 '{o}' 연산에 정의되지 않았습니다.",
    "Variable '{v}' is never used.": "'{v}' 변수는 정의되었지만 쓰이지 않습니다.",
    "Variable '{v}' is never used in operation '{o}'.": "'{v}' 변수는 '{o}' 연산에 정의되었지만 쓰이지 않습니다.",
    "Unknown directive '{d}'.": "'{d}' 디렉티브는 없습니다.",
    "Directive '{d}' may not be used on {loc}.": "'{d}' 디렉티브는 {loc}에 쓸 수 없습니다.",
    "The directive '{d}' can only be used once at this location.": "'{d}' 디렉티브는 이 위치에 한 번만 쓸 수 있습니다.",
    "Unknown argument '{a}' on field '{f}'.{s}": "'{f}' 필드에는 '{a}' 인자가 없습니다.{s}",
    "Unknown argument '{a}' on directive '{d}'.{s}": "'{d}' 디렉티브에는 '{a}' 인자가 없습니다.{s}",
    "Argument '{a}' of type '{t}' is required, but it was not provided.": "'{a}' 인자('{t}' 타입)는 필수이지만 주어지지 않았습니다.",
    "Variable '{v}' of type '{t}' used in position expecting type '{u}'.": "'{t}' 타입인 '{v}' 변수를 '{u}' 타입이 와야 하는 자리에 쓸 수 없습니다.",
    "Fields '{n}' conflict because {reason}. Use different aliases on the fields to fetch both if this was intentional.": "'{n}' 필드가 서로 충돌합니다: {reason}. 둘 다 가져오려던 것이라면 서로 다른 별칭을 붙이십시오.",
    "Maximum introspection depth exceeded": "인트로스펙션 쿼리가 허용된 최대 깊이를 넘었습니다.",
    "Too many validation errors, error limit reached. Validation aborted.": "검증 오류가 너무 많아 검증을 중단했습니다.",
    "Validation aborted.": "문서가 너무 복잡해 검증을 중단했습니다.",
    # values of arguments and variables: utilities/validate_input_value.py, execution/values.py
    "Variable '{v}' has invalid value{path}: {inner}": "'{v}' 변수의 {path}값이 올바르지 않습니다: {inner}",
    "Variable '{v}' has invalid default value{path}: {inner}": "'{v}' 변수의 {path}기본값이 올바르지 않습니다: {inner}",
    "Variable '{v}' expected value of type '{t}' which cannot be used as an input type.": "'{t}' 타입은 입력 타입이 아니므로 '{v}' 변수의 타입이 될 수 없습니다.",
    "Argument '{a}' has invalid value{path}: {inner}": "'{a}' 인자의 {path}값이 올바르지 않습니다: {inner}",
    "Argument '{a}' has invalid default value{path}: {inner}": "'{a}' 인자의 {path}기본값이 올바르지 않습니다: {inner}",
    "Argument '{a}' of required type '{t}' was not provided.": "'{a}' 인자('{t}' 타입)는 필수이지만 주어지지 않았습니다.",
    "Variable values are nested too deeply.": "변수 값이 너무 깊게 중첩되어 있습니다.",
    "Too many errors processing variables, error limit reached. Execution aborted.": "변수 오류가 너무 많아 실행을 중단했습니다.",
    "Expected value of non-null type '{t}' not to be None.": "'{t}' 타입에는 널을 줄 수 없습니다.",
    "Expected a value of non-null type '{t}' to be provided.": "'{t}' 타입의 값을 주어야 합니다.",
    "Expected variable '{v}' provided to type '{t}' to provide a runtime value.": "'{t}' 타입 자리에 쓴 '{v}' 변수에 값이 주어지지 않았습니다.",
    "Expected variable '{v}' provided to non-null type '{t}' not to be None.": "'{t}' 타입 자리에 쓴 '{v}' 변수는 널일 수 없습니다.",
    "Expected value of type '{t}' to be an object, found: {x}.": "'{t}' 타입의 값은 객체여야 하는데 {x}이(가) 왔습니다.",
    "Expected value of type '{t}' to include required field '{f}', found: {x}.": "'{t}' 타입의 값에 필수 필드 '{f}'이(가) 없습니다(받은 값: {x}).",
    "Expected value of type '{t}' not to include unknown field '{f}', found: {x}.": "'{t}' 타입에는 '{f}' 필드가 없습니다(받은 값: {x}).",
    "Expected value of type '{t}' not to include unknown field '{f}'.{s} Found: {x}.": "'{t}' 타입에는 '{f}' 필드가 없습니다.{s} 받은 값: {x}.",
    "Expected value of type '{t}', found: {x}.": "'{t}' 타입의 값이 와야 하는데 {x}이(가) 왔습니다.",
    "Expected value of type '{t}', but encountered error '{detail}'; found: {x}.": "'{t}' 타입의 값이 와야 하는데 {x}이(가) 왔습니다. {detail}",
    # type/scalars.py, the enums of type/definition.py, and strawberry's Date and DateTime
    "Int cannot represent non-integer value: {x}": "Int 타입에는 정수만 쓸 수 있습니다(받은 값: {x}).",
    "Int cannot represent non 32-bit signed integer value: {x}": "Int 타입은 32비트 부호 있는 정수(-2147483648 ~ 2147483647)만 나타낼 수 있습니다(받은 값: {x}).",
    "Float cannot represent non numeric value: {x} (value is too large)": "Float 타입으로 나타내기에 너무 큰 값입니다(받은 값: {x}).",
    "Float cannot represent non numeric value: {x} (value would lose precision)": "Float 타입으로 나타내면 정밀도를 잃는 값입니다(받은 값: {x}).",
    "Float cannot represent non numeric value: {x}": "Float 타입에는 숫자만 쓸 수 있습니다(받은 값: {x}).",
    "String cannot represent a non string value: {x}": "String 타입에는 문자열만 쓸 수 있습니다(받은 값: {x}).",
    "Boolean cannot represent a non boolean value: {x}": "Boolean 타입에는 참 또는 거짓 값만 쓸 수 있습니다(받은 값: {x}).",
    "ID cannot represent a non-string and non-integer value: {x}": "ID 타입에는 문자열이나 정수만 쓸 수 있습니다(받은 값: {x}).",
    "ID cannot represent value: {x}": "ID 타입으로 나타낼 수 없는 값입니다(받은 값: {x}).",
    "Value '{x}' does not exist in '{e}' enum.{s}": "'{e}' 열거형에는 '{x}' 값이 없습니다.{s}",
    "Enum '{e}' cannot represent non-enum value: {x}.{s}": "'{e}' 열거형의 값은 따옴표 없이 써야 합니다(받은 값: {x}).{s}",
    "Enum '{e}' cannot represent non-string value: {x}.{s}": "'{e}' 열거형의 값은 문자열로 주어야 합니다(받은 값: {x}).{s}",
    'Value cannot represent a {t}: "{x}". {detail}': '"{x}"은(는) {t} 타입의 값이 될 수 없습니다. {detail}',
    # execution/
    "Cannot return null for non-nullable field {tf}.": "널이 될 수 없는 {tf} 필드의 값이 널입니다.",
    "Must provide operation name if query contains multiple operations.": "문서에 연산이 여럿이면 실행할 연산의 이름을 주어야 합니다.",
    "Must provide an operation.": "문서에 실행할 연산이 없습니다.",
    "Unknown operation named '{o}'.": "문서에 이름이 '{o}'인 연산이 없습니다.",
    'Unknown operation named "{o}".': '문서에 이름이 "{o}"인 연산이 없습니다.',  # strawberry's wording
    "Schema is not configured to execute {op} operation.": "이 스키마는 {op} 연산을 실행할 수 없습니다.",
}

# What the parse functions of this schema's scalars raise, after "; " or ". " in a coercion error:
# Date (date.fromisoformat), DateTime (dateutil's isoparse), both wrapped by strawberry; and Won.
DETAILS = {
    "Expected a string.": "문자열이어야 합니다.",
    "Invalid isoformat string: '{x}'": "'{x}'은(는) 2024-06-30 같은 연-월-일 형식이 아닙니다.",
    "year {num} is out of range": "연도 {num}은(는) 허용 범위(1~9999)를 벗어났습니다.",
    "month must be in 1..12": "월은 1에서 12 사이여야 합니다.",
    "day is out of range for month": "일이 그 달의 날짜 범위를 벗어났습니다.",
    "hour must be in 0..23": "시는 0에서 23 사이여야 합니다.",
    "minute must be in 0..59": "분은 0에서 59 사이여야 합니다.",
    "second must be in 0..59": "초는 0에서 59 사이여야 합니다.",
    "microsecond must be in 0..999999": "마이크로초는 0에서 999999 사이여야 합니다.",
    "ISO-8601 strings should contain only ASCII characters": "일시에는 아스키 문자만 쓸 수 있습니다.",
    "String contains unknown ISO components": "일시 문자열에 알 수 없는 부분이 있습니다.",
    "ISO string too short": "일시 문자열이 너무 짧습니다.",
    "ISO time too short": "시각 부분이 너무 짧습니다.",
    "Expected {num} digits, got '{x}'": "숫자 {num}자리가 와야 하는데 '{x}'이(가) 왔습니다.",
    "Invalid common month": "월이 올바르지 않습니다.",
    "Invalid common day": "일이 올바르지 않습니다.",
    "Invalid ISO format": "일시 형식이 올바르지 않습니다.",
    "Invalid separator in ISO string": "날짜의 구분 기호가 올바르지 않습니다.",
    "Inconsistent use of dash separator": "날짜의 구분 기호(-)를 일관되게 쓰지 않았습니다.",
    "Inconsistent use of colon separator": "시각의 구분 기호(:)를 일관되게 쓰지 않았습니다.",
    "Invalid ordinal day": "연중 일수가 올바르지 않습니다.",
    "Invalid ordinal day {d} for year {y}": "{y}년에는 {d}번째 날이 없습니다.",
    "Invalid week: {num}": "주 번호가 올바르지 않습니다: {num}.",
    "Invalid weekday: {num}": "요일 번호가 올바르지 않습니다: {num}.",
    "Unused components in ISO string": "일시 문자열에 쓰이지 않은 부분이 있습니다.",
    "Hour may only be 24 at 24:00:00.000": "시가 24일 수 있는 것은 24:00:00.000뿐입니다.",
    "Time zone offset must be 1, 3, 5 or 6 characters": "시간대 오프셋은 1, 3, 5 또는 6자여야 합니다.",
    "Time zone offset requires sign": "시간대 오프셋에는 부호(+ 또는 -)가 있어야 합니다.",
    "Invalid hours in time zone offset": "시간대 오프셋의 시가 올바르지 않습니다.",
    "Invalid minutes in time zone offset": "시간대 오프셋의 분이 올바르지 않습니다.",
    'Won is a string of digits, such as "937560000000"; got {x}.': 'Won 값은 "937560000000"처럼 숫자로만 된 문자열이어야 합니다(받은 값: {x}).',
    "Won is at most {num} (64-bit); got {x}.": "Won 값은 {num} 이하여야 합니다(64비트, 받은 값: {x}).",
}

# Why two fields of one response name conflict (validation/rules/overlapping_fields_can_be_merged.py).
REASONS = {
    "'{a}' and '{b}' are different fields": "'{a}' 필드와 '{b}' 필드는 서로 다른 필드입니다",
    "they have differing arguments": "두 필드의 인자가 서로 다릅니다",
    "they return conflicting types '{a}' and '{b}'": "두 필드의 반환 타입('{a}', '{b}')이 서로 맞지 않습니다",
}

_OPERATIONS = {"query": "쿼리", "mutation": "뮤테이션", "subscription": "구독"}
_KINDS = {
    "argument": "인자는",
    "fragment": "프래그먼트는",
    "input field": "입력 필드는",
    "operation": "연산은",
    "variable": "변수는",
}
_LOCATIONS = {  # graphql-core's DirectiveLocation values
    "query": "쿼리 연산",
    "mutation": "뮤테이션 연산",
    "subscription": "구독 연산",
    "field": "필드",
    "fragment definition": "프래그먼트 정의",
    "fragment spread": "프래그먼트 펼침",
    "inline fragment": "인라인 프래그먼트",
    "variable definition": "변수 정의",
    "fragment variable definition": "프래그먼트 변수 정의",
    "schema": "스키마 정의",
    "scalar": "스칼라 타입 정의",
    "object": "객체 타입 정의",
    "field definition": "필드 정의",
    "argument definition": "인자 정의",
    "interface": "인터페이스 정의",
    "union": "유니언 정의",
    "enum": "열거형 정의",
    "enum value": "열거형 값 정의",
    "input object": "입력 객체 정의",
    "input field definition": "입력 필드 정의",
    "directive definition": "디렉티브 정의",
}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_DID_YOU_MEAN = re.compile(
    r" Did you mean (the enum value |to use an inline fragment on )?('[^']*'(?:(?:, |,? or )'[^']*')*)\?"
)
_SUBFIELDS = re.compile(r" and (?=subfields ')")
_SUBFIELD = re.compile(r"subfields '([^']+)' conflict because ")

Table = list[tuple[re.Pattern[str], str]]


def _compile(templates: dict[str, str]) -> Table:
    """Each English template as a regex whose groups are its `{name}`s, with its Korean."""
    table: Table = []
    for english, korean in templates.items():
        pieces: list[str] = []
        names: set[str] = set()
        end = 0
        for m in _PLACEHOLDER.finditer(english):
            pieces += [re.escape(english[end : m.start()]), f"(?P<{m[1]}>{_GROUPS.get(m[1], _NAME)})"]
            names.add(m[1])
            end = m.end()
        pieces.append(re.escape(english[end:]))
        if not set(_PLACEHOLDER.findall(korean)) <= names:
            raise ValueError(f"the Korean of {english!r} names a part the English lacks")
        table.append((re.compile("".join(pieces), re.DOTALL), korean))
    return table


_SYNTAX, _MESSAGES, _DETAILS, _REASONS = map(_compile, (SYNTAX, MESSAGES, DETAILS, REASONS))
# What a variable's or an argument's error wraps: never such an error itself.
_INNER = [(pattern, korean) for pattern, korean in _MESSAGES if "inner" not in pattern.groupindex]


def _translate(table: Table, text: str) -> str | None:
    """The Korean of the first template `text` matches whose parts all have Korean, or None."""
    for pattern, korean in table:
        m = pattern.fullmatch(text)
        if m is None:
            continue
        parts = {name: _CONVERT.get(name, _same)(value) for name, value in m.groupdict().items()}
        if None not in parts.values():
            return korean.format(**parts)
    return None


def _same(text: str) -> str:
    return text


def _suggestion(text: str) -> str | None:
    """graphql-core's " Did you mean 'a', 'b', or 'c'?" (pyutils/did_you_mean.py), or ""."""
    if not text:
        return ""
    m = _DID_YOU_MEAN.fullmatch(text)
    if m is None:
        return None
    names = re.findall(r"'[^']*'", m[2])
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} 또는 {names[-1]}"
    if m[1] == "the enum value ":
        return f" 혹시 열거형 값 {listed}입니까?"
    if m[1] == "to use an inline fragment on ":
        return f" 혹시 {listed} 타입에 대한 인라인 프래그먼트를 쓰려던 것입니까?"
    return f" 혹시 {listed}입니까?"


def _reason(text: str) -> str | None:
    """A conflict's reason: "subfields 'a' conflict because <reason>", those of several subfields
    joined by " and ", down to one of `REASONS`."""
    parts = []
    for part in _SUBFIELDS.split(text):
        where = ""
        while m := _SUBFIELD.match(part):
            where, part = f"{where}하위 필드 '{m[1]}'에서 ", part[m.end() :]
        korean = _translate(_REASONS, part)
        if korean is None:
            return None
        parts.append(where + korean)
    return "; ".join(parts)


def _path(text: str) -> str:
    """A value's place, " at .filter.status[0]", as ".filter.status[0] " (put before 값); none as ""."""
    return f"{text.removeprefix(' at ')} " if text else ""


def _subscription(text: str) -> str:
    return (
        "이름 없는 구독" if text == "Anonymous Subscription" else f"{text.removeprefix('Subscription ')} 구독"
    )


_CONVERT: dict[str, Callable[[str], str | None]] = {
    "s": _suggestion,
    "reason": _reason,
    "path": _path,
    "sub": _subscription,
    "op": _OPERATIONS.get,
    "kind": _KINDS.get,
    "loc": _LOCATIONS.get,
    "dfn": lambda text: "스키마" if text == "schema" else text,
    "syntax": lambda text: _translate(_SYNTAX, text),
    "detail": lambda text: _translate(_DETAILS, text),
    "inner": lambda text: _translate(_INNER, text),
}


# Longer messages are left in English: they carry a client's value of that size (an enum value of
# 170 KB in a variable took 0.1 s of the templates' matching), and no message of graphql-core's own
# comes near it (a field conflict's reason is cut at 1,000 characters).
MAX_CHARS = 4000


def graphql_message_ko(message: str) -> str | None:
    """Korean for a message graphql-core or strawberry wrote (parse, validation, coercion of variables
    and literals, execution), or None when it is not one this module knows or it is over MAX_CHARS."""
    if len(message) > MAX_CHARS:
        return None
    return _translate(_MESSAGES, message)
