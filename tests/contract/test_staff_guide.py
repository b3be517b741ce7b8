"""The Korean guide for ministry staff (docs/staff-guide.ko.md) stays true to the catalog, firms
and budget REST APIs it describes.

- Every route it names (`POST /v1/firms`) is one of the services', in the section of that
  service; every `/v1/` route of each service is named in its section's table.
- Every `curl` of its shell examples calls a route that exists, on the port of its service.
- It links nothing outside the machine: staff and partners sit on separated networks (망분리),
  where a link to the internet leads nowhere. Its links to files of the repository lead to files
  and headings that exist.
- Its tables of status moves, cost-share caps, ports and limits give what the code does.

The services' OpenAPI documents are built from their FastAPI apps without starting them (the
lifespan, which opens the database pool, never runs): no Postgres, no Kafka.
"""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from budget import domain as budget_domain
from budget import schemas as budget_schemas
from budget.app import create_app as budget_app
from budget.settings import BudgetSettings
from catalog.app import create_app as catalog_app
from catalog.settings import CatalogSettings
from firms import domain as firms_domain
from firms import schemas as firms_schemas
from firms.app import create_app as firms_app
from firms.settings import FirmsSettings
from mpe_kit import korean
from mpe_kit.settings import ServiceSettings

from .markdown import CODE_SPAN, HEADING, anchors, page

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "staff-guide.ko.md"

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
SHELLS = {"sh", "bash", "shell", "console", "zsh"}
# A span that reads as a route: one method or several (`PUT/GET`, which the guide must not use).
ROUTE_SPAN = re.compile(r"^([A-Z]+(?:/[A-Z]+)*) (/\S*)$")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:[ \t]+\"[^\"]*\")?\)")
URL = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*)://([^/\s)>\]'\"`]*)")
LOCAL_HOSTS = {"localhost", "127.0.0.1"}


@dataclass(frozen=True)
class Service:
    """One of the three REST services: its section of the guide and how to build its app."""

    name: str
    section: str
    app: Callable[..., FastAPI]
    settings: type[ServiceSettings]

    @property
    def port(self) -> int:
        """The port it listens on by default, which is also `make dev`'s."""
        port = self.settings.model_fields["port"].default
        assert isinstance(port, int)
        return port


SERVICES = {
    s.name: s
    for s in (
        Service("catalog", "카탈로그 API", catalog_app, CatalogSettings),
        Service("firms", "기업 API", firms_app, FirmsSettings),
        Service("budget", "예산 API", budget_app, BudgetSettings),
    )
}


@functools.cache
def openapi(name: str) -> dict[str, Any]:
    """The service's OpenAPI document, from its app as the services' tests build it."""
    service = SERVICES[name]
    settings = service.settings(
        database_url=SecretStr("postgresql://nobody@127.0.0.1:1/none"),
        jwt_secret=SecretStr("staff-guide-test-secret-of-32-bytes"),
        kafka_bootstrap="127.0.0.1:1",
        log_json=False,
    )
    document: dict[str, Any] = service.app(settings, with_workers=False).openapi()
    return document


def routes(name: str) -> set[tuple[str, str]]:
    """(METHOD, path) of every operation of the service's OpenAPI document."""
    return {
        (method.upper(), path)
        for path, operations in openapi(name)["paths"].items()
        for method in operations
        if method.upper() in METHODS
    }


def template_for(name: str, method: str, path: str) -> str | None:
    """The service's path template that `path` fills in for `method` (`$ID` fills a `{…}`)."""
    for template in openapi(name)["paths"]:
        pattern = "".join(
            "[^/]+" if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{[^}]+\})", template)
        )
        if re.fullmatch(pattern, path) and (method, template) in routes(name):
            return template
    return None


# The guide's sections and tables.


