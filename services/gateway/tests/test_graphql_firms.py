"""Firms and designations through GraphQL, over a read model filled by the projection handlers."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import pytest

from mpe_events.registry import FIRM_CONFIRMATION_ADDED
from mpe_kit import db

from .conftest import (
    Running,
    apply,
    batch,
    brn,
    designation,
    designation_event,
    firm,
    firm_event,
    gql,
    hub_caught_up,
    new_key,
)

pytestmark = pytest.mark.usefixtures("firms_seeded")

F1, F2, F3 = brn(101), brn(202), brn(303)
D1, D2, D3, D4 = (uuid.UUID(int=n) for n in (1, 2, 3, 4))


@pytest.fixture
async def firms_seeded(conn: db.Conn, seeded: None) -> None:
    """Three firms and four designations over the catalog's 25 technologies (SEMI-001 is retired)."""
    await apply(
        conn,
        firm_event(
            firm(
                F1,
                name_en="Hanil Materials",
                name_ko="한일소재",
                size="large",
                size_since=date(2019, 1, 1),
                mpe_sales_ratio=0.82,
                technology_codes=["SEMI-001", "SEMI-004"],
                confirmations=[
                    {
                        "technology_code": "SEMI-001",
                        "issued_on": date(2019, 5, 1),
                        "valid_until": date(2022, 5, 1),
                    },
                    {
                        "technology_code": "SEMI-004",
                        "issued_on": date(2020, 6, 1),
                        "valid_until": date(2023, 6, 1),
                    },
                ],
            )
        ),
        firm_event(
            firm(
                F2,
                name_en="Daesung Parts",
                name_ko="대성부품",
                size="mid",
                region="Seoul",
                mpe_sales_ratio=0.55,
                technology_codes=["SEMI-004", "SEMI-005"],
            )
        ),
        firm_event(
            firm(
                F3,
                name_en="Micro Film",
                name_ko="마이크로필름",
                mpe_sales_ratio=None,
                technology_codes=["SEMI-025"],
            )
        ),
        designation_event(
            designation(
                D1, F1, ("under_review", date(2020, 11, 2)), ("designated", date(2021, 1, 15)), cohort=1
            )
        ),
        designation_event(
            designation(
                D2,
                F2,
                ("under_review", date(2021, 10, 1)),
                ("designated", date(2022, 3, 2)),
                ("revoked", date(2023, 6, 1)),
                cohort=2,
                codes=("SEMI-005",),
                applied_on=date(2021, 9, 1),
                reason="false statements in the application",
            )
        ),
        designation_event(
            designation(
                D3,
                F2,
                ("under_review", date(2022, 2, 1)),
                ("rejected", date(2022, 5, 2)),
                kind="specialized",
                applied_on=date(2022, 1, 3),
                reason="MPE sales below half",
            )
        ),
        designation_event(
            designation(D4, F3, kind="specialized", codes=("SEMI-025",), applied_on=date(2023, 1, 2))
        ),
    )


FIRM = """
query($brn: String!) {
  firm(brn: $brn) {
    brn brnDisplay nameEn nameKo size sizeSince region
    technologies { code status }
    designations {
      id kind cohort status appliedOn designatedOn validUntil
      firm { brn }
      technologies { code }
      history { fromStatus toStatus at effectiveOn actor reason }
    }
  }
}
"""


async def client_with(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient], *scopes: str
) -> httpx.AsyncClient:
    return gateway((await new_key(conn, *scopes)).secret)


