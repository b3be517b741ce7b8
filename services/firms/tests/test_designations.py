"""Designations through the REST API: the lifecycle, its rules, and its behaviour under concurrency."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from firms import service
from mpe_kit.db import Pool

from .conftest import (
    TODAY,
    StubCatalog,
    assert_problem,
    firm_body,
    outbox_since,
    rejected,
    token,
    valid_brn,
)

P = pytest.param
BRN = valid_brn("123456789")
BRN_DISPLAY = "123-45-67891"
ALL_TARGETS = ("under_review", "designated", "rejected", "withdrawn", "revoked")
# How to reach each status from a fresh application, and the day of each step.
PATHS: dict[str, list[str]] = {
    "applied": [],
    "under_review": ["under_review"],
    "designated": ["under_review", "designated"],
    "rejected": ["under_review", "rejected"],
    "withdrawn": ["withdrawn"],
    "revoked": ["under_review", "designated", "revoked"],
}
ALLOWED: dict[str, list[str]] = {
    "applied": ["under_review", "withdrawn"],
    "under_review": ["designated", "rejected", "withdrawn"],
    "designated": ["revoked"],
    "rejected": [],
    "withdrawn": [],
    "revoked": [],
    "expired": [],
}


def brn(n: int) -> str:
    return valid_brn(f"{n:09d}")


def cursor_of(values: Any) -> str:
    """A cursor built by hand, to try shapes the API never hands out."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


async def firm(
    api: httpx.AsyncClient,
    number: str = BRN,
    *,
    ratio: float | None = 0.6,
    confirmations: list[tuple[str, str, str]] | None = None,
    codes: list[str] | None = None,
) -> str:
    """Register a firm with confirmations (by default one for SEMI-001, 2023 to 2026); returns its BRN."""
    if confirmations is None:
        confirmations = [("SEMI-001", "2023-01-01", "2026-01-01")]
    resp = await api.post(
        "/v1/firms", json=firm_body(number, mpe_sales_ratio=ratio, technology_codes=codes or ["SEMI-001"])
    )
    assert resp.status_code == 201, resp.text
    for code, issued, until in confirmations:
        resp = await api.post(
            f"/v1/firms/{number}/confirmations",
            json={"technology_code": code, "issued_on": issued, "valid_until": until},
        )
        assert resp.status_code == 201, resp.text
    return number


