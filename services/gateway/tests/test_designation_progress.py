"""Progress toward 200 leading firms: designated ever, active on a day, per cohort."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from mpe_kit import db
from mpe_kit.consumer import Event

from .conftest import apply, brn, designation, designation_event, gql, new_key

PROGRESS = """
query($asOf: Date) {
  designationProgress(asOf: $asOf) { asOf designated active target byCohort { cohort designated } }
}
"""

A, B, C, H, S, R = (brn(n) for n in (1, 2, 3, 4, 5, 6))


@pytest.fixture
async def progress_seeded(conn: db.Conn) -> None:
    """Leading designations over the years; firms need not have arrived for progress to count."""
    events: list[Event] = []

    def d(number: str, *moves: tuple[str, date], **kw: object) -> None:
        events.append(designation_event(designation(uuid.uuid4(), number, *moves, **kw)))  # type: ignore[arg-type]

    # A: cohort 1, still designated.
    d(A, ("under_review", date(2020, 11, 2)), ("designated", date(2021, 1, 15)), cohort=1)
    # B: cohort 1, revoked from 1 Jun 2022, then designated again in cohort 3.
    d(
        B,
        ("under_review", date(2020, 11, 2)),
        ("designated", date(2021, 1, 15)),
        ("revoked", date(2022, 6, 1)),
    )
    d(
        B,
        ("under_review", date(2022, 10, 4)),
        ("designated", date(2023, 3, 2)),
        cohort=3,
        applied_on=date(2022, 9, 1),
    )
    # C: cohort 2, still designated.
    d(
        C,
        ("under_review", date(2021, 10, 1)),
        ("designated", date(2022, 3, 2)),
        cohort=2,
        applied_on=date(2021, 9, 1),
    )
    # H: cohort 3, expired from 1 Sep 2023.
    d(
        H,
        ("under_review", date(2022, 10, 4)),
        ("designated", date(2023, 3, 2)),
        ("expired", date(2023, 9, 1)),
        cohort=3,
        applied_on=date(2022, 9, 1),
    )
    # Never counted: a specialized designation, a leading one still under review, a rejected one.
    d(S, ("under_review", date(2020, 11, 2)), ("designated", date(2021, 1, 15)), kind="specialized")
    d(R, ("under_review", date(2020, 11, 2)))
    d(R, ("under_review", date(2020, 11, 2)), ("rejected", date(2021, 1, 15)), cohort=2)
    await apply(conn, *events)


@pytest.mark.usefixtures("progress_seeded")
@pytest.mark.parametrize(
    ("as_of", "designated", "active", "by_cohort"),
    [
        ("2020-12-31", 0, 0, []),
        ("2021-01-15", 2, 2, [(1, 2)]),  # the day designated counts
        ("2022-05-31", 3, 3, [(1, 2), (2, 1)]),
        (
            "2022-06-01",
            3,
            2,
            [(1, 2), (2, 1)],
        ),  # B's revocation takes effect: still designated, no longer active
        ("2023-03-02", 4, 4, [(1, 2), (2, 1), (3, 2)]),  # B again (counted once overall), and H
        ("2023-09-01", 4, 3, [(1, 2), (2, 1), (3, 2)]),  # H expired
        ("2026-01-15", 4, 2, [(1, 2), (2, 1), (3, 2)]),  # A's five years are over
    ],
)
async def test_progress_on_a_day(
    conn: db.Conn,
    gateway: Callable[..., httpx.AsyncClient],
    as_of: str,
    designated: int,
    active: int,
    by_cohort: list[tuple[int, int]],
) -> None:
    client = gateway((await new_key(conn, "firms:read")).secret)
    body = await gql(client, PROGRESS, asOf=as_of)
    assert body == {
        "data": {
            "designationProgress": {
                "asOf": as_of,
                "designated": designated,
                "active": active,
                "target": 200,
                "byCohort": [{"cohort": c, "designated": n} for c, n in by_cohort],
            }
        }
    }


@pytest.mark.usefixtures("progress_seeded")
async def test_progress_defaults_to_today_in_korea(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    client = gateway((await new_key(conn, "firms:read")).secret)
    before = datetime.now(ZoneInfo("Asia/Seoul")).date()
    data = (await gql(client, PROGRESS))["data"]["designationProgress"]
    after = datetime.now(ZoneInfo("Asia/Seoul")).date()
    assert data["asOf"] in {before.isoformat(), after.isoformat()}
    assert data["designated"] == 4


async def test_progress_over_an_empty_read_model(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    client = gateway((await new_key(conn, "firms:read")).secret)
    data = (await gql(client, PROGRESS, asOf="2024-01-01"))["data"]["designationProgress"]
    assert (data["designated"], data["active"], data["target"], data["byCohort"]) == (0, 0, 200, [])


PATH = """
query($asOf: Date) {
  designationProgress(asOf: $asOf) { designated targetYear neededPerYear byYear { year designated cumulative } }
}
"""


@pytest.mark.usefixtures("progress_seeded")
@pytest.mark.parametrize(
    ("as_of", "by_year", "needed"),
    [
        ("2020-12-31", [], 19),  # (200 - 0) over 2020 … 2030, eleven years, rounded up
        ("2021-01-15", [(2021, 2, 2)], 20),  # (200 - 2) / 10
        # B's second designation in 2023 is no new firm; 2024 and 2025 had none and are listed.
        ("2025-06-30", [(2021, 2, 2), (2022, 1, 3), (2023, 1, 4), (2024, 0, 4), (2025, 0, 4)], 33),
        (
            "2030-12-31",
            [(y, n, c) for y, n, c in [(2021, 2, 2), (2022, 1, 3), (2023, 1, 4)]]
            + [(y, 0, 4) for y in range(2024, 2031)],
            196,
        ),  # the last year: all of what is missing
        (
            "2031-01-01",
            [(2021, 2, 2), (2022, 1, 3), (2023, 1, 4)] + [(y, 0, 4) for y in range(2024, 2032)],
            None,
        ),
    ],
)
async def test_the_path_to_the_target_by_year(
    conn: db.Conn,
    gateway: Callable[..., httpx.AsyncClient],
    as_of: str,
    by_year: list[tuple[int, int, int]],
    needed: int | None,
) -> None:
    client = gateway((await new_key(conn, "firms:read")).secret)
    data = (await gql(client, PATH, asOf=as_of))["data"]["designationProgress"]
    assert data["targetYear"] == 2030
    assert data["neededPerYear"] == needed
    assert [(y["year"], y["designated"], y["cumulative"]) for y in data["byYear"]] == by_year
    if by_year:
        assert by_year[-1][2] == data["designated"]


async def test_the_target_met_needs_nothing_more(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    await apply(
        conn,
        *(
            designation_event(
                designation(uuid.uuid4(), brn(1000 + n), ("designated", date(2024, 5, 2)), cohort=4)
            )
            for n in range(201)
        ),
    )
    client = gateway((await new_key(conn, "firms:read")).secret)
    data = (await gql(client, PATH, asOf="2025-01-01"))["data"]["designationProgress"]
    assert (data["designated"], data["neededPerYear"]) == (201, 0)
    assert data["byYear"] == [
        {"year": 2024, "designated": 201, "cumulative": 201},
        {"year": 2025, "designated": 0, "cumulative": 201},
    ]


@pytest.mark.usefixtures("progress_seeded")
@pytest.mark.parametrize("as_of", ["1999-12-31", "2101-01-01", "9999-12-31"])
async def test_a_day_outside_the_program_is_refused(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient], as_of: str
) -> None:
    # 9999-12-31 used to list every year up to 9999 (8,000 rows of byYear), counted 30 by the cost limit.
    client = gateway((await new_key(conn, "firms:read")).secret)
    body = await gql(client, PATH, asOf=as_of)
    assert body["data"] == {"designationProgress": None}
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert error["message"] == f"`asOf` must be a day from 2000-01-01 to 2100-12-31; got {as_of}."


@pytest.mark.usefixtures("progress_seeded")
async def test_the_last_day_of_the_program_lists_its_years(
    conn: db.Conn, gateway: Callable[..., httpx.AsyncClient]
) -> None:
    client = gateway((await new_key(conn, "firms:read")).secret)
    data = (await gql(client, PATH, asOf="2100-12-31"))["data"]["designationProgress"]
    assert [y["year"] for y in data["byYear"]] == list(range(2021, 2101))
