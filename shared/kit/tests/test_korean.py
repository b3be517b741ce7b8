"""Korean error words: which requests get them, pydantic's refusals in Korean, the middlewares'
answers, and no error of ours without its Korean."""

from __future__ import annotations

import ast
import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from uuid import UUID

import pytest
from fastapi.exceptions import RequestValidationError
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)
from starlette.types import Message, Scope

from mpe_kit.bodylimit import RequestLimits
from mpe_kit.korean import Refusal, field_message, prefers_korean
from mpe_kit.problems import _field_errors
from mpe_kit.text import NO_NUL
from mpe_kit.types import Day, ProgramDay

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("header", "korean"),
    [
        (None, False),
        ("", False),
        ("ko", True),
        ("ko-KR", True),
        ("KO-kr", True),
        ("ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", True),  # a Korean browser
        ("en-US,en;q=0.9,ko;q=0.8", False),
        ("en;q=0.5, ko;q=0.6", True),
        ("ko, en", True),  # a tie goes to the first
        ("en, ko", False),
        ("*", False),
        ("ko;q=0", False),
        ("ja, ko;q=0.5", True),  # neither asked first: Korean outranks the English not asked
        ("fr", False),
        ("ko;q=2, en", False),  # an unreadable range is skipped
        (";;;", False),
        ("ko;Q=0.9, en;q=0.8", True),  # "q" in any case
        ("ko;q=1.5, en;q=0.8", False),  # no q-value above 1: the range is skipped
        ("en;q=0.1, ko;q=0.5, *;q=0.9", True),  # `*` stands only for what is not named
        ("en;q=0.1, *", True),  # anything but English, as far as may be
        ("*;q=0.5, en;q=0.8", False),
    ],
)
def test_which_requests_are_answered_in_korean(header: str | None, korean: bool) -> None:
    assert prefers_korean(header) is korean


def _after_today(day: date) -> date:
    raise Refusal("cannot be after today (Asia/Seoul)", ko="오늘(한국 시각)보다 뒤일 수 없습니다")


class Everything(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=2, max_length=3, pattern=r"^[A-Z]+$")]
    count: Annotated[int, Field(strict=True, gt=0, lt=10)]
    share: Annotated[float, Field(ge=0, le=1)]
    flag: bool
    day: Day
    when: date
    later: Annotated[date, AfterValidator(_after_today)]
    id: UUID
    kind: Literal["a", "b"]
    codes: Annotated[list[str], Field(min_length=1, max_length=2)]
    inner: dict[str, int]


BAD: list[dict[str, Any]] = [
    {},  # every field missing
    {
        "name": "x",
        "count": 0,
        "share": 2,
        "flag": "maybe",
        "day": "2024/01/01",
        "when": "not a day",
        "later": "2024-01-01",
        "id": "nope",
        "kind": "c",
        "codes": [],
        "inner": [],
        "extra": 1,
    },
    {"name": "abcd", "count": 10, "share": -1, "codes": ["a", "b", "c"], "inner": {"k": "v"}, "id": 5},
    {"name": "ab", "count": "3", "share": "x", "when": 20240101.5, "codes": "a"},
    {"name": 5},
]


def _errors() -> list[dict[str, Any]]:
    found = []
    for data in BAD:
        with pytest.raises(ValidationError) as caught:
            Everything.model_validate(data)
        found.extend(caught.value.errors())
    return found


def test_every_refusal_pydantic_gave_here_has_korean_words() -> None:
    errors = _errors()
    kinds = {e["type"] for e in errors}
    assert len(kinds) >= 20, kinds
    untranslated = [(e["type"], e["msg"]) for e in errors if not field_message(e)]
    assert untranslated == []
    for e in errors:
        assert "{" not in (field_message(e) or ""), e  # every placeholder filled


def test_korean_words_carry_the_limits_and_choices() -> None:
    by_type = {e["type"]: field_message(e) for e in _errors()}
    assert by_type["missing"] == "필수 항목입니다"
    assert by_type["string_too_short"] == "2자 이상이어야 합니다"
    assert by_type["string_too_long"] == "3자 이하여야 합니다"
    assert by_type["greater_than"] == "0보다 커야 합니다"
    assert by_type["less_than"] == "10보다 작아야 합니다"
    assert by_type["literal_error"] == "다음 중 하나여야 합니다: 'a', 'b'"
    assert by_type["too_long"] == "2개 이하여야 합니다"
    assert by_type["extra_forbidden"] == "허용되지 않는 항목입니다(항목 이름을 확인하십시오)"


