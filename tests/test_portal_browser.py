"""The partner portal in a real browser, on `mpe-dev` with the demo data, as on a closed network.

Chromium (Debian's, which bootstrap installs; Playwright cannot download its own here) opens the
explorer, enters a key, runs the partner guide's first query, opens a subscription and sees the
technology a REST write lists; then the API reference, the Korean guide and the catalog's
Swagger UI and ReDoc. Every request the browser makes must go to the server of the page it
opened, and a screenshot of each page is kept in the test's directory (`screenshots/`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, WebSocket, expect, sync_playwright

from mpe_devstack.testing import free_dev_ports, kill_leftovers

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "services" / "gateway" / "portal" / "dist"
GUIDE = ROOT / "docs" / "partner-guide.md"
FIRST_QUERY = re.compile(r"^## A first query\n+```graphql\n(.*?)^```$", re.MULTILINE | re.DOTALL)
NEW_CODE = "SEMI-990"


@dataclass
class DevStack:
    """A running `mpe-dev`: its addresses and credentials."""

    gateway: str
    catalog: str
    creds: dict[str, str]
    logs: Path


@dataclass
class Requests:
    """Every URL the browser asked for, and those its Content-Security-Policy stopped before sending."""

    seen: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def record(self, request: Request) -> None:
        self.seen.append(request.url)

    def record_failure(self, request: Request) -> None:
        if request.failure == "csp":
            self.blocked.append(request.url)

    def foreign(self, origin: str, *, sent_only: bool = False) -> list[str]:
        """The URLs not on `origin` (http and its WebSocket alike); data: and blob: stay in the page.

        With `sent_only`, those the page's policy stopped before they left are not counted.
        """
        host = urlsplit(origin).netloc
        return [
            u
            for u in self.seen
            if urlsplit(u).scheme not in ("data", "blob")
            and urlsplit(u).netloc != host
            and not (sent_only and u in self.blocked)
        ]


@pytest.fixture
def dev_stack(tmp_path: Path) -> Iterator[DevStack]:
    """`mpe-dev` with the demo data on free ports, stopped at the end."""
    assert (DIST / "explorer" / "index.html").exists(), "the portal is not built: run `make docs`"
    home = tmp_path / "stack"
    home.mkdir()
    ports = free_dev_ports()
    env = {**os.environ, "MPE_DEV_DIR": str(home / "dev"), **{k: str(v) for k, v in ports.items()}}
    log_path = home / "mpe-dev.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "mpe-dev")],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        # As long as test_dev_stack's wait, and more: a busy machine shares its two cores.
        deadline = time.monotonic() + 300
        while "Ctrl-C stops everything" not in log_path.read_text():
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "mpe-dev not ready in 300 s"
            time.sleep(0.5)
        banner = log_path.read_text()
        gateway = f"http://127.0.0.1:{ports['MPE_DEV_GATEWAY_PORT']}"
        # `make dev` tells where the explorer and the docs are.
        assert f"{gateway}/explorer/" in banner
        assert f"{gateway}/docs/" in banner
        creds_file = home / "dev" / "credentials.env"
        creds = dict(line.split("=", 1) for line in creds_file.read_text().splitlines() if line)
        catalog = f"http://127.0.0.1:{ports['MPE_DEV_CATALOG_PORT']}"
        yield DevStack(gateway, catalog, creds, home / "dev" / "logs")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                kill_leftovers(home)


@pytest.fixture
def browser() -> Iterator[Browser]:
    """The system's Chromium, headless."""
    chromium = shutil.which("chromium")
    assert chromium, "no chromium on PATH: run deploy/bootstrap.sh"
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield launched
        finally:
            launched.close()


@contextlib.contextmanager
def fresh_page(browser: Browser) -> Iterator[tuple[Page, Requests]]:
    """A page in a context of its own (no storage shared), recording every request it makes."""
    requests = Requests()
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="ko-KR")
    page = context.new_page()
    page.on("request", requests.record)
    page.on("requestfailed", requests.record_failure)
    page.on("websocket", lambda ws: requests.seen.append(ws.url))
    try:
        yield page, requests
    finally:
        context.close()


def _set_query(page: Page, query: str) -> None:
    # Typing would fight the editor's bracket completion; CodeMirror takes the text as a whole.
    page.evaluate(
        "q => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(q)", query
    )


def _response_text(page: Page) -> str:
    text: str = page.evaluate(
        "() => document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()"
    )
    return text


def _wait_for_response(page: Page, ready: str, timeout_s: float = 30) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while True:
        text = _response_text(page)
        if ready in text:
            answer: dict[str, object] = json.loads(text)
            return answer
        assert time.monotonic() < deadline, f"no {ready!r} in the explorer's answer: {text!r}"
        page.wait_for_timeout(200)


def _list_a_technology(stack: DevStack) -> None:
    """A REST write: a revision that lists one new technology, published today (Seoul)."""
    today = datetime.now(ZoneInfo("Asia/Seoul")).date().isoformat()
    auth = {"Authorization": f"Bearer {stack.creds['MPE_STAFF_TOKEN']}"}
    technology = {"code": NEW_CODE, "industry_code": "SEMI", "kind": "material"}
    revision = {
        "title": "Portal browser test",
        "decided_on": today,
        "effective_on": today,
        "changes": [{"op": "add", "technology": {**technology, "name_en": "Test", "name_ko": "시험 기술"}}],
    }
    r = httpx.post(f"{stack.catalog}/v1/revisions", json=revision, headers=auth, timeout=10)
    assert r.status_code == 201, r.text
    r = httpx.post(f"{stack.catalog}/v1/revisions/{r.json()['id']}/publish", headers=auth, timeout=10)
    assert r.status_code == 200, r.text