def sections(prose: str) -> dict[str, str]:
    """The prose under each `##` heading up to the next; what comes before the first, under ""."""
    marks = [m for m in HEADING.finditer(prose) if len(m.group(1)) == 2]
    found = {"": prose[: marks[0].start()] if marks else prose}
    for m, after in zip(marks, [*marks[1:], None], strict=True):
        found[m.group(2)] = prose[m.end() : after.start() if after else len(prose)]
    return found


def spans(text: str) -> list[str]:
    """The inline code of some prose, whitespace runs made one space (a span may wrap)."""
    return [" ".join(m.group(2).split()) for m in CODE_SPAN.finditer(text)]


def cells(line: str) -> list[str]:
    """A table row's cells; a `|` inside inline code does not end a cell."""
    out, cell, ticks = [], "", False
    for c in line.strip().strip("|"):
        if c == "`":
            ticks = not ticks
        if c == "|" and not ticks:
            out.append(cell.strip())
            cell = ""
        else:
            cell += c
    return [*out, cell.strip()]


def tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """(header, rows) of each table in some prose; tables may be indented (inside a list item)."""
    found: list[tuple[list[str], list[list[str]]]] = []
    current: list[list[str]] = []
    for line in [*text.split("\n"), ""]:
        if line.strip().startswith("|"):
            current.append(cells(line))
        elif current:
            header, *rows = current
            found.append((header, [r for r in rows if not all(re.fullmatch(r":?-+:?", c) for c in r)]))
            current = []
    return found


def table(text: str, header: list[str]) -> list[list[str]]:
    """The rows of the one table with this header."""
    (rows,) = [rows for h, rows in tables(text) if h == header]
    return rows


def service_sections() -> dict[str, str]:
    """The guide's section of each service."""
    found = sections(page(GUIDE).prose)
    missing = [s.section for s in SERVICES.values() if s.section not in found]
    assert not missing, f"the guide has no section `## {missing[0]}`"
    return {name: found[s.section] for name, s in SERVICES.items()}


def named_routes(text: str) -> list[tuple[str, str]]:
    """(methods, path) of each inline code span in some prose that reads as a route."""
    return [(m.group(1), m.group(2)) for s in spans(text) if (m := ROUTE_SPAN.match(s))]


# curl in the shell examples

# A URL curl is given on this machine: host, port, path, then any query or fragment.
CURL_URL = re.compile(r"^(?:https?://)?(?:localhost|127\.0\.0\.1):(\d+)(/[^?#]*)?(?:[?#].*)?$")
SENDS_DATA = {"-d", "--data", "--data-raw", "--data-binary", "--data-urlencode", "--json", "-F", "--form"}
BETWEEN_COMMANDS = {"|", "||", "&&", ";", "&", "(", ")"}


@dataclass(frozen=True)
class Call:
    """What one curl command asks for."""

    method: str
    port: int
    path: str
    command: str


def curls(script: str) -> list[Call]:
    """The curl commands of a shell script: comment lines dropped, continued lines joined.

    The method is `-X`'s, else POST when the command sends data, else GET. Each command must
    give exactly one URL on this machine, as `host:port/path` with or without `http://`.
    """
    code = "\n".join(line for line in script.split("\n") if not line.lstrip().startswith("#"))
    found = []
    for line in code.replace("\\\n", " ").split("\n"):
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = ""
        command: list[str] = []
        for token in [*lexer, ";"]:
            if token not in BETWEEN_COMMANDS:
                command.append(token)
                continue
            words = list(command)
            while words and re.fullmatch(r"[A-Za-z_]\w*=.*", words[0]):
                words.pop(0)  # X=1 curl …: the environment of the command
            if words and words[0] == "curl":
                found.append(_call(words, line))
            command = []
    return found


