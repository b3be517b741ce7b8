"""graphql-core's and strawberry's messages in Korean: each message of the corpus (korean_corpus.py)
has its Korean, and the templates' words; unit tests, no database."""

from __future__ import annotations

import re

import pytest
from graphql import GraphQLScalarType
from graphql.utilities import validate_input_value

from gateway.http.korean import graphql_message_ko

from .korean_corpus import CORPUS, SCHEMA

pytestmark = pytest.mark.unit

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
