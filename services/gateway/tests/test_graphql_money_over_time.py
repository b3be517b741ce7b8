"""Money over time through GraphQL: a project's payment lines, its status moves, its yearly chain."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime

import httpx
import pytest

from mpe_events import budget as bev
from mpe_events.registry import DISBURSEMENT_PAID, PROJECT_DISBURSED
from mpe_kit import db

from .conftest import Running, apply, batch, event, gql, hub_caught_up, new_key, project, project_event

P1, P2 = "P-2023-001", "P-2024-001"
PAY1, PAY2, PAY3 = (uuid.UUID(int=n) for n in (11, 12, 13))


def step(frm: str, to: str, on: date, reason: str | None = None) -> dict[str, object]:
    return {
        "from_status": frm,
        "to_status": to,
        "at": datetime(on.year, on.month, on.day, 1, 0, tzinfo=UTC),
        "effective_on": on,
        "actor": "officer",
        "reason": reason,
    }


def payment(pid: uuid.UUID, paid_on: date, amount: int, total: int, version: int) -> bev.DisbursementV1:
    return bev.DisbursementV1(
        id=pid,
        project_code=P1,
        program_code="MP-2023",
        fiscal_year=2023,
        paid_on=paid_on,
        amount_krw=amount,
        recorded_at=datetime(paid_on.year, paid_on.month, paid_on.day, 2, 0, tzinfo=UTC),
        project_disbursed_krw=total,
        project_version=version,
        version=1,
    )


HISTORY = [
    step("proposed", "selected", date(2023, 3, 2)),
    step("selected", "agreement_signed", date(2023, 3, 20), "signed at KEIT"),
    step("agreement_signed", "active", date(2023, 4, 1)),
]


@pytest.fixture
async def money(conn: db.Conn, seeded: None) -> None:
    """P1 (2023) active with its moves, continued by P2 (2024); two payments to P1, the later one first."""
    active = {"status": "active", "committed_krw": 1_000_000_000, "history": HISTORY}
    await apply(
        conn,
        project_event(project(P1, version=4, disbursed_krw=0, **active)),
        project_event(project(P2, fiscal_year=2024, kind="continuing", continues=P1, program_code="MP-2024")),
        event(
            DISBURSEMENT_PAID.type, payment(PAY2, date(2023, 9, 1), 300_000_000, 700_000_000, 6), str(PAY2)
        ),
        event(
            DISBURSEMENT_PAID.type, payment(PAY1, date(2023, 5, 2), 400_000_000, 400_000_000, 5), str(PAY1)
        ),
        project_event(project(P1, version=6, disbursed_krw=700_000_000, **active), PROJECT_DISBURSED.type),
    )


LINES = """
query($code: String!, $first: Int!, $after: String) {
  project(code: $code) {
    disbursedKrw
    disbursements(first: $first, after: $after) {
      totalCount
      edges { cursor node { id paidOn amountKrw } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""


@pytest.mark.usefixtures("money")
async def test_a_payment_is_a_line_with_its_date_in_paid_order(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    client = gateway((await new_key(conn, "budget:read")).secret)
    data = (await gql(client, LINES, code=P1, first=1))["data"]["project"]
    assert data["disbursedKrw"] == "700000000"
    page = data["disbursements"]
    assert page["totalCount"] == 2
    assert [e["node"] for e in page["edges"]] == [
        {"id": str(PAY1), "paidOn": "2023-05-02", "amountKrw": "400000000"}
    ]
    assert page["pageInfo"]["hasNextPage"] is True
    after = page["pageInfo"]["endCursor"]
    page = (await gql(client, LINES, code=P1, first=1, after=after))["data"]["project"]["disbursements"]
    assert [e["node"] for e in page["edges"]] == [
        {"id": str(PAY2), "paidOn": "2023-09-01", "amountKrw": "300000000"}
    ]
    assert page["pageInfo"] == {"hasNextPage": False, "endCursor": page["edges"][0]["cursor"]}
    body = await gql(client, LINES, code=P1, first=1, after="bm9wZQ")
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}


@pytest.mark.usefixtures("money")
async def test_a_payment_arriving_later_is_served_at_once(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient], gateway_app: Running
) -> None:
    client = gateway((await new_key(conn, "budget:read")).secret)
    assert (await gql(client, LINES, code=P1, first=20))["data"]["project"]["disbursements"][
        "totalCount"
    ] == 2
    # Through the projector's batch: the line moves the watermark, so no cached answer hides it.
    third = payment(PAY3, date(2023, 11, 30), 100_000_000, 800_000_000, 7)
    await batch(conn, event(DISBURSEMENT_PAID.type, third, str(PAY3)))
    await hub_caught_up(gateway_app.app, conn)
    page = (await gql(client, LINES, code=P1, first=20))["data"]["project"]["disbursements"]
    assert [e["node"]["paidOn"] for e in page["edges"]] == ["2023-05-02", "2023-09-01", "2023-11-30"]


CHAIN = """
query($code: String!) {
  project(code: $code) {
    code
    continues
    continuesProject { code fiscalYear }
    continuedBy { code fiscalYear continuedBy { code } }
    history { fromStatus toStatus at effectiveOn actor reason }
  }
}
"""


@pytest.mark.usefixtures("money")
async def test_a_project_has_its_history_and_its_yearly_chain(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    client = gateway((await new_key(conn, "budget:read")).secret)
    first = (await gql(client, CHAIN, code=P1))["data"]["project"]
    assert first["continues"] is None
    assert first["continuesProject"] is None
    assert first["continuedBy"] == {"code": P2, "fiscalYear": 2024, "continuedBy": None}
    assert first["history"] == [
        {
            "fromStatus": "PROPOSED",
            "toStatus": "SELECTED",
            "at": "2023-03-02T01:00:00+00:00",
            "effectiveOn": "2023-03-02",
            "actor": "officer",
            "reason": None,
        },
        {
            "fromStatus": "SELECTED",
            "toStatus": "AGREEMENT_SIGNED",
            "at": "2023-03-20T01:00:00+00:00",
            "effectiveOn": "2023-03-20",
            "actor": "officer",
            "reason": "signed at KEIT",
        },
        {
            "fromStatus": "AGREEMENT_SIGNED",
            "toStatus": "ACTIVE",
            "at": "2023-04-01T01:00:00+00:00",
            "effectiveOn": "2023-04-01",
            "actor": "officer",
            "reason": None,
        },
    ]
    second = (await gql(client, CHAIN, code=P2))["data"]["project"]
    assert second["continues"] == P1
    assert second["continuesProject"] == {"code": P1, "fiscalYear": 2023}
    assert second["continuedBy"] is None
    assert second["history"] == []
