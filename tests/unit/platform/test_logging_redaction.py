"""Logs never carry patient data: bodies, names, phone numbers, emails."""

import io
import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.platform.logging import configure_logging, get_logger, scrub, scrub_always

PATIENT = {
    "body": "My chest hurts since Tuesday",
    "name": "Maria Gonzalez",
    "given_name": "Maria",
    "sender": "+12125550101",
    "email": "maria.gonzalez@example.com",
    "birth_date": "1961-04-02",
}


@pytest.fixture
def captured():
    stream = io.StringIO()
    configure_logging("test", "DEBUG", stream=stream)
    yield stream
    configure_logging("test", "INFO")


def assert_no_patient_data(text: str) -> None:
    for value in [*PATIENT.values(), "2125550101", "gonzalez"]:
        assert value.lower() not in text.lower(), f"patient data leaked: {value!r}"


def test_structlog_fields_and_free_text_are_redacted(captured):
    log = get_logger("t")
    log.info("message_accepted", practice_id="demo", **PATIENT)
    log.warning(
        "free text mentions +1 (212) 555-0101 and maria.gonzalez@example.com",
        event_id="6f1c9a52-3b7e-4c8e-9d65-2a8f0e4b7c11",
    )
    text = captured.getvalue()
    assert_no_patient_data(text)
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0]["practice_id"] == "demo"  # useful context stays
    assert lines[1]["event_id"] == "6f1c9a52-3b7e-4c8e-9d65-2a8f0e4b7c11"  # ids are not phones


def test_stdlib_loggers_are_redacted_too(captured):
    logging.getLogger("some.library").warning(
        "failed for %s at %s", "maria.gonzalez@example.com", "+12125550101"
    )
    assert_no_patient_data(captured.getvalue())
    assert "failed for" in captured.getvalue()


def test_exceptions_keep_their_type_but_not_patient_values(captured):
    log = get_logger("t")
    try:
        raise ValueError("bad number +12125550101")
    except ValueError:
        log.exception("handler_failed")
    text = captured.getvalue()
    assert "ValueError" in text
    assert "2125550101" not in text


# The quick check in front of the substitutions must never let through what they would change.
_TEXT = st.text(alphabet="0123456789 ()-+.@?%=_abcxyz/:input_value", max_size=60)


@given(_TEXT)
def test_the_quick_check_skips_only_text_the_substitutions_leave_alone(value):
    assert scrub(value) == scrub_always(value)


@pytest.mark.parametrize(
    "value",
    ["+1 (212) 555-0101", "2125550101", "jane@home.test", "/p?q=1", "jane%40home.test"],
)
def test_what_looks_like_patient_data_is_still_scrubbed(value):
    assert scrub(value) != value