def application(kind: str = "leading", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": kind,
        "technology_codes": ["SEMI-001"],
        "effective_on": "2024-01-10",
        **({"cohort": 4} if kind == "leading" else {}),
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


async def apply(
    api: httpx.AsyncClient, number: str = BRN, kind: str = "leading", **fields: Any
) -> dict[str, Any]:
    resp = await api.post(f"/v1/firms/{number}/designations", json=application(kind, **fields))
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def move(
    api: httpx.AsyncClient, designation_id: str, to: str, on: str | None = "2024-03-04", **fields: Any
) -> dict[str, Any]:
    payload = {"to": to, **({"effective_on": on} if on else {}), **fields}
    if to in ("rejected", "revoked"):
        payload.setdefault("reason", "documents were falsified")
    resp = await api.post(f"/v1/designations/{designation_id}/transitions", json=payload)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def reach(
    api: httpx.AsyncClient, status: str, number: str = BRN, kind: str = "leading"
) -> dict[str, Any]:
    """A designation of the firm `number` (registered already) moved to `status`."""
    d = await apply(api, number, kind)
    for step in PATHS[status]:
        d = await move(api, d["id"], step)
    assert d["status"] == status
    return d


def transition(to: str, **fields: Any) -> dict[str, Any]:
    return {"to": to, **fields}


# the lifecycle: allowed moves


async def test_apply_review_designate_revoke(api: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await firm(api)
    start = await db.fetchval("select count(*) from outbox")
    d = await apply(api, BRN_DISPLAY, technology_codes=["SEMI-002", "SEMI-001"])
    assert {
        k: d[k] for k in ("brn", "kind", "cohort", "technology_codes", "status", "applied_on", "version")
    } == {
        "brn": BRN,
        "kind": "leading",
        "cohort": 4,
        "technology_codes": ["SEMI-001", "SEMI-002"],
        "status": "applied",
        "applied_on": "2024-01-10",
        "version": 1,
    }
    assert (d["designated_on"], d["valid_until"]) == (None, None)

    d = await move(api, d["id"], "under_review", "2024-02-01")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.app),  # type: ignore[attr-defined]
        base_url="http://firms",
        headers={"Authorization": f"Bearer {token('editor', sub='committee')}"},
    ) as committee:
        resp = await committee.post(
            f"/v1/designations/{d['id']}/transitions",
            json=transition("designated", effective_on="2024-03-04"),
        )
    assert resp.status_code == 200, resp.text
    d = resp.json()
    assert (d["status"], d["designated_on"], d["valid_until"], d["version"]) == (
        "designated",
        "2024-03-04",
        "2029-03-04",
        3,
    )
    d = await move(api, d["id"], "revoked", "2024-05-01", reason="  moved production abroad ")
    assert (d["status"], d["designated_on"], d["valid_until"], d["version"]) == (
        "revoked",
        "2024-03-04",
        "2029-03-04",
        4,
    )
    assert [
        (h["from_status"], h["to_status"], h["effective_on"], h["actor"], h["reason"]) for h in d["history"]
    ] == [
        (None, "applied", "2024-01-10", "tester", None),
        ("applied", "under_review", "2024-02-01", "tester", None),
        ("under_review", "designated", "2024-03-04", "committee", None),
        ("designated", "revoked", "2024-05-01", "tester", "moved production abroad"),
    ]
    assert (await api.get(f"/v1/designations/{d['id']}")).json() == d

    events = await outbox_since(db, start)
    assert [e["type"] for e in events] == [
        f"kr.mpe.firms.designation.{s}.v1" for s in ("applied", "under_review", "designated", "revoked")
    ]
    assert {(e["topic"], e["key"], e["subject"]) for e in events} == {
        ("mpe.firms.designation", d["id"], d["id"])
    }
    assert [e["payload"]["version"] for e in events] == [1, 2, 3, 4]
    assert events[-1]["payload"] == d


@pytest.mark.parametrize(
    ("kind", "designated_on", "valid_until"),
    [
        ("leading", "2024-03-04", "2029-03-04"),
        ("specialized", "2024-03-04", "2027-03-04"),
        ("leading", "2024-02-29", "2029-03-01"),
        ("specialized", "2024-02-29", "2027-03-01"),
    ],
)
async def test_designating_sets_the_period_by_kind(
    api: httpx.AsyncClient, kind: str, designated_on: str, valid_until: str
) -> None:
    await firm(api)
    d = await apply(api, kind=kind)
    await move(api, d["id"], "under_review", "2024-02-01")
    d = await move(api, d["id"], "designated", designated_on)
    assert (d["designated_on"], d["valid_until"]) == (designated_on, valid_until)


async def test_dates_default_to_today_in_seoul(api: httpx.AsyncClient) -> None:
    await firm(api)
    d = await apply(api, effective_on=None)
    assert d["applied_on"] == TODAY.isoformat()
    d = await move(api, d["id"], "under_review", None)
    d = await move(api, d["id"], "designated", None)
    assert (d["designated_on"], d["valid_until"]) == ("2024-06-03", "2029-06-03")
    assert d["history"][-1]["effective_on"] == "2024-06-03"


@pytest.mark.parametrize(
    "path",
    [
        P(["under_review", "rejected"], id="review-then-reject"),
        P(["withdrawn"], id="withdraw-an-application"),
        P(["under_review", "withdrawn"], id="withdraw-under-review"),
    ],
)
async def test_other_allowed_moves(api: httpx.AsyncClient, db: asyncpg.Connection, path: list[str]) -> None:
    await firm(api)
    d = await apply(api)
    for step in path:
        d = await move(api, d["id"], step)
    assert d["status"] == path[-1]
    assert (d["designated_on"], d["valid_until"]) == (None, None)
    assert [h["to_status"] for h in d["history"]] == ["applied", *path]
    assert (await db.fetchval("select status from designations")) == path[-1]