@pytest.mark.parametrize("given", [F2, f"{F2[:3]}-{F2[3:5]}-{F2[5:]}", f" {F2} "])
async def test_a_firm_in_full_by_brn_in_either_form(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient], given: str
) -> None:
    client = await client_with(conn, gateway, "firms:read")
    body = await gql(client, FIRM, brn=given)
    assert "errors" not in body
    data = body["data"]["firm"]
    assert {k: data[k] for k in ("brn", "brnDisplay", "nameEn", "nameKo", "size", "sizeSince", "region")} == {
        "brn": F2,
        "brnDisplay": f"{F2[:3]}-{F2[3:5]}-{F2[5:]}",
        "nameEn": "Daesung Parts",
        "nameKo": "대성부품",
        "size": "MID",
        "sizeSince": "2020-01-01",
        "region": "Seoul",
    }
    assert data["technologies"] == [
        {"code": "SEMI-004", "status": "LISTED"},
        {"code": "SEMI-005", "status": "LISTED"},
    ]
    leading, specialized = data["designations"]  # in the order applied for
    assert leading == {
        "id": str(D2),
        "kind": "LEADING",
        "cohort": 2,
        "status": "REVOKED",
        "appliedOn": "2021-09-01",
        "designatedOn": "2022-03-02",
        "validUntil": "2027-03-02",
        "firm": {"brn": F2},
        "technologies": [{"code": "SEMI-005"}],
        "history": [
            {
                "fromStatus": None,
                "toStatus": "APPLIED",
                "at": "2021-09-01T00:00:00+00:00",
                "effectiveOn": "2021-09-01",
                "actor": "staff@motie.go.kr",
                "reason": None,
            },
            {
                "fromStatus": "APPLIED",
                "toStatus": "UNDER_REVIEW",
                "at": "2021-10-01T00:00:00+00:00",
                "effectiveOn": "2021-10-01",
                "actor": "staff@motie.go.kr",
                "reason": None,
            },
            {
                "fromStatus": "UNDER_REVIEW",
                "toStatus": "DESIGNATED",
                "at": "2022-03-02T00:00:00+00:00",
                "effectiveOn": "2022-03-02",
                "actor": "staff@motie.go.kr",
                "reason": None,
            },
            {
                "fromStatus": "DESIGNATED",
                "toStatus": "REVOKED",
                "at": "2023-06-01T00:00:00+00:00",
                "effectiveOn": "2023-06-01",
                "actor": "staff@motie.go.kr",
                "reason": "false statements in the application",
            },
        ],
    }
    assert (specialized["id"], specialized["kind"], specialized["cohort"], specialized["status"]) == (
        str(D3),
        "SPECIALIZED",
        None,
        "REJECTED",
    )
    assert specialized["history"][-1]["reason"] == "MPE sales below half"


async def test_a_firm_keeps_its_retired_technologies(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    client = await client_with(conn, gateway, "firms:read")
    body = await gql(
        client, "query($brn: String!) { firm(brn: $brn) { technologies { code status retiredOn } } }", brn=F1
    )
    assert body["data"]["firm"]["technologies"] == [
        {"code": "SEMI-001", "status": "RETIRED", "retiredOn": "2022-10-18"},
        {"code": "SEMI-004", "status": "LISTED", "retiredOn": None},
    ]


@pytest.mark.parametrize(
    "given",
    [
        "12345",  # too short
        "12-345-67890",  # dashes in the wrong places
        "123456789a",
        "١٢٣٤٥٦٧٨٩٠",  # digits, but not ASCII ones
        f"{F1[:9]}{(int(F1[9]) + 1) % 10}",  # check digit off by one
        "",
    ],
)
async def test_a_malformed_brn_is_a_bad_user_input_error(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient], given: str
) -> None:
    client = await client_with(conn, gateway, "firms:read")
    body = await gql(client, FIRM, brn=given)
    assert body["data"] == {"firm": None}
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert error["path"] == ["firm"]
    assert "`brn`" in error["message"]


