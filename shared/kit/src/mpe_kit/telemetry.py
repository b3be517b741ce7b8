"""Traces with OpenTelemetry: configured by the standard OTEL_* variables, off unless configured.

With `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) set, a process exports its spans
over OTLP/HTTP; the SDK reads the rest (service name, resource attributes, sampler, headers)
from the environment itself. FastAPI, asyncpg and httpx are instrumented; the relay, the
consumers and their batches have spans of their own. The W3C `traceparent` travels in each
event's headers: the relay's send span is a child of the request that wrote the event, and
each consumer's apply span a child of that send, so one trace runs from a REST write to every
projection of it. Without configuration the API's no-op tracer costs next to nothing.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence

from fastapi import FastAPI
from opentelemetry import context, trace
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_PROPAGATOR = TraceContextTextMapPropagator()
# The provider this process records with, if any. Kept here rather than only as OpenTelemetry's
# global (which can be set once per process), so that tests can turn tracing on and off again.
_provider: TracerProvider | None = None
_NO_TRACER = trace.NoOpTracer()
# Probes and scrapes would drown the traces that matter.
_EXCLUDED_URLS = "healthz,readyz,metrics"


def configured(env: Mapping[str, str] = os.environ) -> bool:
    """Whether the environment asks for traces to be exported."""
    if env.get("OTEL_SDK_DISABLED", "").lower() == "true" or env.get("OTEL_TRACES_EXPORTER") == "none":
        return False
    return bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def configure(service: str) -> bool:
    """Install the OTLP exporter and instrument asyncpg and httpx, once, if configured."""
    if _provider is not None or not configured():
        return _provider is not None
    # Imported here: an unconfigured process never loads the SDK's exporter.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES; this is the fallback.
    provider = TracerProvider(
        resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service)})
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    # Global too, for anything else in the process that asks OpenTelemetry for a tracer.
    trace.set_tracer_provider(provider)
    activate(provider)
    return True


def enabled() -> bool:
    """Whether this process records spans."""
    return _provider is not None


def activate(provider: TracerProvider) -> None:
    """Record with `provider`: the kit's spans, and a client span per asyncpg query and httpx request."""
    global _provider  # one provider per process: see the module state above
    _provider = provider
    AsyncPGInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)


def deactivate() -> None:
    """Stop recording (apps built meanwhile keep their server spans, unexported)."""
    global _provider
    AsyncPGInstrumentor().uninstrument()  # type: ignore[no-untyped-call]
    HTTPXClientInstrumentor().uninstrument()
    _provider = None


def _tracer() -> trace.Tracer:
    return _provider.get_tracer("mpe_kit") if _provider is not None else _NO_TRACER


def instrument_app(app: FastAPI) -> None:
    """Server spans for the app's requests, when tracing is on."""
    if _provider is not None:
        FastAPIInstrumentor.instrument_app(app, excluded_urls=_EXCLUDED_URLS, tracer_provider=_provider)


def active_traceparent() -> str | None:
    """The current span as a W3C traceparent, or None when no span records."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


def _parent(traceparent: str | None) -> context.Context:
    return _PROPAGATOR.extract({"traceparent": traceparent} if traceparent else {})


@contextlib.contextmanager
def send_span(topic: str, traceparent: str) -> Iterator[str]:
    """The relay's send of one event, under the request that wrote it; yields the traceparent
    the event should carry (the send span's, or the written one when tracing is off)."""
    with _tracer().start_as_current_span(
        f"{topic} publish",
        context=_parent(traceparent),
        kind=SpanKind.PRODUCER,
        attributes={"messaging.system": "kafka", "messaging.destination.name": topic},
    ):
        yield active_traceparent() or traceparent


def _process_attributes(consumer: str, topic: str) -> dict[str, str]:
    return {
        "messaging.system": "kafka",
        "messaging.destination.name": topic,
        "messaging.consumer.group.name": consumer,
    }


@contextlib.contextmanager
def apply_span(consumer: str, topic: str, traceparent: str | None) -> Iterator[None]:
    """A consumer applying one event, as a child of the send that carried it."""
    with _tracer().start_as_current_span(
        f"{topic} process",
        context=_parent(traceparent),
        kind=SpanKind.CONSUMER,
        attributes=_process_attributes(consumer, topic),
    ):
        yield


@contextlib.contextmanager
def batch_apply_spans(consumer: str, events: Sequence[tuple[str, str | None]]) -> Iterator[None]:
    """Events (topic, traceparent) applied together, set-based: a process span each, under its
    send, lasting the batch's work, whose SQL spans sit under the batch's span (it is shared)."""
    if _provider is None:
        yield
        return
    if len(events) == 1:  # a batch of one is that event's own work
        with apply_span(consumer, *events[0]):
            yield
        return
    tracer = _tracer()
    spans = [
        tracer.start_span(
            f"{topic} process",
            context=_parent(traceparent),
            kind=SpanKind.CONSUMER,
            attributes={**_process_attributes(consumer, topic), "messaging.batch.message_count": len(events)},
        )
        for topic, traceparent in events
    ]
    try:
        yield
    finally:
        for span in spans:
            span.end()


@contextlib.contextmanager
def batch_span(consumer: str, records: int) -> Iterator[None]:
    """One poll's batch, applied in one transaction (the gateway's projector batch, too)."""
    with _tracer().start_as_current_span(
        f"{consumer} batch",
        context=context.Context(),
        attributes={"messaging.consumer.group.name": consumer, "messaging.batch.message_count": records},
    ):
        yield


def with_traceparent(headers: Sequence[tuple[str, bytes]], traceparent: str) -> list[tuple[str, bytes]]:
    """The headers with their traceparent replaced."""
    return [(k, traceparent.encode() if k == "traceparent" else v) for k, v in headers]
