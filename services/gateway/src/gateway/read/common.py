"""What every entity family's GraphQL types share: scope guards, Won, page info, argument checks."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any, NewType
from zoneinfo import ZoneInfo

import pycountry
import strawberry
from graphql import GraphQLError
from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info

from gateway.read.budget.model import BUDGET_READ
from gateway.read.catalog.model import CATALOG_READ
from gateway.read.describe import WON_MAX, most, serialize_won
from gateway.read.firms.model import FINANCIALS, FIRMS_READ
from mpe_events import brn as brn_rule
from mpe_kit.errors import Invalid
from mpe_kit.pagination import decode_cursor, decode_text_cursor, encode_cursor
from mpe_kit.types import FIRST_PROGRAM_DAY, LAST_PROGRAM_DAY

__all__ = ["WON", "WON_MAX", "Won", "parse_won", "serialize_won"]


class LocalizedError(GraphQLError):
    """A GraphQL error whose message is written in Korean too (`ko`), for a request that prefers Korean.

    Its `message` stays English; the answer's errors are rendered in the language the request's
    `Accept-Language` prefers (`gateway.http.languages`).
    """

    def __init__(self, message: str, ko: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(message, *args, **kwargs)
        self.ko = ko


def forbidden_ko(scope: str) -> str:
    """The Korean of a FORBIDDEN error for a key without `scope`."""
    return f"이 키에는 {scope} 범위(scope)가 없습니다."


def _holds(partner: Any, scope: str) -> bool:
    return partner is not None and scope in partner.scopes


def _forbidden(scope: str) -> tuple[str, dict[str, Any]]:
    """The message and extensions of a FORBIDDEN error for a key without `scope`."""
    return f"This key lacks the {scope} scope.", {"code": "FORBIDDEN", "scope": scope}


class HasScope(BasePermission):
    """Admits keys that carry a scope; otherwise the field is null with a FORBIDDEN error."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        self.message, self.error_extensions = _forbidden(scope)

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        return _holds(info.context.partner, self.scope)


def lacks(partner: Any, scope: str) -> GraphQLError | None:
    """FORBIDDEN, as a guarded field answers it, when the key lacks `scope`; else None."""
    if _holds(partner, scope):
        return None
    return forbidden(scope)


def forbidden(scope: str) -> GraphQLError:
    """FORBIDDEN, in English and Korean, for a key without `scope`."""
    message, extensions = _forbidden(scope)
    return LocalizedError(message, forbidden_ko(scope), extensions=extensions)


def guarded(scope: str) -> list[FieldExtension]:
    """The field extensions that guard a field with a scope."""
    return [PermissionExtension(permissions=[HasScope(scope)])]


CATALOG = guarded(CATALOG_READ)
FIRMS = guarded(FIRMS_READ)
FINANCIAL = guarded(FINANCIALS)
BUDGET = guarded(BUDGET_READ)

SEOUL = ZoneInfo("Asia/Seoul")


def today_in_korea() -> date:
    """Today's date in Korea, the program's calendar."""
    return datetime.now(SEOUL).date()


# The rule of every project count, as the store's SQL applies it.
COUNT_RULE = (
    "A project counts once it is committed: selected, agreement signed, active or completed, or"
    " terminated after something was paid (a proposal, or a project terminated before any payment,"
    " commits nothing and does not count)."
)

Won = NewType("Won", int)
_DIGITS = re.compile(r"[0-9]+")


def parse_won(value: object) -> Won:
    """A string of digits as whole won."""
    if not isinstance(value, str) or not _DIGITS.fullmatch(value):
        raise ValueError(f'Won is a string of digits, such as "937560000000"; got {value!r}.')
    amount = int(value)
    if amount > WON_MAX:
        raise ValueError(f"Won is at most {WON_MAX} (64-bit); got {value}.")
    return Won(amount)


WON = strawberry.scalar(
    name="Won",
    description=(
        'Whole Korean won, 0 or more, as a string of decimal digits ("937560000000" is ₩937.56bn):'
        " a 64-bit amount, which GraphQL's 32-bit Int cannot carry and a JSON number may round."
    ),
    serialize=serialize_won,
    parse_value=parse_won,
)


# What every list's arguments and every connection's fields mean, said once.
FIRST = (
    "At most this many items: 1 to the gateway's page cap (100 unless configured otherwise). A"
    " value outside that range is a BAD_USER_INPUT error, never silently cut."
)
AFTER = (
    "The endCursor of the previous page, to read on after it; omitted, the first page. A cursor"
    " not given by this API is a BAD_USER_INPUT error."
)
CURSOR = "This item's place in the list: pass it as `after` to read on after this item."
EDGES = "This page's items, in the list's order, each with its cursor."
PAGE_EDGES = most(1)  # a connection's edges: its `first` already counts the page
PAGE_INFO = "Whether another page follows, and the cursor to ask for it."
TOTAL_COUNT = "How many items the whole list holds (with these filters, if any), over every page."
NAME_EN = "The English name."
NAME_KO = "The Korean name (한글), as the ministry publishes it."
BRN_GIVEN = (
    "A business registration number (사업자등록번호), as 1234567890 or 123-45-67890; one of the"
    " wrong length or with a wrong check digit is a BAD_USER_INPUT error."
)
FISCAL_YEAR = "The fiscal year, which is the calendar year (2023 runs 1 January to 31 December)."