def _call(words: list[str], line: str) -> Call:
    method = None
    for i, word in enumerate(words):
        if word in ("-X", "--request"):
            method = words[i + 1]
        elif word.startswith("-X") and len(word) > 2:
            method = word[2:]
    if method is None:
        method = "POST" if SENDS_DATA.intersection(words) else "GET"
    urls = [m for w in words if (m := CURL_URL.match(w))]
    assert len(urls) == 1, f"a curl should give one URL of this machine (host:port/path): {line}"
    return Call(method.upper(), int(urls[0].group(1)), urls[0].group(2) or "/", line.strip())


def guide_curls() -> list[Call]:
    """Every curl of the guide's shell examples."""
    return [call for b in page(GUIDE).blocks if b.language in SHELLS for call in curls(b.body)]


# links


def off_machine(text: str) -> list[str]:
    """Every address in a text that leads off this machine."""
    found = [
        m.group(0)
        for m in URL.finditer(text)
        if m.group(2).rpartition("@")[2].split(":")[0].strip("[]").lower() not in LOCAL_HOSTS
    ]
    found += re.findall(r"\bwww\.[\w-]+\.[\w.-]+", text)
    for target in LINK.findall(text):
        scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", target)
        if target.startswith("//") or (scheme and scheme.group(1).lower() not in ("http", "https")):
            found.append(target)  # //cdn.example, mailto:, ftp: …
    return found


# the tests


@pytest.mark.unit
@pytest.mark.parametrize("name", sorted(SERVICES))
def test_the_openapi_document_is_built_without_a_server(name: str) -> None:
    # So that the checks below compare the guide with something: each service's routes under /v1/.
    assert len({r for r in routes(name) if r[1].startswith("/v1/")}) >= 10


@pytest.mark.unit
def test_every_route_the_guide_names_is_a_route_of_the_service_whose_section_names_it() -> None:
    by_section = service_sections()
    every = set().union(*(routes(name) for name in SERVICES))
    wrong = []
    for name, text in by_section.items():
        for methods, path in named_routes(text):
            if (methods, path) not in routes(name):
                wrong.append(f"`{methods} {path}` in the section of {name}")
    # Outside the services' sections (the errors, say), a route is any service's.
    own = {s.section for s in SERVICES.values()}
    elsewhere = [text for heading, text in sections(page(GUIDE).prose).items() if heading not in own]
    for methods, path in named_routes("\n".join(elsewhere)):
        if (methods, path) not in every:
            wrong.append(f"`{methods} {path}`")
    assert not wrong, (
        "the guide names routes no service has (one method, the path as the service spells it):\n"
        + "\n".join(wrong)
    )
    assert len(named_routes(page(GUIDE).prose)) >= 33


@pytest.mark.unit
@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_services_section_names_every_v1_route_of_the_service_in_its_table(name: str) -> None:
    text = service_sections()[name]
    in_tables = {
        route for _, rows in tables(text) for row in rows for route in named_routes(row[0] if row else "")
    }
    missing = sorted(r for r in routes(name) if r[1].startswith("/v1/") and r not in in_tables)
    assert not missing, f"the guide's table of {name} routes lacks: " + ", ".join(
        f"`{m} {p}`" for m, p in missing
    )