# the lifecycle: forbidden moves


@pytest.mark.parametrize(
    ("status", "to"),
    [P(s, t, id=f"{s}->{t}") for s in PATHS for t in ALL_TARGETS if t not in ALLOWED[s]],
)
async def test_forbidden_move_is_409_naming_status_and_allowed_moves(
    api: httpx.AsyncClient, db: asyncpg.Connection, status: str, to: str
) -> None:
    await firm(api)
    d = await reach(api, status)
    body = await rejected(
        db,
        api.post(
            f"/v1/designations/{d['id']}/transitions",
            json=transition(to, reason="because", effective_on="2024-06-01"),
        ),
        409,
    )
    assert body["current_status"] == status
    assert body["allowed"] == ALLOWED[status]
    assert status in body["detail"]
    assert to in body["detail"]


@pytest.mark.parametrize("status", list(PATHS))
async def test_staff_cannot_expire(api: httpx.AsyncClient, db: asyncpg.Connection, status: str) -> None:
    await firm(api)
    d = await reach(api, status)
    await rejected(
        db, api.post(f"/v1/designations/{d['id']}/transitions", json=transition("expired")), 422, "to"
    )


async def test_an_expired_designation_allows_no_move(
    api: httpx.AsyncClient, db: asyncpg.Connection, pool: Pool
) -> None:
    await firm(api, confirmations=[])
    d = await apply(api, kind="specialized", effective_on="2020-01-02")
    await move(api, d["id"], "under_review", "2020-01-02")
    await move(api, d["id"], "designated", "2020-01-02")
    assert await service.expire_due(pool, today=TODAY) == 1
    for to in ALL_TARGETS:
        body = await rejected(
            db,
            api.post(
                f"/v1/designations/{d['id']}/transitions",
                json=transition(to, reason="x", effective_on="2024-06-01"),
            ),
            409,
        )
        assert (body["current_status"], body["allowed"]) == ("expired", [])


