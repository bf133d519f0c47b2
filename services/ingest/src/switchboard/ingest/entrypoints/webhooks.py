"""HTTP edge for channel providers. A 2xx is returned only after Kafka acknowledged.

    POST /webhooks/twilio/sms/{practice}        SMS / MMS (Twilio form post, X-Twilio-Signature)
    POST /webhooks/twilio/voicemail/{practice}  a voicemail recording with its transcription
    POST /webhooks/twilio/status/{practice}     delivery status of a reply we sent
    POST /webhooks/email                        one raw RFC 5322 message (message/rfc822),
                                                signed with X-Switchboard-Signature
    GET  /media?ref=&exp=&sig=                  a signed, time-limited file URL (outbound MMS)

Bad input: 403 signature, 404 number/mailbox of no practice, 413 too large, 415 content
type, 422 malformed (the detail names the field), 503 Kafka (or the store) unavailable --
the provider retries. In every case nothing is published. 429 with Retry-After: ingest is
at capacity (overload.py). PostgreSQL away does not stop SMS, voicemail or email (ADR 0008);
a delivery status, which must find its reply in the database, is 503 then.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from sqlalchemy import select

from switchboard.events import Event, ReplyDeliveryUpdated, ReplyRequested, decode, deterministic_id
from switchboard.ingest.adapters import storage
from switchboard.ingest.adapters.breaker import UNAVAILABLE
from switchboard.ingest.adapters.twilio import (
    FINAL_STATUSES,
    InvalidWebhook,
    signature_valid,
    status_callback,
)
from switchboard.ingest.domain.attachment_refs import AttachmentNotFound
from switchboard.ingest.domain.errors import IntakeError
from switchboard.ingest.domain.links import media_url_valid
from switchboard.ingest.domain.outbound import failed_event
from switchboard.ingest.domain.reply_status import with_status
from switchboard.ingest.intake import Intake
from switchboard.ingest.settings import IngestSettings
from switchboard.platform.kafka import Publisher, PublishError
from switchboard.platform.logging import get_logger
from switchboard.platform.problems import problems
from switchboard.rules.signing import verify

log = get_logger(__name__)
router = APIRouter(responses=problems(400, 403, 404, 413, 415, 422, 503))

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _signed_url(request: Request, settings: IngestSettings) -> str:
    if settings.public_base_url:
        url = settings.public_base_url.rstrip("/") + request.url.path
        return url + (f"?{request.url.query}" if request.url.query else "")
    return str(request.url)


async def _twilio_form(request: Request, practice_id: str, channel: str) -> dict[str, str]:
    settings: IngestSettings = request.app.state.settings
    if practice_id not in request.app.state.directory.practices:
        raise HTTPException(404, "no such practice")
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        raise HTTPException(415, "expected application/x-www-form-urlencoded")
    form = await request.form()
    params = {k: v for k, v in form.items() if isinstance(v, str)}
    url = _signed_url(request, settings)
    given = request.headers.get("x-twilio-signature")
    tokens = [settings.twilio_auth_token, settings.twilio_secondary_auth_token]
    if not any(signature_valid(t.get_secret_value(), url, params, given) for t in tokens if t):
        log.warning("webhook_signature_rejected", practice_id=practice_id, channel=channel)
        raise HTTPException(403, "invalid or missing X-Twilio-Signature")
    return params


@router.post("/webhooks/twilio/sms/{practice_id}")
async def twilio_sms(practice_id: str, request: Request) -> Response:
    params = await _twilio_form(request, practice_id, "sms")
    intake: Intake = request.app.state.intake
    try:
        await intake.sms(practice_id, params)
    except IntakeError as exc:
        raise HTTPException(exc.status, exc.why) from None
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post("/webhooks/twilio/voicemail/{practice_id}")
async def twilio_voicemail(practice_id: str, request: Request) -> Response:
    params = await _twilio_form(request, practice_id, "voicemail")
    intake: Intake = request.app.state.intake
    try:
        await intake.voicemail(practice_id, params)
    except IntakeError as exc:
        raise HTTPException(exc.status, exc.why) from None
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post("/webhooks/twilio/status/{practice_id}")
async def twilio_status(practice_id: str, request: Request) -> Response:
    """The provider's delivery status of a reply we sent: `ReplyDeliveryUpdated`, plus a
    `ReplyFailed` and a reopen when it could not be delivered (I-DELIV-2). Statuses before
    the end are ignored."""
    params = await _twilio_form(request, practice_id, "status")
    try:
        cb = status_callback(params)
    except InvalidWebhook as exc:
        raise HTTPException(422, str(exc)) from None
    status = FINAL_STATUSES.get(cb.status)
    if status is None:
        return Response(status_code=204)
    o = storage.outbound
    try:
        async with request.app.state.runtime.sessionmaker() as db:
            row = (
                await db.execute(
                    select(o.c.request).where(
                        o.c.practice_id == practice_id, o.c.provider_message_id == cb.sid
                    )
                )
            ).first()
    except UNAVAILABLE:
        # Which reply it is needs the database: 503, the provider calls back again later.
        raise HTTPException(503, "database unavailable, retry later") from None
    if row is None:
        # Not one of our replies (or not recorded yet): nothing to say about it.
        return Response(status_code=204)
    reply = decode(row.request)
    assert isinstance(reply, ReplyRequested)
    now = datetime.now(UTC)
    events: list[Event] = [
        ReplyDeliveryUpdated.derive(
            reply,
            event_id=deterministic_id(practice_id, "sms-status", cb.sid, status),
            occurred_at=now,
            conversation_id=reply.conversation_id,
            message_id=reply.message_id,
            channel=reply.channel,
            line=reply.line,
            actor=reply.actor,
            provider_message_id=cb.sid,
            status=status,
            why=cb.error_code,
            updated_at=now,
        )
    ]
    if status in ("undelivered", "failed"):
        why = f"provider_{status}" + (f"_{cb.error_code}" if cb.error_code else "")
        # ... and the conversation the reply closed opens again (I-DELIV-2).
        events.extend(with_status(reply, failed_event(reply, why, now, cb.sid)))
    publisher: Publisher = request.app.state.runtime.publisher
    try:
        await publisher.publish(events)
    except PublishError:
        raise HTTPException(503, "message store unavailable, retry later") from None
    log.info("reply_delivery_status", practice_id=practice_id, status=status)
    return Response(status_code=204)


@router.post("/webhooks/email")
async def email_webhook(request: Request) -> dict[str, object]:
    settings: IngestSettings = request.app.state.settings
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "message/rfc822":
        raise HTTPException(415, "expected message/rfc822")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.max_email_bytes:
        raise HTTPException(413, f"the message is over {settings.max_email_bytes} bytes")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > settings.max_email_bytes:
            raise HTTPException(413, f"the message is over {settings.max_email_bytes} bytes")
    if not verify(
        settings.email_webhook_secret.get_secret_value(),
        request.headers.get("x-switchboard-timestamp"),
        request.headers.get("x-switchboard-signature"),
        bytes(raw),
        now=time.time(),
        tolerance_s=settings.email_webhook_max_skew_s,
    ):
        log.warning("webhook_signature_rejected", channel="email")
        raise HTTPException(403, "invalid or missing X-Switchboard-Signature")
    intake: Intake = request.app.state.intake
    try:
        events = await intake.email(bytes(raw), via="http")
    except IntakeError as exc:
        raise HTTPException(exc.status, exc.why) from None
    return {
        "accepted": [{"practice_id": e.practice_id, "message_id": e.message_id} for e in events]
    }


@router.get("/media")
async def media(
    request: Request,
    ref: Annotated[str, Query(max_length=300)],
    ct: Annotated[str, Query(max_length=128)],
    exp: int,
    sig: Annotated[str, Query(max_length=100)],
) -> Response:
    """A file the SMS provider fetches to send an MMS: only with a valid, unexpired link."""
    settings: IngestSettings = request.app.state.settings
    if not media_url_valid(settings, ref, ct, exp, sig, time.time()):
        raise HTTPException(403, "link invalid or expired")
    try:
        data = await request.app.state.store.get(ref)
    except AttachmentNotFound:
        raise HTTPException(404, "no such file") from None
    return Response(data, media_type=ct, headers={"x-content-type-options": "nosniff"})