@pytest.mark.unit
def test_every_curl_of_the_shell_examples_calls_a_route_of_the_service_on_its_port() -> None:
    by_port = {s.port: s.name for s in SERVICES.values()}
    for block in page(GUIDE).blocks:
        # A curl outside a shell block would escape this check.
        assert block.language in SHELLS or "curl " not in block.body, (
            f"line {block.line}: ```{block.language}"
        )
    calls = guide_curls()
    assert len(calls) >= 8
    wrong = []
    for call in calls:
        name = by_port.get(call.port)
        if name is None:
            wrong.append(f"port {call.port} is none of {by_port} (catalog, firms, budget): {call.command}")
        elif template_for(name, call.method, call.path) is None:
            wrong.append(f"{name} (port {call.port}) has no `{call.method} {call.path}`: {call.command}")
    assert not wrong, "\n".join(wrong)
    # Each service is shown at least once.
    assert {by_port.get(c.port) for c in calls} >= set(SERVICES)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (
            'curl -s localhost:8001/v1/industries -H "Authorization: Bearer $T"',
            [("GET", 8001, "/v1/industries")],
        ),
        (
            '# a comment with curl localhost:1/x\ncurl -s -X POST localhost:8003/v1/firms \\\n  -d \'{"brn": "1"}\'',
            [("POST", 8003, "/v1/firms")],
        ),
        ("curl -d '{}' http://127.0.0.1:8002/v1/programs | jq .", [("POST", 8002, "/v1/programs")]),
        ("curl -XPATCH 'localhost:8003/v1/firms/1?x=1#y'", [("PATCH", 8003, "/v1/firms/1")]),
        (
            "curl --request DELETE localhost:8001/v1/revisions/$ID && curl localhost:8001/v1/revisions",
            [("DELETE", 8001, "/v1/revisions/$ID"), ("GET", 8001, "/v1/revisions")],
        ),
        ("X=1 curl localhost:8002/v1/projects; . .dev/credentials.env", [("GET", 8002, "/v1/projects")]),
        ("CATALOG_JWT_SECRET=$(cat .dev/jwt-secret) uv run catalog token --sub a", []),
    ],
)
def test_a_curl_is_read_as_its_method_port_and_path(
    script: str, expected: list[tuple[str, int, str]]
) -> None:
    assert [(c.method, c.port, c.path) for c in curls(script)] == expected


@pytest.mark.unit
def test_a_curl_to_another_machine_or_to_no_url_is_refused() -> None:
    for script in ("curl -s https://example.org/v1/firms", "curl -s -H 'a: b'"):
        with pytest.raises(AssertionError, match="one URL of this machine"):
            curls(script)


@pytest.mark.unit
def test_a_path_is_matched_to_its_template_and_method() -> None:
    assert template_for("firms", "GET", "/v1/firms/138-86-30249") == "/v1/firms/{brn}"
    assert template_for("catalog", "POST", "/v1/revisions/$REVISION_ID/publish") == (
        "/v1/revisions/{revision_id}/publish"
    )
    assert template_for("firms", "DELETE", "/v1/firms/1") is None
    assert template_for("budget", "GET", "/v1/projects/A/B") is None


@pytest.mark.unit
def test_the_guide_links_nothing_outside_the_machine() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    assert "127.0.0.1:8001" in text  # the addresses of the services are there, and allowed
    assert off_machine(text) == [], "staff and partners work on separated networks (망분리)"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("see http://127.0.0.1:8001/docs and <http://localhost:8003/v1>", []),
        ("[docs](https://fastapi.tiangolo.com/)", ["https://fastapi.tiangolo.com"]),
        ("curl -s http://user@cdn.example:8080/x", ["http://user@cdn.example:8080"]),
        ("www.motie.go.kr", ["www.motie.go.kr"]),
        (
            "[mail](mailto:staff@motie.go.kr) ![x](//cdn.example/x.png)",
            ["mailto:staff@motie.go.kr", "//cdn.example/x.png"],
        ),
        ("[README](../README.md#the-catalog-api)", []),
    ],
)
def test_an_address_off_the_machine_is_found_wherever_it_is(text: str, found: list[str]) -> None:
    assert off_machine(text) == found


@pytest.mark.unit
def test_the_guides_links_lead_to_files_and_headings_that_exist() -> None:
    links = LINK.findall(page(GUIDE).prose)
    assert "../README.md#the-catalog-api" in links
    for link in links:
        if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:|//", link):
            continue  # an address, not a file: test_the_guide_links_nothing_outside_the_machine
        path, _, anchor = link.partition("#")
        target = (GUIDE.parent / unquote(path)).resolve() if path else GUIDE
        assert target.exists(), f"{link} leads to no file"
        if anchor:
            assert unquote(anchor) in anchors(target), f"{link} names no heading of {target.name}"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("name", "moves"),
    [("firms", firms_domain.MOVES), ("budget", budget_domain.MOVES)],
    ids=["designations", "projects"],
)
def test_the_table_of_status_moves_is_the_services(name: str, moves: dict[str, tuple[str, ...]]) -> None:
    in_guide: dict[str, set[str]] = {}
    for row in table(service_sections()[name], ["현재 상태", "바꿀 수 있는 상태"]):
        for status in spans(row[0]):
            in_guide[status] = set(spans(row[1]))
    assert in_guide == {status: set(to) for status, to in moves.items()}