async def test_an_unknown_brn_is_null_without_error(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    client = await client_with(conn, gateway, "firms:read")
    assert await gql(client, "query($brn: String!) { firm(brn: $brn) { brn } }", brn=brn(999)) == {
        "data": {"firm": None}
    }


RATIO = "query($brn: String!) { firm(brn: $brn) { nameEn mpeSalesRatio } }"


async def test_the_sales_ratio_needs_the_financials_scope(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    wide = await client_with(conn, gateway, "firms:read", "firms:financials")
    assert await gql(wide, RATIO, brn=F1) == {
        "data": {"firm": {"nameEn": "Hanil Materials", "mpeSalesRatio": 0.82}}
    }
    assert await gql(wide, RATIO, brn=F3) == {
        "data": {"firm": {"nameEn": "Micro Film", "mpeSalesRatio": None}}
    }

    narrow = await client_with(conn, gateway, "firms:read")
    body = await gql(narrow, RATIO, brn=F1)
    assert body["data"] == {"firm": {"nameEn": "Hanil Materials", "mpeSalesRatio": None}}
    (error,) = body["errors"]
    assert error["path"] == ["firm", "mpeSalesRatio"]
    assert error["extensions"] == {"code": "FORBIDDEN", "scope": "firms:financials"}
    assert "firms:financials" in error["message"]


async def test_the_sales_ratio_in_a_list_is_null_per_firm_with_an_error_each(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    client = await client_with(conn, gateway, "firms:read")
    body = await gql(client, "{ firms { edges { node { brn mpeSalesRatio } } } }")
    assert [e["node"] for e in body["data"]["firms"]["edges"]] == [
        {"brn": b, "mpeSalesRatio": None} for b in (F1, F2, F3)
    ]
    assert sorted(e["path"] for e in body["errors"]) == [  # errors come as fields finish
        ["firms", "edges", i, "node", "mpeSalesRatio"] for i in range(3)
    ]


async def test_firm_fields_need_the_firms_read_scope(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    client = await client_with(conn, gateway, "catalog:read", "firms:financials")
    body = await gql(
        client,
        "query($brn: String!) { firm(brn: $brn) { brn } firms { totalCount }"
        ' designationProgress { designated } technology(code: "SEMI-004") { code firms { brn } } }',
        brn=F1,
    )
    assert body["data"] == {
        "firm": None,
        "firms": None,
        "designationProgress": None,
        "technology": {"code": "SEMI-004", "firms": None},
    }
    assert sorted(tuple(e["path"]) for e in body["errors"]) == [
        ("designationProgress",),
        ("firm",),
        ("firms",),
        ("technology", "firms"),
    ]
    assert all(e["extensions"] == {"code": "FORBIDDEN", "scope": "firms:read"} for e in body["errors"])


FIRMS = """
query($first: Int!, $after: String, $filter: FirmFilter) {
  firms(first: $first, after: $after, filter: $filter) {
    totalCount
    edges { cursor node { brn } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({}, [F1, F2, F3]),
        ({"size": "LARGE"}, [F1]),
        ({"size": "SME"}, [F3]),
        ({"region": "Gyeonggi"}, [F1, F3]),
        # Any spelling of a 시·도 finds the firms stored under any other (these events carry the
        # English names the firms service took before it checked regions).
        ({"region": "경기도"}, [F1, F3]),
        ({"region": "서울특별시"}, [F2]),
        ({"region": "충남"}, []),
        ({"technology": "SEMI-004"}, [F1, F2]),
        ({"technology": "SEMI-001"}, [F1]),  # retired, still held
        ({"technology": "NOPE-1"}, []),
        ({"designationKind": "SPECIALIZED"}, [F2, F3]),
        ({"designationStatus": "DESIGNATED"}, [F1]),
        ({"designationKind": "LEADING", "designationStatus": "REVOKED"}, [F2]),
        # kind and status must hold for one and the same designation
        ({"designationKind": "SPECIALIZED", "designationStatus": "REVOKED"}, []),
        ({"search": "부품"}, [F2]),
        ({"search": "FILM"}, [F3]),
        ({"search": "%"}, []),
        ({"region": "Gyeonggi", "designationKind": "SPECIALIZED"}, [F3]),
    ],
)
async def test_firm_filters(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient], filter: dict[str, str], expected: list[str]
) -> None:
    client = await client_with(conn, gateway, "firms:read")
    data = (await gql(client, FIRMS, first=100, filter=filter))["data"]["firms"]
    assert [e["node"]["brn"] for e in data["edges"]] == expected
    assert data["totalCount"] == len(expected)


async def test_firm_pages_follow_the_cursor(conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]) -> None:
    client = await client_with(conn, gateway, "firms:read")
    first = (await gql(client, FIRMS, first=2))["data"]["firms"]
    assert [e["node"]["brn"] for e in first["edges"]] == [F1, F2]
    assert first["pageInfo"] == {"hasNextPage": True, "endCursor": first["edges"][-1]["cursor"]}
    rest = (await gql(client, FIRMS, first=2, after=first["pageInfo"]["endCursor"]))["data"]["firms"]
    assert [e["node"]["brn"] for e in rest["edges"]] == [F3]
    assert rest["pageInfo"]["hasNextPage"] is False
    assert rest["totalCount"] == 3


@pytest.mark.parametrize("first", [0, 101])
async def test_a_firm_page_outside_1_to_100_is_an_error(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient], first: int
) -> None:
    client = await client_with(conn, gateway, "firms:read")
    body = await gql(client, FIRMS, first=first)
    assert body["data"] == {"firms": None}
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}
    assert "between 1 and 100" in body["errors"][0]["message"]


async def test_a_foreign_firm_cursor_is_an_error(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    client = await client_with(conn, gateway, "firms:read")
    body = await gql(client, FIRMS, first=2, after="bm9wZQ")
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}


TECH = """
query($status: DesignationStatus, $firms: Int!, $designations: Int!) {
  technology(code: "SEMI-004") {
    firms(first: $firms, validOn: "2022-01-01") { brn }
    designations(status: $status, first: $designations) { id status firm { nameEn } }
  }
}
"""


async def test_a_technology_lists_its_firms_and_designations(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    client = await client_with(conn, gateway, "catalog:read", "firms:read")
    data = (await gql(client, TECH, firms=20, designations=20))["data"]["technology"]
    assert data == {
        # F3 does not declare SEMI-004 but holds a confirmation for it, valid that day.
        "firms": [{"brn": F1}, {"brn": F2}, {"brn": F3}],
        "designations": [
            {"id": str(D1), "status": "DESIGNATED", "firm": {"nameEn": "Hanil Materials"}},
            {"id": str(D3), "status": "REJECTED", "firm": {"nameEn": "Daesung Parts"}},
        ],
    }
    data = (await gql(client, TECH, status="REJECTED", firms=1, designations=20))["data"]["technology"]
    assert data == {
        "firms": [{"brn": F1}],
        "designations": [{"id": str(D3), "status": "REJECTED", "firm": {"nameEn": "Daesung Parts"}}],
    }
    data = (await gql(client, TECH, status="WITHDRAWN", firms=1, designations=1))["data"]["technology"]
    assert data["designations"] == []


async def test_a_retired_technology_still_lists_the_firms_holding_it(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    client = await client_with(conn, gateway, "catalog:read", "firms:read")
    body = await gql(
        client, '{ technology(code: "SEMI-001") { status firms(validOn: "2022-04-30") { brn } } }'
    )
    assert body == {"data": {"technology": {"status": "RETIRED", "firms": [{"brn": F1}]}}}


HOLDERS = """
query($day: Date, $brn: String!) {
  technology(code: "SEMI-025") {
    firms { brn }
    onDay: firms(validOn: $day) { brn }
    confirmations(validOn: $day) { issuedOn validUntil firm { brn } technology { code } }
  }
  firm(brn: $brn) {
    declaredTechnologies { code }
    confirmations { issuedOn validUntil technology { code } }
  }
}
"""


async def test_holding_a_technology_means_a_valid_confirmation_not_a_declaration(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient], gateway_app: Running
) -> None:
    client = await client_with(conn, gateway, "catalog:read", "firms:read")
    # F3 declares SEMI-025 but holds no confirmation for it: it does not hold the technology.
    data = (await gql(client, HOLDERS, day=None, brn=F3))["data"]
    assert data["technology"] == {"firms": [], "onDay": [], "confirmations": []}
    assert data["firm"] == {
        "declaredTechnologies": [{"code": "SEMI-025"}],
        "confirmations": [
            {"issuedOn": "2020-06-01", "validUntil": "2023-06-01", "technology": {"code": "SEMI-004"}}
        ],
    }

    issued, until = date(date.today().year, 1, 1), date(date.today().year + 3, 1, 1)
    # As the projector applies it: the watermark moves, so no answer cached before it is served.
    await batch(
        conn,
        firm_event(
            firm(
                F3,
                version=2,
                name_en="Micro Film",
                name_ko="마이크로필름",
                mpe_sales_ratio=None,
                technology_codes=["SEMI-025"],
                confirmations=[
                    {
                        "technology_code": "SEMI-004",
                        "issued_on": date(2020, 6, 1),
                        "valid_until": date(2023, 6, 1),
                    },
                    {"technology_code": "SEMI-025", "issued_on": issued, "valid_until": until},
                ],
            ),
            FIRM_CONFIRMATION_ADDED.type,
        ),
    )
    await hub_caught_up(gateway_app.app, conn)
    held = {"issuedOn": issued.isoformat(), "validUntil": until.isoformat()}
    data = (await gql(client, HOLDERS, day=None, brn=F3))["data"]
    assert data["technology"] == {
        "firms": [{"brn": F3}],  # today in Korea, by default
        "onDay": [{"brn": F3}],
        "confirmations": [{**held, "firm": {"brn": F3}, "technology": {"code": "SEMI-025"}}],
    }
    assert data["firm"]["confirmations"][1] == {**held, "technology": {"code": "SEMI-025"}}
    # The day before it was issued, and its validUntil itself, it did not hold.
    for day in (date(issued.year - 1, 12, 31), until):
        data = (await gql(client, HOLDERS, day=day.isoformat(), brn=F3))["data"]
        assert data["technology"] == {"firms": [{"brn": F3}], "onDay": [], "confirmations": []}


async def test_a_nested_first_is_capped(conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]) -> None:
    client = await client_with(conn, gateway, "firms:read")
    q = "query($brn: String!, $n: Int!) { firm(brn: $brn) { designations(first: $n) { id } } }"
    assert (await gql(client, q, brn=F2, n=1))["data"]["firm"]["designations"] == [{"id": str(D2)}]
    assert len((await gql(client, q, brn=F2, n=100))["data"]["firm"]["designations"]) == 2
    for n in (0, 101):
        body = await gql(client, q, brn=F2, n=n)
        assert body["data"] == {"firm": None}  # the non-null list's error nulls the firm
        (error,) = body["errors"]
        assert error["path"] == ["firm", "designations"]
        assert error["extensions"] == {"code": "BAD_USER_INPUT"}
        assert "between 1 and 100" in error["message"]


@pytest.mark.parametrize("field", ["firms(first: 101) { brn }", "designations(first: 101) { id }"])
async def test_a_nested_first_under_a_technology_is_capped(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient], field: str
) -> None:
    client = await client_with(conn, gateway, "catalog:read", "firms:read")
    body: dict[str, Any] = await gql(client, f'{{ technology(code: "SEMI-004") {{ code {field} }} }}')
    name = field.split("(")[0]
    assert body["data"] == {"technology": {"code": "SEMI-004", name: None}}
    (error,) = body["errors"]
    assert error["path"] == ["technology", name]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}


async def test_two_confirmations_issued_on_one_day_with_different_terms_are_both_kept(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    # Found by a review: the firms service records both, and the read model kept the first (its
    # key had no term), so on a day only the second covers, the firm did not hold the technology.
    short = {"technology_code": "SEMI-025", "issued_on": date(2021, 3, 2), "valid_until": date(2021, 9, 1)}
    long = {"technology_code": "SEMI-025", "issued_on": date(2021, 3, 2), "valid_until": date(2024, 3, 2)}
    await batch(
        conn,
        firm_event(
            firm(F2, version=2, name_en="Daesung Parts", name_ko="대성부품", confirmations=[short, long]),
            FIRM_CONFIRMATION_ADDED.type,
        ),
    )
    client = await client_with(conn, gateway, "catalog:read", "firms:read")
    data = (await gql(client, HOLDERS, day="2022-01-03", brn=F2))["data"]
    assert data["technology"]["onDay"] == [{"brn": F2}]
    assert data["technology"]["confirmations"] == [
        {
            "issuedOn": "2021-03-02",
            "validUntil": "2024-03-02",
            "firm": {"brn": F2},
            "technology": {"code": "SEMI-025"},
        }
    ]
    assert [c["validUntil"] for c in data["firm"]["confirmations"]] == ["2021-09-01", "2024-03-02"]
