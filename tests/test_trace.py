"""One trace runs from a catalog REST write, through the outbox relay and Kafka, to the
gateway's projection of it: the event's traceparent links each hop to the one before.

Spans go to an in-memory exporter instead of OTLP; the code under test is the same that a
configured process runs (`OTEL_EXPORTER_OTLP_ENDPOINT` set).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import structlog
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from mpe_kit import telemetry
from mpe_kit.logging import trace_ids

from .conftest import Stack


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """Every finished span of this process, from before the apps are built."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry.activate(provider)
    try:
        yield exporter
    finally:
        # Later tests in this process run untraced, as an unconfigured process does.
        telemetry.deactivate()
        provider.shutdown()


def _one(found: list[ReadableSpan], what: str) -> ReadableSpan:
    assert len(found) == 1, f"{what}: {[s.name for s in found]}"
    return found[0]


async def test_one_trace_from_a_rest_write_to_the_gateway_projection(
    spans: InMemorySpanExporter, stack: Stack
) -> None:
    # The processor every configured process runs (mpe_kit.logging) adds the ids.
    with structlog.testing.capture_logs(processors=[trace_ids]) as logs:
        r = await stack.catalog.post(
            "/v1/industries", json={"code": "TRACE", "name_en": "Traced", "name_ko": "추적"}
        )
        assert r.status_code == 201, r.text
    async with asyncio.timeout(30):
        while True:
            body = await stack.graphql("{ industries { code } }")
            if {"code": "TRACE"} in body["data"]["industries"]:  # type: ignore[index]
                break
            await asyncio.sleep(0.1)

    # Visible once the projector's transaction commits; its batch span ends a moment later.
    async with asyncio.timeout(10):
        while True:
            if any(s.name == "gateway-projector batch" for s in spans.get_finished_spans()):
                break
            await asyncio.sleep(0.05)
    finished = list(spans.get_finished_spans())
    request = _one(
        [s for s in finished if s.kind == SpanKind.SERVER and s.name == "POST /v1/industries"], "the write"
    )
    trace_id = request.context.trace_id
    in_trace = [s for s in finished if s.context.trace_id == trace_id]

    # The catalog's own work under the request: its SQL, the outbox row among it.
    assert any(s.parent and s.attributes.get("db.system") == "postgresql" for s in in_trace)
    send = _one([s for s in in_trace if s.name == "mpe.catalog.industry publish"], "the relay's send")
    assert send.kind == SpanKind.PRODUCER
    assert send.parent is not None
    assert send.parent.span_id in {s.context.span_id for s in in_trace}

    # The gateway's projector applies it as a child of the send, its SQL under that.
    apply = _one(
        [
            s
            for s in in_trace
            if s.name == "mpe.catalog.industry process"
            and s.attributes.get("messaging.consumer.group.name") == "gateway-projector"
        ],
        "the projection",
    )
    assert apply.kind == SpanKind.CONSUMER
    assert apply.parent is not None
    assert apply.parent.span_id == send.context.span_id
    assert any(s.parent and s.parent.span_id == apply.context.span_id for s in in_trace)

    # The access log line of the write names the same trace.
    (line,) = [e for e in logs if e["event"] == "http request" and e["route"] == "/v1/industries"]
    assert line["status"] == 201
    assert line["trace_id"] == format(trace_id, "032x")
    assert len(line["span_id"]) == 16
