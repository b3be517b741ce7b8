"""`mpe-dev` (what `make dev` runs): up with the demo data, then down on a signal, leaving nothing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from gateway.http.export_entities import ENTITIES as EXPORTS
from mpe_devstack.ports import port_is_listening
from mpe_devstack.testing import free_dev_ports, kill_leftovers


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{pid}: {cmdline[:200]}")
    return found


def _stack_listens(port: int, home: Path) -> bool:
    """Whether a process started by the dev stack in `home` listens on the port (ss names it)."""
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True).stdout
    for pid in {int(p) for p in re.findall(r"pid=(\d+)", out)}:
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"MPE_DEV_DIR={home}".encode() in environ:
            return True
    return False


def _check_demo(ports: dict[str, int], creds: dict[str, str]) -> None:
    """The demo data is loaded and its headline figures show through REST and GraphQL."""
    gateway = f"http://127.0.0.1:{ports['MPE_DEV_GATEWAY_PORT']}"
    catalog = f"http://127.0.0.1:{ports['MPE_DEV_CATALOG_PORT']}"
    body = httpx.post(
        f"{gateway}/graphql",
        json={"query": "{ technologies(filter: {status: LISTED}) { totalCount } industries { code } }"},
        headers={"X-API-Key": creds["MPE_PARTNER_KEY"]},
    ).json()
    assert body["data"]["technologies"]["totalCount"] == 200
    assert len(body["data"]["industries"]) == 10
    whoami = httpx.get(
        f"{catalog}/v1/revisions", headers={"Authorization": f"Bearer {creds['MPE_STAFF_TOKEN']}"}
    )
    assert whoami.status_code == 200
    assert len(whoami.json()["items"]) == 3
    # A browser opening /graphql lands on the explorer, which `make dev` turns on.
    explorer = httpx.get(f"{gateway}/graphql", headers={"accept": "text/html"}, follow_redirects=True)
    assert explorer.status_code == 200
    assert explorer.url.path == "/explorer/"
    firms = f"http://127.0.0.1:{ports['MPE_DEV_FIRMS_PORT']}"
    leading = httpx.get(
        f"{firms}/v1/designations",
        params={"kind": "leading", "cohort": 4, "status": "designated", "limit": 200},
        headers={"Authorization": f"Bearer {creds['MPE_STAFF_TOKEN']}"},
    )
    assert leading.status_code == 200
    assert len(leading.json()["items"]) == 20
    year = httpx.get(
        f"http://127.0.0.1:{ports['MPE_DEV_BUDGET_PORT']}/v1/fiscal-years/2023",
        headers={"Authorization": f"Bearer {creds['MPE_STAFF_TOKEN']}"},
    ).json()
    assert year["envelope_krw"] == 937_560_000_000
    assert year["committed_krw"] == 52_520_000_000

    # The demo's headline figures, as partners see them. `active` counts by the terms' dates, so
    # it is asked on fixed days: the dataset's last day (2026-11-25), and the day the 2nd cohort's
    # terms run out (without a day it is today's figure, which changes as the calendar moves).
    demo_query = """{
      then: designationProgress(asOf: "2023-12-31") { designated }
      now: designationProgress(asOf: "2026-11-25") { designated active byCohort { cohort designated } }
      later: designationProgress(asOf: "2027-01-10") { active }
      programOverview(fiscalYear: 2023) {
        envelopeKrw committedKrw newProjectCount byTrack { track committedKrw projectCount }
      }
    }"""
    expected = {
        "then": {"designated": 66},
        # 22 of the 1st cohort expired in January 2026, and 1 firm was revoked.
        "now": {
            "designated": 86,
            "active": 63,
            "byCohort": [{"cohort": c, "designated": n} for c, n in ((1, 22), (2, 21), (3, 23), (4, 20))],
        },
        "later": {"active": 43},  # the 2nd cohort's terms run out on 2027-01-10: 20 firms leave
        "programOverview": {
            "envelopeKrw": "937560000000",
            "committedKrw": "52520000000",
            "newProjectCount": 96,
        },
    }
    tracks = [(21, "13400000000"), (34, "19630000000"), (41, "19490000000")]
    deadline = time.monotonic() + 60
    while True:  # until the gateway has projected the whole demo
        figures = httpx.post(
            f"{gateway}/graphql",
            json={"query": demo_query},
            headers={"X-API-Key": creds["MPE_PARTNER_KEY"]},
        ).json()["data"]
        by_track = figures["programOverview"].pop("byTrack")
        seen = sorted((t["projectCount"], t["committedKrw"]) for t in by_track)
        if (figures == expected and seen == tracks) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert figures == expected
    assert seen == tracks


def _export(gateway: str, entity: str, key: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{gateway}/export/{entity}.ndjson", headers={"X-API-Key": key}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/x-ndjson"
    assert "x-data-as-of" in r.headers
    assert r.text.endswith("\n")
    return [json.loads(line) for line in r.text.splitlines()]


def _check_export(ports: dict[str, int], creds: dict[str, str]) -> None:
    """The whole demo through the bulk export, over real HTTP: every row, the figures adding up."""
    gateway = f"http://127.0.0.1:{ports['MPE_DEV_GATEWAY_PORT']}"
    full = {name: _export(gateway, name, creds["MPE_PARTNER_KEY"]) for name in EXPORTS}
    # 200 technologies on the list and 13 retired by the 2022 and 2024 revisions; the yearly
    # records of fiscal years 2019 to 2026 (deploy/demo/README.md, "Over the years").
    assert {name: len(rows) for name, rows in full.items()} == {
        "technologies": 213,
        "firms": 93,
        "designations": 97,
        "projects": 512,
        "programs": 25,
    }
    assert sum(t["status"] == "LISTED" for t in full["technologies"]) == 200
    projects_2023 = [p for p in full["projects"] if p["fiscalYear"] == 2023]
    programs_2023 = [p for p in full["programs"] if p["fiscalYear"] == 2023]
    assert (len(projects_2023), len(programs_2023)) == (96, 5)
    assert sum(int(p["committedKrw"]) for p in projects_2023) == 52_520_000_000
    assert sum(int(p["budgetKrw"]) for p in programs_2023) == 937_560_000_000
    leading = {
        d["firmBrn"]
        for d in full["designations"]
        if d["kind"] == "LEADING" and any(t["toStatus"] == "DESIGNATED" for t in d["history"])
    }
    assert len(leading) == 86
    # Two firms have not reported their ratio; the key without firms:financials sees none.
    assert sum(f["mpeSalesRatio"] is None for f in full["firms"]) == 2
    basic = _export(gateway, "firms", creds["MPE_PARTNER_KEY_BASIC"])
    assert [{**f, "mpeSalesRatio": None} for f in full["firms"]] == basic


def _listener_pid(port: int) -> int:
    """The process listening on a local TCP port, from /proc."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # LISTEN
                inodes.add(f"socket:[{fields[9]}]")
    for proc_dir in Path("/proc").iterdir():
        if not proc_dir.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (proc_dir / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in inodes:
                        return int(proc_dir.name)
    raise AssertionError(f"nothing listens on port {port}")


def _crash_and_recover(port: int, log: Path) -> None:
    """A service killed with SIGKILL is restarted by mpe-dev, which says so; the stack stays up."""
    os.kill(_listener_pid(port), signal.SIGKILL)
    deadline = time.monotonic() + 60
    while True:
        text = log.read_text()
        up = False
        with contextlib.suppress(httpx.HTTPError):
            up = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
        if "restarting firms" in text and up:
            break
        assert time.monotonic() < deadline, text
        time.sleep(0.5)
    assert "[mpe-dev] firms was killed by SIGKILL; restarting it in 1s (exit 1 of 5 allowed in 120s)" in text


def _kill_and_write_through(
    what: str, port: int, ports: dict[str, int], creds: dict[str, str], log: Path, code: str
) -> None:
    """Kafka or Postgres killed with SIGKILL is restarted by mpe-dev, which says so, and a write
    made afterwards reaches GraphQL (found by a review: nothing watched them, and the stack
    went on without its broker or its database, saying nothing)."""
    os.kill(_listener_pid(port), signal.SIGKILL)
    deadline = time.monotonic() + 120
    while f"[mpe-dev] restarting {what}" not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.5)
    how = "was killed by SIGKILL" if what == "Kafka" else "stopped"
    assert (
        f"[mpe-dev] {what} {how}; restarting it in 1s (exit 1 of 5 allowed in 120s); see " in log.read_text()
    )
    catalog = f"http://127.0.0.1:{ports['MPE_DEV_CATALOG_PORT']}"
    gateway = f"http://127.0.0.1:{ports['MPE_DEV_GATEWAY_PORT']}"
    staff = {"Authorization": f"Bearer {creds['MPE_STAFF_TOKEN']}"}
    industry = {"code": code, "name_en": code.title(), "name_ko": code}
    while True:  # the service's pool reconnects on the first requests after a restart: 503 meanwhile
        with contextlib.suppress(httpx.HTTPError):
            written = httpx.post(f"{catalog}/v1/industries", json=industry, headers=staff, timeout=10)
            if written.status_code == 201:
                break
            assert written.status_code == 503, written.text
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.5)
    while True:
        with contextlib.suppress(httpx.HTTPError):
            seen = httpx.post(
                f"{gateway}/graphql",
                json={"query": "{ industries { code } }"},
                headers={"X-API-Key": creds["MPE_PARTNER_KEY"]},
                timeout=10,
            ).json()
            if code in [i["code"] for i in (seen.get("data") or {}).get("industries", [])]:
                return
        assert time.monotonic() < deadline, f"{code} not in GraphQL after {what} came back"
        time.sleep(0.5)


