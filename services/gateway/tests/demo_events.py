"""The demo dataset (deploy/demo/) as the services would publish it: final states only.

Each record becomes the event its owner would send last: a published revision with its
changes (an amendment with what it replaced), a firm with its confirmations, a
designation with its history, a project with its consortium, the lead firm's size and region on
the selection day (the demo's firms keep theirs), its status moves, and each payment line.
Used by the gateway tests that check answers on the demo and by bench_compiled.py.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from mpe_events import budget as bev
from mpe_events import catalog as cev
from mpe_events import firms as fev
from mpe_events.envelope import Envelope
from mpe_events.registry import (
    DESIGNATION_EVENTS,
    DISBURSEMENT_PAID,
    EVENT_TYPES,
    FIRM_REGISTERED,
    FISCAL_YEAR_SET,
    INDUSTRY_CREATED,
    PROGRAM_CREATED,
    PROJECT_EVENTS,
    REVISION_PUBLISHED,
    TECHNOLOGY_LISTED,
)
from mpe_events.registry import source as event_source
from mpe_kit.consumer import Event

MONEY = ("government_krw", "private_cash_krw", "private_in_kind_krw")
DEMO = Path(__file__).resolve().parents[3] / "deploy" / "demo"


def _event(event_type: str, data: Any, subject: str) -> Event:
    env = Envelope(
        id=uuid.uuid4(),
        source=event_source(event_type.split(".")[2]),
        type=event_type,
        subject=subject,
        time=datetime.now(UTC),
        data=data.model_dump(mode="json"),
    )
    return Event(env, data, EVENT_TYPES[event_type].topic.name, 0, 0)


def demo_events() -> list[Event]:
    """The demo dataset as the services would publish it (final states only)."""
    events: list[Event] = []
    catalog = json.loads((DEMO / "catalog.json").read_text())
    for i in catalog["industries"]:
        events.append(_event(INDUSTRY_CREATED.type, cev.IndustryV1(**i, version=1), i["code"]))
    techs: dict[str, dict[str, Any]] = {}
    for rev in catalog["revisions"]:
        day, rid = date.fromisoformat(rev["effective_on"]), uuid.uuid4()
        changes: list[dict[str, Any]] = []
        for c in rev["changes"]:
            if c["op"] == "amend":
                # What the amended fields held before, as the catalog service records at publication.
                prior = techs[c["code"]]
                changes.append({**c, "before": {k: prior[k] for k in c if k not in ("op", "code")}})
            else:
                changes.append(c)
            if c["op"] == "add":
                t = c["technology"]
                techs[t["code"]] = {
                    **t,
                    "status": "listed",
                    "listed_on": day,
                    "retired_on": None,
                    "version": 1,
                }
            else:
                t = techs[c["code"]]
                t.update({k: v for k, v in c.items() if k not in ("op", "code")})
                if c["op"] == "retire":
                    t.update(status="retired", retired_on=day)
                t["version"] += 1
            techs[t["code"]]["revision_id"] = rid
        published = datetime.combine(date.fromisoformat(rev["decided_on"]), datetime.min.time(), UTC)
        revision = cev.RevisionV1.model_validate(
            {
                **rev,
                "id": rid,
                "status": "published",
                "changes": changes,
                "published_at": published,
                "version": 2,
            }
        )
        events.append(_event(REVISION_PUBLISHED.type, revision, str(rid)))
    for t in techs.values():
        events.append(_event(TECHNOLOGY_LISTED.type, cev.TechnologyV1.model_validate(t), t["code"]))
    for f in json.loads((DEMO / "firms.json").read_text())["firms"]:
        body = f["firm"]
        number = body["brn"]
        firm = fev.FirmV1.model_validate(
            {
                **body,
                "brn_display": f"{number[:3]}-{number[3:5]}-{number[5:]}",
                "confirmations": f["confirmations"],
                "version": 1,
            }
        )
        events.append(_event(FIRM_REGISTERED.type, firm, number))
        for d in f["designations"]:
            app = d["application"]
            applied = date.fromisoformat(app.get("effective_on") or "2021-01-01")
            history = [fev.TransitionV1(from_status=None, to_status="applied",
                                        at=datetime.combine(applied, datetime.min.time(), UTC),
                                        effective_on=applied, actor="demo", reason=None)]  # fmt: skip
            status, designated_on, valid_until = "applied", None, None
            for t in d["transitions"]:
                on = date.fromisoformat(t.get("effective_on") or applied.isoformat())
                history.append(fev.TransitionV1(from_status=status, to_status=t["to"],
                                                at=datetime.combine(on, datetime.min.time(), UTC),
                                                effective_on=on, actor="demo", reason=t.get("reason")))  # fmt: skip
                status = t["to"]
                if status == "designated":
                    years = 5 if app["kind"] == "leading" else 3
                    designated_on, valid_until = on, on.replace(year=on.year + years)
            des = fev.DesignationV1.model_validate(
                {
                    "id": uuid.uuid4(),
                    "brn": number,
                    "kind": app["kind"],
                    "cohort": app.get("cohort"),
                    "technology_codes": app["technology_codes"],
                    "status": status,
                    "applied_on": applied,
                    "designated_on": designated_on,
                    "valid_until": valid_until,
                    "history": history,
                    "version": len(history),
                }
            )
            events.append(_event(DESIGNATION_EVENTS[status].type, des, str(des.id)))
    budget = json.loads((DEMO / "budget.json").read_text())
    for y in budget["fiscal_years"]:
        events.append(
            _event(
                FISCAL_YEAR_SET.type, bev.FiscalYearV1(year=y["year"], **y["body"], version=1), str(y["year"])
            )
        )
    for p in budget["programs"]:
        themes = [{"code": t["theme_code"], **t["body"]} for t in p["themes"]]
        prog = bev.ProgramV1.model_validate({**p["program"], "themes": themes, "version": 1})
        events.append(_event(PROGRAM_CREATED.type, prog, prog.code))
    programs = {p["program"]["code"]: p["program"] for p in budget["programs"]}
    firms = {f["firm"]["brn"]: f["firm"] for f in json.loads((DEMO / "firms.json").read_text())["firms"]}
    for p in budget["projects"]:
        events.extend(_project_events(p, programs, firms))
    return events


def _project_events(
    p: dict[str, Any], programs: dict[str, dict[str, Any]], firms: dict[str, dict[str, Any]]
) -> list[Event]:
    """A project's final state, and its payment lines, as the budget service publishes them."""
    body = p["project"]
    program = programs[body["program_code"]]
    status = p["transitions"][-1]["to"] if p["transitions"] else "proposed"
    history, previous, selected_on = [], "proposed", None
    for t in p["transitions"]:
        on = date.fromisoformat(t["effective_on"])
        history.append({"from_status": previous, "to_status": t["to"], "effective_on": on, "actor": "demo",
                        "at": datetime.combine(on, datetime.min.time(), UTC), "reason": t.get("reason")})  # fmt: skip
        previous = t["to"]
        if t["to"] == "selected":
            selected_on = on
    paid = [d["body"] for d in p["disbursements"]]
    disbursed = sum(d["amount_krw"] for d in paid)
    committed = 0 if status == "proposed" else disbursed if status == "terminated" else body["government_krw"]
    lead = firms.get(body["lead_firm_brn"] or "")
    member = {"name": None, "brn": None, "country": "KR"} | dict.fromkeys(MONEY, 0)
    consortium = [member | m for m in body.get("participants", [])]
    version = 1 + len(p["transitions"]) + len(paid)
    proj = bev.ProjectV1.model_validate(
        {
            **body,
            "participants": consortium,
            "fiscal_year": program["fiscal_year"],
            "status": status,
            "committed_krw": committed,
            "disbursed_krw": disbursed,
            "version": version,
            "history": history,
            "chain_root": body["code"],
            "program_kind": program["kind"],
            "track": program["track"],
            "selected_on": selected_on,
            "lead_firm_size": lead["size"] if lead else None,
            "lead_firm_region": lead["region"] if lead else None,
        }
    )
    events = [_event(PROJECT_EVENTS[status].type, proj, proj.code)]
    total = 0
    for n, d in enumerate(p["disbursements"], start=1):
        total += d["body"]["amount_krw"]
        line = bev.DisbursementV1(
            id=uuid.uuid5(uuid.NAMESPACE_URL, d["idempotency_key"]),
            project_code=proj.code,
            program_code=proj.program_code,
            fiscal_year=proj.fiscal_year,
            paid_on=date.fromisoformat(d["body"]["paid_on"]),
            amount_krw=d["body"]["amount_krw"],
            recorded_at=datetime.fromisoformat(d["body"]["paid_on"] + "T03:00:00+00:00"),
            project_disbursed_krw=total,
            project_version=version - len(paid) + n,
            version=1,
        )
        events.append(_event(DISBURSEMENT_PAID.type, line, str(line.id)))
    return events
