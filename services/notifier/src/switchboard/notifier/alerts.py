"""From a fan-out plan to what the notifier records: in-app alerts and failures as events,
external alerts as outbox rows for the dispatcher. No I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from switchboard.events import AlertFailed, AlertSent, Event, deterministic_id
from switchboard.notifier.fanout import AlertRequest, FanoutPlan, PlannedAlert
from switchboard.notifier.settings import NotifierSettings


@dataclass(frozen=True)
class Cause:
    """The envelope fields alerts inherit from what caused them."""

    practice_id: str
    correlation_id: uuid.UUID
    causation_id: uuid.UUID
    traceparent: str | None = None


def endpoint_key(practice_id: str, channel: str, address: str | None) -> str:
    """What a failing destination is: one SMTP relay, one SMS provider, one webhook URL."""
    if channel == "webhook":
        return f"webhook:{practice_id}:{address}"
    return "smtp" if channel == "email" else "sms"


def alert_fields(alert: PlannedAlert, request: AlertRequest, cause: Cause) -> dict[str, Any]:
    """Everything an AlertSent / AlertFailed needs, JSON-ready (the outbox keeps it)."""
    return {
        "practice_id": cause.practice_id,
        "correlation_id": str(cause.correlation_id),
        "causation_id": str(cause.causation_id),
        "traceparent": cause.traceparent,
        "conversation_id": str(request.conversation_id),
        "alert_id": str(alert.alert_id),
        "staff_id": alert.staff_id,
        "channel": alert.channel,
        "kind": alert.kind,
        "why": alert.why,
        "substitute_for": alert.substitute_for,
        "message_id": str(request.message_id) if request.message_id else None,
        "routing_reason": request.routing_reason,
        "link": alert.link,
    }


def sent_event(fields: dict[str, Any], attempts: int, now: datetime) -> AlertSent:
    return AlertSent(
        event_id=deterministic_id(fields["alert_id"], "sent"),
        occurred_at=now,
        sent_at=now,
        attempts=attempts,
        **fields,
    )


def failed_event(
    fields: dict[str, Any], why: str, attempts: int, now: datetime, final: bool = True
) -> AlertFailed:
    keep = {
        k: fields[k]
        for k in (
            "practice_id",
            "correlation_id",
            "causation_id",
            "traceparent",
            "conversation_id",
            "alert_id",
            "staff_id",
            "channel",
            "kind",
        )
    }
    return AlertFailed(
        event_id=deterministic_id(fields["alert_id"], "failed"),
        occurred_at=now,
        failed_at=now,
        why=why,
        attempts=attempts,
        final=final,
        **keep,
    )


def materialize(
    plan: FanoutPlan,
    request: AlertRequest,
    cause: Cause,
    now: datetime,
    settings: NotifierSettings,
) -> tuple[list[Event], list[dict[str, Any]]]:
    """(events to publish now, outbox rows to insert)."""
    events: list[Event] = []
    rows: list[dict[str, Any]] = []
    for alert in plan.alerts:
        fields = alert_fields(alert, request, cause)
        if alert.channel == "in_app":
            # The in-app alert is the event itself: the gateway relays it to the browser.
            events.append(sent_event(fields, 1, now))
            continue
        unconfigured = (alert.channel == "email" and not settings.smtp_host) or (
            alert.channel == "sms" and not settings.sms_api_base_url
        )
        if unconfigured:
            events.append(failed_event(fields, f"{alert.channel}_not_configured", 0, now))
            continue
        rows.append(
            {
                "alert_id": alert.alert_id,
                "practice_id": cause.practice_id,
                "channel": alert.channel,
                "endpoint_key": endpoint_key(cause.practice_id, alert.channel, alert.address),
                "address": alert.address or "",
                "alert": fields,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
            }
        )
    for failure in plan.failures:
        fields = {
            "practice_id": cause.practice_id,
            "correlation_id": str(cause.correlation_id),
            "causation_id": str(cause.causation_id),
            "traceparent": cause.traceparent,
            "conversation_id": str(request.conversation_id),
            "alert_id": str(failure.alert_id),
            "staff_id": failure.staff_id,
            "channel": failure.channel,
            "kind": failure.kind,
        }
        events.append(failed_event(fields, failure.why, 0, now))
    return events, rows
