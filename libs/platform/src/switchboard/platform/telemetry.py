"""OpenTelemetry tracing, carried across Kafka hops in message headers (W3C traceparent).

Exporting follows the standard OTEL_* variables: spans leave the process (OTLP, batched)
only when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (or
`OTEL_TRACES_EXPORTER=otlp|console`); `OTEL_EXPORTER_OTLP[_TRACES]_PROTOCOL` picks
`http/protobuf` (default) or `grpc`; `OTEL_SDK_DISABLED=true` turns tracing off. The rest
(`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_BSP_*`, headers, timeouts) is read by
the SDK itself.

No span carries patient data: span names are route templates, topics and event types; URLs
are recorded without their query string (a phone or email can sit there).
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

_configured = False

# Attributes the maintained HTTP instrumentations fill with a full URL or its query.
_URL_ATTRIBUTES = ("http.url", "url.full", "http.target")
_QUERY_ATTRIBUTES = ("url.query",)


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def _exporter_from_env() -> SpanExporter | None:
    """The exporter the OTEL_* variables ask for, or None (spans stay in the process)."""
    if _env("OTEL_SDK_DISABLED").lower() == "true":
        return None
    wanted = _env("OTEL_TRACES_EXPORTER").lower()
    endpoint = _env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or _env("OTEL_EXPORTER_OTLP_ENDPOINT")
    if wanted == "none" or (not wanted and not endpoint):
        return None
    if wanted == "console":
        return ConsoleSpanExporter()
    protocol = (
        _env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or _env("OTEL_EXPORTER_OTLP_PROTOCOL")
    ).lower() or "http/protobuf"
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcExporter,
        )

        return GrpcExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpExporter,
    )

    return HttpExporter()


def configure_tracing(service: str, processors: Sequence[SpanProcessor] = ()) -> None:
    """Install the tracer provider once per process, exporting as the environment says.

    `processors` lets a test collect spans in memory."""
    global _configured
    if _configured:
        return
    resource = Resource.create({"service.name": _env("OTEL_SERVICE_NAME") or service})
    provider = TracerProvider(resource=resource)
    exporter = _exporter_from_env()
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    for processor in processors:
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    # Flush what is batched when the process ends (SIGTERM ends uvicorn, then atexit runs).
    atexit.register(provider.shutdown)
    _configured = True


def without_query(url: str) -> str:
    """A URL fit for a span: scheme, host and path; the query and fragment dropped."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def scrub_url_attributes(span: trace.Span) -> None:
    """Overwrite the URL attributes an instrumentation set from the request."""
    attributes: Mapping[str, Any] = getattr(span, "attributes", None) or {}
    for key in _URL_ATTRIBUTES:
        value = attributes.get(key)
        if isinstance(value, str):
            span.set_attribute(key, without_query(value) if "://" in value else value.split("?")[0])
    for key in _QUERY_ATTRIBUTES:
        if key in attributes:
            span.set_attribute(key, "")


def _server_request_hook(span: trace.Span, scope: dict[str, Any]) -> None:
    if span.is_recording():
        scrub_url_attributes(span)


def _client_request_hook(span: trace.Span, request: Any) -> None:
    if span.is_recording():
        scrub_url_attributes(span)


def instrument_app(app: Any) -> None:
    """Server spans for a FastAPI app (named by route template; ops routes left out)."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        excluded_urls="/healthz,/readyz,/metrics",
        server_request_hook=_server_request_hook,
        exclude_spans=["receive", "send"],
    )


_libraries_instrumented = False


def instrument_libraries() -> None:
    """Client spans for httpx, once per process. (The maintained SQLAlchemy instrumentation
    supports SQLAlchemy < 2.1 only; database time shows in each consumer's batch span.)"""
    global _libraries_instrumented
    if _libraries_instrumented:
        return
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor().instrument(
        request_hook=_client_request_hook, async_request_hook=_async_client_request_hook
    )
    _libraries_instrumented = True


async def _async_client_request_hook(span: trace.Span, request: Any) -> None:
    _client_request_hook(span, request)


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def inject_headers(ctx: context.Context | None = None) -> list[tuple[str, bytes]]:
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=ctx)
    return [(k, v.encode()) for k, v in carrier.items()]


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def extract_context(
    headers: Iterable[tuple[str, bytes]] | None, traceparent: str | None = None
) -> context.Context:
    """The trace a record belongs to: its headers, else the envelope's `traceparent`."""
    carrier = {k: v.decode(errors="replace") for k, v in (headers or ()) if v is not None}
    if "traceparent" not in carrier and traceparent:
        carrier["traceparent"] = traceparent
    return propagate.extract(carrier)


def header(headers: Sequence[tuple[str, bytes]] | None, name: str) -> str | None:
    for k, v in headers or ():
        if k == name:
            return v.decode(errors="replace")
    return None
