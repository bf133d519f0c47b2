"""Notification settings through the gateway: who may set what, validation with reasons,
and the configuration events that reach the log (I-NOTIFY-1, X-AVAIL-1, X-SLA-1, T-1)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from switchboard.events import (
    NotificationPreferencesChanged,
    PracticeNotificationSettingsChanged,
    StaffAvailabilityChanged,
    WebhookSubscriptionChanged,
)
from switchboard.gateway.auth import Principal, issue_token
from switchboard.gateway.routes.notify_admin import router
from switchboard.gateway.settings import GatewaySettings
from switchboard.gateway.staff import staff_lookup
from switchboard.platform.kafka import PublishError

STAFF = {"demo": {"u-admin", "u-front-1", "u-ma-1", "u-ma-2"}, "other": {"u-other"}}


class FakePublisher:
    def __init__(self) -> None:
        self.events: list = []
        self.fail = False

    async def publish(self, events, timeout_s=None):
        if self.fail:
            raise PublishError("down")
        self.events.extend(events)


@pytest.fixture
def client_and_log():
    settings = GatewaySettings()
    app = FastAPI()
    app.include_router(router)
    app.state.settings = settings
    publisher = FakePublisher()
    app.state.runtime = SimpleNamespace(publisher=publisher)

    async def lookup(practice_id: str, ids: set[str]) -> set[str]:
        return ids & STAFF.get(practice_id, set())

    app.dependency_overrides[staff_lookup] = lambda: lookup
    client = TestClient(app)

    def auth(user: str, role: str = "staff", practice: str = "demo") -> dict[str, str]:
        token = issue_token(Principal(user, practice, role, frozenset()), settings.jwt_secret, 600)
        return {"Authorization": f"Bearer {token}"}

    return client, publisher, auth


SETTINGS = {
    "link_target": "patient_page",
    "sla_minutes": 120,
    "sla_by_reason": [{"reason": "refills", "minutes": 240}],
    "timezone": "America/New_York",
    "business_hours": [{"weekday": d, "start": "08:00", "end": "17:00"} for d in range(5)],
    "holidays": ["2026-07-03", "2026-12-25"],
    "front_line_staff_ids": ["u-front-1"],
    "escalation_reassign_to": "u-admin",
}


# covers I-NOTIFY-1, X-SLA-1
def test_admin_sets_practice_settings_as_an_event_with_actor(client_and_log):
    client, log, auth = client_and_log
    r = client.put(
        "/api/notify/practice-settings", json=SETTINGS, headers=auth("u-admin", "practice_admin")
    )
    assert r.status_code == 202, r.text
    (event,) = log.events
    assert isinstance(event, PracticeNotificationSettingsChanged)
    assert event.actor == "u-admin" and event.practice_id == "demo"
    assert event.link_target == "patient_page" and event.sla_minutes == 120
    assert event.sla_by_reason[0].reason == "refills" and len(event.business_hours) == 5
    assert r.json()["event_id"] == str(event.event_id)


# covers T-1
def test_staff_cannot_set_practice_settings_and_no_token_is_401(client_and_log):
    client, log, auth = client_and_log
    assert client.put("/api/notify/practice-settings", json=SETTINGS).status_code == 401
    r = client.put("/api/notify/practice-settings", json=SETTINGS, headers=auth("u-ma-1"))
    assert r.status_code == 403 and "admin" in r.json()["detail"]
    assert not log.events


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown timezone"),
        # loads in ZoneInfo, but is a file of the tz database, not a zone on the list
        ({"timezone": "posix/Europe/Paris"}, "unknown time zone"),
        ({"business_hours": [{"weekday": 0, "start": "17:00", "end": "09:00"}]}, "ends after"),
        ({"business_hours": [{"weekday": 7, "start": "09:00", "end": "17:00"}]}, "weekday"),
        ({"business_hours": [{"weekday": 0, "start": "9am", "end": "17:00"}]}, "start"),
        (
            {
                "business_hours": [
                    {"weekday": 0, "start": "09:00", "end": "13:00"},
                    {"weekday": 0, "start": "12:00", "end": "17:00"},
                ]
            },
            "overlap",
        ),
        ({"sla_minutes": 0}, "sla_minutes"),
        (
            {"sla_by_reason": [{"reason": "a", "minutes": 5}, {"reason": "a", "minutes": 9}]},
            "twice",
        ),
        ({"holidays": ["not-a-date"]}, "holidays"),
        ({"link_target": "elsewhere"}, "link_target"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_bad_practice_settings_are_422_with_a_reason(client_and_log, change, reason):
    client, log, auth = client_and_log
    r = client.put(
        "/api/notify/practice-settings",
        json=SETTINGS | change,
        headers=auth("u-admin", "practice_admin"),
    )
    assert r.status_code == 422
    assert reason in r.text
    assert not log.events


# covers X-NOTIFYADMIN-1
def test_admins_get_the_time_zone_list_to_pick_from(client_and_log):
    client, _, auth = client_and_log
    r = client.get("/api/notify/timezones", headers=auth("u-admin", "practice_admin"))
    assert r.status_code == 200
    zones = r.json()["zones"]
    assert {"America/New_York", "Europe/London", "UTC"} <= set(zones)
    assert zones == sorted(zones) and "posix/Europe/Paris" not in zones
    assert client.get("/api/notify/timezones", headers=auth("u-ma-1")).status_code == 403


# covers T-1, X-AVAIL-1
def test_front_line_staff_must_be_of_the_callers_practice(client_and_log):
    client, log, auth = client_and_log
    r = client.put(
        "/api/notify/practice-settings",
        json=SETTINGS | {"front_line_staff_ids": ["u-other"]},
        headers=auth("u-admin", "practice_admin"),
    )
    assert r.status_code == 422 and "u-other" in r.json()["detail"]
    assert not log.events


# covers I-NOTIFY-1
def test_webhook_subscription_with_generated_secret_and_removal(client_and_log):
    client, log, auth = client_and_log
    admin = auth("u-admin", "practice_admin")
    r = client.put(
        "/api/notify/webhooks/pager", json={"url": "https://hooks.example/in"}, headers=admin
    )
    assert r.status_code == 202, r.text
    secret = r.json()["secret"]
    assert secret and len(secret) >= 32
    given = client.put(
        "/api/notify/webhooks/slack",
        json={"url": "https://hooks.example/s", "secret": "0123456789abcdef0123"},
        headers=admin,
    )
    assert given.json()["secret"] is None  # the admin's own secret is never echoed
    assert client.delete("/api/notify/webhooks/pager", headers=admin).status_code == 202
    first, second, removed = log.events
    assert isinstance(first, WebhookSubscriptionChanged) and first.secret == secret
    assert second.secret == "0123456789abcdef0123"
    assert removed.url is None and removed.subscription_id == "pager"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"url": "http://hooks.example/in"}, "https"),
        ({"url": "ftp://hooks.example/in"}, "https"),
        ({"url": "https://user:pw@hooks.example/in"}, "credentials"),
        ({"url": "https://hooks.example/in", "secret": "short"}, "secret"),
    ],
)
def test_bad_webhooks_are_422(client_and_log, body, reason):
    client, log, auth = client_and_log
    r = client.put(
        "/api/notify/webhooks/pager", json=body, headers=auth("u-admin", "practice_admin")
    )
    assert r.status_code == 422 and reason in r.text
    assert (
        client.put(
            "/api/notify/webhooks/pager",
            json={"url": "https://h.example/x"},
            headers=auth("u-ma-1"),
        ).status_code
        == 403
    )
    assert not log.events


def test_plain_http_is_allowed_for_a_loopback_receiver(client_and_log):
    client, _log, auth = client_and_log
    r = client.put(
        "/api/notify/webhooks/local",
        json={"url": "http://127.0.0.1:9999/hook"},
        headers=auth("u-admin", "practice_admin"),
    )
    assert r.status_code == 202


# covers X-AVAIL-1
def test_staff_set_their_own_availability_with_a_substitute(client_and_log):
    client, log, auth = client_and_log
    body = {
        "out_of_office_from": "2026-08-01T00:00:00-04:00",
        "out_of_office_until": "2026-08-15T00:00:00-04:00",
        "shifts": [{"weekday": d, "start": "07:00", "end": "15:00"} for d in range(4)],
        "substitute_staff_id": "u-ma-2",
    }
    r = client.put("/api/notify/staff/me/availability", json=body, headers=auth("u-ma-1"))
    assert r.status_code == 202, r.text
    (event,) = log.events
    assert isinstance(event, StaffAvailabilityChanged)
    assert (event.staff_id, event.actor, event.substitute_staff_id) == (
        "u-ma-1",
        "u-ma-1",
        "u-ma-2",
    )
    assert len(event.shifts) == 4


# covers X-AVAIL-1, T-1
def test_only_admins_set_someone_elses_availability(client_and_log):
    client, log, auth = client_and_log
    body = {"out_of_office_from": "2026-08-01T00:00:00Z"}
    r = client.put("/api/notify/staff/u-ma-2/availability", json=body, headers=auth("u-ma-1"))
    assert r.status_code == 403
    r = client.put(
        "/api/notify/staff/u-ma-2/availability",
        json=body,
        headers=auth("u-admin", "practice_admin"),
    )
    assert r.status_code == 202
    assert log.events[0].staff_id == "u-ma-2" and log.events[0].actor == "u-admin"
    other = client.put(
        "/api/notify/staff/u-other/availability",
        json=body,
        headers=auth("u-admin", "practice_admin"),
    )
    assert other.status_code == 404  # another practice's staff do not exist here


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (
            {
                "out_of_office_from": "2026-08-15T00:00:00Z",
                "out_of_office_until": "2026-08-01T00:00:00Z",
            },
            422,
            "after",
        ),
        ({"out_of_office_from": "2026-08-01T00:00:00"}, 422, "timezone"),
        ({"substitute_staff_id": "u-ma-1"}, 422, "oneself"),
        ({"substitute_staff_id": "u-nobody"}, 422, "u-nobody"),
    ],
)
def test_bad_availability(client_and_log, body, status, reason):
    client, log, auth = client_and_log
    r = client.put("/api/notify/staff/me/availability", json=body, headers=auth("u-ma-1"))
    assert r.status_code == status and reason in r.text, r.text
    assert not log.events


# covers I-NOTIFY-1
def test_staff_choose_their_channels(client_and_log):
    client, log, auth = client_and_log
    body = {
        "channels": [
            {"channel": "in_app"},
            {"channel": "email", "address": "ma1@clinic.example"},
            {"channel": "sms", "address": "+12125550123"},
            {"channel": "webhook", "address": "pager"},
            {"channel": "in_app"},
        ]
    }
    r = client.put("/api/notify/staff/u-ma-1/preferences", json=body, headers=auth("u-ma-1"))
    assert r.status_code == 202, r.text
    (event,) = log.events
    assert isinstance(event, NotificationPreferencesChanged)
    assert [c.channel for c in event.channels] == ["in_app", "email", "sms", "webhook"]


@pytest.mark.parametrize(
    ("channel", "reason"),
    [
        ({"channel": "email", "address": "nope"}, "email address"),
        ({"channel": "sms", "address": "212-555-0123"}, "E.164"),
        ({"channel": "webhook"}, "subscriptions"),
        ({"channel": "in_app", "address": "x"}, "no address"),
        ({"channel": "pigeon"}, "channel"),
    ],
)
def test_bad_channels_are_422(client_and_log, channel, reason):
    client, log, auth = client_and_log
    r = client.put(
        "/api/notify/staff/me/preferences", json={"channels": [channel]}, headers=auth("u-ma-1")
    )
    assert r.status_code == 422 and reason in r.text, r.text
    assert not log.events


def test_kafka_down_is_503_and_nothing_is_claimed(client_and_log):
    client, log, auth = client_and_log
    log.fail = True
    r = client.put(
        "/api/notify/staff/me/preferences",
        json={"channels": [{"channel": "in_app"}]},
        headers=auth("u-ma-1"),
    )
    assert r.status_code == 503 and "try again" in r.json()["detail"]