def _gateway(ports: dict[str, int], *args: str) -> subprocess.CompletedProcess[str]:
    """The `gateway` command against this stack's database and broker."""
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{ports['MPE_DEV_PG_PORT']}/gateway",
        "GATEWAY_KAFKA_BOOTSTRAP": f"127.0.0.1:{ports['MPE_DEV_KAFKA_PORT']}",
    }
    gateway = str(Path(sys.executable).parent / "gateway")
    return subprocess.run([gateway, *args], env=env, capture_output=True, text=True, timeout=120)


async def _inbox_rows(port: int) -> int:
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{port}/gateway")
    try:
        n: int = await conn.fetchval("select count(*) from inbox where consumer = 'gateway-projector'")
        return n
    finally:
        await conn.close()


def _hold_reset_release(ports: dict[str, int], creds: dict[str, str], home: Path, log: Path) -> None:
    """The gateway held by `.dev/hold/gateway`, its projector's group reset while it is stopped,
    then released: it re-applies every event and answers as before (found by a review: `make dev`
    restarted a stopped service at once, so `consumer reset` always met a group with members)."""
    gateway = f"http://127.0.0.1:{ports['MPE_DEV_GATEWAY_PORT']}"
    (home / "hold" / "gateway").touch()
    deadline = time.monotonic() + 60
    while "[mpe-dev] holding gateway" not in log.read_text() or port_is_listening(
        "127.0.0.1", ports["MPE_DEV_GATEWAY_PORT"]
    ):
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)
    time.sleep(3)  # held past mpe-dev's first restart delay (1 s): still stopped
    assert not port_is_listening("127.0.0.1", ports["MPE_DEV_GATEWAY_PORT"])
    reset = _gateway(ports, "consumer", "reset", "--group", "gateway-projector", "--to", "earliest")
    assert reset.returncode == 0, reset.stdout + reset.stderr
    forgotten = int(reset.stdout.split("reset to earliest; ")[1].split(" inbox row")[0])
    assert forgotten > 1000, reset.stdout
    (home / "hold" / "gateway").unlink()
    # Every event applied again: the inbox holds as many rows as the reset forgot.
    while asyncio.run(_inbox_rows(ports["MPE_DEV_PG_PORT"])) < forgotten:
        assert time.monotonic() < deadline + 120, log.read_text()
        time.sleep(0.5)
    answer = httpx.post(
        f"{gateway}/graphql",
        json={"query": "{ technologies(filter: {status: LISTED}) { totalCount } firms { totalCount } }"},
        headers={"X-API-Key": creds["MPE_PARTNER_KEY"]},
        timeout=10,
    ).json()
    assert answer["data"] == {"technologies": {"totalCount": 200}, "firms": {"totalCount": 93}}, answer
    assert "[mpe-dev] released gateway: starting it" in log.read_text()
    # The demo, applied twice over, keeps its links and sums, and no list outgrows the cost limit.
    check = _gateway(ports, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "the kept tables agree" in check.stdout
    assert "assumed list sizes hold" in check.stdout


# Ctrl-C with the demo loaded; SIGTERM and SIGHUP (the terminal closed: found by a review, it
# used to leave the whole stack running) on an empty stack, which is quicker and stops the same way.
@pytest.mark.timeout(360)
@pytest.mark.parametrize(
    ("sig", "demo"), [(signal.SIGINT, True), (signal.SIGTERM, False), (signal.SIGHUP, False)]
)
def test_dev_stack_comes_up_and_stops_cleanly(tmp_path: Path, sig: signal.Signals, demo: bool) -> None:
    home = tmp_path / "dev"
    # Below the ephemeral range: a port that another test binds with port 0 after this stack let
    # it go must not look like this stack's leftover.
    ports = free_dev_ports()
    env = {
        **os.environ,
        "MPE_DEV_DIR": str(home),
        "MPE_DEV_LOAD_DEMO": str(demo).lower(),
        **{k: str(v) for k, v in ports.items()},
    }
    log = (tmp_path / "mpe-dev.log").open("w+")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "mpe-dev")],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while "Ctrl-C stops everything" not in (tmp_path / "mpe-dev.log").read_text():
            assert proc.poll() is None, (tmp_path / "mpe-dev.log").read_text()
            assert time.monotonic() < deadline, "mpe-dev not ready in 180 s"
            time.sleep(0.5)

        creds = dict(
            line.split("=", 1) for line in (home / "credentials.env").read_text().splitlines() if line
        )
        assert set(creds) == {"MPE_STAFF_TOKEN", "MPE_PARTNER_KEY", "MPE_PARTNER_KEY_BASIC"}
        if demo:
            _check_demo(ports, creds)
            _check_export(ports, creds)
            _hold_reset_release(ports, creds, home, tmp_path / "mpe-dev.log")
        else:
            empty = httpx.post(
                f"http://127.0.0.1:{ports['MPE_DEV_GATEWAY_PORT']}/graphql",
                json={"query": "{ technologies { totalCount } }"},
                headers={"X-API-Key": creds["MPE_PARTNER_KEY"]},
            ).json()
            assert empty["data"] == {"technologies": {"totalCount": 0}}
            assert "dataAsOf" in empty["extensions"]
            _crash_and_recover(ports["MPE_DEV_FIRMS_PORT"], tmp_path / "mpe-dev.log")
            if sig == signal.SIGTERM:
                for what, port, code in (
                    ("Kafka", "MPE_DEV_KAFKA_PORT", "SEMI"),
                    ("Postgres", "MPE_DEV_PG_PORT", "AUTO"),
                ):
                    _kill_and_write_through(what, ports[port], ports, creds, tmp_path / "mpe-dev.log", code)

        # Ctrl-C reaches the whole foreground process group; SIGTERM and SIGHUP only the process.
        if sig == signal.SIGINT:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        started = time.monotonic()
        proc.wait(timeout=20)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            kill_leftovers(home)  # a failed run must not leave its broker and database to the next tests
    output = (tmp_path / "mpe-dev.log").read_text()
    assert proc.returncode == 0, output
    assert took < 20
    time.sleep(0.5)
    # Every port the stack served, the ops ports too, and only listeners that are the stack's own
    # (tests beside this one may bind a port once it is free again).
    served = [*ports.values(), ports["MPE_DEV_KAFKA_PORT"] + 1]
    served += [ports[f"MPE_DEV_{n}_PORT"] + 1000 for n in ("CATALOG", "FIRMS", "BUDGET", "GATEWAY")]
    still_listening = [p for p in served if port_is_listening("127.0.0.1", p) and _stack_listens(p, home)]
    assert still_listening == []
    assert _processes_mentioning(str(home)) == []