# What a status move of a designation or a project records.
AT = "When the move was recorded, an instant with its UTC offset."
EFFECTIVE_ON = "The day in Korea the move took effect, as YYYY-MM-DD; it may differ from the day of `at`."
ACTOR = (
    "Who made the move: the account id of the ministry staff member, or a system:… name for an"
    " automatic move (system:expiry when a designation lapses at its validUntil)."
)


First = Annotated[int, strawberry.argument(description=FIRST)]
After = Annotated[str | None, strawberry.argument(description=AFTER)]


@strawberry.type
class PageInfo:
    """Where a page ends."""

    has_next_page: bool = strawberry.field(
        description="True if the list goes on after this page: ask again with `after` set to endCursor."
    )
    end_cursor: str | None = strawberry.field(
        description="The cursor of this page's last item, to pass as `after`; null on an empty page."
    )


def bad_input(message: str, ko: str) -> GraphQLError:
    """An error the client can act on, in English and Korean."""
    return LocalizedError(message, ko, extensions={"code": "BAD_USER_INPUT"})


def brn(value: str) -> str:
    """The 10 digits of a BRN given as 1234567890 or 123-45-67890, its check digit verified."""
    try:
        return brn_rule.normalize(value.strip())
    except brn_rule.InvalidBrn as exc:
        check_digit = exc.problem == "check_digit"
    reason = "its check digit does not match" if check_digit else brn_rule.FORMAT_MESSAGE
    reason_ko = "검증 번호가 맞지 않습니다" if check_digit else brn_rule.FORMAT_MESSAGE_KO
    raise bad_input(
        f"`brn` {value!r} is not valid: {reason}.", f"`brn` {value!r}이(가) 올바르지 않습니다: {reason_ko}."
    )


def partner_country(value: str) -> str:
    """A foreign partner's country: an ISO 3166-1 alpha-2 code other than KR, in upper case."""
    code = value.strip().upper()
    if len(code) != 2 or not code.isascii() or pycountry.countries.get(alpha_2=code) is None:
        raise bad_input(
            f"`partnerCountry` {value!r} is not an ISO 3166-1 alpha-2 country code, such as DE.",
            f"`partnerCountry` {value!r}은(는) DE와 같은 ISO 3166-1 alpha-2 국가 코드가 아닙니다.",
        )
    if code == "KR":
        raise bad_input(
            "`partnerCountry` names a foreign partner's country; KR is Korea itself.",
            "`partnerCountry`는 해외 협력 기관의 국가입니다. KR은 한국 자체입니다.",
        )
    return code


_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


def paid_month(value: str) -> str:
    """A month of payments, as YYYY-MM."""
    if not _MONTH.fullmatch(value):
        raise bad_input(
            f"`paidMonth` must be a month as YYYY-MM, such as 2024-06; got {value!r}.",
            f"`paidMonth`는 2024-06처럼 YYYY-MM 형식의 월이어야 합니다. 받은 값: {value!r}.",
        )
    return value


def page_size(first: int, cap: int) -> int:
    """`first`, checked against the page cap."""
    if not 1 <= first <= cap:
        raise bad_input(
            f"`first` must be between 1 and {cap}; got {first}.",
            f"`first`는 1에서 {cap} 사이여야 합니다. 받은 값: {first}.",
        )
    return first


def program_day(name: str, day: date) -> date:
    """A day of the program, as the staff APIs take them (`mpe_kit.types.ProgramDay`)."""
    if not FIRST_PROGRAM_DAY <= day <= LAST_PROGRAM_DAY:
        raise bad_input(
            f"`{name}` must be a day from {FIRST_PROGRAM_DAY} to {LAST_PROGRAM_DAY}; got {day}.",
            f"`{name}`는 {FIRST_PROGRAM_DAY}에서 {LAST_PROGRAM_DAY} 사이의 날짜여야 합니다. 받은 값: {day}.",
        )
    return day


def fiscal_year(year: int) -> int:
    """A fiscal year, checked to be a year."""
    if not 1 <= year <= 9999:
        raise bad_input(
            f"`fiscalYear` must be between 1 and 9999; got {year}.",
            f"`fiscalYear`는 1에서 9999 사이여야 합니다. 받은 값: {year}.",
        )
    return year


NOT_A_CURSOR = "`after` is not a cursor from this API."
NOT_A_CURSOR_KO = "`after`는 이 API가 준 커서가 아닙니다."


def after_day_id(after: str | None) -> tuple[date, uuid.UUID] | None:
    """The (day, id) inside a page cursor over a list in day order; None for the first page."""
    if after is None:
        return None
    try:
        day, rid = decode_cursor(after, arity=2)
        return date.fromisoformat(day), uuid.UUID(rid)
    except (Invalid, TypeError, ValueError) as exc:
        raise bad_input(NOT_A_CURSOR, NOT_A_CURSOR_KO) from exc


def day_id_cursor(day: date, rid: uuid.UUID) -> str:
    """The cursor of a row of a list in (day, id) order."""
    return encode_cursor([day.isoformat(), str(rid)])


def after_key(after: str | None) -> str | None:
    """The key inside a page cursor; None for the first page."""
    try:
        return decode_text_cursor(after)
    except Invalid as exc:
        raise bad_input(NOT_A_CURSOR, NOT_A_CURSOR_KO) from exc
