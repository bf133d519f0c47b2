"""HTTP edge for channel providers. A 2xx is returned only after Kafka acknowledged."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request, Response

from switchboard.ingest.settings import IngestSettings
from switchboard.ingest.twilio import InvalidWebhook, signature_valid, to_event
from switchboard.platform.kafka import Publisher, PublishError
from switchboard.platform.logging import get_logger
from switchboard.platform.telemetry import current_traceparent

log = get_logger(__name__)
router = APIRouter()

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _signed_url(request: Request, settings: IngestSettings) -> str:
    if settings.public_base_url:
        url = settings.public_base_url.rstrip("/") + request.url.path
        return url + (f"?{request.url.query}" if request.url.query else "")
    return str(request.url)


@router.post("/webhooks/twilio/sms/{practice_id}")
async def twilio_sms(practice_id: str, request: Request) -> Response:
    settings: IngestSettings = request.app.state.settings
    publisher: Publisher = request.app.state.runtime.publisher
    if practice_id not in settings.practices:
        raise HTTPException(404, "no such practice")
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        raise HTTPException(415, "expected application/x-www-form-urlencoded")
    form = await request.form()
    params = {k: v for k, v in form.items() if isinstance(v, str)}
    url = _signed_url(request, settings)
    if not signature_valid(
        settings.twilio_auth_token, url, params, request.headers.get("x-twilio-signature")
    ):
        log.warning("webhook_signature_rejected", practice_id=practice_id, channel="sms")
        raise HTTPException(403, "invalid or missing X-Twilio-Signature")
    try:
        event = to_event(practice_id, params, datetime.now(UTC), settings.max_body_chars)
    except InvalidWebhook as exc:
        raise HTTPException(422, str(exc)) from None
    event = event.model_copy(update={"traceparent": current_traceparent()})
    try:
        await publisher.publish([event])
    except PublishError as exc:
        log.error("publish_failed", practice_id=practice_id, error=str(exc))
        # 503 makes the provider retry; the deterministic event id collapses the retry.
        raise HTTPException(503, "message store unavailable, retry later") from None
    log.info(
        "message_accepted", practice_id=practice_id, channel="sms", event_id=str(event.event_id)
    )
    return Response(EMPTY_TWIML, media_type="text/xml")
