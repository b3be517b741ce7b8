"""The steady writes through the three REST APIs, each recorded with its answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

from mpe_devstack import demo
from mpe_devstack.chaos.common import _say
from mpe_devstack.chaos.stack import Stack
from mpe_events import brn

# -- the writers ------------------------------------------------------------------------------


@dataclass
class Write:
    """One REST write and its answer (status None: no answer, e.g. a timeout).

    `at` is when it was sent (wall-clock seconds, as the faults' `wall_at`), `seconds` how long its
    answer took: set against `faults.json`, they show what each fault did to the writes.
    """

    service: str
    what: str
    key: str
    status: int | None
    at: float = 0.0
    seconds: float = 0.0


@dataclass
class Ledger:
    """Every write the writers made, shared between threads."""

    writes: list[Write] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # A writer that stopped on an error, by service, with the error: its service went unwritten.
    died: dict[str, str] = field(default_factory=dict)

    def made(self, service: str) -> int:
        """How many writes to `service` were recorded so far (the other writers' not counted)."""
        with self.lock:
            return sum(1 for w in self.writes if w.service == service)

    def record(
        self, service: str, what: str, key: str, status: int | None, sent: tuple[float, float]
    ) -> bool:
        """Note one write sent at `sent` (time.time(), time.monotonic()); True if answered 2xx."""
        write = Write(service, what, key, status, round(sent[0], 3), round(time.monotonic() - sent[1], 4))
        with self.lock:
            self.writes.append(write)
        return status is not None and 200 <= status < 300


def _post(
    client: httpx.Client,
    ledger: Ledger,
    service: str,
    what: str,
    path: str,
    body: Any,
    key: str | None,
    *,
    retries: int = 0,
    **kw: Any,
) -> httpx.Response | None:
    """POST and record the answer; the key None means the id the service answers with.

    `retries`: how many times to send it again after no answer or a 5xx, a second apart, as a
    client holding an idempotency key would (each attempt is recorded).
    """
    for attempt in range(retries + 1):
        sent = (time.time(), time.monotonic())
        try:
            r = client.post(path, json=body, **kw)
        except httpx.HTTPError:
            ledger.record(service, what, key or "", None, sent)
        else:
            ok = 200 <= r.status_code < 300
            answered_key = key if key is not None else (str(r.json()["id"]) if ok else "")
            ledger.record(service, what, answered_key, r.status_code, sent)
            if ok or r.status_code < 500:
                return r if ok else None
        if attempt < retries:
            time.sleep(1)
    return None


TODAY = date.today()
CHAOS_INDUSTRY = "CHX"
FISCAL_YEAR = 2026
PROGRAM = "CX26-RND"


def seed(stack: Stack) -> None:
    """What the writers build on: the demo catalog, the chaos industry, a fiscal year and a program."""
    demo.load(stack.url("catalog"), stack.token, log=_say)
    auth = {"Authorization": f"Bearer {stack.token}"}
    with httpx.Client(headers=auth, timeout=30) as client:
        r = client.post(
            f"{stack.url('catalog')}/v1/industries",
            json={"code": CHAOS_INDUSTRY, "name_en": "Chaos", "name_ko": "카오스"},
        )
        if r.status_code not in (201, 409):
            raise RuntimeError(f"chaos industry: {r.status_code} {r.text}")
        r = client.put(f"{stack.url('budget')}/v1/fiscal-years/{FISCAL_YEAR}", json={"envelope_krw": 10**15})
        r.raise_for_status()
        program = {
            "code": PROGRAM,
            "fiscal_year": FISCAL_YEAR,
            "name_en": "Chaos R&D",
            "name_ko": "카오스 연구개발",
            "kind": "rnd",
            "track": None,
            "budget_krw": 10**14,
        }
        r = client.post(f"{stack.url('budget')}/v1/programs", json=program)
        if r.status_code not in (201, 409):
            raise RuntimeError(f"program: {r.status_code} {r.text}")


def _catalog_round(client: httpx.Client, ledger: Ledger, n: int) -> None:
    code = f"{CHAOS_INDUSTRY}-{n:05d}"
    revision = {
        "title": f"chaos revision {n}",
        "decided_on": TODAY.isoformat(),
        "effective_on": TODAY.isoformat(),
        "changes": [
            {
                "op": "add",
                "technology": {
                    "code": code,
                    "industry_code": CHAOS_INDUSTRY,
                    "kind": "part",
                    "name_en": f"Chaos part {n}",
                    "name_ko": f"카오스 부품 {n}",
                    "description": "Written by the chaos run.",
                },
            }
        ],
    }
    r = _post(client, ledger, "catalog", "revision", "/v1/revisions", revision, None)
    if r is None:
        return
    rid = str(r.json()["id"])
    _post(client, ledger, "catalog", "publish", f"/v1/revisions/{rid}/publish", None, rid)


def _firm_number(n: int) -> str:
    first_nine = f"9{n:08d}"
    return first_nine + str(brn.check_digit(first_nine))


def _firms_round(client: httpx.Client, ledger: Ledger, n: int) -> None:
    number = _firm_number(n)
    firm = {
        "brn": number,
        "name_en": f"Chaos Firm {n}",
        "name_ko": f"카오스 {n}",
        "size": "sme",
        "size_since": "2020-01-01",
        "region": "서울",
        "mpe_sales_ratio": 0.5,
        "technology_codes": ["SEMI-001"],
    }
    if _post(client, ledger, "firms", "firm", "/v1/firms", firm, number) is None:
        return
    application = {"kind": "specialized", "technology_codes": ["SEMI-001"], "effective_on": TODAY.isoformat()}
    r = _post(client, ledger, "firms", "designation", f"/v1/firms/{number}/designations", application, None)
    if r is None:
        return
    did = str(r.json()["id"])
    step = {"to": "under_review", "reason": None, "effective_on": TODAY.isoformat()}
    _post(client, ledger, "firms", "transition", f"/v1/designations/{did}/transitions", step, did)


def _budget_round(client: httpx.Client, ledger: Ledger, n: int) -> None:
    code = f"{PROGRAM}-{n:05d}"
    project = {
        "code": code,
        "program_code": PROGRAM,
        "title": f"카오스 과제 {n} (chaos project {n})",
        "kind": "new",
        "continues": None,
        "technology_codes": ["SEMI-001"],
        "lead_firm_brn": None,
        "government_krw": 1_000_000_000,
        "private_cash_krw": 100_000_000,
        "private_in_kind_krw": 100_000_000,
        "start_on": f"{FISCAL_YEAR}-04-01",
        "end_on": f"{FISCAL_YEAR + 2}-12-31",
    }
    if _post(client, ledger, "budget", "project", "/v1/projects", project, code) is None:
        return
    for to in ("selected", "agreement_signed", "active"):
        body = {"to": to, "reason": f"chaos {to}"}
        # Keyed by the status moved to, so that each of the three is checked in the end.
        move = f"{code} {to}"
        if (
            _post(client, ledger, "budget", "transition", f"/v1/projects/{code}/transitions", body, move)
            is None
        ):
            return
    for i in (1, 2):
        key = f"chaos-{code}-{i}"
        payment = {"amount_krw": 10_000_000 * i, "paid_on": f"{FISCAL_YEAR}-0{4 + i}-01"}
        _post(
            client,
            ledger,
            "budget",
            "payment",
            f"/v1/projects/{code}/disbursements",
            payment,
            key,
            headers={"Idempotency-Key": key},
            # Unanswered or 5xx: sent again under the same key, which must pay once.
            retries=2,
        )


ROUNDS: dict[str, Callable[[httpx.Client, Ledger, int], None]] = {
    "catalog": _catalog_round,
    "firms": _firms_round,
    "budget": _budget_round,
}


def writer(stack: Stack, service: str, ledger: Ledger, stop: threading.Event, per_minute: float) -> None:
    """Post rounds of writes to one service at about per_minute writes a minute until stop."""
    try:
        _write(stack, service, ledger, stop, per_minute)
    except Exception as exc:  # recorded: the run fails on a writer that died
        with ledger.lock:
            ledger.died[service] = repr(exc)
        _say(f"the {service} writer stopped: {exc!r}")


def _write(stack: Stack, service: str, ledger: Ledger, stop: threading.Event, per_minute: float) -> None:
    auth = {"Authorization": f"Bearer {stack.token}"}
    n = 0
    with httpx.Client(base_url=stack.url(service), headers=auth, timeout=10) as client:
        while not stop.is_set():
            t0 = time.monotonic()
            before = ledger.made(service)
            n += 1
            ROUNDS[service](client, ledger, n)
            # This writer's writes only: the ledger is shared, and counting the other writers'
            # writes of the same moment made each writer wait for them too, 7 to 17 %
            # under the asked rate (2,778 and 2,496 writes in ten-minute runs asking 3,000).
            made = max(1, ledger.made(service) - before)
            stop.wait(max(0.0, made * 60.0 / per_minute - (time.monotonic() - t0)))
