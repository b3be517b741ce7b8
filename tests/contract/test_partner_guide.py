"""Every GraphQL example of the partner guides (docs/partner-guide.md, and its Korean version
docs/partner-guide.ko.md) answers, without errors, with a key of every scope."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from graphql import build_schema, parse, validate

from gateway.read.budget.spending import DIMENSION_SIZES
from gateway.settings import GatewaySettings

from .conftest import Partner, assert_won_are_digits
from .export_sdl import ROOT, current_sdl

GUIDE = ROOT / "docs" / "partner-guide.md"
GUIDE_KO = ROOT / "docs" / "partner-guide.ko.md"
GUIDES = pytest.mark.parametrize("guide", [GUIDE, GUIDE_KO], ids=["en", "ko"])
TEXTS = {g: g.read_text(encoding="utf-8") for g in (GUIDE, GUIDE_KO)}
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^#{2,3} (.+)$", re.MULTILINE)


def blocks(text: str, language: str) -> list[tuple[str, str]]:
    """(the heading above it, its body) of each fenced block in `language`, in order."""
    found = []
    for m in FENCE.finditer(text):
        if m.group(1) == language:
            headings = HEADING.findall(text, 0, m.start())
            found.append((headings[-1] if headings else "top", m.group(2)))
    return found


def _id(heading: str, index: int) -> str:
    return f"{index:02d}-" + re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")[:40]


EXAMPLES = blocks(GUIDE.read_text(encoding="utf-8"), "graphql")


def _fenced(path: Path) -> list[str]:
    return [m.group(0) for m in FENCE.finditer(path.read_text(encoding="utf-8"))]


def empty(value: Any) -> bool:
    """Nothing to show: null, an empty list, or a connection without edges."""
    if value is None:
        return True
    if isinstance(value, list):
        return not value
    if isinstance(value, dict) and "edges" in value:
        return not value["edges"]
    return False


@pytest.mark.unit
def test_the_korean_guide_shows_the_same_examples_in_the_same_order() -> None:
    # So the examples run below for the English guide are the Korean guide's too.
    assert _fenced(GUIDE_KO) == _fenced(GUIDE)


@pytest.mark.unit
@GUIDES
def test_the_guide_has_examples_for_each_of_the_six_questions(guide: Path) -> None:
    text = guide.read_text(encoding="utf-8")
    for n in range(1, 7):
        start = text.index(f"\n### {n}. ")
        end = text.find("\n## ", start)
        section = text[start:end]
        assert "```graphql\n" in section, f"question {n} has no ```graphql example"
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize(("heading", "query"), EXAMPLES, ids=[_id(h, i) for i, (h, _) in enumerate(EXAMPLES)])
async def test_an_example_answers_without_errors(partner: Partner, heading: str, query: str) -> None:
    r = await partner.post(query)
    assert r.status_code == 200, r.text
    body = r.json()
    assert "errors" not in body, json.dumps(body["errors"], indent=2, ensure_ascii=False)
    data = body["data"]
    assert data, body
    for field, value in data.items():
        assert not empty(value), f"`{field}` came back empty under {heading!r}: {value!r}"
    assert_won_are_digits(data, query)


def _shell_queries(text: str) -> list[str]:
    """The GraphQL of each JSON request body in the guide's shell and Python examples."""
    queries = []
    for _, body in blocks(text, "sh"):
        payloads = re.findall(r"-d '(\{.*?\})'", body) + re.findall(r"<<'EOF'\n(.*?)\nEOF", body, re.DOTALL)
        queries += [json.loads(p)["query"] for p in payloads]
    for _, body in blocks(text, "python"):
        queries += re.findall(r'QUERY = """(.*?)"""', body, re.DOTALL)
    return queries


@pytest.mark.unit
@GUIDES
def test_the_requests_in_shell_and_python_examples_are_valid_against_the_schema(guide: Path) -> None:
    schema = build_schema(current_sdl())
    queries = _shell_queries(guide.read_text(encoding="utf-8"))
    assert len(queries) >= 4
    for query in queries:
        assert validate(schema, parse(query)) == [], query


