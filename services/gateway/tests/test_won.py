"""The Won scalar: whole won as a string of digits, both ways; unit tests, no database."""

from __future__ import annotations

import pytest
import strawberry
from strawberry.schema.config import StrawberryConfig

from gateway.read.common import WON, Won, parse_won, serialize_won

pytestmark = pytest.mark.unit

# The 2023 materials & parts R&D program: ₩937.56bn, beyond a 32-bit Int.
AMOUNT = 937_560_000_000


def test_serializes_as_digits_and_parses_back() -> None:
    assert AMOUNT > 2**31 - 1
    text = serialize_won(Won(AMOUNT))
    assert text == "937560000000"
    assert parse_won(text) == AMOUNT


def test_the_largest_64_bit_amount_round_trips() -> None:
    assert parse_won(serialize_won(2**63 - 1)) == 2**63 - 1


@pytest.mark.parametrize("value", [AMOUNT, "", "-5", "1e9", "1_000", " 12", "١٢", str(2**63), None])
def test_parse_refuses_anything_but_a_string_of_digits_within_64_bits(value: object) -> None:
    with pytest.raises(ValueError, match="Won is"):
        parse_won(value)


@pytest.mark.parametrize("value", [-1, 2**63, 1.5, True, "12"])
def test_serialize_refuses_what_is_not_whole_won(value: object) -> None:
    with pytest.raises(TypeError):
        serialize_won(value)


@strawberry.type
class Echo:
    @strawberry.field
    def echo(self, amount: Won) -> Won:
        return amount


ECHO = strawberry.Schema(query=Echo, config=StrawberryConfig(scalar_map={Won: WON}))


def test_through_a_schema_as_variable_and_as_literal() -> None:
    by_variable = ECHO.execute_sync("query($w: Won!) { echo(amount: $w) }", {"w": "937560000000"})
    by_literal = ECHO.execute_sync('{ echo(amount: "937560000000") }')
    assert by_variable.errors is None
    assert by_literal.errors is None
    assert by_variable.data == by_literal.data == {"echo": "937560000000"}


def test_a_number_is_refused_as_input() -> None:
    result = ECHO.execute_sync("query($w: Won!) { echo(amount: $w) }", {"w": AMOUNT})
    assert result.errors is not None
    assert "Won is a string of digits" in result.errors[0].message
