"""Switchboard message -> FHIR R4 `Communication` (X-FHIR-2). Pure.

One Communication per inbound patient message and per staff reply that went out, always
about a known patient (`subject`): messages of an unrecognized conversation are held by the
caller until the conversation is linked (I-UNREC-1), then published with the linked patient.

- `identifier`: `MESSAGE_ID_SYSTEM` | Switchboard's message id; the create is conditional on
  it (`If-None-Exist`), so a redelivery finds the first one instead of making a second.
- `topic`: the routing reason, coded in `REASON_SYSTEM`, its label as `text`.
- `inResponseTo` (replies, and a patient's answer to a reply): the Communication of the
  message answered, by literal reference when the server told us its id, else by identifier.
- `medium`: v3-ParticipationMode (there is no SMS code: SMS is WRITTEN, with "SMS" as text).
- `sender` / `recipient`: the Patient; staff as a Practitioner by `STAFF_USER_SYSTEM`
  identifier (the read side's convention, fhir_mapping.py); the routed provider as
  `Practitioner/<id>` (provider ids come from the same FHIR server or its PM feed).
- `payload`: per practice, `full` (the text, an email's subject) or `none` (the default:
  no content leaves Switchboard; a note says where to read it).

Validated with `fhir.resources` R4B before it is sent; `CommunicationInvalid` names the
element that failed, never a value. `outcome_elements` reads a server's OperationOutcome
the same way (element paths and issue codes only: diagnostics may quote what we sent).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import pydantic
from fhir.resources.R4B.communication import Communication

MESSAGE_ID_SYSTEM = "urn:switchboard:message-id"
REASON_SYSTEM = "urn:switchboard:reason"
STAFF_USER_SYSTEM = "urn:switchboard:staff-user"
PARTICIPATION_MODE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
NO_PAYLOAD_NOTE = "Message content is not shared with the EHR: see Switchboard."

PayloadMode = Literal["none", "full"]
Direction = Literal["inbound", "outbound"]

# channel -> (ParticipationMode code, its display, the channel as people say it)
MEDIUM: dict[str, tuple[str, str, str]] = {
    "sms": ("WRITTEN", "written", "SMS"),
    "email": ("EMAILWRIT", "email", "Email"),
    "secure_email": ("EMAILWRIT", "email", "Secure email"),
    "web_chat": ("ONLINEWRIT", "online written", "Web chat"),
    "voicemail": ("PHONE", "telephone", "Voicemail"),
}

# The router's default catalogue (router/catalogue.py; services share no code): labels for
# reasons no ReasonAdded event named.
DEFAULT_REASON_LABELS: dict[str, str] = {
    "prescriptions_refills": "Prescriptions / Refills",
    "test_lab_results": "Test / Lab Results",
    "appointments": "Appointments",
    "billing": "Billing",
    "referrals": "Referrals",
    "medical_question": "Medical Question",
    "other": "Other",
}


class CommunicationInvalid(ValueError):
    """The Communication would not be valid FHIR R4; the text names the element only."""


@dataclass(frozen=True, slots=True)
class Answered:
    """The message a Communication answers, and its Communication's server id if known."""

    message_id: uuid.UUID
    server_id: str | None = None


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """What Switchboard knows of one message once it can be published."""

    message_id: uuid.UUID
    direction: Direction
    channel: str
    patient_id: str
    reason: str
    at: datetime  # received (inbound) or sent (outbound)
    reason_label: str | None = None
    body: str | None = None  # None: not kept (payload "none")
    subject: str | None = None
    attachments: int = 0
    staff_user: str | None = None  # the reply's sender
    provider_id: str | None = None  # the routed provider (inbound recipient)
    in_response_to: Answered | None = None


def reason_label(code: str, added: Mapping[str, str] | None = None) -> str:
    """The label the inbox shows: an operator-added one, the default, or the code itself."""
    if code in DEFAULT_REASON_LABELS:
        return DEFAULT_REASON_LABELS[code]
    return (added or {}).get(code) or code.replace("_", " ").capitalize()


def identifier_query(message_id: uuid.UUID) -> str:
    """The search that makes the create conditional (`If-None-Exist`)."""
    return f"identifier={MESSAGE_ID_SYSTEM}|{message_id}"


def _staff(user: str) -> dict[str, Any]:
    return {
        "type": "Practitioner",
        "identifier": {"system": STAFF_USER_SYSTEM, "value": user},
    }


def _answered(answered: Answered) -> dict[str, Any]:
    if answered.server_id:
        return {"reference": f"Communication/{answered.server_id}"}
    return {
        "type": "Communication",
        "identifier": {"system": MESSAGE_ID_SYSTEM, "value": str(answered.message_id)},
    }


def _payload(facts: MessageFacts, mode: PayloadMode) -> dict[str, Any]:
    if mode == "none":
        return {"note": [{"text": NO_PAYLOAD_NOTE}]}
    parts: list[dict[str, Any]] = []
    if facts.subject:
        parts.append({"contentString": f"Subject: {facts.subject}"})
    if facts.body:
        parts.append({"contentString": facts.body})
    out: dict[str, Any] = {"payload": parts} if parts else {}
    if facts.attachments:
        # attachments stay in Switchboard (internal references the EHR cannot open)
        out["note"] = [{"text": f"{facts.attachments} attachment(s): see Switchboard."}]
    return out


