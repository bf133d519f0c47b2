"""Tracing configuration, URL scrubbing and the shared HTTP metrics (issue 15)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as Grpc
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as Http
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import generate_latest

from switchboard.events import MessageReceived
from switchboard.platform import telemetry
from switchboard.platform.kafka import _parent
from switchboard.platform.metrics import HttpMetrics, logical_topic

OTEL_VARS = (
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
)


@pytest.fixture
def clean_env(monkeypatch):
    for name in OTEL_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_no_exporter_unless_the_environment_names_one(clean_env):
    assert telemetry._exporter_from_env() is None


def test_otlp_http_by_default_when_an_endpoint_is_set(clean_env):
    clean_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert isinstance(telemetry._exporter_from_env(), Http)


def test_otlp_grpc_when_the_protocol_says_so(clean_env):
    clean_env.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:4317")
    clean_env.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    assert isinstance(telemetry._exporter_from_env(), Grpc)


def test_sdk_disabled_wins(clean_env):
    clean_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    clean_env.setenv("OTEL_SDK_DISABLED", "true")
    assert telemetry._exporter_from_env() is None


def test_urls_lose_their_query_string():
    url = "http://pm-sync:8100/internal/practices/demo/patients?phone=%2B15557770123"
    assert telemetry.without_query(url) == "http://pm-sync:8100/internal/practices/demo/patients"


def test_scrub_overwrites_url_attributes_of_a_span():
    provider = TracerProvider()
    span = provider.get_tracer("t").start_span(
        "GET",
        attributes={
            "http.url": "http://x/y?phone=%2B15557770123",
            "http.target": "/y?email=a%40b.org",
            "url.query": "phone=%2B15557770123",
        },
    )
    telemetry.scrub_url_attributes(span)
    attrs = dict(span.attributes or {})
    span.end()
    assert attrs["http.url"] == "http://x/y"
    assert attrs["http.target"] == "/y"
    assert attrs["url.query"] == ""


def _message(traceparent: str | None, causation: uuid.UUID | None = None) -> MessageReceived:
    return MessageReceived.model_validate(
        {
            "event_id": uuid.uuid4(),
            "occurred_at": datetime.now(UTC),
            "practice_id": "demo",
            "correlation_id": uuid.uuid4(),
            "causation_id": causation,
            "traceparent": traceparent,
            "conversation_id": uuid.uuid4(),
            "message_id": uuid.uuid4(),
            "channel": "sms",
            "sender": "+15557770123",
            "recipient": "+12125550000",
            "body": "x",
            "provider": "twilio",
            "provider_message_id": "SM1",
            "received_at": datetime.now(UTC),
        }
    )


def test_an_event_continues_its_causes_span_else_its_envelopes_trace():
    provider = TracerProvider()
    cause_span = provider.get_tracer("t").start_span("cause")
    cause_id = uuid.uuid4()
    parents = {cause_id: trace.set_span_in_context(cause_span)}
    derived = _message(None, cause_id)
    assert trace.get_current_span(_parent(derived, parents)) is cause_span
    tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    ctx = _parent(_message(tp), None)
    assert ctx is not None
    got = trace.get_current_span(ctx).get_span_context()
    assert f"{got.trace_id:032x}" == "0af7651916cd43dd8448eb211c80319c"
    assert _parent(_message(None), None) is None
    cause_span.end()


def test_http_metrics_use_the_route_template_never_the_raw_path():
    app = FastAPI()

    @app.get("/lookup/{phone}")
    async def lookup(phone: str) -> dict[str, str]:
        return {"ok": "yes"}

    app.add_middleware(HttpMetrics)
    client = TestClient(app)
    assert client.get("/lookup/+15557770123").status_code == 200
    assert client.get("/nowhere/15557770123").status_code == 404
    exposed = generate_latest().decode()
    assert 'route="/lookup/{phone}",status="200"' in exposed
    assert 'route="unmatched",status="404"' in exposed
    assert "5557770123" not in exposed


def test_topics_are_labelled_without_the_environment_prefix():
    assert logical_topic("t1234.switchboard.routing", "t1234.") == "switchboard.routing"
    assert logical_topic("switchboard.routing", "") == "switchboard.routing"
