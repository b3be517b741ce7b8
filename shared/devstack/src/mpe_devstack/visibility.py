"""How long a REST write takes to become visible in GraphQL, on a running `make dev`.

Each round drafts and publishes a revision that amends one technology through the catalog's
REST API, then polls the gateway until the technology's new version is served. The clock
starts when the publish request returns (the write is acknowledged) and stops at the first
GraphQL answer that shows it. It changes the dev data (descriptions of one technology).
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date
from pathlib import Path

import httpx

from mpe_devstack.jars import repo_root

QUERY = "query($code: String!) { technology(code: $code) { version } }"


def _credentials(path: Path) -> dict[str, str]:
    if not path.exists():
        raise SystemExit(f"{path} not found: start the stack with `make dev` first")
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs}


def measure(catalog_url: str, gateway_url: str, token: str, key: str, rounds: int) -> list[float]:
    """Seconds from acknowledged write to GraphQL visibility, one per round."""
    staff = httpx.Client(base_url=catalog_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    partner = httpx.Client(base_url=gateway_url, headers={"X-API-Key": key}, timeout=30)
    page = staff.get("/v1/technologies", params={"status": "listed", "limit": 1}).json()
    code = page["items"][0]["code"]
    today = date.today().isoformat()
    samples = []
    for i in range(rounds):
        draft = staff.post(
            "/v1/revisions",
            json={
                "title": f"visibility probe {i}",
                "decided_on": today,
                "effective_on": today,
                "changes": [
                    {"op": "amend", "code": code, "description": f"visibility probe {i} at {time.time()}"}
                ],
            },
        )
        draft.raise_for_status()
        published = staff.post(f"/v1/revisions/{draft.json()['id']}/publish")
        published.raise_for_status()
        acked = time.perf_counter()
        want = staff.get(f"/v1/technologies/{code}").json()["version"]
        while True:
            got = partner.post("/graphql", json={"query": QUERY, "variables": {"code": code}}).json()
            if got["data"]["technology"]["version"] >= want:
                samples.append(time.perf_counter() - acked)
                break
            if time.perf_counter() - acked > 30:
                raise SystemExit(f"round {i}: not visible after 30 s")
    return samples


def main() -> None:
    """Print the median, p95 and max of write-to-visible latency."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--catalog", default="http://127.0.0.1:8001")
    parser.add_argument("--gateway", default="http://127.0.0.1:8000")
    args = parser.parse_args()
    creds = _credentials(repo_root() / ".dev" / "credentials.env")
    samples = measure(
        args.catalog, args.gateway, creds["MPE_STAFF_TOKEN"], creds["MPE_PARTNER_KEY"], args.rounds
    )
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[max(0, round(0.95 * len(ms)) - 1)]
    print(
        f"REST write -> GraphQL visible, {len(ms)} rounds: median {statistics.median(ms):.0f} ms, "
        f"p95 {p95:.0f} ms, min {ms[0]:.0f} ms, max {ms[-1]:.0f} ms"
    )


if __name__ == "__main__":
    main()
