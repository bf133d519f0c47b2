"""structlog JSON logs that never carry patient data.

Guards: fields whose names are patient data are dropped whole; every remaining string (nested
ones too) is scrubbed of URL query strings and of anything that looks like a phone number or
an email address, URL-encoded or not; exceptions are rendered as their frames and type with a
safe reason only (no locals, no message that can quote input: SQL parameters, pydantic's
`input_value=...`); outgoing HTTP request lines (httpx) lose their query strings.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import MutableMapping
from types import TracebackType
from typing import Any
from urllib.parse import unquote

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


# A URL's query string (phones, names, search terms travel there): everything after `?` up to
# whitespace or a quote.
_QUERY = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s?\"'#]*|(?<![\w?])/[^\s?\"'#]*)\?[^\s\"'#]*", re.I)
# pydantic quotes the offending value: `input_value='Jane', input_type=str`.
_INPUT_VALUE = re.compile(r"input_value=.*?(?=, input_type=|\]|$)", re.S)


def strip_query(value: str) -> str:
    return _QUERY.sub(r"\1?[query]", value)


# What any of the patterns below could change needs one of these: most values logged (ids,
# names of things, numbers as text) have none, and skip the four substitutions.
_MAYBE = re.compile(r"[@?%]|input_value=|\d(?:[ ()\-]{0,2}\d){9}")


def scrub(value: str) -> str:
    return value if _MAYBE.search(value) is None else scrub_always(value)


def scrub_always(value: str) -> str:
    # URL-encoded phones and emails (`%2B1555...`, `jane%40example.org`) are decoded first,
    # so the patterns below see them as they are.
    if "%" in value:
        value = unquote(value)
    value = _INPUT_VALUE.sub("input_value=[redacted]", strip_query(value))
    return _PHONE.sub("[phone]", _EMAIL.sub("[email]", value))


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {safe_reason(value)}"
    if isinstance(value, dict):
        return {
            k: "[redacted]" if str(k).lower() in PATIENT_FIELDS else _scrub_value(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub_value(v) for v in value]
    # Anything else is rendered as text by the JSON renderer: scrub that text instead.
    return scrub(str(value))


def redact_patient_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key.lower() in PATIENT_FIELDS:
            event_dict[key] = "[redacted]"
        elif key not in ("timestamp", "level", "logger", "exception", "_record", "_from_structlog"):
            event_dict[key] = _scrub_value(event_dict[key])
        elif key == "exception" and isinstance(event_dict[key], str):
            event_dict[key] = scrub(event_dict[key])
    return event_dict


def safe_reason(exc: BaseException) -> str:
    """Why it failed, in words that cannot quote patient data: pydantic errors as location and
    type only; database errors as the driver's error class, SQLSTATE and constraint (never
    the statement's parameters or PostgreSQL's message, which quotes values); the messages of
    our own exceptions and of OS/network errors scrubbed and cut short; nothing else."""
    from pydantic import ValidationError
    from sqlalchemy.exc import StatementError

    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['type']}"
            for err in exc.errors(include_input=False, include_url=False, include_context=False)
        )
    if isinstance(exc, StatementError):
        orig = exc.orig
        if orig is None:
            return "statement failed"
        parts = [type(orig).__name__]
        sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        if sqlstate:
            parts.append(f"sqlstate {sqlstate}")
        diag = getattr(orig, "diag", None)
        constraint = getattr(diag, "constraint_name", None) if diag is not None else None
        if constraint:
            parts.append(f"constraint {constraint}")
        return ", ".join(parts)
    # Other messages are kept (scrubbed) only where our own code or the network wrote them;
    # a library's message may quote its input (KeyError('Jane'), int('Jane')).
    if type(exc).__module__.startswith("switchboard.") or isinstance(exc, OSError):
        return scrub(str(exc))[:300]
    return "(message withheld)"


def safe_frames(tb: TracebackType | None) -> list[str]:
    """The traceback's frames as `file:line:function` (code only, never values)."""
    return [f"{f.filename}:{f.lineno}:{f.name}" for f in traceback.extract_tb(tb)]


def format_exception_safely(exc_info: Any) -> str:
    """A traceback without locals and without messages that can quote input: each exception
    of the chain as its frames (with the source line, which is code) and `Type: safe reason`."""
    exc = exc_info[1] if isinstance(exc_info, tuple) else exc_info
    if not isinstance(exc, BaseException):
        return ""
    chain: list[BaseException] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.append(exc)
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    out: list[str] = []
    for i, e in enumerate(reversed(chain)):
        if i:
            out.append("\nThe above exception led to:\n")
        out.append("Traceback (most recent call last):")
        for f in traceback.extract_tb(e.__traceback__):
            out.append(f'  File "{f.filename}", line {f.lineno}, in {f.name}')
            if f.line:
                out.append(f"    {f.line.strip()}")
        out.append(f"{type(e).__module__}.{type(e).__qualname__}: {safe_reason(e)}")
    return "\n".join(out)


class _StripQueryStrings(logging.Filter):
    """Stdlib records (httpx's `HTTP Request: GET https://...?phone=%2B1...`, uvicorn's) are
    formatted here, and URLs lose their query strings before anything renders them."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: keep only its template
            message = str(record.msg)
        record.msg, record.args = strip_query(message), None
        return True


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
        # Never structlog's default (or rich) tracebacks: those print messages that quote input.
        structlog.processors.ExceptionRenderer(format_exception_safely),
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
    handler.addFilter(_StripQueryStrings())
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
    # uvicorn's own logging config (run by any uvicorn started with its defaults, e.g. a
    # library's or a test's server) gives its loggers plain-text handlers that do not
    # propagate: their tracebacks would bypass the scrubbing above. Take them back.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # aiokafka logs connection chatter at INFO; keep it at WARNING.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    # httpcore's debug lines carry whole requests; never below WARNING.
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