def test_a_validators_refusal_keeps_its_english_and_gives_its_korean() -> None:
    errors = [e for e in _errors() if e["type"] == "value_error"]
    later = next(e for e in errors if e["loc"] == ("later",))
    assert later["msg"] == "Value error, cannot be after today (Asia/Seoul)"
    assert field_message(later) == "오늘(한국 시각)보다 뒤일 수 없습니다"
    day = next(e for e in errors if e["loc"] == ("day",))
    assert field_message(day) == "날짜(YYYY-MM-DD)여야 합니다"
    # A plain ValueError has no Korean words: the English message stands.
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(Annotated[int, AfterValidator(_plain_refusal)]).validate_python(1)
    assert field_message(caught.value.errors()[0]) is None


def _plain_refusal(value: int) -> int:
    raise ValueError("no")


async def _answer(app: Any, scope: Scope, body: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start, payload = sent[0], sent[1]
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, json.loads(payload["body"])


@pytest.mark.parametrize("korean", [True, False])
async def test_the_request_limits_answer_in_the_language_asked(korean: bool) -> None:
    async def never(scope: Scope, receive: Any, send: Any) -> None:  # pragma: no cover - refused before
        raise AssertionError("the app ran")

    limits = RequestLimits(never, max_body_bytes=10, max_url_bytes=100)
    headers = [(b"content-length", b"11")] + ([(b"accept-language", b"ko-KR,ko;q=0.9")] if korean else [])
    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/firms",
        "raw_path": b"/v1/firms",
        "query_string": b"",
        "headers": headers,
    }
    status, out, body = await _answer(limits, scope, b"x" * 11)
    assert status == 413
    assert out["vary"] == "Accept-Language"
    if korean:
        assert (body["title"], body["detail"]) == (
            "본문이 너무 큼",
            "요청 본문이 한도(10바이트)보다 큽니다.",
        )
        assert out["content-language"] == "ko"
    else:
        assert (body["title"], body["detail"]) == (
            "Content Too Large",
            "The request body is larger than 10 bytes, the limit here.",
        )
        assert "content-language" not in out
    assert body["limit"] == 10


_RAISERS = {"Problem", "Invalid", "Conflict", "NotFound"}


def _calls_without_korean(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    missing = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        fn = node.func
        name = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else None
        field = (
            name == "field" and isinstance(fn, ast.Attribute) and getattr(fn.value, "id", None) == "Invalid"
        )
        korean = [k for k in node.keywords if k.arg == "ko"]
        if (name in _RAISERS or field) and not (korean and not _is_none(korean[0].value)):
            missing.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return missing


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def test_every_error_the_services_raise_has_its_korean() -> None:
    # A Problem, Invalid, Conflict or NotFound, or Invalid.field, made in the services' or the
    # shared libraries' code without `ko=` (or with `ko=None`), would leave a Korean reader an
    # English sentence.
    sources = [*ROOT.glob("services/*/src/**/*.py"), *ROOT.glob("shared/*/src/**/*.py")]
    assert len(sources) > 50
    missing = [m for p in sources for m in _calls_without_korean(p) if "mpe_kit/errors.py" not in m]
    assert missing == []


class Bounded(BaseModel):
    since: ProgramDay
    until: ProgramDay
    text: Annotated[str, StringConstraints(pattern=NO_NUL)]


def test_a_day_bound_reads_as_before_or_after_and_nul_is_named() -> None:
    with pytest.raises(ValidationError) as caught:
        Bounded.model_validate({"since": "1999-12-31", "until": "2101-01-01", "text": "a\x00b"})
    words = {e["loc"][0]: field_message(e) for e in caught.value.errors()}
    assert words == {
        "since": "2000-01-01 또는 그 뒤여야 합니다",
        "until": "2100-12-31 또는 그 앞이어야 합니다",
        "text": "NUL 문자를 담을 수 없습니다",
    }


def test_a_day_bound_reads_as_a_day_in_english_too() -> None:
    with pytest.raises(ValidationError) as caught:
        Bounded.model_validate({"since": "1999-12-31", "until": "2101-01-01", "text": "ab"})
    errors = {e["field"]: e["message"] for e in _field_errors(RequestValidationError(caught.value.errors()))}
    assert errors == {
        "since": "Input should be greater than or equal to 2000-01-01",
        "until": "Input should be less than or equal to 2100-12-31",
    }
