"""Event webhooks' pure rules (event_webhooks.py, ADR 0022): Standard Webhooks signing that
the reference library verifies, endpoint URLs by environment, backoff, pausing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from switchboard.notifier.event_webhooks import (
    backoff,
    delivered,
    new_secret,
    should_pause,
    signed_headers,
    url_problem,
)


# covers X-EVENTS-2
def test_a_signed_request_verifies_with_the_standard_library_and_a_changed_one_does_not() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    body = json.dumps({"event_type": "public.reply.sent"}).encode()
    now = datetime.now(UTC)
    headers = signed_headers(secret, "evt-1", now, body)
    assert headers["webhook-id"] == "evt-1"
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert Webhook(secret).verify(body, headers) == {"event_type": "public.reply.sent"}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    stale = signed_headers(secret, "evt-1", now - timedelta(hours=1), body)
    with pytest.raises(WebhookVerificationError):  # replayed long after: refused by receivers
        Webhook(secret).verify(body, stale)


def test_urls_https_in_production_and_loopback_http_only_in_dev() -> None:
    assert url_problem("https://ehr.example/hooks", "production") is None
    assert url_problem("http://ehr.example/hooks", "production") is not None
    assert url_problem("http://127.0.0.1:9000/hooks", "production") is not None
    assert url_problem("http://127.0.0.1:9000/hooks", "dev") is None
    assert url_problem("http://ehr.example/hooks", "dev") is not None
    assert url_problem("https://user:pw@ehr.example/hooks", "production") is not None
    assert url_problem("ftp://ehr.example/x", "dev") is not None
    assert url_problem("not a url", "dev") is not None


def test_backoff_doubles_to_a_cap_and_pausing_after_so_many_failures() -> None:
    waits = [backoff(n, 1.0, 10.0).total_seconds() for n in range(1, 7)]
    assert waits == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert not should_pause(19, 20) and should_pause(20, 20)
    assert delivered(200) and delivered(204)
    assert not delivered(None) and not delivered(301) and not delivered(503)