@GUIDES
async def test_the_error_examples_are_what_the_gateway_answers(partner: Partner, guide: Path) -> None:
    text = TEXTS[guide]
    fences = list(FENCE.finditer(text))
    # A shell request followed at once by a JSON block: the answer the guide shows for it.
    pairs = [
        (a.group(2), b.group(2))
        for a, b in itertools.pairwise(fences)
        if (a.group(1), b.group(1)) == ("sh", "json") and not text[a.end() : b.start()].strip()
    ]
    assert pairs
    for request, shown in pairs:
        (payload,) = re.findall(r"-d '(\{.*?\})'", request)
        r = await partner.client.post("/graphql", json=json.loads(payload))
        answer = r.json()
        # Every answer carries `extensions.dataAsOf`, which the guide shows once on its own.
        assert "dataAsOf" in answer.pop("extensions")
        assert answer == json.loads(shown)
    (unauthorized,) = [body for _, body in blocks(text, "json") if '"status": 401' in body]
    r = await partner.client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"X-API-Key": "mpe_x"}
    )
    assert r.status_code == 401
    assert r.json() == json.loads(unauthorized)


@pytest.mark.unit
@GUIDES
def test_the_guide_points_at_files_that_exist(guide: Path) -> None:
    text = guide.read_text(encoding="utf-8")
    for link in re.findall(r"\]\((\.\./[^)#]+)\)", text):
        assert (guide.parent / link).resolve().exists(), link
    for path in ("services/gateway/schema.graphql", "tests/contract/test_partner_guide.py", "deploy/demo/"):
        assert path in text
        assert (Path(ROOT) / path).exists(), path


def _lists_without_first() -> dict[str, Any]:
    """What the cost counts for each list without `first` (root fields by their own name), a
    connection's edges aside."""
    from graphql import GraphQLObjectType

    from gateway.http.limits import declared_size, unpaged_list
    from gateway.read.schema import schema

    root = schema._schema.query_type
    counted = {}
    for type_ in schema._schema.type_map.values():
        if type_.name.startswith("__") or not isinstance(type_, GraphQLObjectType):
            continue
        for name, field in type_.fields.items():
            if unpaged_list(field) and name != "edges":
                counted[name if type_ is root else f"{type_.name}.{name}"] = declared_size(field)
    return counted


@pytest.mark.unit
@GUIDES
def test_the_table_of_lists_without_first_gives_what_the_cost_counts(guide: Path) -> None:
    rows = re.findall(r"^\| ((?:`[A-Za-z._]+`(?:, )?)+) \| ([\d,]+) \|$", TEXTS[guide], re.MULTILINE)
    in_guide = {
        name: int(count.replace(",", "")) for names, count in rows for name in re.findall(r"`([^`]+)`", names)
    }
    dimensions = {name: n for name, n in in_guide.items() if name.isupper()}
    lists = {name: n for name, n in in_guide.items() if not name.isupper()}
    counted = _lists_without_first()
    assert callable(counted.pop("spending"))  # counted from its groupBy: the dimensions' table
    assert lists == counted
    assert dimensions == DIMENSION_SIZES


@pytest.mark.unit
@GUIDES
def test_the_limits_table_gives_the_gateways_defaults(guide: Path) -> None:
    # The table's rows, by their code, against the settings' defaults (the guide once said 10,000
    # for the cost while the gateway allowed 25,000).
    defaults = {name: field.default for name, field in GatewaySettings.model_fields.items()}
    rows = {
        m.group(2): m.group(1)
        for m in re.finditer(r"^\|[^|]+\| ([^|]+) \| `?([A-Z_]+|HTTP 429)`? \|$", TEXTS[guide], re.MULTILINE)
    }
    number = re.compile(r"\d[\d,]*")

    def numbers(code: str) -> list[int]:
        return [int(n.replace(",", "")) for n in number.findall(rows[code])]

    assert numbers("HTTP 429") == [defaults["rate_limit_per_s"], defaults["rate_limit_burst"]]
    assert numbers("BAD_USER_INPUT") == [defaults["max_page_size"]]
    assert numbers("QUERY_TOO_DEEP") == [defaults["max_query_depth"]]
    assert numbers("TOO_MANY_ALIASES") == [defaults["max_aliases"]]
    assert numbers("TOO_MANY_TOKENS") == [defaults["max_tokens"]]
    assert numbers("QUERY_TOO_COSTLY") == [defaults["max_query_cost"]]
    assert numbers("TOO_MANY_OPERATIONS") == [defaults["max_operations_per_socket"]]
