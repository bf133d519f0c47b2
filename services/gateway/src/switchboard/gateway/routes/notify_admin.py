"""Notification settings (I-NOTIFY-1, X-AVAIL-1, X-SLA-1): validated here, appended to the
log as configuration events that the notifier folds.

- Practice admins set the practice's notification settings (link target, response targets,
  business hours, holidays, front-line staff) and its outbound webhook subscriptions.
- A staff member sets their own availability and alert channels; admins may set anyone's.

Every change names who made it (`actor`) and when (`occurred_at`). Nothing is written until
Kafka acknowledged it (acks=all); a 202 means it is in the log. Bad input is a 4xx with the
reason. T-1: staff ids are checked against the caller's own practice.

`GET /api/notify/practice-settings` (practice admins) reads the practice's current settings
from the notifier's internal API (what it folded), in the PUT's shape plus `configured`, so a
screen can change one field and PUT the rest back unchanged.

X-NOTIFYADMIN-1: every setting here has an admin screen (web/static/admin/hours.js,
escalation.js): `GET /api/notify/timezones` is the list the time zone is picked from (a PUT
naming a zone not in it is a 422), `GET /api/notify/webhooks` the current subscriptions
(ids and URLs; a secret is shown only once, when set).

Its size: one noun's routes with their input models and validation (windows, webhook URLs,
channels); split, the models would sit apart from the routes that are their only users.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import uuid
from collections.abc import Iterable
from datetime import date
from itertools import pairwise
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from switchboard.events import (
    ChannelChoice,
    Event,
    NotificationPreferencesChanged,
    PracticeNotificationSettingsChanged,
    SlaTarget,
    StaffAvailabilityChanged,
    WebhookSubscriptionChanged,
    WeeklyWindow,
)
from switchboard.gateway import clients, timezones
from switchboard.gateway.auth import Principal
from switchboard.gateway.auth_deps import admin_only, principal
from switchboard.gateway.config_append import envelope
from switchboard.gateway.staff import StaffLookup, staff_lookup
from switchboard.platform.kafka import PublishError
from switchboard.platform.logging import get_logger
from switchboard.platform.problems import AUTHED, PEERS, problems

log = get_logger(__name__)

router = APIRouter(
    prefix="/api/notify", tags=["notifications"], responses=AUTHED | PEERS | problems(404)
)

_HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"
_EMAIL = r"^[^@\s<>,;\"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"
_E164 = r"^\+[1-9][0-9]{6,14}$"
_ID = r"^[A-Za-z0-9][A-Za-z0-9_.@:-]*$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Window(_In):
    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    start: str = Field(pattern=_HHMM, examples=["09:00"])
    end: str = Field(pattern=_HHMM, examples=["17:00"])

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end != "24:00" and self.end <= self.start:
            raise ValueError("a window ends after it starts (use two windows across midnight)")
        return self


def _no_overlap(windows: Iterable[Window]) -> None:
    by_day: dict[int, list[Window]] = {}
    for w in windows:
        by_day.setdefault(w.weekday, []).append(w)
    for day, ws in by_day.items():
        ws.sort(key=lambda w: w.start)
        for a, b in pairwise(ws):
            if b.start < (a.end if a.end != "24:00" else "99:99"):
                raise ValueError(f"windows overlap on weekday {day}")


class SlaIn(_In):
    reason: str = Field(min_length=1, max_length=64)
    minutes: int = Field(ge=1, le=60 * 24 * 30)


class PracticeSettingsIn(_In):
    link_target: Literal["inbox", "patient_page"] = "inbox"
    sla_minutes: int | None = Field(default=None, ge=1, le=60 * 24 * 30)
    sla_by_reason: list[SlaIn] = Field(default_factory=list, max_length=100)
    timezone: str = "UTC"
    business_hours: list[Window] = Field(default_factory=list, max_length=70)
    holidays: list[date] = Field(default_factory=list, max_length=400)
    front_line_staff_ids: list[str] = Field(default_factory=list, max_length=200)
    escalation_reassign_to: str | None = None
    coalesce_seconds: int = Field(default=300, ge=0, le=86_400)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {v!r} (use an IANA name, e.g. America/New_York)"
            ) from None
        return v

    @model_validator(mode="after")
    def _consistent(self) -> PracticeSettingsIn:
        _no_overlap(self.business_hours)
        reasons = [t.reason for t in self.sla_by_reason]
        if len(set(reasons)) != len(reasons):
            raise ValueError("sla_by_reason names a reason twice")
        return self


class PracticeSettingsOut(PracticeSettingsIn):
    """The current settings (the PUT's body, to change and send back) and whether the practice
    ever set them (`configured`: false = these are the defaults)."""

    model_config = ConfigDict(extra="ignore")
    configured: bool


class WebhookIn(_In):
    url: str = Field(min_length=8, max_length=2000)
    # Omit to have one generated; it is returned once, in this response.
    secret: str | None = Field(default=None, min_length=16, max_length=256)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("url must be an absolute https URL")
        if parts.username or parts.password:
            raise ValueError("url must not carry credentials")
        if parts.scheme == "http" and not _loopback(parts.hostname):
            raise ValueError("url must use https (plain http only for loopback test receivers)")
        return v


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class AvailabilityIn(_In):
    out_of_office_from: AwareDatetime | None = None
    out_of_office_until: AwareDatetime | None = None
    shifts: list[Window] = Field(default_factory=list, max_length=70)
    substitute_staff_id: str | None = Field(default=None, max_length=128, pattern=_ID)

    @model_validator(mode="after")
    def _consistent(self) -> AvailabilityIn:
        f, u = self.out_of_office_from, self.out_of_office_until
        if f is not None and u is not None and u <= f:
            raise ValueError("out_of_office_until must be after out_of_office_from")
        _no_overlap(self.shifts)
        return self


class ChannelIn(_In):
    channel: Literal["in_app", "email", "sms", "webhook"]
    address: str | None = Field(default=None, max_length=320)

    @model_validator(mode="after")
    def _address(self) -> ChannelIn:
        a = self.address
        if self.channel == "in_app" and a is not None:
            raise ValueError("in_app takes no address")
        if self.channel == "email" and not (a and re.match(_EMAIL, a)):
            raise ValueError("email needs a valid email address")
        if self.channel == "sms" and not (a and re.match(_E164, a)):
            raise ValueError("sms needs a number in E.164 form, e.g. +12125550123")
        if self.channel == "webhook" and not (a and re.match(_ID, a) and len(a) <= 64):
            raise ValueError("webhook needs the id of one of the practice's webhook subscriptions")
        return self


class PreferencesIn(_In):
    channels: list[ChannelIn] = Field(max_length=10)


class TimeZones(BaseModel):
    zones: list[str]


class Webhook(BaseModel):
    subscription_id: str
    url: str


class Webhooks(BaseModel):
    webhooks: list[Webhook]


class Accepted(BaseModel):
    event_id: uuid.UUID
    event_type: str
    secret: str | None = None


# -- who may do what ----------------------------------------------------------------------

admin = admin_only("only a practice admin may change practice notification settings")


async def _target_staff(staff_id: str, p: Principal, lookup: StaffLookup) -> str:
    """`me` or one's own id for anyone; another staff member's id for admins only."""
    target = p.user_id if staff_id == "me" else staff_id
    if target != p.user_id and not p.is_admin:
        raise HTTPException(403, "you may change only your own notification settings")
    if target != p.user_id and target not in await lookup(p.practice_id, {target}):
        raise HTTPException(404, "no such staff member in your practice")
    return target


async def _require_staff(lookup: StaffLookup, p: Principal, ids: Iterable[str], what: str) -> None:
    wanted = {i for i in ids if i}
    missing = wanted - await lookup(p.practice_id, wanted)
    if missing:
        raise HTTPException(422, f"{what}: not staff of your practice: {sorted(missing)}")


async def _publish(request: Request, event: Event) -> None:
    try:
        await request.app.state.runtime.publisher.publish([event])
    except PublishError:
        raise HTTPException(503, "the change could not be recorded now; try again") from None
    log.info(
        "notification_config_changed", event_type=event.event_type, event_id=str(event.event_id)
    )


def _windows(ws: Iterable[Window]) -> tuple[WeeklyWindow, ...]:
    return tuple(WeeklyWindow(weekday=w.weekday, start=w.start, end=w.end) for w in ws)


Lookup = Annotated[StaffLookup, Depends(staff_lookup)]

# -- routes ---------------------------------------------------------------------------------


admin_reader = admin_only("only a practice admin may read practice notification settings")


@router.get("/practice-settings")
async def get_practice_settings(
    request: Request, p: Annotated[Principal, Depends(admin_reader)]
) -> PracticeSettingsOut:
    """The practice's current notification settings (T-1: the caller's own practice)."""
    response = await clients.of(request).call(
        "notifier", "GET", f"/internal/practices/{p.practice_id}/notification-settings"
    )
    if response.status_code != 200:
        raise clients.of(request).failed("notifier", response)
    try:
        return PracticeSettingsOut.model_validate(response.json())
    except ValueError:  # not JSON, or not settings (pydantic's ValidationError)
        log.warning("notifier_bad_settings", practice_id=p.practice_id)
        raise HTTPException(
            502, "the notification service returned settings that could not be read"
        ) from None


@router.get("/timezones")
async def list_timezones(p: Annotated[Principal, Depends(admin_reader)]) -> TimeZones:
    """The IANA time zones a practice may pick, sorted (a screen searches them)."""
    return TimeZones(zones=list(timezones.zones()))


@router.get("/webhooks")
async def list_webhooks(
    request: Request, p: Annotated[Principal, Depends(admin_reader)]
) -> Webhooks:
    """The practice's webhook subscriptions (T-1: its own), from the notifier; no secrets."""
    response = await clients.of(request).call(
        "notifier", "GET", f"/internal/practices/{p.practice_id}/webhooks"
    )
    if response.status_code != 200:
        raise clients.of(request).failed("notifier", response)
    try:
        return Webhooks.model_validate(response.json())
    except ValueError:
        raise HTTPException(
            502, "the notification service returned webhooks that could not be read"
        ) from None