async def test_concurrent_moves_of_one_designation_apply_once(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await firm(api)
    d = await apply(api)
    answers = await asyncio.gather(
        *(
            api.post(f"/v1/designations/{d['id']}/transitions", json=transition("under_review"))
            for _ in range(6)
        )
    )
    assert sorted(r.status_code for r in answers) == [200] + [409] * 5
    assert all(r.json()["current_status"] == "under_review" for r in answers if r.status_code == 409)
    row = await db.fetchrow("select status, version, jsonb_array_length(history) as moves from designations")
    assert dict(row) == {"status": "under_review", "version": 2, "moves": 2}
    assert await db.fetchval("select count(*) from outbox where type like '%under_review%'") == 1


# the lifecycle: bad moves


@pytest.mark.parametrize("reason", [P(None, id="no-reason"), P("", id="empty"), P("   ", id="blank")])
@pytest.mark.parametrize("to", ["rejected", "revoked"])
async def test_reject_and_revoke_need_a_reason(
    api: httpx.AsyncClient, db: asyncpg.Connection, to: str, reason: str | None
) -> None:
    await firm(api)
    d = await reach(api, "under_review" if to == "rejected" else "designated")
    payload = transition(to, **({} if reason is None else {"reason": reason}))
    await rejected(db, api.post(f"/v1/designations/{d['id']}/transitions", json=payload), 422, "reason")


async def test_a_move_before_the_previous_one_is_422(api: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await firm(api)
    d = await apply(api, effective_on="2024-01-10")
    url = f"/v1/designations/{d['id']}/transitions"
    body = await rejected(
        db, api.post(url, json=transition("under_review", effective_on="2024-01-09")), 422, "effective_on"
    )
    assert "2024-01-10" in body["detail"]
    d = await move(api, d["id"], "under_review", "2024-01-10")  # the same day is fine
    await rejected(
        db, api.post(url, json=transition("designated", effective_on="2024-01-09")), 422, "effective_on"
    )


async def test_a_move_after_today_is_422(api: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await firm(api)
    d = await apply(api)
    url = f"/v1/designations/{d['id']}/transitions"
    await rejected(
        db, api.post(url, json=transition("under_review", effective_on="2024-06-04")), 422, "effective_on"
    )
    await move(api, d["id"], "under_review", "2024-06-03")


async def test_an_application_after_today_is_422(api: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await firm(api)
    await rejected(
        db,
        api.post(f"/v1/firms/{BRN}/designations", json=application(effective_on="2024-06-04")),
        422,
        "effective_on",
    )


async def test_revoking_after_the_period_ended_is_422(api: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await firm(api)
    d = await apply(api, kind="specialized", effective_on="2020-01-02")
    await move(api, d["id"], "under_review", "2020-01-02")
    await move(api, d["id"], "designated", "2020-01-02")  # until 2023-01-02
    await rejected(
        db,
        api.post(
            f"/v1/designations/{d['id']}/transitions",
            json=transition("revoked", reason="late", effective_on="2023-01-03"),
        ),
        422,
        "effective_on",
    )


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        P({"to": "nowhere"}, "to", id="unknown-status"),
        P({}, "to", id="missing-to"),
        P({"to": "under_review", "effective_on": "soon"}, "effective_on", id="bad-date"),
        P({"to": "rejected", "reason": "a\x00b"}, "reason", id="nul-in-reason"),
        P({"to": "rejected", "reason": "x" * 2001}, "reason", id="reason-too-long"),
        P({"to": "under_review", "actor": "me"}, "actor", id="unknown-field"),
    ],
)
async def test_bad_transition_is_422(
    api: httpx.AsyncClient, db: asyncpg.Connection, payload: dict[str, Any], field: str
) -> None:
    await firm(api)
    d = await reach(api, "under_review")
    await rejected(db, api.post(f"/v1/designations/{d['id']}/transitions", json=payload), 422, field)


async def test_unknown_designation_is_404_and_a_malformed_id_422(api: httpx.AsyncClient) -> None:
    missing = uuid.uuid4()
    body = assert_problem(await api.get(f"/v1/designations/{missing}"), 404)
    assert str(missing) in body["detail"]
    assert_problem(
        await api.post(f"/v1/designations/{missing}/transitions", json=transition("under_review")), 404
    )
    assert_problem(await api.get("/v1/designations/not-a-uuid"), 422)


async def test_applying_for_an_unknown_firm_is_404(api: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await rejected(db, api.post(f"/v1/firms/{brn(77)}/designations", json=application()), 404)
    await rejected(db, api.post("/v1/firms/nonsense/designations", json=application()), 404)


# the rules of an application


@pytest.mark.parametrize(
    ("confirmations", "codes"),
    [
        P([], ["SEMI-001"], id="no-confirmation"),
        P([("SEMI-002", "2023-01-01", "2026-01-01")], ["SEMI-001"], id="confirmation-of-another-technology"),
        P([("SEMI-001", "2021-01-10", "2024-01-10")], ["SEMI-001"], id="expired-on-the-application-day"),
        P([("SEMI-001", "2024-01-11", "2027-01-11")], ["SEMI-001"], id="issued-after-the-application-day"),
        P(
            [("SEMI-001", "2020-01-01", "2023-01-01"), ("SEMI-002", "2024-02-01", "2027-01-01")],
            ["SEMI-001", "SEMI-002"],
            id="neither-valid-then",
        ),
    ],
)
async def test_leading_needs_a_confirmation_valid_on_the_application_day(
    api: httpx.AsyncClient,
    db: asyncpg.Connection,
    confirmations: list[tuple[str, str, str]],
    codes: list[str],
) -> None:
    await firm(api, confirmations=confirmations)
    body = await rejected(
        db,
        api.post(f"/v1/firms/{BRN}/designations", json=application(technology_codes=codes)),
        422,
        "technology_codes",
    )
    assert "2024-01-10" in body["detail"]


@pytest.mark.parametrize(
    ("confirmations", "codes"),
    [
        P([("SEMI-001", "2024-01-10", "2024-01-11")], ["SEMI-001"], id="valid-that-single-day"),
        P(
            [("DISP-001", "2023-01-01", "2026-01-01")],
            ["SEMI-001", "DISP-001"],
            id="one-of-several-technologies",
        ),
        P([("SEMI-001", "2021-01-01", "2024-02-01")], ["SEMI-001"], id="expired-since"),
    ],
)
async def test_leading_with_a_confirmation_then_is_accepted(
    api: httpx.AsyncClient, confirmations: list[tuple[str, str, str]], codes: list[str]
) -> None:
    await firm(api, confirmations=confirmations)
    d = await apply(api, technology_codes=codes)
    assert d["status"] == "applied"


@pytest.mark.parametrize("ratio", [P(None, id="unknown"), P(0.0, id="zero"), P(0.4999, id="just-below")])
async def test_specialized_needs_half_its_sales_in_mpe(
    api: httpx.AsyncClient, db: asyncpg.Connection, ratio: float | None
) -> None:
    await firm(api, ratio=ratio, confirmations=[])
    body = await rejected(
        db, api.post(f"/v1/firms/{BRN}/designations", json=application("specialized")), 422, "mpe_sales_ratio"
    )
    assert "0.5" in body["detail"]


@pytest.mark.parametrize("ratio", [0.5, 1.0])
async def test_specialized_with_half_its_sales_in_mpe_is_accepted(
    api: httpx.AsyncClient, ratio: float
) -> None:
    await firm(api, ratio=ratio, confirmations=[])
    assert (await apply(api, kind="specialized"))["status"] == "applied"


async def test_specialized_ratio_is_checked_again_at_designation(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await firm(api, ratio=0.7, confirmations=[])
    d = await reach(api, "under_review", kind="specialized")
    resp = await api.patch(f"/v1/firms/{BRN}", json={"mpe_sales_ratio": 0.3}, headers={"If-Match": '"1"'})
    assert resp.status_code == 200, resp.text
    await rejected(
        db,
        api.post(
            f"/v1/designations/{d['id']}/transitions",
            json=transition("designated", effective_on="2024-03-04"),
        ),
        422,
        "mpe_sales_ratio",
    )
    resp = await api.patch(f"/v1/firms/{BRN}", json={"mpe_sales_ratio": 0.5}, headers={"If-Match": '"2"'})
    assert resp.status_code == 200, resp.text
    assert (await move(api, d["id"], "designated"))["status"] == "designated"


async def test_a_ratio_just_below_the_threshold_does_not_make_a_specialized_firm(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    # Whatever the store's precision, a firm that declared less than half may not qualify.
    resp = await api.post("/v1/firms", json=firm_body(BRN, mpe_sales_ratio=0.49996))
    if resp.status_code != 201:
        assert_problem(resp, 422, "mpe_sales_ratio")
        return
    await rejected(
        db, api.post(f"/v1/firms/{BRN}/designations", json=application("specialized")), 422, "mpe_sales_ratio"
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        P({"kind": "specialized", "cohort": 4}, "cohort", id="cohort-for-specialized"),
        P({"cohort": 0}, "cohort", id="cohort-zero"),
        P({"cohort": 101}, "cohort", id="cohort-too-big"),
        P({"kind": "honorary"}, "kind", id="unknown-kind"),
        P({"technology_codes": []}, "technology_codes", id="no-technologies"),
        P({"technology_codes": ["semi-001"]}, "technology_codes", id="lowercase-code"),
        P({"effective_on": "2024-02-30"}, "effective_on", id="bad-date"),
        P({"status": "designated"}, "status", id="unknown-field"),
    ],
)
async def test_bad_application_is_422(
    api: httpx.AsyncClient, db: asyncpg.Connection, fields: dict[str, Any], field: str
) -> None:
    await firm(api)
    payload = {**application(), **fields}
    await rejected(db, api.post(f"/v1/firms/{BRN}/designations", json=payload), 422, field)


async def test_leading_without_a_cohort_is_accepted(api: httpx.AsyncClient) -> None:
    await firm(api)
    resp = await api.post(f"/v1/firms/{BRN}/designations", json={**application(), "cohort": None})
    assert resp.status_code == 201, resp.text
    assert resp.json()["cohort"] is None


async def test_retired_technology_is_422_naming_it(api: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await firm(api)
    body = await rejected(
        db,
        api.post(
            f"/v1/firms/{BRN}/designations", json=application(technology_codes=["SEMI-001", "SEMI-099"])
        ),
        422,
        "technology_codes",
    )
    assert "SEMI-099 is retired" in body["detail"]


async def test_a_record_dated_before_a_technology_was_retired_may_name_it(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    # Found by a probe: the codes were checked against today's list, so a 2021 confirmation or
    # application for a technology retired in 2022 (SEMI-099, off the list from 2022-10-18) was
    # refused although it was true then. Checked on the record's own day now; on that day or
    # later it is still refused.
    await firm(api)
    confirmation = {"technology_code": "SEMI-099", "issued_on": "2021-06-01", "valid_until": "2024-06-01"}
    assert (await api.post(f"/v1/firms/{BRN}/confirmations", json=confirmation)).status_code == 201
    late = {**confirmation, "issued_on": "2022-10-18", "valid_until": "2025-10-18"}
    body = await rejected(db, api.post(f"/v1/firms/{BRN}/confirmations", json=late), 422, "technology_code")
    assert "SEMI-099 is retired: off the list from 2022-10-18, on or before 2022-10-18" in body["detail"]
    applied = await api.post(
        f"/v1/firms/{BRN}/designations",
        json=application("specialized", technology_codes=["SEMI-099"], effective_on="2021-06-02"),
    )
    assert applied.status_code == 201, applied.text


async def test_unknown_technology_is_422_naming_it(
    api: httpx.AsyncClient, db: asyncpg.Connection, stub_catalog: StubCatalog
) -> None:
    await firm(api)
    body = await rejected(
        db,
        api.post(f"/v1/firms/{BRN}/designations", json=application(technology_codes=["SEMI-001", "ZZZ-404"])),
        422,
        "technology_codes",
    )
    assert "ZZZ-404 is not in the catalog" in body["detail"]


async def test_replica_miss_with_the_catalog_unreachable_is_503(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await firm(api)
    await rejected(
        db, api.post(f"/v1/firms/{BRN}/designations", json=application(technology_codes=["NEW-001"])), 503
    )


# no two active designations of one kind with overlapping periods


async def designated(api: httpx.AsyncClient, number: str, kind: str, on: str) -> dict[str, Any]:
    d = await apply(api, number, kind, effective_on=on)
    await move(api, d["id"], "under_review", on)
    return await move(api, d["id"], "designated", on)


async def test_overlapping_designation_of_the_same_kind_is_409(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await firm(api)
    first = await designated(api, BRN, "specialized", "2023-01-02")  # until 2026-01-02
    second = await reach(api, "under_review", kind="specialized")
    body = await rejected(
        db,
        api.post(
            f"/v1/designations/{second['id']}/transitions",
            json=transition("designated", effective_on="2024-03-04"),
        ),
        409,
    )
    assert first["id"] in body["detail"]
    # One open application per kind: this one makes room for the next.
    await move(api, second["id"], "withdrawn")
    # A designation dated before the active one but reaching into it conflicts as well.
    early = await apply(api, kind="specialized", effective_on="2020-01-10")
    await move(api, early["id"], "under_review", "2020-01-10")
    await rejected(
        db,
        api.post(
            f"/v1/designations/{early['id']}/transitions",
            json=transition("designated", effective_on="2020-06-01"),
        ),
        409,
    )


async def test_designations_that_do_not_overlap_are_allowed(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await firm(api, confirmations=[("SEMI-001", "2022-01-01", "2027-01-01")])
    await designated(api, BRN, "specialized", "2020-01-02")  # [2020-01-02, 2023-01-02)
    touching = await designated(api, BRN, "specialized", "2023-01-02")  # periods exclude their last day
    assert touching["status"] == "designated"
    other_kind = await designated(api, BRN, "leading", "2023-06-01")
    assert other_kind["status"] == "designated"
    assert await db.fetchval("select count(*) from designations where status = 'designated'") == 3


async def test_a_revoked_designation_no_longer_blocks_a_new_one(api: httpx.AsyncClient) -> None:
    await firm(api)
    first = await designated(api, BRN, "specialized", "2023-01-02")
    await move(api, first["id"], "revoked", "2024-01-10", reason="fraud")
    second = await designated(api, BRN, "specialized", "2024-03-04")
    assert second["status"] == "designated"


async def test_a_backdated_designation_may_not_overlap_the_active_period_of_a_revoked_one(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    # The first was active from 2022-01-03 until its revocation on 2024-01-10; a second one
    # designated from 2023-06-01 would have made the firm hold two at once for seven months.
    await firm(api)
    first = await designated(api, BRN, "specialized", "2022-01-03")
    late = await apply(api, kind="specialized", effective_on="2023-06-01")
    await move(api, late["id"], "under_review", "2023-06-01")
    await move(api, first["id"], "revoked", "2024-01-10", reason="fraud")
    await rejected(
        db,
        api.post(
            f"/v1/designations/{late['id']}/transitions",
            json=transition("designated", effective_on="2023-06-01"),
        ),
        409,
    )


async def test_ten_parallel_applications_of_one_firm_and_kind_open_one(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    # At most one open application (applied or under review) per firm and kind: the rest are
    # 409, whichever commits first, and nothing of theirs reaches the outbox.
    await firm(api)
    answers = await asyncio.gather(
        *(api.post(f"/v1/firms/{BRN}/designations", json=application("specialized")) for _ in range(10))
    )
    assert sorted(r.status_code for r in answers) == [201] + [409] * 9, [r.text for r in answers]
    for r in answers:
        if r.status_code == 409:
            assert_problem(r, 409)
    assert await db.fetchval("select count(*) from designations") == 1
    assert (
        await db.fetchval("select count(*) from outbox where type = 'kr.mpe.firms.designation.applied.v1'")
        == 1
    )


async def test_a_second_open_application_is_409_and_a_closed_one_makes_room(api: httpx.AsyncClient) -> None:
    await firm(api)
    first = await apply(api, kind="specialized")
    second = await api.post(f"/v1/firms/{BRN}/designations", json=application("specialized"))
    assert_problem(second, 409)
    await move(api, first["id"], "under_review")
    assert_problem(await api.post(f"/v1/firms/{BRN}/designations", json=application("specialized")), 409)
    # Another kind is another application.
    await apply(api, kind="leading")
    await move(api, first["id"], "withdrawn")
    assert (await apply(api, kind="specialized"))["status"] == "applied"


async def test_concurrent_designations_of_different_firms_all_succeed(api: httpx.AsyncClient) -> None:
    applications = []
    for n in range(1, 6):
        await firm(api, brn(n))
        applications.append(await reach(api, "under_review", brn(n), "specialized"))
    answers = await asyncio.gather(
        *(
            api.post(f"/v1/designations/{d['id']}/transitions", json=transition("designated"))
            for d in applications
        )
    )
    assert [r.status_code for r in answers] == [200] * 5


# the designation list


@pytest.fixture
async def mixed(api: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Six designations of three firms, in the order applied for."""
    await firm(api, brn(1), confirmations=[("SEMI-001", "2023-01-01", "2026-01-01")])
    await firm(api, brn(2), confirmations=[("DISP-001", "2023-01-01", "2026-01-01")], codes=["DISP-001"])
    await firm(api, brn(3), confirmations=[])
    made = [
        await apply(api, brn(1), "leading", cohort=3),
        await apply(api, brn(2), "leading", cohort=4, technology_codes=["DISP-001", "AUTO-001"]),
        await apply(api, brn(3), "specialized", technology_codes=["AUTO-001"]),
        await apply(api, brn(1), "specialized"),
    ]
    # Each firm has one open application per kind: these two close before the firm applies again.
    made[1] = await move(api, made[1]["id"], "under_review")
    made[1] = await move(api, made[1]["id"], "designated")
    made[2] = await move(api, made[2]["id"], "withdrawn")
    made += [
        await apply(api, brn(2), "leading", cohort=4, technology_codes=["DISP-001"]),
        await apply(api, brn(3), "specialized", technology_codes=["SEMI-002"]),
    ]
    return made


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        P({}, [0, 1, 2, 3, 4, 5], id="all-in-applied-order"),
        P({"kind": "leading"}, [0, 1, 4], id="kind"),
        P({"status": "designated"}, [1], id="status"),
        P({"status": "applied"}, [0, 3, 4, 5], id="status-applied"),
        P({"cohort": 4}, [1, 4], id="cohort"),
        P({"technology": "AUTO-001"}, [1, 2], id="technology"),
        P({"technology": "SEMI-001"}, [0, 3], id="technology-semi"),
        P({"kind": "specialized", "status": "applied", "technology": "SEMI-002"}, [5], id="combined"),
        P({"status": "expired"}, [], id="none"),
    ],
)
async def test_designation_list_filters(
    api: httpx.AsyncClient, mixed: list[dict[str, Any]], params: dict[str, Any], expected: list[int]
) -> None:
    resp = await api.get("/v1/designations", params=params)
    assert resp.status_code == 200, resp.text
    assert [d["id"] for d in resp.json()["items"]] == [mixed[i]["id"] for i in expected]
    assert resp.json()["next_cursor"] is None
    if expected:
        assert resp.json()["items"][0] == mixed[expected[0]]


@pytest.mark.parametrize("limit", [1, 2, 4, 6])
async def test_designation_list_keyset_pagination_sees_every_one_once(
    api: httpx.AsyncClient, mixed: list[dict[str, Any]], limit: int
) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        resp = await api.get("/v1/designations", params=params)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        assert len(page["items"]) <= limit
        seen += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [d["id"] for d in mixed]


async def test_designation_list_pages_through_a_filter(
    api: httpx.AsyncClient, mixed: list[dict[str, Any]]
) -> None:
    first = (await api.get("/v1/designations", params={"status": "applied", "limit": 3})).json()
    assert [d["id"] for d in first["items"]] == [mixed[i]["id"] for i in (0, 3, 4)]
    rest = (
        await api.get("/v1/designations", params={"status": "applied", "cursor": first["next_cursor"]})
    ).json()
    assert [d["id"] for d in rest["items"]] == [mixed[5]["id"]]
    assert rest["next_cursor"] is None


@pytest.mark.parametrize(
    "params",
    [
        P({"kind": "honorary"}, id="bad-kind"),
        P({"status": "done"}, id="bad-status"),
        P({"cohort": 0}, id="cohort-0"),
        P({"technology": "SEMI\x00"}, id="nul-in-technology"),
        P({"cohort": "first"}, id="cohort-not-a-number"),
        P({"limit": 0}, id="limit-0"),
        P({"limit": 201}, id="limit-201"),
        P({"cursor": "!!!"}, id="cursor-garbage"),
        P({"cursor": "WyJ4Il0"}, id="cursor-arity"),  # ["x"]
        P({"cursor": "WyJ4IiwieSJd"}, id="cursor-values"),  # ["x","y"]
        P({"cursor": cursor_of(["2024-01-01T00:00:00+00:00", 123])}, id="cursor-id-not-text"),
        P({"cursor": cursor_of(["2024-01-01T00:00:00+00:00", ["x"]])}, id="cursor-id-a-list"),
        P({"cursor": cursor_of([None, str(uuid.uuid4())])}, id="cursor-time-null"),
        P({"cursor": cursor_of(["9999-12-31T23:59:59-14:00", str(uuid.uuid4())])}, id="cursor-time-overflow"),
    ],
)
async def test_bad_designation_list_query_is_422(api: httpx.AsyncClient, params: dict[str, Any]) -> None:
    assert_problem(await api.get("/v1/designations", params=params), 422)
