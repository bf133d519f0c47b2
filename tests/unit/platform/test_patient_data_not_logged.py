"""Patient data never leaves through a log line or a dead-letter header (issue 13, item 6):
outgoing URLs lose their query strings, URL-encoded phones and emails are caught, exceptions
render without the values they quote, SQL parameters are hidden, dead-letter headers carry
the error's type, a safe reason and frames only."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import uvicorn.config
from aiokafka.structs import ConsumerRecord
from pydantic import BaseModel, ValidationError

from switchboard.events import Topic
from switchboard.platform.consumer import ConsumerRunner
from switchboard.platform.db import make_engine
from switchboard.platform.logging import configure_logging, get_logger, scrub
from switchboard.platform.settings import ServiceSettings

NAME = "Quillon Zephyrine"
MARKS = [
    "Quillon",
    "Zephyrine",
    "5557770123",
    "555-777-0123",
    "777-0123",
    "quillon.zephyrine",
    "%2B1555",
    "%40example",
]


@pytest.fixture
def captured():
    # As any uvicorn started with its default log config leaves it (another test's server):
    # its own stderr handler, not propagating. configure_logging must take it back.
    logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)
    stream = io.StringIO()
    configure_logging("test", "DEBUG", stream=stream)
    yield stream
    configure_logging("test", "INFO")


def hits(text: str) -> list[str]:
    return [m for m in MARKS if m.lower() in text.lower()]


def test_url_encoded_phones_and_emails_are_scrubbed():
    for raw in [
        "GET /x?phone=%2B15557770123",
        "to=%2b15557770123",
        "email=quillon.zephyrine%40example.org",
        "call %28555%29%20777-0123",
    ]:
        assert hits(scrub(raw)) == [], scrub(raw)


def test_outgoing_request_lines_are_logged_without_query_strings(captured):
    """httpx logs every request at INFO with its URL; a peer lookup by phone put the
    patient's number in ingest.log as `?phone=%2B1...`."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[])

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        client.get("http://pm-sync/internal/practices/demo/patients?phone=%2B15557770123")
        client.get(
            "http://pm-sync/internal/practices/demo/patients",
            params={"email": "quillon.zephyrine@example.org", "name": NAME},
        )
    text = captured.getvalue()
    assert "HTTP Request: GET http://pm-sync/internal/practices/demo/patients?[query]" in text
    assert hits(text) == []


def _invalid() -> ValidationError:
    class Patient(BaseModel):
        birth_date: int

    try:
        Patient.model_validate({"birth_date": NAME})
    except ValidationError as exc:
        return exc
    raise AssertionError("expected a validation error")


def test_tracebacks_carry_no_input_values_nor_locals(captured):
    log = get_logger("t")
    family_name = "Zephyrine"  # a local: never rendered
    try:
        raise _invalid()
    except ValidationError:
        log.exception("handler_failed", practice_id="demo")
    try:
        try:
            raise KeyError(family_name)
        except KeyError as exc:
            raise RuntimeError("while handling") from exc
    except RuntimeError:
        # uvicorn's "Exception in ASGI application" goes this way: a stdlib logger, exc_info.
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    text = captured.getvalue()
    assert hits(text) == [], text
    lines = [json.loads(line) for line in text.splitlines()]
    assert "ValidationError: birth_date: int_parsing" in lines[0]["exception"]
    assert "test_patient_data_not_logged.py" in lines[0]["exception"]  # frames stay
    assert "RuntimeError" in lines[1]["exception"] and "KeyError" in lines[1]["exception"]


def test_exceptions_given_as_fields_are_rendered_safely(captured):
    get_logger("t").warning(
        "peer_failed", error=_invalid(), detail={"name": NAME, "q": ["+1 555 777 0123"], "ok": 1}
    )
    text = captured.getvalue()
    assert hits(text) == [], text
    assert "int_parsing" in text


def test_engines_hide_sql_parameters():
    from switchboard.platform.db import make_sync_engine

    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    assert make_engine(url).sync_engine.hide_parameters
    assert make_sync_engine(url).hide_parameters


class _Producer:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_and_wait(self, topic: str, **kwargs: Any) -> None:
        self.sent.append({"topic": topic, **kwargs})


async def test_dead_letter_headers_hold_type_reason_and_frames_but_no_values():
    """`dlq.trace` held pydantic's message, `input_value='Quillon Zephyrine'` included."""
    producer = _Producer()
    settings = ServiceSettings(topic_prefix="t.")
    runner = ConsumerRunner(
        name="c",
        topics=[Topic.MESSAGES],
        handler=None,  # type: ignore[arg-type]
        settings=settings,
        sessionmaker=None,  # type: ignore[arg-type]
        processed=None,  # type: ignore[arg-type]
        publisher=SimpleNamespace(producer=producer),  # type: ignore[arg-type]
    )
    value = json.dumps({"birth_date": NAME, "phone": "+15557770123"}).encode()
    record = ConsumerRecord(
        "t.switchboard.messages",
        0,
        7,
        0,
        0,
        b"k",
        value,
        None,
        len(b"k"),
        len(value),
        [("h", b"1")],
    )
    try:
        raise _invalid()
    except ValidationError as exc:
        await runner.dead_letter(record, exc, attempts=0)
    [sent] = producer.sent
    headers = dict(sent["headers"])
    assert sent["value"] == value  # the original record, untouched
    assert headers["dlq.error"] == b"ValidationError: birth_date: int_parsing"
    trace = headers["dlq.trace"].decode()
    assert "test_patient_data_not_logged.py:" in trace and ":_invalid" in trace
    assert hits(" ".join(v.decode() for v in headers.values())) == []
