"""The partner guide's six questions, each asked as the guide writes it, on the whole demo.

tests/contract/test_partner_guide.py runs every example of the guides on a small slice of the
demo built for the guide; this runs the examples under the six questions on the demo dataset
itself (2019-2026, every revision, firm, designation, project and payment line), as `make dev`
serves it. The Korean guide shows the same examples in the same order (checked there), so these
are its queries too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "partner-guide.md"
QUESTION = re.compile(r"^### ([1-6])\. (.+)$", re.MULTILINE)
GRAPHQL = re.compile(r"^```graphql\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def questions() -> list[tuple[str, str]]:
    """(question number and block index, the query) of every GraphQL block under the six questions."""
    text = GUIDE.read_text(encoding="utf-8")
    starts = list(QUESTION.finditer(text))
    found = []
    for m, following in zip(starts, [*starts[1:], None], strict=True):
        end = following.start() if following else text.find("\n## ", m.end())
        for i, block in enumerate(GRAPHQL.findall(text, m.end(), end)):
            found.append((f"q{m.group(1)}-{i}", block))
    return found


QUESTIONS = questions()


def empty(value: Any) -> bool:
    """Nothing to show: null, an empty list, or a connection without edges."""
    if value is None or value == []:
        return True
    return isinstance(value, dict) and "edges" in value and not value["edges"]


@pytest.mark.unit
def test_every_question_has_its_query() -> None:
    assert {name.split("-")[0] for name, _ in QUESTIONS} == {f"q{n}" for n in range(1, 7)}


async def test_each_question_is_answered_on_the_demo(demo_partner: httpx.AsyncClient) -> None:
    for name, query in QUESTIONS:
        r = await demo_partner.post("/graphql", json={"query": query})
        assert r.status_code == 200, (name, r.text)
        body = r.json()
        assert "errors" not in body, (name, json.dumps(body["errors"], ensure_ascii=False))
        for field, value in body["data"].items():
            assert not empty(value), f"{name}: `{field}` is empty on the demo"


async def test_the_answers_carry_what_the_questions_ask(demo_partner: httpx.AsyncClient) -> None:
    answers = {}
    for name, query in QUESTIONS:
        r = await demo_partner.post("/graphql", json={"query": query})
        answers[name] = r.json()["data"]
    # 1: a technology's money over every fiscal year, in one field.
    years = [y["fiscalYear"] for y in answers["q1-0"]["technology"]["fundingByYear"]]
    assert years == sorted(years)
    assert len(years) >= 2
    # 5: the 2022 revision retired technologies, and what it touches is listed.
    revisions = [e["node"] for e in answers["q5-0"]["revisions"]["edges"]]
    assert any(c["op"] == "RETIRE" for r in revisions for c in r["changes"])
    assert any(r["industryCounts"] for r in revisions)
    # 6: the path to 200 by 2030.
    progress = answers["q6-0"]["endOf2024"]
    assert progress["targetYear"] == 2030
    assert progress["target"] == 200
    assert progress["byYear"][-1]["cumulative"] == progress["designated"]
