"""docs/asyncapi.yaml through the pinned AsyncAPI CLI and HTML renderer (deploy/asyncapi)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "deploy" / "asyncapi" / "run.sh"
DOC = ROOT / "docs" / "asyncapi.yaml"

# Anything a browser would fetch by itself: scripts, stylesheets, images, frames, CSS imports and
# CSS urls. Hyperlinks (<a href>) are not loads: a reader follows them or not.
_LOADS = re.compile(
    r"<(?:script|link|img|iframe|source|video|audio|embed|object)\b[^>]*\b(?:src|href|data)\s*=\s*[\"']?"
    r"(?:https?:)?//"
    r"|@import\s+(?:url\()?[\"']?(?:https?:)?//"
    r"|url\(\s*[\"']?(?:https?:)?//",
    re.IGNORECASE,
)


@pytest.mark.timeout(900)
def test_the_document_is_valid_for_the_asyncapi_cli() -> None:
    result = subprocess.run(
        ["bash", str(RUN), "validate", str(DOC)], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is valid" in result.stdout


@pytest.mark.timeout(900)
def test_the_rendered_html_describes_every_topic_and_loads_nothing_from_elsewhere(tmp_path: Path) -> None:
    result = subprocess.run(
        ["bash", str(RUN), "render", str(DOC), str(tmp_path)], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout + result.stderr
    html = (tmp_path / "index.html").read_text()
    for topic in ("mpe.catalog.technology", "mpe.firms.designation", "mpe.budget.project.dlq"):
        assert topic in html
    assert "kr.mpe.budget.project.disbursed.v1" in html
    assert _LOADS.findall(html) == []
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]

    # In Chromium, with every request off this machine refused: none is made, the page renders.
    result = subprocess.run(
        ["bash", str(RUN), "check-offline", str(tmp_path / "index.html")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert json.loads(result.stdout.splitlines()[-1]) == {"outside": [], "errors": [], "rendered": True}, (
        result.stderr
    )
    assert result.returncode == 0


@pytest.mark.unit
def test_the_load_check_would_see_a_cdn() -> None:
    assert _LOADS.search('<script src="https://cdn.example/x.js"></script>')
    assert _LOADS.search("<link rel=stylesheet href=//cdn.example/x.css>")
    assert _LOADS.search("body{background:url('https://cdn.example/a.png')}")
    assert not _LOADS.search('<a href="https://www.iana.org/assignments/media-types/application/json">')
