"""Event webhooks' rules (ADR 0022). Pure: signing, endpoint URLs, backoff, pausing.

- **Signing** follows the Standard Webhooks specification with its reference library
  (`standardwebhooks`): headers `webhook-id` (the public event's id: the same on every retry
  and redelivery, so a receiver drops duplicates by it), `webhook-timestamp` (seconds) and
  `webhook-signature` (`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`), with a
  secret `whsec_<base64 of 32 random bytes>`.
- **URLs**: https only in production; plain http only to the loopback host in dev and tests.
- **Backoff**: exponential from `initial` doubling per failed attempt, capped at `maximum`.
  A delivery is never dropped: the head of a conversation's queue is retried until it is
  delivered, so the conversation's later events wait behind it (order, at least once).
- **Pausing**: after `pause_after` failures in a row an endpoint is paused: nothing more is
  sent to it (its queue keeps filling) until a practice admin resumes it. Other endpoints
  are not affected: each is sent to on its own.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import urlsplit

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105  (the format's prefix, not a secret)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signed_headers(secret: str, msg_id: str, at: datetime, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers of one request."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body),
        "content-type": "application/json",
    }


def url_problem(url: str, env: Literal["production", "dev"]) -> str | None:
    """Why `url` may not be an endpoint, or None. Production: https only. Dev and tests: also
    http to the loopback host (a receiver on this machine)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "not a URL"
    if not parts.hostname or parts.username or parts.password:
        return "a URL with a host and no credentials is needed"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and env == "dev" and parts.hostname in LOOPBACK_HOSTS:
        return None
    if parts.scheme == "http":
        return "https is required" + ("" if env == "production" else " (http: loopback only)")
    return "https is required"


def backoff(attempts: int, initial_s: float, maximum_s: float) -> timedelta:
    """The wait after the `attempts`-th failed attempt (1 = the first)."""
    return timedelta(seconds=min(maximum_s, initial_s * 2 ** max(0, attempts - 1)))


def should_pause(consecutive_failures: int, pause_after: int) -> bool:
    return consecutive_failures >= pause_after


def delivered(status_code: int | None) -> bool:
    """A 2xx answer is a delivery; anything else (or no answer) is retried."""
    return status_code is not None and 200 <= status_code < 300
