"""Error answers in Korean for a client that asks for them (`Accept-Language: ko`).

Ministry staff read Korean first. A problem+json answer to a request whose `Accept-Language`
prefers Korean to English has a Korean `title`, a Korean `detail` where its raiser gave one
(`Problem(..., ko=...)`), and Korean field messages for what pydantic refuses. Without such a
header, or when it prefers English, the answer is in English as before. The field paths, the
`type` of each field error and every other member stay as they are: programs read those.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from mpe_kit.text import NO_NUL

# RFC 9110, 12.5.4: language-range [ ";" "q=" qvalue ], comma-separated; "q" in any case.
_RANGE = re.compile(
    r"^\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*[qQ]\s*=\s*(0(?:\.\d{0,3})?|1(?:\.0{0,3})?))?\s*$"
)


def prefers_korean(accept_language: str | None) -> bool:
    """Whether an `Accept-Language` header ranks Korean above English (the default).

    `ko` and `ko-KR` are Korean, `en-US` English; `*` stands for a language the header does not
    name otherwise. A tie goes to the range listed first, and `*` alone to English. An
    unreadable range is skipped; an unreadable header means English.
    """
    if not accept_language:
        return False
    named: dict[str, tuple[float, int]] = {}  # the best (q, -position) of each language named
    anything: tuple[float, int] | None = None
    for position, part in enumerate(accept_language.split(",")):
        m = _RANGE.match(part)
        if m is None:
            continue
        rank = (float(m.group(2)) if m.group(2) is not None else 1.0, -position)
        primary = m.group(1).split("-", 1)[0].lower()
        if primary == "*":
            anything = rank if anything is None or rank > anything else anything
        elif primary in ("ko", "en") and (primary not in named or rank > named[primary]):
            named[primary] = rank
    korean = named.get("ko", anything)
    english = named.get("en", anything)
    if korean is None or korean[0] == 0:
        return False
    return english is None or korean > english


TITLES = {
    400: "잘못된 요청",
    401: "인증 필요",
    403: "권한 없음",
    404: "찾을 수 없음",
    405: "허용되지 않는 메서드",
    409: "충돌",
    412: "전제 조건 실패",
    413: "본문이 너무 큼",
    414: "URI가 너무 김",
    415: "지원하지 않는 미디어 유형",
    422: "처리할 수 없는 내용",
    428: "전제 조건 필요",
    429: "요청이 너무 많음",
    500: "내부 서버 오류",
    503: "서비스를 사용할 수 없음",
}

INVALID_REQUEST = "요청이 올바르지 않습니다."
UNEXPECTED = "예기치 않은 오류가 발생했습니다. 문의하실 때 correlation_id를 함께 알려 주십시오."

# What pydantic refuses, by its error type; `{…}` are members of the error's `ctx`.
_FIELD_MESSAGES = {
    "missing": "필수 항목입니다",
    "extra_forbidden": "허용되지 않는 항목입니다(항목 이름을 확인하십시오)",
    "string_type": "문자열이어야 합니다",
    "string_unicode": "올바른 유니코드 문자열이어야 합니다",
    "string_too_short": "{min_length}자 이상이어야 합니다",
    "string_too_long": "{max_length}자 이하여야 합니다",
    "string_pattern_mismatch": "형식이 맞지 않습니다(허용 형식: {pattern})",
    "int_type": "정수여야 합니다",
    "int_parsing": "정수여야 합니다",
    "int_from_float": "소수 부분이 없는 정수여야 합니다",
    "float_type": "숫자여야 합니다",
    "float_parsing": "숫자여야 합니다",
    "finite_number": "유한한 숫자여야 합니다",
    "decimal_type": "숫자여야 합니다",
    "decimal_parsing": "숫자여야 합니다",
    "bool_type": "true 또는 false여야 합니다",
    "bool_parsing": "true 또는 false여야 합니다",
    "greater_than": "{gt}보다 커야 합니다",
    "greater_than_equal": "{ge} 이상이어야 합니다",
    "less_than": "{lt}보다 작아야 합니다",
    "less_than_equal": "{le} 이하여야 합니다",
    "multiple_of": "{multiple_of}의 배수여야 합니다",
    "date_type": "날짜(YYYY-MM-DD)여야 합니다",
    "date_parsing": "날짜(YYYY-MM-DD)여야 합니다",
    "date_from_datetime_parsing": "날짜(YYYY-MM-DD)여야 합니다",
    "date_from_datetime_inexact": "시각이 없는 날짜(YYYY-MM-DD)여야 합니다",
    "datetime_type": "일시(ISO 8601)여야 합니다",
    "datetime_parsing": "일시(ISO 8601)여야 합니다",
    "datetime_from_date_parsing": "일시(ISO 8601)여야 합니다",
    "timezone_aware": "시간대(+09:00 등)가 있어야 합니다",
    "uuid_type": "UUID여야 합니다",
    "uuid_parsing": "UUID여야 합니다",
    "uuid_version": "UUID 버전 {expected_version}(이)어야 합니다",
    "enum": "다음 중 하나여야 합니다: {expected}",
    "literal_error": "다음 중 하나여야 합니다: {expected}",
    "list_type": "목록(JSON 배열)이어야 합니다",
    "too_short": "{min_length}개 이상이어야 합니다",
    "too_long": "{max_length}개 이하여야 합니다",
    "dict_type": "객체(JSON 객체)여야 합니다",
    "model_type": "객체(JSON 객체)여야 합니다",
    "model_attributes_type": "객체(JSON 객체)여야 합니다",
    "union_tag_invalid": "{discriminator} 값 {tag}은(는) 없는 값입니다. 다음 중 하나여야 합니다: {expected_tags}",
    "union_tag_not_found": "{discriminator} 항목이 필요합니다",
    "json_type": "JSON 문자열이어야 합니다",
    "json_invalid": "JSON이 올바르지 않습니다",
}


class Refusal(ValueError):
    """A validator's refusal with its Korean words: pydantic reports it as a `value_error` with
    the English message, and `field_message` gives the Korean."""

    def __init__(self, message: str, ko: str) -> None:
        super().__init__(message)
        self.ko = ko


# A bound that is a day reads as before or after it.
_DAY_BOUNDS = {
    "greater_than": "{gt}보다 뒤여야 합니다",
    "greater_than_equal": "{ge} 또는 그 뒤여야 합니다",
    "less_than": "{lt}보다 앞이어야 합니다",
    "less_than_equal": "{le} 또는 그 앞이어야 합니다",
}

_OR = re.compile(r" or (?=')")


# pydantic gives a bound that is a day as its repr: "datetime.date(2000, 1, 1)".
_DAY_REPR = re.compile(r"^datetime\.date\((\d+), (\d+), (\d+)\)$")


def _day(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    m = _DAY_REPR.match(str(value))
    return date(int(m[1]), int(m[2]), int(m[3])) if m else None


def _ctx_text(value: Any) -> str:
    """A ctx value as the message shows it: a day as YYYY-MM-DD, and "'a', 'b' or 'c'" as
    "'a', 'b', 'c'"."""
    day = _day(value)
    return day.isoformat() if day is not None else _OR.sub(", ", str(value))


def field_message(error: Mapping[str, Any]) -> str | None:
    """The Korean message of one pydantic error, or None if there is none for its type."""
    kind = error.get("type", "")
    raw = error.get("ctx") or {}
    if kind == "value_error":
        refusal = raw.get("error")
        return refusal.ko if isinstance(refusal, Refusal) else None
    ctx = {k: _ctx_text(v) for k, v in raw.items()}
    template = _FIELD_MESSAGES.get(kind)
    if kind in _DAY_BOUNDS and any(_day(v) is not None for v in raw.values()):
        template = _DAY_BOUNDS[kind]
    elif kind == "string_pattern_mismatch" and raw.get("pattern") == NO_NUL:
        template = "NUL 문자를 담을 수 없습니다"
    if template is None:
        return None
    try:
        return template.format(**ctx)
    except (KeyError, IndexError):
        return None
