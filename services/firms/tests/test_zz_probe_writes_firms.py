"""Temporary probe (to be deleted)."""
from __future__ import annotations

import asyncpg
import httpx

from .conftest import firm_body, valid_brn

BRN = valid_brn("123456789")


async def test_probe_integer_days(api: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    r = await api.post("/v1/firms", json=firm_body(BRN))
    assert r.status_code == 201, r.text
    # 1704067200 = 2024-01-01T00:00:00Z ; 1830297600 = 2028-01-01
    r = await api.post(f"/v1/firms/{BRN}/confirmations",
                       json={"technology_code": "SEMI-001", "issued_on": 1704067200, "valid_until": 1830297600})
    print("CONF-INT", r.status_code, r.text)
    r = await api.post(f"/v1/firms/{BRN}/designations",
                       json={"kind": "leading", "technology_codes": ["SEMI-001"], "effective_on": 1704067200})
    print("APPLY-INT", r.status_code, r.text[:300])
    did = r.json().get("id")
    r = await api.post(f"/v1/designations/{did}/transitions", json={"to": "under_review", "effective_on": 1706745600})
    print("MOVE-INT", r.status_code, r.text[:300])
    r = await api.patch(f"/v1/firms/{BRN}", json={"size_since": 1704067200}, headers={"If-Match": "*"})
    print("PATCH-SIZE-INT", r.status_code, r.text[:300])
