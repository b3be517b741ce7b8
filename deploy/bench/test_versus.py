"""versus_postgraphile.py's comparison of the two answers (`uv run pytest deploy/bench`)."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # deploy/bench is no package: its modules by name

import versus_postgraphile as versus

pytestmark = pytest.mark.unit

FIRM = {"brn": "5148177706", "nameEn": "Hanil Precision", "nameKo": "한일정밀", "region": "경기"}


def ours(designations: int = 2, committed: str = "1500000000") -> dict[str, Any]:
    """The gateway's answer to query 1, one technology, as the gateway writes it."""
    return {
        "data": {
            "technologies": {
                "totalCount": 213,
                "pageInfo": {"hasNextPage": True, "endCursor": "WyJBMDEiXQ"},
                "edges": [
                    {
                        "cursor": "WyJBMDEiXQ",
                        "node": {
                            "code": "A01",
                            "nameEn": "High-purity fluorine polyimide",
                            "nameKo": "고순도 불화 폴리이미드",
                            "kind": "MATERIAL",
                            "status": "LISTED",
                            "listedOn": "2020-01-01",
                            "industry": {
                                "code": "semiconductor",
                                "nameEn": "Semiconductors",
                                "nameKo": "반도체",
                            },
                            "funding": {"committedKrw": committed, "disbursedKrw": "0", "projectCount": 3},
                            "designations": [
                                {
                                    "id": f"00000000-0000-0000-0000-00000000000{i}",
                                    "kind": "LEADING",
                                    "cohort": 3,
                                    "designatedOn": "2023-06-01",
                                    "validUntil": None,
                                    "firm": FIRM | {"size": "SME"},
                                }
                                for i in range(designations)
                            ],
                        },
                    }
                ],
            }
        }
    }


def theirs(designations: int = 2, funding: bool = True) -> dict[str, Any]:
    """PostGraphile's answer to its version of query 1, for the same rows."""
    rows = [{"committedKrw": "1500000000", "disbursedKrw": "0", "projectCount": 3}] if funding else []
    return {
        "data": {
            "allTechnologies": {
                "totalCount": 213,
                "pageInfo": {"hasNextPage": True, "endCursor": "WyJuYXR1cmFsIiwxXQ=="},
                "edges": [
                    {
                        "cursor": "WyJuYXR1cmFsIiwxXQ==",
                        "node": {
                            "code": "A01",
                            "nameEn": "High-purity fluorine polyimide",
                            "nameKo": "고순도 불화 폴리이미드",
                            "kind": "material",
                            "status": "listed",
                            "listedOn": "2020-01-01",
                            "industryByIndustryCode": {
                                "code": "semiconductor",
                                "nameEn": "Semiconductors",
                                "nameKo": "반도체",
                            },
                            "technologyYearFundingsByTechnologyCode": {"nodes": rows},
                            "designationTechnologiesByTechnologyCode": {
                                "nodes": [
                                    {
                                        "designationByDesignationId": {
                                            "id": f"00000000-0000-0000-0000-00000000000{i}",
                                            "kind": "leading",
                                            "cohort": 3,
                                            "designatedOn": "2023-06-01",
                                            "validUntil": None,
                                            "firmByBrn": FIRM | {"size": "sme"},
                                        }
                                    }
                                    for i in range(designations)
                                ]
                            },
                        },
                    }
                ],
            }
        }
    }


def links(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The designation links of PostGraphile's one technology."""
    node = answer["data"]["allTechnologies"]["edges"][0]["node"]
    found: list[dict[str, Any]] = node["designationTechnologiesByTechnologyCode"]["nodes"]
    return found


def difference(a: dict[str, Any], b: dict[str, Any]) -> str | None:
    return versus.first_difference(versus.ours_page(a), versus.postgraphile_page(b))


def test_the_same_rows_agree_whatever_the_enum_case_and_cursors() -> None:
    assert difference(ours(), theirs()) is None


def test_a_missing_designation_is_found() -> None:
    assert (
        difference(ours(designations=2), theirs(designations=1))
        == ".nodes[0].designations: 2 items against 1"
    )


def test_designations_in_another_order_differ() -> None:
    swapped = theirs()
    links(swapped).reverse()
    assert difference(ours(), swapped) == (
        ".nodes[0].designations[0].id: '00000000-0000-0000-0000-000000000000'"
        " against '00000000-0000-0000-0000-000000000001'"
    )


def test_a_firm_field_that_differs_is_named() -> None:
    other = theirs()
    links(other)[1]["designationByDesignationId"]["firmByBrn"]["nameKo"] = "다른 회사"
    assert (
        difference(ours(), other) == ".nodes[0].designations[1].firm.nameKo: '한일정밀' against '다른 회사'"
    )


def test_no_funding_row_reads_as_the_gateway_zero_sums() -> None:
    assert difference(ours(committed="0"), theirs(funding=False)) == (
        ".nodes[0].funding[2]: 3 against 0"  # the gateway's zero sums count no project either
    )
    zero = ours(committed="0")
    zero["data"]["technologies"]["edges"][0]["node"]["funding"]["projectCount"] = 0
    assert difference(zero, theirs(funding=False)) is None


def test_the_page_totals_are_compared() -> None:
    more = copy.deepcopy(theirs())
    more["data"]["allTechnologies"]["totalCount"] = 214
    assert difference(ours(), more) == ".totalCount: 213 against 214"


def test_a_field_the_comparison_does_not_map_is_refused() -> None:
    wider = ours()
    wider["data"]["technologies"]["edges"][0]["node"]["description"] = "a field PostGraphile is not asked for"
    with pytest.raises(SystemExit, match="description"):
        versus.ours_page(wider)


def test_a_designation_without_its_firm_compares_as_null() -> None:
    mine, other = ours(), theirs()
    mine["data"]["technologies"]["edges"][0]["node"]["designations"][0]["firm"] = None
    links(other)[0]["designationByDesignationId"]["firmByBrn"] = None
    assert difference(mine, other) is None
    assert difference(mine, theirs()) is not None


def test_a_graphql_target_posts_the_document_with_its_headers() -> None:
    import base64
    import json

    import bench_vegeta

    line = bench_vegeta.graphql_target("http://127.0.0.1:1/graphql", "{ a }", {"X-API-Key": "k"})
    target = json.loads(line)
    assert "\n" not in line
    assert (target["method"], target["url"]) == ("POST", "http://127.0.0.1:1/graphql")
    assert json.loads(base64.b64decode(target["body"])) == {"query": "{ a }"}
    assert target["header"] == {"Content-Type": ["application/json"], "X-API-Key": ["k"]}


def test_cpu_medians_skip_runs_without_a_figure_and_take_the_median_of_each_sum() -> None:
    import ab

    def run(own: float | None, pg: float, p99: float) -> dict[str, Any]:
        return {"cpu_ms_per_request": own, "postgres_cpu_ms_per_request": pg, "p99_ms": p99}

    assert ab.cpu_medians([run(None, 1.0, 5.0)]) is None
    m = ab.cpu_medians([run(1.0, 4.0, 9.0), run(2.0, 1.0, 7.0), run(3.0, 3.0, 8.0), run(None, 0.0, 1.0)])
    assert m == {"server": 2.0, "postgres": 3.0, "together": 5.0, "p99_ms": 8.0, "runs": 3}
