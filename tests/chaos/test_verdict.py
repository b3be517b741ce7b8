"""The chaos verdict against crafted databases: each loss or double effect it promises to see,
made by hand on a consistent state, must fail it.

Found by a review: the verdict passed with a project's later moves lost, with a payment line
missing from the read model or a paid total counted twice, with a change missing at the end of
the feed, with the budget service's replica of a firm gone, and with an event written to a topic
no one reads (later: with a project's or a program's committed money off from what its status and
its projects make it); and a run passed with no write answered or no fault injected. The databases are
the four services' own, migrated; no Kafka is needed (`verdict.check`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime

import asyncpg
import pytest

from budget.app import all_migrations as budget_migrations
from catalog.app import all_migrations as catalog_migrations
from firms.app import all_migrations as firms_migrations
from gateway.app import all_migrations as gateway_migrations
from mpe_devstack import chaos
from mpe_devstack.chaos.common import _LOCAL_COLUMNS, COMPARED
from mpe_devstack.chaos.faults import Fault
from mpe_devstack.chaos.verdict import Verdict, _columns, check
from mpe_devstack.chaos.writes import Write
from mpe_kit import migrations

Migrate = Callable[[str, list[migrations.Migration]], Awaitable[str]]
Conns = dict[str, asyncpg.Connection]

REVISION, DESIGNATION = str(uuid.uuid4()), str(uuid.uuid4())
PAID = (str(uuid.uuid4()), str(uuid.uuid4()))
BRN = "9000000013"
PROJECT = "CX26-RND-00001"
EVENTS = {svc: str(uuid.uuid4()) for svc in ("catalog", "firms", "budget")}

SOURCES = {
    "catalog": [
        "insert into industries (code, name_en, name_ko) values ('CHX', 'Chaos', '카오스')",
        "insert into revisions (id, title, decided_on, effective_on, status, changes, version, created_by,"
        f" published_at) values ('{REVISION}', 'r', '2026-01-01', '2026-01-01', 'published', '[]', 2, 'x',"
        " '2026-01-01T00:00:00Z')",
        "insert into technologies (code, industry_code, kind, name_en, name_ko, description, status, listed_on,"
        f" version, revision_id) values ('CHX-00001', 'CHX', 'part', 'p', '부품', 'd', 'listed', '2026-01-01', 1,"
        f" '{REVISION}')",
    ],
    "firms": [
        "insert into firms (brn, name_en, name_ko, size, size_since, region, mpe_sales_ratio, technology_codes)"
        f" values ('{BRN}', 'f', '기업', 'sme', '2020-01-01', '서울', 0.5, '{{CHX-00001}}')",
        "insert into confirmations (id, brn, technology_code, issued_on, valid_until)"
        f" values (gen_random_uuid(), '{BRN}', 'CHX-00001', '2025-03-02', '2028-03-02')",
        "insert into designations (id, brn, kind, technology_codes, status, applied_on, history, version)"
        f" values ('{DESIGNATION}', '{BRN}', 'specialized', '{{CHX-00001}}', 'under_review', '2026-01-01', '[]', 2)",
    ],
    "budget": [
        "insert into fiscal_years (year, envelope_krw) values (2026, 1000000000000000)",
        "insert into programs (code, fiscal_year, name_en, name_ko, kind, budget_krw)"
        " values ('CX26-RND', 2026, 'p', '사업', 'rnd', 100000000000000)",
        "insert into projects (code, program_code, fiscal_year, title, kind, technology_codes, government_krw,"
        " private_cash_krw, private_in_kind_krw, start_on, end_on, status, committed_krw, disbursed_krw,"
        " version, chain_root, program_kind, history)"
        f" values ('{PROJECT}', 'CX26-RND', 2026, 't', 'new', '{{CHX-00001}}', 1000000000, 100000000, 100000000,"
        " '2026-04-01', '2028-12-31', 'active', 1000000000, 30000000, 6, "
        f"'{PROJECT}', 'rnd', '"
        + '[{"to_status": "selected"}, {"to_status": "agreement_signed"}, {"to_status": "active"}]'
        + "')",
        "insert into disbursements (id, project_code, amount_krw, paid_on, created_by) values"
        f" ('{PAID[0]}', '{PROJECT}', 10000000, '2026-05-01', 'x'), ('{PAID[1]}', '{PROJECT}', 20000000,"
        " '2026-06-01', 'x')",
        "insert into idempotency_keys (key, request_hash, state, status_code, response) values"
        f" ('pay-1', 'h', 'done', 201, '{{\"id\": \"{PAID[0]}\"}}'),"
        f" ('pay-2', 'h', 'done', 201, '{{\"id\": \"{PAID[1]}\"}}')",
        "insert into firm_replica (brn, size, size_since, version, region)"
        f" values ('{BRN}', 'sme', '2020-01-01', 1, '서울')",
    ],
}
TOPIC = {"catalog": "mpe.catalog.revision", "firms": "mpe.firms.firm", "budget": "mpe.budget.project"}
# What the read model has and its sources do not, for the rows copied over.
READ_MODEL_ONLY = {
    "firms": {
        "brn_display": "900-00-00013",
        "confirmations": '[{"technology_code": "CHX-00001", "issued_on": "2025-03-02", "valid_until": "2028-03-02"}]',
    },
    "disbursements": {"recorded_at": "2026-05-01T00:00:00Z", "version": 1},
}
WRITES = [
    Write("catalog", "revision", REVISION, 201),
    Write("catalog", "publish", REVISION, 200),
    Write("firms", "firm", BRN, 201),
    Write("firms", "designation", DESIGNATION, 201),
    Write("firms", "transition", DESIGNATION, 200),
    Write("budget", "project", PROJECT, 201),
    *(
        Write("budget", "transition", f"{PROJECT} {to}", 200)
        for to in ("selected", "agreement_signed", "active")
    ),
    Write("budget", "payment", "pay-1", 201),
    Write("budget", "payment", "pay-2", 201),
]


@pytest.fixture
async def conns(migrated_database: Migrate) -> AsyncIterator[Conns]:
    """The four databases holding one consistent state: every write in, every event delivered."""
    wanted = {
        "catalog": catalog_migrations(),
        "firms": firms_migrations(),
        "budget": budget_migrations(),
        "gateway": gateway_migrations(),
    }
    made = {
        svc: await asyncpg.connect(await migrated_database(f"verdict_{svc}", m)) for svc, m in wanted.items()
    }
    try:
        for svc, statements in SOURCES.items():
            for sql in statements:
                await made[svc].execute(sql)
            await made[svc].execute(
                "insert into outbox (id, topic, key, type, source, subject, traceparent, payload, published_at)"
                " values ($1, $2, 'k', 't', 's', 's', 'tp', '{}', now())",
                uuid.UUID(EVENTS[svc]),
                TOPIC[svc],
            )
        gateway = made["gateway"]
        seq = 0
        for table, svc, src, key, entity_type in COMPARED:
            shared = sorted(
                (set(await _columns(gateway, table)) & set(await _columns(made[svc], src))) - _LOCAL_COLUMNS
            )
            extra = READ_MODEL_ONLY.get(table, {})
            columns = [*shared, *extra]
            for row in await made[svc].fetch(f"select {', '.join(shared)} from {src}"):
                values = [row[c] for c in shared] + [_typed(v) for v in extra.values()]
                places = ", ".join(f"${i + 1}" for i in range(len(columns)))
                await gateway.execute(
                    f"insert into {table} ({', '.join(columns)}) values ({places})", *values
                )
                seq += 1
                version = row["version"] if "version" in row else extra["version"]
                await gateway.execute(
                    "insert into changes (seq, entity_type, entity_key, version, applied_at, event_id)"
                    " overriding system value values ($1, $2, $3, $4, now(), $5)",
                    seq,
                    entity_type,
                    str(row[key]),
                    version,
                    uuid.uuid4(),
                )
        await gateway.execute(
            "insert into confirmations (brn, technology_code, issued_on, valid_until)"
            f" values ('{BRN}', 'CHX-00001', '2025-03-02', '2028-03-02')"
        )
        await gateway.execute(
            "insert into inbox (consumer, event_id, topic) select 'gateway-projector', e, 't' from unnest($1::uuid[]) e",
            [uuid.UUID(e) for e in EVENTS.values()],
        )
        yield made
    finally:
        for conn in made.values():
            await conn.close()


def _typed(value: object) -> object:
    return datetime.fromisoformat(value) if isinstance(value, str) and value[:4] == "2026" else value


async def _verdict(conns: Conns, writes: list[Write] = WRITES) -> Verdict:
    return await check(conns, writes, [])


async def test_the_consistent_state_passes(conns: Conns) -> None:
    v = await _verdict(conns)
    assert (v.missing_writes, v.unsent, v.missing_events, v.mismatched_rows, v.duplicates, v.seq_gaps) == (
        [],
        [],
        [],
        [],
        [],
        [],
    )
    assert v.ok


# (what breaks, the statements that break it, where the verdict must say so, words it must say)
BREAKS = [
    (
        "a project's later moves lost",
        [("budget", 'update projects set history = \'[{"to_status": "selected"}]\'')],
        "missing_writes",
        f"budget transition {PROJECT} agreement_signed",
    ),
    (
        "a payment line missing from the read model",
        [("gateway", f"delete from disbursements where id = '{PAID[1]}'")],
        "mismatched_rows",
        f"disbursements {PAID[1]}: missing from the read model",
    ),
    (
        "a payment line's amount wrong in the read model",
        [("gateway", f"update disbursements set amount_krw = 1 where id = '{PAID[1]}'")],
        "mismatched_rows",
        "amount_krw",
    ),
    (
        "a payment counted twice in the paid total, on both sides",
        [
            ("budget", "update projects set disbursed_krw = 60000000"),
            ("gateway", "update projects set disbursed_krw = 60000000"),
        ],
        "mismatched_rows",
        f"project {PROJECT} in the source: paid 60000000 against lines of 30000000",
    ),
    (
        "a program's committed total off from its projects' (a trigger's effect applied twice)",
        [("budget", "update programs set committed_krw = committed_krw * 2")],
        "mismatched_rows",
        "program CX26-RND in the source: committed 2000000000, recomputed 1000000000",
    ),
    (
        "a project's commitment not what its status makes it, on both sides",
        [
            ("budget", "update projects set committed_krw = 0"),
            ("gateway", "update projects set committed_krw = 0"),
        ],
        "mismatched_rows",
        f"project {PROJECT} in the source: committed 0, recomputed 1000000000",
    ),
    (
        "a firm's BRN shown wrong in the read model",
        [("gateway", "update firms set brn_display = '900-0000-013'")],
        "mismatched_rows",
        f"read model firms {BRN}: brn_display '900-0000-013'",
    ),
    (
        "a confirmation lost from the read model's rows",
        [("gateway", "delete from confirmations")],
        "mismatched_rows",
        f"read model confirmations ({BRN}, CHX-00001, 2025-03-02, 2028-03-02): missing from the read model",
    ),
    (
        "a confirmation's term wrong on the read model's firm",
        [
            (
                "gateway",
                "update firms set confirmations = jsonb_set(confirmations, '{0,valid_until}', '\"2029-03-02\"')",
            )
        ],
        "mismatched_rows",
        f"read model firms.confirmations ({BRN}, CHX-00001, 2025-03-02, 2029-03-02): missing from the source",
    ),
    (
        "a confirmation the source does not have",
        [("firms", "delete from confirmations")],
        "mismatched_rows",
        "missing from the source",
    ),
    (
        "a 2xx payment whose line is gone",
        [("budget", f"delete from disbursements where id = '{PAID[1]}'")],
        "missing_writes",
        "budget payment pay-2",
    ),
    (
        "the feed's last change lost",
        [("gateway", "delete from changes where seq = (select max(seq) from changes)")],
        "mismatched_rows",
        "not in the feed",
    ),
    (
        "the budget service's replica of a firm lost",
        [("budget", "delete from firm_replica")],
        "mismatched_rows",
        f"budget's replica firm_replica {BRN}: missing from the budget's replica",
    ),
    (
        "an event on a topic no one reads",
        [
            (
                "firms",
                "insert into outbox (id, topic, key, type, source, subject, traceparent, payload, published_at)"
                " values (gen_random_uuid(), 'mpe.firms.designation ', 'k', 't', 's', 's', 'tp', '{}', now())",
            )
        ],
        "missing_events",
        "on a topic no one reads",
    ),
]


@pytest.mark.parametrize(("what", "statements", "where", "words"), BREAKS, ids=[b[0] for b in BREAKS])
async def test_each_loss_or_double_effect_fails_the_verdict(
    conns: Conns, what: str, statements: list[tuple[str, str]], where: str, words: str
) -> None:
    for svc, sql in statements:
        await conns[svc].execute(sql)
    v = await _verdict(conns)
    assert not v.ok, what
    found: list[str] = getattr(v, where)
    assert any(words in item for item in found), (what, found)


def test_a_run_that_wrote_nothing_or_injected_no_fault_does_not_pass() -> None:
    every_fault = [Fault(kind, "target", 0.0) for kind in chaos.FAULTS]
    refused = [Write(svc, "x", "", 401) for svc in ("catalog", "firms", "budget")]
    answered = [Write(svc, "x", "k", 201) for svc in ("catalog", "firms", "budget")]
    clean = Verdict()
    assert chaos.Result(every_fault, answered, clean, 1.0, 1.0).passed
    assert not chaos.Result(every_fault, refused, clean, 1.0, 1.0).passed
    assert not chaos.Result([], answered, clean, 1.0, 1.0).passed
    assert (
        "no kill-relay fault was injected"
        in chaos.Result(every_fault[:2], answered, clean, 1.0, 1.0).details()
    )
    died = chaos.Result(every_fault, answered, clean, 1.0, 1.0, writers_died={"firms": "KeyError('id')"})
    assert not died.passed
    assert "the firms writer stopped: KeyError('id')" in died.details()