def communication(facts: MessageFacts, payload: PayloadMode = "none") -> dict[str, Any]:
    """The Communication for one message, validated (raises CommunicationInvalid)."""
    return validate(build(facts, payload))


def build(facts: MessageFacts, payload: PayloadMode = "none") -> dict[str, Any]:
    """The Communication for one message as JSON, not yet validated."""
    code, display, said = MEDIUM.get(facts.channel, ("ELECTRONIC", "electronic data", ""))
    patient = {"reference": f"Patient/{facts.patient_id}"}
    resource: dict[str, Any] = {
        "resourceType": "Communication",
        "identifier": [{"system": MESSAGE_ID_SYSTEM, "value": str(facts.message_id)}],
        "status": "completed",
        "subject": patient,
        "topic": {
            "coding": [
                {
                    "system": REASON_SYSTEM,
                    "code": facts.reason,
                    "display": facts.reason_label or reason_label(facts.reason),
                }
            ],
            "text": facts.reason_label or reason_label(facts.reason),
        },
        "medium": [
            {
                "coding": [{"system": PARTICIPATION_MODE, "code": code, "display": display}],
                "text": said or facts.channel,
            }
        ],
    }
    if facts.direction == "inbound":
        resource["sender"] = patient
        resource["received"] = facts.at.isoformat()
        if facts.provider_id:
            resource["recipient"] = [{"reference": f"Practitioner/{facts.provider_id}"}]
    else:
        resource["recipient"] = [patient]
        resource["sent"] = facts.at.isoformat()
        if facts.staff_user:
            resource["sender"] = _staff(facts.staff_user)
    if facts.in_response_to is not None:
        resource["inResponseTo"] = [_answered(facts.in_response_to)]
    resource.update(_payload(facts, payload))
    return resource


def validate(resource: Mapping[str, Any]) -> dict[str, Any]:
    """`resource` as fhir.resources R4B reads it back (raises CommunicationInvalid)."""
    try:
        model = Communication.model_validate(dict(resource))
    except pydantic.ValidationError as exc:
        raise CommunicationInvalid(_elements(exc)) from None
    except (ValueError, TypeError) as exc:  # fhir.resources' own checks
        raise CommunicationInvalid(f"Communication: {type(exc).__name__}") from None
    out: dict[str, Any] = model.model_dump(mode="json", exclude_none=True)
    return out


def _elements(exc: pydantic.ValidationError) -> str:
    errors = exc.errors(include_input=False, include_url=False, include_context=False)
    where = [
        f"Communication.{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['type']}"
        for err in errors[:5]
    ]
    return "invalid " + "; ".join(where)


# --- the server's answer ---------------------------------------------------------------

Outcome = Literal["created", "exists", "retry", "reject"]


def classify(status: int) -> Outcome:
    """What an HTTP answer to the conditional create means for the message.

    201: created. 200: a Communication with this identifier was there (a redelivery).
    5xx, 429, and 401/403/404/405/408 (a token, a URL or a server that does not take
    Communications yet: the practice's set-up, fixed by an operator, never by the record)
    are retried. Other 4xx (400, 409, 412 several matches, 422) reject this Communication:
    sending it again would get the same answer, so it is dead-lettered.
    """
    if status == 201:
        return "created"
    if 200 <= status < 300:
        return "exists"
    if status >= 500 or status in (401, 403, 404, 405, 408, 429):
        return "retry"
    return "reject"


def outcome_elements(body: Any) -> str:
    """The elements an OperationOutcome blames (`expression` / `location`) and its issue
    codes; never `diagnostics` or `details.text`, which may quote the values sent."""
    if not isinstance(body, Mapping) or body.get("resourceType") != "OperationOutcome":
        return "no OperationOutcome"
    parts: list[str] = []
    for issue in body.get("issue") or ():
        if not isinstance(issue, Mapping):
            continue
        where = [_path(w) for w in (issue.get("expression") or issue.get("location") or ())]
        code = str(issue.get("code") or "?")[:40]
        parts.append(f"{code} at {', '.join(where)}" if where else code)
    return "; ".join(parts[:5]) or "no issue"


def _path(where: Any) -> str:
    """An element path only: a FHIRPath filter's literal (`where(value='...')`) and anything
    past the allowed characters are dropped."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'?'", str(where))
    text = re.sub(r"(=|!=|<|>|~)[^)]*", "=?", text)  # unquoted literals too
    return re.sub(r"[^A-Za-z0-9_.\[\]()/:=?'-]", "", text)[:120]


def server_id(body: Any, location: str | None) -> str | None:
    """The created (or found) Communication's id: from the body, else the Location header
    (`.../Communication/<id>/_history/<v>`)."""
    if isinstance(body, Mapping) and body.get("resourceType") == "Communication" and body.get("id"):
        return str(body["id"])[:64]
    if location:
        parts = [p for p in location.split("/") if p]
        if "Communication" in parts:
            following = parts[parts.index("Communication") + 1 :]
            if following:
                return following[0][:64]
    return None
