"""Errors in Korean for a client that asks for Korean (`Accept-Language: ko`), English otherwise;
a refusal in either language changes nothing."""

from __future__ import annotations

import asyncpg
import httpx

from .conftest import firm_body, rejected, valid_brn

BRN = valid_brn("123456789")
KO = {"Accept-Language": "ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7"}  # what a Korean browser sends


async def test_a_refused_registration_is_explained_in_korean(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    bad = firm_body("123-45-6789", name_ko="", size="huge", mpe_sales_ratio=1.5)
    del bad["name_en"]
    r = api.post("/v1/firms", json=bad, headers=KO)
    body = await rejected(db, r, 422, "name_en", "name_ko", "size", "mpe_sales_ratio")
    assert body["title"] == "처리할 수 없는 내용"
    assert body["detail"] == "요청이 올바르지 않습니다."
    messages = {e["field"]: e["message"] for e in body["errors"]}
    assert messages["name_en"] == "필수 항목입니다"
    assert messages["name_ko"] == "1자 이상이어야 합니다"
    assert messages["size"] == "다음 중 하나여야 합니다: 'large', 'mid', 'sme'"
    assert messages["mpe_sales_ratio"] == "1.0 이하여야 합니다"
    # The machine-read members stay as they are.
    assert {e["type"] for e in body["errors"]} >= {"missing", "string_too_short", "literal_error"}


async def test_the_services_own_rules_and_lookups_speak_korean(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    wrong_digit = await rejected(
        db, api.post("/v1/firms", json=firm_body("1234567890"), headers=KO), 422, "brn"
    )
    assert wrong_digit["errors"] == [
        {"field": "brn", "message": "1234567890의 검증 번호(마지막 자리)가 맞지 않습니다"}
    ]
    assert wrong_digit["detail"] == "brn: 1234567890의 검증 번호(마지막 자리)가 맞지 않습니다"
    missing = await api.get(f"/v1/firms/{BRN}", headers=KO)
    assert missing.status_code == 404
    assert missing.json()["title"] == "찾을 수 없음"
    assert missing.json()["detail"] == "기업 123-45-67891은(는) 없습니다."
    assert missing.headers["content-language"] == "ko"
    assert missing.headers["vary"] == "Accept-Language"
    no_route = await api.get("/v1/nowhere", headers=KO)
    assert (no_route.status_code, no_route.json()["detail"]) == (404, "그런 경로는 없습니다.")


async def test_without_korean_asked_the_answer_is_english(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    for headers in ({}, {"Accept-Language": "en-US,en;q=0.9,ko;q=0.8"}, {"Accept-Language": "ko;q=0"}):
        r = await api.get(f"/v1/firms/{BRN}", headers=headers)
        assert r.json()["title"] == "Not Found"
        assert r.json()["detail"] == "Firm 123-45-67891 does not exist."
        assert "content-language" not in r.headers
    body = await rejected(db, api.post("/v1/firms", json=firm_body(BRN, name_ko="")), 422, "name_ko")
    assert body["errors"][0]["message"] == "String should have at least 1 character"
    assert "message_ko" not in body["errors"][0]


async def test_a_token_refused_says_so_in_korean(api: httpx.AsyncClient) -> None:
    r = await api.post("/v1/firms", json=firm_body(BRN), headers={**KO, "Authorization": "Basic x"})
    assert r.status_code == 401
    assert r.json()["title"] == "인증 필요"
    assert r.json()["detail"] == "담당자 토큰을 'Authorization: Bearer <토큰>'으로 보내십시오."
    assert r.headers["www-authenticate"] == 'Bearer realm="mpehub"'
