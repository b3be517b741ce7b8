"""The chaos run's constants and its console voice."""

from __future__ import annotations

import sys
import time
from pathlib import Path

WRITE_SERVICES = ("catalog", "firms", "budget")
FAULTS = ("kill-leader", "sigterm-broker", "kill-relay", "kill-projector", "restart-postgres", "pause-broker")
# aiokafka's default consumer session timeout is 10 s; the pause must outlast it.
PAUSE_S = 15.0
# Between one fault's recovery and the next fault: long enough to see the system settle.
FAULT_GAP_S = 6.0
# Columns that only say when a row was written in that database: they differ by design.
_LOCAL_COLUMNS = frozenset({"updated_at", "created_at"})
# (read-model table, source service, source table, key column, the entity's type in the feed)
COMPARED = (
    ("industries", "catalog", "industries", "code", "industry"),
    ("technologies", "catalog", "technologies", "code", "technology"),
    ("revisions", "catalog", "revisions", "id", "revision"),
    ("firms", "firms", "firms", "brn", "firm"),
    ("designations", "firms", "designations", "id", "designation"),
    ("fiscal_years", "budget", "fiscal_years", "year", "fiscal_year"),
    ("programs", "budget", "programs", "code", "program"),
    ("projects", "budget", "projects", "code", "project"),
    ("disbursements", "budget", "disbursements", "id", "disbursement"),
)
# Replicas another write service keeps from events: (its service, its table, source service,
# source table, key column). Their shared columns must equal the source's.
REPLICAS = (("budget", "firm_replica", "firms", "firms", "brn"),)


def _say(msg: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)