@router.put("/practice-settings", status_code=202)
async def set_practice_settings(
    body: PracticeSettingsIn,
    request: Request,
    p: Annotated[Principal, Depends(admin)],
    lookup: Lookup,
) -> Accepted:
    if not timezones.is_known(body.timezone):
        # ZoneInfo also loads a few aliases and files the list leaves out: pick from the list.
        raise HTTPException(422, f"timezone: unknown time zone {body.timezone!r}")
    await _require_staff(lookup, p, body.front_line_staff_ids, "front_line_staff_ids")
    if body.escalation_reassign_to:
        await _require_staff(lookup, p, [body.escalation_reassign_to], "escalation_reassign_to")
    event = PracticeNotificationSettingsChanged(
        **envelope(p),
        link_target=body.link_target,
        sla_minutes=body.sla_minutes,
        sla_by_reason=tuple(
            SlaTarget(reason=t.reason, minutes=t.minutes) for t in body.sla_by_reason
        ),
        timezone=body.timezone,
        business_hours=_windows(body.business_hours),
        holidays=tuple(sorted(set(body.holidays))),
        front_line_staff_ids=tuple(dict.fromkeys(body.front_line_staff_ids)),
        escalation_reassign_to=body.escalation_reassign_to,
        coalesce_seconds=body.coalesce_seconds,
    )
    await _publish(request, event)
    return Accepted(event_id=event.event_id, event_type=event.event_type)


