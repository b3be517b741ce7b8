"""Korean business registration numbers (사업자등록번호): 10 digits with a check digit.

The one implementation of the rule: firms, budget, the gateway and the demo generators all use
it. Weights 1,3,7,1,3,7,1,3,5 over the first nine digits; add floor(d9 × 5 / 10) for the ninth
digit d9; the check digit is (10 − sum mod 10) mod 10. Accepted as 1234567890 or 123-45-67890.
It lives with the contract because every event about a firm is keyed by it, and it raises a
plain ValueError so that each boundary turns it into its own error (problem+json, GraphQL).
"""

from __future__ import annotations

import re
from typing import Literal

_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)
# ASCII digits only, and the whole string: `$` alone would let a trailing newline through.
_FORMS = re.compile(r"[0-9]{10}|[0-9]{3}-[0-9]{2}-[0-9]{5}")
FORMAT_MESSAGE = "a business registration number is 10 digits, as 1234567890 or 123-45-67890"
FORMAT_MESSAGE_KO = "사업자등록번호는 1234567890 또는 123-45-67890처럼 숫자 10자리입니다"


class InvalidBrn(ValueError):
    """A string that is not a valid BRN; `problem` says whether its form or its check digit is
    wrong, `ko` says it in Korean."""

    def __init__(self, message: str, *, problem: Literal["format", "check_digit"], ko: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.ko = ko


def check_digit(first_nine: str) -> int:
    """The check digit of a BRN's first nine digits."""
    digits = [int(c) for c in first_nine]
    total = sum(d * w for d, w in zip(digits, _WEIGHTS, strict=True)) + digits[8] * 5 // 10
    return (10 - total % 10) % 10


def normalize(value: str) -> str:
    """The 10 digits of a valid BRN; InvalidBrn otherwise."""
    if not _FORMS.fullmatch(value):
        raise InvalidBrn(FORMAT_MESSAGE, problem="format", ko=FORMAT_MESSAGE_KO)
    digits = value.replace("-", "")
    if check_digit(digits[:9]) != int(digits[9]):
        raise InvalidBrn(
            f"{value} fails the check digit",
            problem="check_digit",
            ko=f"{value}의 검증 번호(마지막 자리)가 맞지 않습니다",
        )
    return digits


def display(brn: str) -> str:
    """The BRN as 123-45-67890."""
    return f"{brn[:3]}-{brn[3:5]}-{brn[5:]}"
