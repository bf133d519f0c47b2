"""Why an inbound message is refused, as the answer each door gives. Pure.

Each error names the problem (never a value from the message: patient data) and maps to an
HTTP status and an SMTP reply: NotOurs 404 / 550, Invalid 422 / 550, TooLarge 413 / 552,
Unavailable 503 / 451 (the sender retries; nothing is lost).
"""

from __future__ import annotations


class IntakeError(Exception):
    status = 400
    smtp = "550 5.6.0"

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class NotOurs(IntakeError):
    status = 404
    smtp = "550 5.1.1"


class Invalid(IntakeError):
    status = 422
    smtp = "550 5.6.0"


class TooLarge(IntakeError):
    status = 413
    smtp = "552 5.3.4"


class Unavailable(IntakeError):
    status = 503
    smtp = "451 4.3.0"


def why(exc: Exception) -> str:
    """A validation error as field names and kinds, never the values (patient data)."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['type']}" for e in errors())
        except Exception:  # noqa: S110
            pass
    return str(exc)[:200]