def _subscription_id(subscription_id: str) -> str:
    if not re.match(_ID, subscription_id) or len(subscription_id) > 64:
        raise HTTPException(422, "subscription id: letters, digits and _ . @ : - (at most 64)")
    return subscription_id


@router.put("/webhooks/{subscription_id}", status_code=202)
async def set_webhook(
    subscription_id: str, body: WebhookIn, request: Request, p: Annotated[Principal, Depends(admin)]
) -> Accepted:
    sub = _subscription_id(subscription_id)
    generated = body.secret is None
    secret = body.secret or secrets.token_urlsafe(32)
    event = WebhookSubscriptionChanged(
        **envelope(p), subscription_id=sub, url=body.url, secret=secret
    )
    await _publish(request, event)
    return Accepted(
        event_id=event.event_id, event_type=event.event_type, secret=secret if generated else None
    )


@router.delete("/webhooks/{subscription_id}", status_code=202)
async def remove_webhook(
    subscription_id: str, request: Request, p: Annotated[Principal, Depends(admin)]
) -> Accepted:
    event = WebhookSubscriptionChanged(
        **envelope(p), subscription_id=_subscription_id(subscription_id), url=None, secret=None
    )
    await _publish(request, event)
    return Accepted(event_id=event.event_id, event_type=event.event_type)


@router.put("/staff/{staff_id}/availability", status_code=202)
async def set_availability(
    staff_id: str,
    body: AvailabilityIn,
    request: Request,
    p: Annotated[Principal, Depends(principal)],
    lookup: Lookup,
) -> Accepted:
    target = await _target_staff(staff_id, p, lookup)
    if body.substitute_staff_id == target:
        raise HTTPException(422, "substitute_staff_id: one cannot substitute for oneself")
    if body.substitute_staff_id:
        await _require_staff(lookup, p, [body.substitute_staff_id], "substitute_staff_id")
    event = StaffAvailabilityChanged(
        **envelope(p),
        staff_id=target,
        out_of_office_from=body.out_of_office_from,
        out_of_office_until=body.out_of_office_until,
        shifts=_windows(body.shifts),
        substitute_staff_id=body.substitute_staff_id,
    )
    await _publish(request, event)
    return Accepted(event_id=event.event_id, event_type=event.event_type)


@router.put("/staff/{staff_id}/preferences", status_code=202)
async def set_preferences(
    staff_id: str,
    body: PreferencesIn,
    request: Request,
    p: Annotated[Principal, Depends(principal)],
    lookup: Lookup,
) -> Accepted:
    target = await _target_staff(staff_id, p, lookup)
    seen: set[tuple[str, str | None]] = set()
    channels = []
    for c in body.channels:
        if (c.channel, c.address) not in seen:
            seen.add((c.channel, c.address))
            channels.append(ChannelChoice(channel=c.channel, address=c.address))
    event = NotificationPreferencesChanged(**envelope(p), staff_id=target, channels=tuple(channels))
    await _publish(request, event)
    return Accepted(event_id=event.event_id, event_type=event.event_type)
