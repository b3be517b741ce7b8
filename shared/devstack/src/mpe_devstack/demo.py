"""Loading the demo datasets (deploy/demo/catalog.json, firms.json, budget.json) through the services' REST APIs."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from mpe_devstack.jars import repo_root


def dataset_path() -> Path:
    """Where the demo dataset lives."""
    return repo_root() / "deploy" / "demo" / "catalog.json"


def load(catalog_url: str, token: str, *, log: Callable[[str], None] = print) -> str:
    """Create the industries and publish the revisions, unless the catalog already has them."""
    data: dict[str, Any] = json.loads(dataset_path().read_text())
    with httpx.Client(
        base_url=catalog_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        existing = client.get("/v1/revisions", params={"status": "published", "limit": 200})
        existing.raise_for_status()
        done = {r["title"] for r in existing.json()["items"]}
        for industry in data["industries"]:
            r = client.post("/v1/industries", json=industry)
            if r.status_code not in (201, 409):
                raise RuntimeError(f"industry {industry['code']}: {r.status_code} {r.text}")
        published = 0
        for revision in data["revisions"]:
            if revision["title"] in done:
                continue
            r = client.post("/v1/revisions", json=revision)
            if r.status_code != 201:
                raise RuntimeError(f"revision {revision['title']!r}: {r.status_code} {r.text}")
            r = client.post(f"/v1/revisions/{r.json()['id']}/publish")
            if r.status_code != 200:
                raise RuntimeError(f"publishing {revision['title']!r}: {r.status_code} {r.text}")
            log(f"published {revision['title']!r} ({len(revision['changes'])} changes)")
            published += 1
    if not published:
        return "already loaded"
    return f"{len(data['industries'])} industries, {published} revisions published"


def firms_path() -> Path:
    """Where the demo firms live."""
    return repo_root() / "deploy" / "demo" / "firms.json"


def _expect(r: httpx.Response, status: int, what: str) -> httpx.Response:
    if r.status_code != status:
        raise RuntimeError(f"{what}: {r.status_code} {r.text}")
    return r


# Chains (and firms) are independent of one another, so a few load side by side; each chain is
# loaded in year order.
LOADERS = 8
FINAL = frozenset({"completed", "terminated"})


def _count(client: httpx.Client, path: str) -> int:
    """How many items a list of the service holds, page by page."""
    count, cursor = 0, None
    while True:
        params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = _expect(client.get(path, params=params), 200, f"listing {path}").json()
        count += len(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return count


def _loaded(have: int, want: int, what: str) -> str:
    """Already there: whole, or (a load stopped half-way, say by Ctrl-C) only in part, said so."""
    if have >= want:
        return "already loaded"
    return (
        f"partly loaded ({have} of {want} {what}; a load was stopped half-way):"
        " run `make clean`, then `make dev`, to load the demo whole"
    )


def _load_firm(firms_url: str, token: str, entry: dict[str, Any]) -> tuple[int, int, int]:
    """One firm, then its confirmations, then each application and its transitions; the counts."""
    confirmations = designations = transitions = 0
    with httpx.Client(base_url=firms_url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        brn = entry["firm"]["brn"]
        _expect(client.post("/v1/firms", json=entry["firm"]), 201, f"firm {brn}")
        for confirmation in entry["confirmations"]:
            what = f"firm {brn}: confirmation {confirmation['technology_code']}"
            _expect(client.post(f"/v1/firms/{brn}/confirmations", json=confirmation), 201, what)
            confirmations += 1
        for designation in entry["designations"]:
            application = designation["application"]
            what = f"firm {brn}: {application['kind']} application of {application['effective_on']}"
            r = _expect(client.post(f"/v1/firms/{brn}/designations", json=application), 201, what)
            designation_id = r.json()["id"]
            designations += 1
            for transition in designation["transitions"]:
                _expect(
                    client.post(f"/v1/designations/{designation_id}/transitions", json=transition),
                    200,
                    f"{what}: to {transition['to']} on {transition['effective_on']}",
                )
                transitions += 1
    return confirmations, designations, transitions


def load_firms(firms_url: str, token: str, *, log: Callable[[str], None] = print) -> str:
    """Register the demo firms with their confirmations and designations, unless there are firms.

    Each firm is posted with its confirmations, then each of its applications followed by that
    application's transitions; several firms load side by side.
    """
    data: dict[str, Any] = json.loads(firms_path().read_text(encoding="utf-8"))
    with httpx.Client(base_url=firms_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        existing = _expect(client.get("/v1/firms", params={"limit": 1}), 200, "listing firms")
        if existing.json()["items"]:
            return _loaded(_count(client, "/v1/firms"), len(data["firms"]), "firms")
    with ThreadPoolExecutor(max_workers=LOADERS) as pool:
        counts = list(pool.map(lambda e: _load_firm(firms_url, token, e), data["firms"]))
    log(f"registered {len(data['firms'])} firms")
    confirmations, designations, transitions = (sum(c[i] for c in counts) for i in range(3))
    return (
        f"{len(data['firms'])} firms, {confirmations} confirmations, "
        f"{designations} designations ({transitions} transitions)"
    )


def _chains(projects: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The projects grouped by multi-year project, each chain in year order (as the dataset lists them)."""
    root: dict[str, str] = {}
    chains: dict[str, list[dict[str, Any]]] = {}
    for entry in projects:
        project = entry["project"]
        first = root.get(project["continues"] or "", project["code"])
        root[project["code"]] = first
        chains.setdefault(first, []).append(entry)
    return list(chains.values())