@pytest.mark.unit
def test_the_table_of_cost_share_caps_is_the_budgets() -> None:
    rows = table(
        service_sections()["budget"],
        ["주관기업 규모", "정부출연금 비율 상한(총사업비 대비)", "현금 비율 하한(민간부담금 대비)"],
    )
    in_guide = {spans(r[0])[0]: (int(r[1].rstrip("%")), int(r[2].rstrip("%"))) for r in rows}
    assert in_guide == {s: (c.max_government_pct, c.min_cash_pct) for s, c in budget_domain.CAPS.items()}


@pytest.mark.unit
def test_the_table_of_services_gives_each_its_port() -> None:
    rows = table(sections(page(GUIDE).prose)["시작하기"], ["서비스", "다루는 데이터", "API", "OpenAPI 문서"])
    ports = {spans(r[0])[0]: {int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", "|".join(r))} for r in rows}
    assert ports == {s.name: {s.port} for s in SERVICES.values()}


def _stated(text: str, setting: str) -> float:
    """The default the guide gives a setting, as `SETTING`(1 MiB) or `SETTING`(5초)."""
    m = re.search(rf"`{setting}`\((\d+(?:\.\d+)?) ?(KiB|MiB|초)?", text)
    assert m is not None, f"the guide gives no default of `{setting}`"
    return float(m.group(1)) * {"KiB": 1024, "MiB": 1024 * 1024}.get(m.group(2) or "", 1)


@pytest.mark.unit
def test_the_limits_give_the_codes_numbers() -> None:
    text = sections(page(GUIDE).prose)["제한과 입력 규칙"]
    defaults = ServiceSettings.model_fields
    for setting in ("MAX_BODY_BYTES", "MAX_URL_BYTES", "MAX_IN_FLIGHT", "KAFKA_PROBE_INTERVAL_S"):
        assert _stated(text, setting) == defaults[setting.lower()].default, setting
    assert f"과제 기간이 {budget_domain.MAX_PROJECT_YEARS}년을 넘음" in text
    assert f"오늘보다 {budget_schemas.PAYMENT_LEAD_DAYS}일 넘게 뒤임" in text
    assert f"확인서 유효 기간이 {firms_domain.CONFIRMATION_MAX_YEARS}년을 넘음" in text
    assert f"금액이 10^{len(str(budget_schemas.MAX_WON)) - 1}원" in text
    terms = re.findall(r"으뜸기업 (\d+)년, 전문기업 (\d+)년", service_sections()["firms"])
    assert terms == [(str(firms_domain.TERM_YEARS["leading"]), str(firms_domain.TERM_YEARS["specialized"]))]


@pytest.mark.unit
def test_the_korean_error_example_says_what_the_kit_says() -> None:
    (example,) = [
        b.body for b in page(GUIDE).blocks if "Accept-Language: ko" in b.body and "/v1/firms " in b.body
    ]
    assert f'"title":"{korean.TITLES[422]}"' in example
    assert f'"detail":"{korean.INVALID_REQUEST}"' in example
    assert f'"message":"{korean.field_message({"type": "missing"})}","type":"missing"' in example
    # The request leaves out name_en, which registering a firm needs.
    assert '"field":"name_en"' in example
    assert firms_schemas.FirmCreate.model_fields["name_en"].is_required()
    assert "name_en" not in example.split("\n#")[0]
