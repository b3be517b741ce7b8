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
# (read-model table, source service, source table, key column)
COMPARED = (
    ("industries", "catalog", "industries", "code"),
    ("technologies", "catalog", "technologies", "code"),
    ("revisions", "catalog", "revisions", "id"),
    ("firms", "firms", "firms", "brn"),
    ("designations", "firms", "designations", "id"),
    ("fiscal_years", "budget", "fiscal_years", "year"),
    ("programs", "budget", "programs", "code"),
    ("projects", "budget", "projects", "code"),
)


def _say(msg: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)