def _load_chain(budget_url: str, token: str, chain: list[dict[str, Any]]) -> tuple[int, int]:
    """Propose, move and pay each yearly record of one project in turn; (transitions, disbursements)."""
    transitions = disbursements = 0
    with httpx.Client(
        base_url=budget_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as client:
        for entry in chain:
            code = entry["project"]["code"]
            _expect(client.post("/v1/projects", json=entry["project"]), 201, f"project {code}")
            moves = entry["transitions"]
            # Money is paid while a project is running: a final move waits for the payments.
            final = [m for m in moves if m["to"] in FINAL]
            for transition in [m for m in moves if m["to"] not in FINAL]:
                r = client.post(f"/v1/projects/{code}/transitions", json=transition)
                _expect(r, 200, f"project {code}: to {transition['to']}")
                transitions += 1
            for payment in entry["disbursements"]:
                r = client.post(
                    f"/v1/projects/{code}/disbursements",
                    json=payment["body"],
                    headers={"Idempotency-Key": payment["idempotency_key"]},
                )
                _expect(r, 201, f"project {code}: disbursement {payment['idempotency_key']}")
                disbursements += 1
            for transition in final:
                r = client.post(f"/v1/projects/{code}/transitions", json=transition)
                _expect(r, 200, f"project {code}: to {transition['to']}")
                transitions += 1
    return transitions, disbursements


def load_budget(budget_url: str, token: str, *, log: Callable[[str], None] = print) -> str:
    """Load the demo budget (deploy/demo/budget.json), unless its fiscal years already have programs.

    In order: each fiscal year's envelope, each program, then the projects (each multi-year project's
    yearly records in turn, with their transitions and disbursements, several projects side by side),
    and last the alchemist themes, which name projects.
    """
    path = repo_root() / "deploy" / "demo" / "budget.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    themes = 0
    with httpx.Client(
        base_url=budget_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        for fiscal_year in data["fiscal_years"]:
            year = fiscal_year["year"]
            r = client.get("/v1/programs", params={"fiscal_year": year, "limit": 1})
            if _expect(r, 200, f"listing the programs of {year}").json()["items"]:
                return _loaded(_count(client, "/v1/projects"), len(data["projects"]), "projects")
        for fiscal_year in data["fiscal_years"]:
            year = fiscal_year["year"]
            r = client.put(f"/v1/fiscal-years/{year}", json=fiscal_year["body"])
            _expect(r, 200, f"fiscal year {year}")
        for entry in data["programs"]:
            code = entry["program"]["code"]
            _expect(client.post("/v1/programs", json=entry["program"]), 201, f"program {code}")
        with ThreadPoolExecutor(max_workers=LOADERS) as pool:
            counts = list(pool.map(lambda c: _load_chain(budget_url, token, c), _chains(data["projects"])))
        for entry in data["programs"]:
            code = entry["program"]["code"]
            for theme in entry["themes"]:
                r = client.put(f"/v1/programs/{code}/themes/{theme['theme_code']}", json=theme["body"])
                _expect(r, 200, f"program {code}: theme {theme['theme_code']}")
                themes += 1
        log(f"loaded {len(data['programs'])} programs and {len(data['projects'])} projects")
    transitions = sum(t for t, _ in counts)
    disbursements = sum(d for _, d in counts)
    return (
        f"{len(data['fiscal_years'])} fiscal years, {len(data['programs'])} programs ({themes} themes), "
        f"{len(data['projects'])} projects ({transitions} transitions, {disbursements} disbursements)"
    )


def wait_visible(gateway_url: str, key: str, *, timeout_s: float = 60) -> int:
    """Wait until the gateway's read model has the catalog's current list; return its size."""
    query = "{ technologies(filter: {status: LISTED}, first: 1) { totalCount } }"
    deadline = time.monotonic() + timeout_s
    last = -1
    stable_since = time.monotonic()
    answer = ""
    while time.monotonic() < deadline:
        r = httpx.post(
            f"{gateway_url}/graphql", json={"query": query}, headers={"X-API-Key": key}, timeout=10
        )
        try:
            count = int(r.json()["data"]["technologies"]["totalCount"])
        except (ValueError, KeyError, TypeError):
            # Not an answer yet (a 503 while the gateway reconnects, say): ask again, and say
            # what it was if that is all there is until the deadline.
            answer = f"HTTP {r.status_code}: {r.text[:300]}"
            time.sleep(0.2)
            continue
        if count != last:
            last, stable_since = count, time.monotonic()
        elif count > 0 and time.monotonic() - stable_since > 1.0:
            return count
        time.sleep(0.2)
    if last < 0:
        raise RuntimeError(
            f"the gateway never answered the list of technologies in {timeout_s:g} s: {answer}"
        )
    return last
