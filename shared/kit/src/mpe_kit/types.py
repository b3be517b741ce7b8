"""Input types the services share."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import BeforeValidator, Field

from mpe_kit.korean import Refusal

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day(value: object) -> object:
    # pydantic would also read 0 or "0" as 1970-01-01 (seconds since the epoch); an API whose
    # document says `format: date` takes the day as written, YYYY-MM-DD, and nothing else.
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        return value
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise Refusal("a calendar day as YYYY-MM-DD", ko="날짜(YYYY-MM-DD)여야 합니다")


Day = Annotated[date, BeforeValidator(_iso_day)]
"""A calendar day, only as YYYY-MM-DD."""

# The first and last days of the program (its fiscal years are 2000 to 2100).
FIRST_PROGRAM_DAY, LAST_PROGRAM_DAY = date(2000, 1, 1), date(2100, 12, 31)

ProgramDay = Annotated[
    Day,
    Field(ge=FIRST_PROGRAM_DAY, le=LAST_PROGRAM_DAY, description="A day from 2000-01-01 to 2100-12-31."),
]
"""A day of the program (its fiscal years are 2000 to 2100): a project period, a payment, a
confirmation, an application or a move. Only as YYYY-MM-DD, like `Day`."""
