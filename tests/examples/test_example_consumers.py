"""The example consumers (examples/) read live events after real writes through the catalog's REST
API, validate every payload against the committed JSON Schemas and apply each version once."""

from __future__ import annotations

import ast
import asyncio
import json
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from catalog.app import all_migrations as catalog_migrations
from catalog.app import create_app as catalog_app
from catalog.settings import CatalogSettings
from mpe_devstack.kafka import KafkaCluster
from mpe_events.topics import TOPICS
from mpe_kit import db, migrations
from mpe_kit.auth import issue_token
from mpe_kit.kafka import ensure_topics

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "shared" / "events" / "schemas"
PYTHON_EXAMPLE = ROOT / "examples" / "python-consumer" / "consumer.py"
JAVA_EXAMPLE = ROOT / "examples" / "java-consumer"
SECRET = "example-consumers-secret-of-32-bytes"

EXPECTED = Counter(
    {
        "kr.mpe.catalog.industry.created.v1": 1,
        "kr.mpe.catalog.revision.drafted.v1": 2,
        "kr.mpe.catalog.revision.published.v1": 2,
        "kr.mpe.catalog.technology.listed.v1": 2,
        "kr.mpe.catalog.technology.amended.v1": 1,
    }
)


@pytest.fixture
async def written(
    migrated_database: Callable[[str, list[migrations.Migration]], Awaitable[str]],
    kafka: KafkaCluster,
    topic_prefix: str,
) -> AsyncIterator[str]:
    """A catalog with an industry and two published revisions, every event relayed to Kafka."""
    settings = CatalogSettings(
        database_url=await migrated_database("catalog", catalog_migrations()),
        jwt_secret=SECRET,  # type: ignore[arg-type]
        kafka_bootstrap=kafka.bootstrap,
        topic_prefix=topic_prefix,
        log_json=False,
        relay_poll_interval_s=0.5,
    )
    # A deployment has every topic: the firms and budget services would have created theirs.
    await ensure_topics(kafka.bootstrap, TOPICS.values(), prefix=topic_prefix)
    token = issue_token(SECRET, sub="examples", roles=["editor"])
    async with (
        LifespanManager(catalog_app(settings), shutdown_timeout=30) as app,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app.app),
            base_url="http://catalog",
            headers={"Authorization": f"Bearer {token}"},
        ) as catalog,
    ):
        r = await catalog.post(
            "/v1/industries", json={"code": "SEMI", "name_en": "Semiconductors", "name_ko": "반도체"}
        )
        assert r.status_code == 201, r.text
        add = [
            {
                "op": "add",
                "technology": {
                    "code": c,
                    "industry_code": "SEMI",
                    "kind": "material",
                    "name_en": n,
                    "name_ko": n,
                },
            }
            for c, n in [("SEMI-001", "Photoresist"), ("SEMI-002", "HF gas")]
        ]
        amend = [{"op": "amend", "code": "SEMI-001", "name_en": "EUV photoresist"}]
        for day, changes in [("2020-04-01", add), ("2022-10-18", amend)]:
            body = {"title": f"revision {day}", "decided_on": day, "effective_on": day, "changes": changes}
            r = await catalog.post("/v1/revisions", json=body)
            assert r.status_code == 201, r.text
            r = await catalog.post(f"/v1/revisions/{r.json()['id']}/publish")
            assert r.status_code == 200, r.text
        conn = await db.connect(settings.database_dsn())
        try:
            async with asyncio.timeout(60):
                while await conn.fetchval("select count(*) from outbox where published_at is null"):  # noqa: ASYNC110
                    await asyncio.sleep(0.2)
        finally:
            await conn.close()
        yield topic_prefix


async def run(*argv: str, cwd: Path | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 600)
    return proc.returncode or 0, out.decode(), err.decode()


def check_output(out: str) -> None:
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    events = [line for line in lines if "summary" not in line]
    assert [line for line in events if line["outcome"] != "applied"] == []
    assert Counter(e["type"] for e in events) == EXPECTED
    versions = {(e["topic"], e["key"]): e["version"] for e in events}
    assert versions[("mpe.catalog.technology", "SEMI-001")] == 2
    assert lines[-1] == {"summary": {"keys": 5, "events": 8, "invalid": 0}}


@pytest.mark.timeout(300)
async def test_the_python_example_consumes_and_validates_live_events(
    written: str, kafka: KafkaCluster
) -> None:
    code, out, err = await run(
        sys.executable,
        str(PYTHON_EXAMPLE),
        "--bootstrap", kafka.bootstrap,
        "--schemas", str(SCHEMAS),
        "--topic-prefix", written,
        "--group", f"example-{uuid.uuid4().hex[:8]}",
        "--idle-exit", "3",
    )  # fmt: skip
    assert code == 0, out + err
    check_output(out)


@pytest.mark.unit
def test_the_python_example_uses_none_of_mpehubs_packages() -> None:
    tree = ast.parse(PYTHON_EXAMPLE.read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported - set(sys.stdlib_module_names) == {"aiokafka", "jsonschema"}


@pytest.mark.timeout(900)
async def test_the_java_example_consumes_and_validates_live_events(written: str, kafka: KafkaCluster) -> None:
    # Maven keeps what it downloads in ~/.m2, so only the first build fetches kafka-clients & co.
    code, out, err = await run("mvn", "-q", "-B", "package", cwd=JAVA_EXAMPLE)
    assert code == 0, out + err
    code, out, err = await run(
        "java",
        "-cp", f"{JAVA_EXAMPLE / 'target' / 'classes'}:{JAVA_EXAMPLE / 'target' / 'dependency'}/*",
        "kr.mpe.examples.Consumer",
        "--bootstrap", kafka.bootstrap,
        "--schemas", str(SCHEMAS),
        "--topic-prefix", written,
        "--group", f"example-{uuid.uuid4().hex[:8]}",
        "--idle-exit", "3",
    )  # fmt: skip
    assert code == 0, out + err
    check_output(out)
