"""The firms REST API against a real Postgres: firms, confirmations, the technology check, auth."""

from __future__ import annotations

import asyncio
import base64
import json
import unicodedata
from typing import Any

import asyncpg
import httpx
import jwt
import pytest

from mpe_kit.auth import issue_token

from .conftest import (
    SECRET,
    StubCatalog,
    assert_problem,
    catalog_technology,
    firm_body,
    outbox_since,
    rejected,
    snapshot,
    token,
    valid_brn,
)

P = pytest.param
BRN = valid_brn("123456789")  # 1234567891
BRN_DISPLAY = "123-45-67891"


def brn(n: int) -> str:
    """A valid BRN from a number of up to nine digits."""
    return valid_brn(f"{n:09d}")


async def register(api: httpx.AsyncClient, number: str = BRN, **fields: Any) -> dict[str, Any]:
    resp = await api.post("/v1/firms", json=firm_body(number, **fields))
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


def cursor_of(values: Any) -> str:
    """A cursor built by hand, to try shapes the API never hands out."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


# registering and reading a firm


async def test_register_accepts_the_dashed_form_and_stores_ten_digits(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    resp = await api.post(
        "/v1/firms",
        json=firm_body(
            BRN_DISPLAY, technology_codes=["SEMI-002", "SEMI-001", "SEMI-002"], mpe_sales_ratio=0.55
        ),
    )
    assert resp.status_code == 201, resp.text
    assert resp.headers["ETag"] == '"1"'
    assert resp.headers["Location"] == f"/v1/firms/{BRN}"
    assert resp.json() == {
        "brn": BRN,
        "brn_display": BRN_DISPLAY,
        "name_en": f"Firm {BRN_DISPLAY}",
        "name_ko": f"기업 {BRN_DISPLAY}",
        "size": "sme",
        "size_since": "2020-01-01",
        "region": "경기",  # sent as "Gyeonggi": stored by the 시·도's short name
        "mpe_sales_ratio": 0.55,
        "technology_codes": ["SEMI-001", "SEMI-002"],
        "version": 1,
    }
    assert await db.fetchval("select brn from firms") == BRN
    for path in (f"/v1/firms/{BRN}", f"/v1/firms/{BRN_DISPLAY}"):
        got = await api.get(path)
        assert got.status_code == 200
        assert got.json() == resp.json()
        assert got.headers["ETag"] == '"1"'

    [event] = await outbox_since(db, 0)
    assert (event["topic"], event["key"], event["subject"], event["source"]) == (
        "mpe.firms.firm",
        BRN,
        BRN,
        "/mpe/firms",
    )
    assert event["type"] == "kr.mpe.firms.firm.registered.v1"
    assert event["payload"] == {**resp.json(), "confirmations": []}


async def test_register_accepts_ten_plain_digits(api: httpx.AsyncClient) -> None:
    body = await register(api, BRN)
    assert (body["brn"], body["brn_display"]) == (BRN, BRN_DISPLAY)


async def test_duplicate_brn_in_the_other_form_conflicts(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await register(api, BRN)
    body = await rejected(db, api.post("/v1/firms", json=firm_body(BRN_DISPLAY, name_en="Other")), 409)
    assert BRN_DISPLAY in body["detail"]


async def test_concurrent_registrations_of_one_brn_register_it_once(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    answers = await asyncio.gather(*(api.post("/v1/firms", json=firm_body(BRN)) for _ in range(6)))
    assert sorted(r.status_code for r in answers) == [201] + [409] * 5
    assert await db.fetchval("select count(*) from firms") == 1
    assert await db.fetchval("select count(*) from outbox") == 1


@pytest.mark.parametrize(
    "value",
    [
        P("1234567890", id="wrong-check-digit"),
        P("123-45-67890", id="wrong-check-digit-dashed"),
        P("123456789", id="nine-digits"),
        P("12345678911", id="eleven-digits"),
        P("123 45 67891", id="spaces"),
        P("123-4567891", id="one-dash"),
        P("12-345-67891", id="dashes-misplaced"),
        P("abcdefghij", id="letters"),
        P("", id="empty"),
    ],
)
async def test_bad_brn_is_422_naming_the_field(
    api: httpx.AsyncClient, db: asyncpg.Connection, value: str
) -> None:
    await rejected(db, api.post("/v1/firms", json=firm_body(value)), 422, "brn")


@pytest.mark.parametrize(
    "value",
    [
        P(BRN + "\n", id="trailing-newline"),
        P("１２３４５６７８９１", id="full-width-digits"),
        P("١٢٣٤٥٦٧٨٩١", id="arabic-indic-digits"),
    ],
)
async def test_brn_in_other_characters_is_422_not_a_500(
    api: httpx.AsyncClient, db: asyncpg.Connection, value: str
) -> None:
    # The domain's pattern is a Python `\d{10}$`: it admits digits of any script and a final
    # newline, which the database's check then refuses.
    await rejected(db, api.post("/v1/firms", json=firm_body(value)), 422, "brn")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        P({"name_ko": None}, "name_ko", id="null-name_ko"),
        P({"name_en": "   "}, "name_en", id="blank-name"),
        P({"name_en": "A\x00B"}, "name_en", id="nul-in-name"),
        P({"size": "huge"}, "size", id="unknown-size"),
        P({"size_since": "2024-13-01"}, "size_since", id="bad-date"),
        P({"region": ""}, "region", id="empty-region"),
        P({"region": "Gyeonggi-gu"}, "region", id="not-a-region"),
        P({"mpe_sales_ratio": 1.5}, "mpe_sales_ratio", id="ratio-above-one"),
        P({"mpe_sales_ratio": -0.1}, "mpe_sales_ratio", id="ratio-below-zero"),
        P({"mpe_sales_ratio": "half"}, "mpe_sales_ratio", id="ratio-not-a-number"),
        P({"technology_codes": ["semi-001"]}, "technology_codes", id="lowercase-code"),
        P({"technology_codes": "SEMI-001"}, "technology_codes", id="codes-not-a-list"),
        P({"technology_codes": [f"X-{i}" for i in range(101)]}, "technology_codes", id="too-many-codes"),
        P({"color": "red"}, "color", id="unknown-field"),
    ],
)
async def test_bad_firm_is_422_naming_the_field(
    api: httpx.AsyncClient, db: asyncpg.Connection, fields: dict[str, Any], field: str
) -> None:
    await rejected(db, api.post("/v1/firms", json=firm_body(BRN, **fields)), 422, field)


@pytest.mark.parametrize(
    "typed", ["경기", "경기도", "경기 도", "Gyeonggi", "gyeonggi-do", unicodedata.normalize("NFD", "경기도")]
)
async def test_a_region_is_stored_by_its_short_name_however_it_is_written(
    api: httpx.AsyncClient, db: asyncpg.Connection, typed: str
) -> None:
    # Found by a review: 경기, 경기도, "경기 도" and Gyeonggi were stored as typed, and became four
    # regions of their own in the rollups by region; a filter found one of them.
    resp = await api.post("/v1/firms", json=firm_body(BRN, region=typed))
    assert resp.status_code == 201, resp.text
    assert resp.json()["region"] == "경기"
    assert await db.fetchval("select region from firms") == "경기"
    found = await api.get("/v1/firms", params={"region": "경기도"})
    assert [f["brn"] for f in found.json()["items"]] == [BRN]


async def test_a_place_that_is_no_region_is_refused_listing_the_regions(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    resp = await api.post("/v1/firms", json=firm_body(BRN, region="판교"))
    assert resp.status_code == 422
    [error] = resp.json()["errors"]
    assert error["field"] == "region"
    assert "서울, 부산, 대구, 인천, 광주, 대전, 울산, 세종, 경기" in error["message"]


async def test_missing_fields_are_named(api: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await rejected(db, api.post("/v1/firms", json={"brn": BRN}), 422, "name_en", "name_ko", "size", "region")


async def test_body_that_is_not_a_json_object_is_422(api: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await rejected(
        db, api.post("/v1/firms", content=b"[1, 2]", headers={"content-type": "application/json"}), 422
    )
    await rejected(db, api.post("/v1/firms", content=b"{", headers={"content-type": "application/json"}), 422)


async def test_unknown_or_malformed_firm_is_404(api: httpx.AsyncClient) -> None:
    body = assert_problem(await api.get(f"/v1/firms/{brn(42)}"), 404)
    assert brn(42)[:3] in body["detail"]
    assert_problem(await api.get("/v1/firms/not-a-brn"), 404)
    assert_problem(await api.get("/v1/firms/1234567890"), 404)


# the technology codes


async def test_retired_code_is_422_naming_it(api: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    body = await rejected(
        db,
        api.post("/v1/firms", json=firm_body(BRN, technology_codes=["SEMI-001", "SEMI-099"])),
        422,
        "technology",
    )
    assert "SEMI-099" in body["detail"]
    assert "retired" in body["detail"]
    assert "SEMI-001" not in body["detail"]


async def test_replica_miss_with_the_catalog_unreachable_is_503(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    body = await rejected(db, api.post("/v1/firms", json=firm_body(BRN, technology_codes=["NEW-001"])), 503)
    assert "catalog" in body["detail"]


async def test_unknown_code_is_422_naming_it(
    api: httpx.AsyncClient, db: asyncpg.Connection, stub_catalog: StubCatalog
) -> None:
    body = await rejected(
        db,
        api.post("/v1/firms", json=firm_body(BRN, technology_codes=["NOPE-001", "SEMI-001", "NOPE-002"])),
        422,
        "technology_codes",
    )
    assert "NOPE-001" in body["detail"]
    assert "NOPE-002" in body["detail"]
    assert {e["message"] for e in body["errors"]} == {
        "technology NOPE-001 is not in the catalog",
        "technology NOPE-002 is not in the catalog",
    }
    # The replica answered for SEMI-001: the catalog was asked only about the misses.
    assert sorted(r.split()[0] for r in stub_catalog.requests) == ["NOPE-001", "NOPE-002"]


async def test_read_through_accepts_a_listed_code_and_keeps_it(
    api: httpx.AsyncClient, db: asyncpg.Connection, stub_catalog: StubCatalog
) -> None:
    stub_catalog.technologies["NEW-001"] = catalog_technology("NEW-001", version=3)
    await register(api, BRN, technology_codes=["NEW-001"])
    assert stub_catalog.requests == ["NEW-001 Bearer service-token"]
    row = await db.fetchrow("select status, version from technology_replica where code = 'NEW-001'")
    assert dict(row) == {"status": "listed", "version": 3}
    # Next time the replica answers.
    await register(api, brn(7), technology_codes=["NEW-001"])
    assert len(stub_catalog.requests) == 1


async def test_read_through_of_a_retired_code_rejects_it_and_keeps_it(
    api: httpx.AsyncClient, db: asyncpg.Connection, stub_catalog: StubCatalog
) -> None:
    stub_catalog.technologies["OLD-001"] = catalog_technology("OLD-001", status="retired", version=2)
    resp = await api.post("/v1/firms", json=firm_body(BRN, technology_codes=["OLD-001"]))
    body = assert_problem(resp, 422, "technology_codes")
    assert "OLD-001 is retired" in body["detail"]
    assert await db.fetchval("select count(*) from firms") == 0
    assert await db.fetchval("select status from technology_replica where code = 'OLD-001'") == "retired"


@pytest.mark.parametrize("status", [401, 403, 500, 502])
async def test_catalog_refusing_the_read_through_is_503(
    api: httpx.AsyncClient, db: asyncpg.Connection, stub_catalog: StubCatalog, status: int
) -> None:
    stub_catalog.answer_status = status
    await rejected(db, api.post("/v1/firms", json=firm_body(BRN, technology_codes=["NEW-001"])), 503)


# ETag and PATCH


async def test_patch_needs_if_match(api: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await register(api)
    body = await rejected(db, api.patch(f"/v1/firms/{BRN}", json={"name_en": "New"}), 428)
    assert "If-Match" in body["detail"]


@pytest.mark.parametrize("etag", ['"2"', '"0"', "1", '"one"', ""])
async def test_patch_with_a_stale_or_foreign_etag_is_412(
    api: httpx.AsyncClient, db: asyncpg.Connection, etag: str
) -> None:
    await register(api)
    await rejected(
        db, api.patch(f"/v1/firms/{BRN}", json={"name_en": "New"}, headers={"If-Match": etag}), 412
    )


async def test_patch_changes_fields_and_the_etag(api: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await register(api)
    etag = (await api.get(f"/v1/firms/{BRN_DISPLAY}")).headers["ETag"]
    assert etag == '"1"'
    resp = await api.patch(
        f"/v1/firms/{BRN_DISPLAY}",
        json={"name_en": "  Renamed  ", "size": "mid", "mpe_sales_ratio": None},
        headers={"If-Match": etag},
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["ETag"] == '"2"'
    body = resp.json()
    assert (body["name_en"], body["size"], body["mpe_sales_ratio"], body["version"]) == (
        "Renamed",
        "mid",
        None,
        2,
    )
    assert body["name_ko"] == f"기업 {BRN}"  # untouched
    assert (await api.get(f"/v1/firms/{BRN}")).json() == body
    [event] = await outbox_since(db, 1)
    assert event["type"] == "kr.mpe.firms.firm.updated.v1"
    assert event["payload"]["version"] == 2
    assert event["payload"]["name_en"] == "Renamed"

    # The old ETag is now stale; a weak form of the current one is accepted.
    await rejected(
        db, api.patch(f"/v1/firms/{BRN}", json={"region": "Seoul"}, headers={"If-Match": etag}), 412
    )
    resp = await api.patch(f"/v1/firms/{BRN}", json={"region": "Seoul"}, headers={"If-Match": 'W/"2"'})
    assert resp.status_code == 200, resp.text
    assert resp.json()["version"] == 3


async def test_empty_patch_changes_nothing(api: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await register(api)
    before = await snapshot(db)
    resp = await api.patch(f"/v1/firms/{BRN}", json={}, headers={"If-Match": '"1"'})
    assert resp.status_code == 200
    assert resp.json()["version"] == 1
    assert await snapshot(db) == before


async def test_a_patch_that_sends_the_values_the_firm_has_changes_nothing(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    # Found by a probe: each such PATCH wrote a new version and a firm.updated event, so a
    # colleague's If-Match went stale although nothing had changed.
    firm = await register(api)
    before = await snapshot(db)
    same = {k: firm[k] for k in ("name_en", "name_ko", "size", "size_since", "region", "mpe_sales_ratio")}
    # The technologies as a set: in another order, one of them twice.
    same["technology_codes"] = [*reversed(firm["technology_codes"]), firm["technology_codes"][0]]
    for _ in range(2):
        resp = await api.patch(f"/v1/firms/{BRN}", json=same, headers={"If-Match": '"1"'})
        assert resp.status_code == 200, resp.text
        assert (resp.headers["ETag"], resp.json()) == ('"1"', firm)
    assert await snapshot(db) == before
    # One changed value among them is written, and only it.
    resp = await api.patch(f"/v1/firms/{BRN}", json={**same, "region": "부산"}, headers={"If-Match": '"1"'})
    assert (resp.status_code, resp.headers["ETag"], resp.json()["region"]) == (200, '"2"', "부산")
    [event] = await outbox_since(db, 1)
    assert event["payload"]["version"] == 2


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        P({"name_en": None}, "name_en", id="null-name"),
        P({"size": None}, "size", id="null-size"),
        P({"technology_codes": None}, "technology_codes", id="null-codes"),
        P({"size": "huge"}, "size", id="bad-size"),
        P({"brn": BRN}, "brn", id="brn-is-not-patchable"),
        P({"mpe_sales_ratio": 2}, "mpe_sales_ratio", id="ratio-above-one"),
    ],
)
async def test_bad_patch_is_422(
    api: httpx.AsyncClient, db: asyncpg.Connection, patch: dict[str, Any], field: str
) -> None:
    await register(api)
    await rejected(db, api.patch(f"/v1/firms/{BRN}", json=patch, headers={"If-Match": '"1"'}), 422, field)


async def test_patch_of_an_unknown_firm_is_404(api: httpx.AsyncClient) -> None:
    assert_problem(
        await api.patch(f"/v1/firms/{BRN}", json={"name_en": "X"}, headers={"If-Match": '"1"'}), 404
    )


async def test_patch_checks_only_the_codes_it_adds(api: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await register(api, technology_codes=["SEMI-001"])
    # The catalog retires SEMI-001 after the firm registered it.
    await db.execute("update technology_replica set status = 'retired', version = 2 where code = 'SEMI-001'")

    resp = await api.patch(f"/v1/firms/{BRN}", json={"name_en": "Still here"}, headers={"If-Match": '"1"'})
    assert resp.status_code == 200, resp.text
    resp = await api.patch(
        f"/v1/firms/{BRN}", json={"technology_codes": ["SEMI-002", "SEMI-001"]}, headers={"If-Match": '"2"'}
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["technology_codes"] == ["SEMI-001", "SEMI-002"]

    body = await rejected(
        db,
        api.patch(
            f"/v1/firms/{BRN}",
            json={"technology_codes": ["SEMI-001", "SEMI-002", "SEMI-099"]},
            headers={"If-Match": '"3"'},
        ),
        422,
        "technology_codes",
    )
    assert "SEMI-099" in body["detail"]
    assert "SEMI-001" not in body["detail"]

    # Dropping a code needs no check either.
    resp = await api.patch(
        f"/v1/firms/{BRN}", json={"technology_codes": ["SEMI-001"]}, headers={"If-Match": '"3"'}
    )
    assert resp.status_code == 200, resp.text


async def test_patch_adding_a_code_the_replica_lacks_with_the_catalog_down_is_503(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await register(api)
    await rejected(
        db,
        api.patch(
            f"/v1/firms/{BRN}", json={"technology_codes": ["SEMI-001", "NEW-9"]}, headers={"If-Match": '"1"'}
        ),
        503,
    )


async def test_concurrent_patches_from_one_read_apply_once(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await register(api)
    answers = await asyncio.gather(
        *(
            api.patch(f"/v1/firms/{BRN}", json={"name_en": f"Name {i}"}, headers={"If-Match": '"1"'})
            for i in range(6)
        )
    )
    assert sorted(r.status_code for r in answers) == [200] + [412] * 5
    assert await db.fetchval("select version from firms") == 2
    assert await db.fetchval("select count(*) from outbox") == 2


# confirmations


async def test_add_and_list_confirmations(api: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await register(api)
    resp = await api.post(
        f"/v1/firms/{BRN_DISPLAY}/confirmations",
        json={"technology_code": "SEMI-002", "issued_on": "2023-03-01", "valid_until": "2026-03-01"},
    )
    assert resp.status_code == 201, resp.text
    added = resp.json()
    assert {k: v for k, v in added.items() if k != "id"} == {
        "technology_code": "SEMI-002",
        "issued_on": "2023-03-01",
        "valid_until": "2026-03-01",
    }
    listed = await api.get(f"/v1/firms/{BRN}/confirmations")
    assert listed.status_code == 200
    assert listed.json() == {"items": [added], "next_cursor": None}
    # A confirmation is part of the firm's state: its version and ETag move, and an event says so.
    got = await api.get(f"/v1/firms/{BRN}")
    assert (got.json()["version"], got.headers["ETag"]) == (2, '"2"')
    [event] = await outbox_since(db, 1)
    assert event["type"] == "kr.mpe.firms.firm.confirmation_added.v1"
    assert event["payload"]["confirmations"] == [
        {"technology_code": "SEMI-002", "issued_on": "2023-03-01", "valid_until": "2026-03-01"}
    ]


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        P(
            {"technology_code": "SEMI-001", "issued_on": "2024-01-01", "valid_until": "2024-01-01"},
            422,
            "valid_until",
        ),
        P(
            {"technology_code": "SEMI-001", "issued_on": "2024-01-01", "valid_until": "2023-01-01"},
            422,
            "valid_until",
        ),
        P({"technology_code": "SEMI-001", "issued_on": "2024-01-01"}, 422, "valid_until"),
        P(
            {"technology_code": "semi", "issued_on": "2024-01-01", "valid_until": "2025-01-01"},
            422,
            "technology_code",
        ),
        P(
            {"technology_code": "SEMI-099", "issued_on": "2024-01-01", "valid_until": "2025-01-01"},
            422,
            "technology",
        ),
        P({"technology_code": "NEW-001", "issued_on": "2024-01-01", "valid_until": "2025-01-01"}, 503, None),
    ],
)
async def test_bad_confirmation_changes_nothing(
    api: httpx.AsyncClient, db: asyncpg.Connection, payload: dict[str, Any], status: int, field: str | None
) -> None:
    await register(api)
    await rejected(
        db, api.post(f"/v1/firms/{BRN}/confirmations", json=payload), status, *([field] if field else [])
    )


async def test_confirmations_of_an_unknown_firm_are_404(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    payload = {"technology_code": "SEMI-001", "issued_on": "2024-01-01", "valid_until": "2025-01-01"}
    await rejected(db, api.post(f"/v1/firms/{BRN}/confirmations", json=payload), 404)
    assert_problem(await api.get(f"/v1/firms/{BRN}/confirmations"), 404)


# the firm list


async def firms_page(api: httpx.AsyncClient, **params: Any) -> list[str]:
    resp = await api.get("/v1/firms", params=params)
    assert resp.status_code == 200, resp.text
    assert resp.json()["next_cursor"] is None
    return [f["brn"] for f in resp.json()["items"]]


@pytest.fixture
async def five_firms(api: httpx.AsyncClient) -> list[str]:
    specs = [
        (brn(5), "Alpha Materials", "알파소재", "sme", "Gyeonggi", ["SEMI-001"]),
        (brn(3), "Beta Parts", "베타부품", "mid", "Seoul", ["SEMI-001", "DISP-001"]),
        (brn(1), "Gamma 100%", "감마_장비", "large", "Seoul", ["AUTO-001"]),
        (brn(4), "Delta Display", "델타디스플레이", "sme", "Busan", ["DISP-001"]),
        (brn(2), "Epsilon", "엡실론", "sme", "Gyeonggi", []),
    ]
    for number, en, ko, size, region, codes in specs:
        await register(api, number, name_en=en, name_ko=ko, size=size, region=region, technology_codes=codes)
    return sorted(s[0] for s in specs)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        P({}, [1, 2, 3, 4, 5], id="all-by-brn"),
        P({"size": "sme"}, [2, 4, 5], id="size"),
        P({"region": "Seoul"}, [1, 3], id="region"),
        P({"technology": "DISP-001"}, [3, 4], id="technology"),
        P({"technology": "SEMI-099"}, [], id="technology-nobody-holds"),
        P({"q": "display"}, [4], id="q-english-case-insensitive"),
        P({"q": "부품"}, [3], id="q-korean"),
        P({"q": "a"}, [1, 3, 4, 5], id="q-substring"),
        P({"q": "%"}, [1], id="q-percent-is-literal"),
        P({"q": "_"}, [1], id="q-underscore-is-literal"),
        P({"size": "sme", "region": "Gyeonggi", "technology": "SEMI-001"}, [5], id="combined"),
        P({"region": ""}, [], id="empty-region-matches-none"),  # never read as "no filter"
    ],
)
async def test_firm_list_filters(
    api: httpx.AsyncClient, five_firms: list[str], params: dict[str, Any], expected: list[int]
) -> None:
    assert await firms_page(api, **params) == [brn(n) for n in expected]


async def test_a_korean_region_or_name_in_decomposed_form_is_found(api: httpx.AsyncClient) -> None:
    # Found by a review: a region written or asked for in NFD (as macOS copies it) matched nothing.
    await register(
        api,
        brn(7),
        name_en="Kappa",
        name_ko=unicodedata.normalize("NFD", "카파소재"),
        size="sme",
        region=unicodedata.normalize("NFD", "경기"),
    )
    for region in ("경기", unicodedata.normalize("NFD", "경기")):
        assert await firms_page(api, region=region) == [brn(7)], region
    for q in ("카파", unicodedata.normalize("NFD", "카파")):
        assert await firms_page(api, q=q) == [brn(7)], q
    stored = (await api.get(f"/v1/firms/{brn(7)}")).json()
    assert (stored["region"], stored["name_ko"]) == ("경기", "카파소재")


@pytest.mark.parametrize("limit", [1, 2, 3, 5])
async def test_firm_list_keyset_pagination_sees_every_firm_once(
    api: httpx.AsyncClient, five_firms: list[str], limit: int
) -> None:
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/v1/firms", params=params)).json()
        assert len(page["items"]) <= limit
        seen += [f["brn"] for f in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == five_firms
    assert pages == -(-5 // limit)


@pytest.mark.parametrize(
    "params",
    [
        P({"limit": 0}, id="limit-0"),
        P({"limit": 201}, id="limit-201"),
        P({"cursor": "%%%"}, id="cursor-not-base64"),
        P({"cursor": cursor_of([1])}, id="cursor-not-text"),
        P({"cursor": cursor_of(["a", "b"])}, id="cursor-arity"),
        P({"size": "huge"}, id="bad-size"),
        P({"q": ""}, id="empty-q"),
        P({"q": "a\x00"}, id="nul-in-q"),
        P({"region": "Seoul\x00"}, id="nul-in-region"),
        P({"technology": "SEMI\x00"}, id="nul-in-technology"),
    ],
)
async def test_bad_firm_list_query_is_422(api: httpx.AsyncClient, params: dict[str, Any]) -> None:
    assert_problem(await api.get("/v1/firms", params=params), 422)


# authentication and roles


def _client(api: httpx.AsyncClient, **headers: str) -> httpx.AsyncClient:
    app = api.app  # type: ignore[attr-defined]
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://firms",
        headers=headers,
    )


ROUTES = [
    P("GET", "/v1/firms", None, id="list-firms"),
    P("GET", f"/v1/firms/{BRN}", None, id="get-firm"),
    P("POST", "/v1/firms", firm_body(brn(9)), id="register"),
    P("PATCH", f"/v1/firms/{BRN}", {"name_en": "X"}, id="patch"),
    P("GET", f"/v1/firms/{BRN}/confirmations", None, id="list-confirmations"),
    P(
        "POST",
        f"/v1/firms/{BRN}/confirmations",
        {"technology_code": "SEMI-001", "issued_on": "2024-01-01", "valid_until": "2025-01-01"},
        id="add-confirmation",
    ),
    P(
        "POST",
        f"/v1/firms/{BRN}/designations",
        {"kind": "specialized", "technology_codes": ["SEMI-001"]},
        id="apply",
    ),
    P("GET", "/v1/designations", None, id="list-designations"),
    P("GET", "/v1/designations/00000000-0000-0000-0000-000000000000", None, id="get-designation"),
    P(
        "POST",
        "/v1/designations/00000000-0000-0000-0000-000000000000/transitions",
        {"to": "under_review"},
        id="transition",
    ),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_no_token_is_401_with_a_challenge(
    api: httpx.AsyncClient, db: asyncpg.Connection, method: str, path: str, body: Any
) -> None:
    await register(api)
    async with _client(api) as anonymous:
        resp = await rejected(
            db, anonymous.request(method, path, json=body, headers={"If-Match": '"1"'}), 401
        )
    assert resp["status"] == 401
    async with _client(api) as anonymous:
        raw = await anonymous.request(method, path, json=body)
    assert raw.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    [
        P("Bearer not-a-jwt", id="garbage"),
        P("Basic dXNlcjpwYXNz", id="basic"),
        P(
            f"Bearer {issue_token('another-secret-of-32-bytes-or-more!', sub='x', roles=['editor'])}",
            id="other-key",
        ),
        P(f"Bearer {jwt.encode({'sub': 'x', 'roles': ['editor']}, SECRET, 'HS256')}", id="no-exp"),
        P(
            f"Bearer {jwt.encode({'sub': 'x', 'roles': 'editor', 'exp': 4102444800}, SECRET, 'HS256')}",
            id="roles-not-a-list",
        ),
    ],
)
async def test_bad_token_is_401(api: httpx.AsyncClient, db: asyncpg.Connection, header: str) -> None:
    async with _client(api, Authorization=header) as client:
        await rejected(db, client.post("/v1/firms", json=firm_body(BRN)), 401)
        assert_problem(await client.get("/v1/firms"), 401)


async def test_expired_token_says_so(api: httpx.AsyncClient) -> None:
    expired = issue_token(SECRET, sub="x", roles=["editor"], ttl_s=-120)  # past the 30 s leeway
    async with _client(api, Authorization=f"Bearer {expired}") as client:
        body = assert_problem(await client.get("/v1/firms"), 401)
    assert "expired" in body["detail"]


async def test_viewer_reads_but_cannot_write(api: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await register(api)
    async with _client(api, Authorization=f"Bearer {token('viewer')}") as viewer:
        for method, path, body in [p.values for p in ROUTES]:
            if method == "GET":
                assert (await viewer.get(path)).status_code in (200, 404)
            else:
                resp = await rejected(
                    db, viewer.request(method, path, json=body, headers={"If-Match": '"1"'}), 403
                )
                assert "editor" in resp["detail"]


async def test_token_without_roles_cannot_read(api: httpx.AsyncClient) -> None:
    async with _client(api, Authorization=f"Bearer {token()}") as client:
        assert_problem(await client.get("/v1/firms"), 403)
        assert_problem(await client.get("/v1/designations"), 403)


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
async def test_operations_endpoints_need_no_token(api: httpx.AsyncClient, path: str) -> None:
    async with _client(api) as anonymous:
        assert (await anonymous.get(path)).status_code == 200


async def test_if_match_star_matches_any_version(firms: httpx.AsyncClient) -> None:
    brn = valid_brn("220812345")
    created = await firms.post(
        "/v1/firms",
        json={
            "brn": brn,
            "name_en": "Star",
            "name_ko": "별",
            "size": "sme",
            "size_since": "2020-01-01",
            "region": "서울",
        },
    )
    assert created.status_code == 201, created.text
    r = await firms.patch(f"/v1/firms/{brn}", json={"region": "경기"}, headers={"If-Match": "*"})
    assert r.status_code == 200, r.text
    assert r.json()["region"] == "경기"
    assert r.headers["etag"] == '"2"'
