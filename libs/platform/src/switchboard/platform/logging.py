"""structlog JSON logs that never carry patient data.

Two guards: fields whose names are patient data are dropped whole, and every remaining
string is scrubbed of anything that looks like a phone number or an email address.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# Field names that hold patient data in this code base. Their values are never logged.
PATIENT_FIELDS = frozenset(
    {
        "body",
        "text",
        "subject",
        "sender",
        "recipient",
        "from",
        "to",
        "from_",
        "to_",
        "phone",
        "phones",
        "email",
        "emails",
        "name",
        "given_name",
        "family_name",
        "first_name",
        "last_name",
        "birth_date",
        "dob",
        "transcription",
        "address",
        "content",
        "html",
        "message",
        "password",
        "token",
        "authorization",
    }
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# 10-15 digits with single space, bracket or hyphen separators; never dotted (IP addresses)
# and never inside a longer token (ids, UUIDs).
_PHONE = re.compile(r"(?<![\w.\-])\+?\d(?:[ ()\-]{0,2}\d){9,14}(?![\w.\-])")


def scrub(value: str) -> str:
    return _PHONE.sub("[phone]", _EMAIL.sub("[email]", value))


def redact_patient_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key.lower() in PATIENT_FIELDS:
            event_dict[key] = "[redacted]"
        elif isinstance(event_dict[key], str) and key not in ("timestamp", "level", "logger"):
            event_dict[key] = scrub(event_dict[key])
    return event_dict


def _add_trace_ids(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    from opentelemetry import trace

    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        event_dict["trace_id"] = format(ctx.trace_id, "032x")
        event_dict["span_id"] = format(ctx.span_id, "016x")
    return event_dict


def configure_logging(service: str, level: str = "INFO", stream: Any = None) -> None:
    """JSON lines to stdout (or `stream`); stdlib loggers (aiokafka, uvicorn) go the same way."""
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_trace_ids,
        structlog.processors.format_exc_info,
        redact_patient_data,
    ]
    structlog.configure(
        processors=[*processors, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stdout),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                redact_patient_data,
                structlog.processors.JSONRenderer(),
            ],
            foreign_pre_chain=processors,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiokafka logs connection chatter at INFO; keep it at WARNING.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