# One stack for the three pages: starting `mpe-dev` is most of the time this takes.
@pytest.mark.timeout(480)
def test_the_portal_works_with_nothing_but_the_gateway(
    dev_stack: DevStack, browser: Browser, tmp_path: Path
) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with fresh_page(browser) as (page, requests):
        _explorer_queries_and_subscribes(dev_stack, page, requests, shots)
    with fresh_page(browser) as (page, requests):
        _reference_and_korean_guide(dev_stack, page, requests, shots)
    with fresh_page(browser) as (page, requests):
        _staff_swagger_ui_and_redoc(dev_stack, page, requests, shots)


def _explorer_queries_and_subscribes(stack: DevStack, page: Page, requests: Requests, shots: Path) -> None:
    """A key entered once; the guide's first query; a subscription that sees a REST write."""
    key = stack.creds["MPE_PARTNER_KEY"]
    page.goto(f"{stack.gateway}/graphql")  # a browser opening /graphql lands on the explorer
    assert urlsplit(page.url).path == "/explorer/"
    expect(page.get_by_text("sessionStorage").first).to_be_visible()
    page.screenshot(path=shots / "explorer-key.png")

    page.fill("#mpe-key-input", key)
    page.get_by_role("button", name=re.compile("Use this key")).click()
    expect(page.locator(".graphiql-query-editor .CodeMirror")).to_be_visible(timeout=30_000)
    assert page.evaluate("() => sessionStorage.getItem('mpehub.partnerKey')") == key

    match = FIRST_QUERY.search(GUIDE.read_text(encoding="utf-8"))
    assert match, "the guide has no first query"
    _set_query(page, match.group(1))
    page.locator(".graphiql-execute-button").click()
    answer = _wait_for_response(page, '"industries"')
    industries = answer["data"]["industries"]  # type: ignore[index]
    assert len(industries) == 10
    assert any(i["code"] == "SEMI" and i["nameKo"] == "반도체" for i in industries)
    page.screenshot(path=shots / "explorer-query.png")

    sockets: list[WebSocket] = []
    sent: list[str] = []

    def watch(ws: WebSocket) -> None:
        sockets.append(ws)
        ws.on(
            "framesent",
            lambda payload: sent.append(payload if isinstance(payload, str) else payload.decode()),
        )

    page.on("websocket", watch)
    _set_query(page, f'subscription {{ technologyChanged(codes: ["{NEW_CODE}"]) {{ code nameKo status }} }}')
    page.locator(".graphiql-execute-button").click()
    # The write goes only once the subscribe has gone out (a busy machine may take seconds to open
    # the socket), and a moment later, for the gateway to register it.
    for _ in range(300):
        if any('"subscribe"' in frame for frame in sent):
            break
        page.wait_for_timeout(100)
    assert any('"subscribe"' in frame for frame in sent), sent
    page.wait_for_timeout(300)
    _list_a_technology(stack)
    update = _wait_for_response(page, NEW_CODE)
    assert update["data"] == {
        "technologyChanged": {"code": NEW_CODE, "nameKo": "시험 기술", "status": "LISTED"}
    }
    page.screenshot(path=shots / "explorer-subscription.png")

    # Found by a review: "Forget key" left the socket open, still delivering under that key.
    assert sockets
    assert not all(ws.is_closed() for ws in sockets)
    page.get_by_role("button", name=re.compile("Forget key")).click()
    expect(page.locator("#mpe-key-input")).to_be_visible()
    assert page.evaluate("() => sessionStorage.getItem('mpehub.partnerKey')") is None
    for _ in range(100):
        if all(ws.is_closed() for ws in sockets):
            break
        page.wait_for_timeout(100)
    assert all(ws.is_closed() for ws in sockets), "the socket of the forgotten key is still open"

    # The key went as a header and in connection_init, never in a URL, and no log holds it.
    assert not [u for u in requests.seen if key in u]
    logs = sorted(stack.logs.glob("*.log"))
    assert logs
    assert not [log.name for log in logs if key in log.read_text(errors="replace")]
    assert any(u.startswith("ws://") for u in requests.seen)
    assert requests.foreign(stack.gateway) == []


def _reference_and_korean_guide(stack: DevStack, page: Page, requests: Requests, shots: Path) -> None:
    """The API reference and the Korean guide, from the gateway alone."""
    page.goto(f"{stack.gateway}/docs/")
    page.get_by_role("link", name="API reference · API 참조").click()
    expect(page.locator("#query-technologies")).to_be_attached()
    expect(page.locator("#definition-Firm")).to_contain_text("Business registration number")
    page.screenshot(path=shots / "reference.png")

    page.goto(f"{stack.gateway}/docs/guide.ko.html")
    expect(page.locator("h1")).to_contain_text("파트너 안내서")
    expect(page.locator("pre code").first).to_be_visible()
    page.screenshot(path=shots / "guide-ko.png")
    assert requests.foreign(stack.gateway) == []


def _staff_swagger_ui_and_redoc(stack: DevStack, page: Page, requests: Requests, shots: Path) -> None:
    """The catalog's OpenAPI pages, from the catalog alone."""
    page.goto(f"{stack.catalog}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("catalog", ignore_case=True)
    page.screenshot(path=shots / "catalog-swagger.png")
    page.goto(f"{stack.catalog}/redoc")
    expect(page.locator("h1").first).to_contain_text("catalog", ignore_case=True)
    page.screenshot(path=shots / "catalog-redoc.png")
    # ReDoc's bundle still asks for its vendor's logo from a CDN; the page's policy stops it.
    assert requests.foreign(stack.catalog, sent_only=True) == []
    assert {urlsplit(u).path for u in requests.foreign(stack.catalog)} <= {"/redoc/logo-mini.svg"}
