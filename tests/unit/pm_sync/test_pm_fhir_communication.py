"""FHIR R4 Communication out (X-FHIR-2): the pure mapping (every channel, replies'
inResponseTo, the payload setting, validation), how the server's answers are read, the
conditional create over HTTP (retries, rejections), and a Communication that fails
validation going to the dead-letter topic with a reason naming the element only.

# covers X-FHIR-2
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fhir.resources.R4B.communication import Communication

from switchboard.platform.consumer import is_transient
from switchboard.pm_sync.adapters import fhir_out_store
from switchboard.pm_sync.adapters.fhir_writer import (
    CommunicationRejected,
    CommunicationWriter,
    FhirServerUnavailable,
)
from switchboard.pm_sync.domain.fhir_communication import (
    MESSAGE_ID_SYSTEM,
    NO_PAYLOAD_NOTE,
    PARTICIPATION_MODE,
    REASON_SYSTEM,
    STAFF_USER_SYSTEM,
    Answered,
    CommunicationInvalid,
    MessageFacts,
    classify,
    communication,
    identifier_query,
    outcome_elements,
    reason_label,
    server_id,
)
from switchboard.pm_sync.entrypoints.fhir_out import FhirOut
from switchboard.pm_sync.settings import FhirPractice, PmSyncSettings

AT = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
MID = uuid.UUID("11111111-2222-3333-4444-555555555555")
INBOUND_ID = uuid.UUID("aaaaaaaa-2222-3333-4444-555555555555")


def facts(**overrides: Any) -> MessageFacts:
    values: dict[str, Any] = {
        "message_id": MID,
        "direction": "inbound",
        "channel": "sms",
        "patient_id": "p-1",
        "reason": "billing",
        "at": AT,
        "body": "My bill is wrong, DOB 1980-02-14",
    }
    values.update(overrides)
    return MessageFacts(**values)


# --- the mapping ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "code", "text"),
    [
        ("sms", "WRITTEN", "SMS"),
        ("email", "EMAILWRIT", "Email"),
        ("secure_email", "EMAILWRIT", "Secure email"),
        ("web_chat", "ONLINEWRIT", "Web chat"),
        ("voicemail", "PHONE", "Voicemail"),
    ],
)
def test_every_channel_has_its_participation_mode(channel: str, code: str, text: str) -> None:
    c = communication(facts(channel=channel))
    medium = c["medium"][0]
    assert medium["coding"][0] == {
        "system": PARTICIPATION_MODE,
        "code": code,
        "display": medium["coding"][0]["display"],
    }
    assert medium["text"] == text
    Communication.model_validate(c)  # what we send reads back as R4


def test_an_inbound_message_is_from_the_patient_about_the_patient_and_coded_by_reason() -> None:
    c = communication(facts(provider_id="dr-1"))
    assert c["resourceType"] == "Communication"
    assert c["identifier"] == [{"system": MESSAGE_ID_SYSTEM, "value": str(MID)}]
    assert c["status"] == "completed"
    assert c["subject"] == {"reference": "Patient/p-1"}
    assert c["sender"] == {"reference": "Patient/p-1"}
    assert c["recipient"] == [{"reference": "Practitioner/dr-1"}]
    assert c["received"].startswith("2026-12-07T09:30:00")
    assert "sent" not in c
    assert c["topic"] == {
        "coding": [{"system": REASON_SYSTEM, "code": "billing", "display": "Billing"}],
        "text": "Billing",
    }
    assert "inResponseTo" not in c


def test_a_reply_is_from_the_staff_member_to_the_patient_in_response_to_the_message() -> None:
    c = communication(
        facts(
            direction="outbound",
            staff_user="u-ma-1",
            in_response_to=Answered(INBOUND_ID, "c0ffee"),
        )
    )
    assert c["sender"] == {
        "type": "Practitioner",
        "identifier": {"system": STAFF_USER_SYSTEM, "value": "u-ma-1"},
    }
    assert c["recipient"] == [{"reference": "Patient/p-1"}]
    assert c["sent"].startswith("2026-12-07T09:30:00")
    assert "received" not in c
    assert c["inResponseTo"] == [{"reference": "Communication/c0ffee"}]


def test_a_reply_to_a_message_the_server_has_not_named_refers_to_it_by_identifier() -> None:
    c = communication(facts(direction="outbound", in_response_to=Answered(INBOUND_ID)))
    assert c["inResponseTo"] == [
        {
            "type": "Communication",
            "identifier": {"system": MESSAGE_ID_SYSTEM, "value": str(INBOUND_ID)},
        }
    ]


def test_payload_none_is_the_default_and_carries_no_content_only_a_note() -> None:
    c = communication(facts(subject="About my bill", attachments=2))
    assert "payload" not in c
    assert c["note"] == [{"text": NO_PAYLOAD_NOTE}]
    assert "My bill" not in json.dumps(c) and "About my bill" not in json.dumps(c)


def test_payload_full_carries_the_text_and_an_emails_subject_not_attachments() -> None:
    c = communication(facts(channel="email", subject="About my bill", attachments=2), "full")
    assert c["payload"] == [
        {"contentString": "Subject: About my bill"},
        {"contentString": "My bill is wrong, DOB 1980-02-14"},
    ]
    assert c["note"] == [{"text": "2 attachment(s): see Switchboard."}]


def test_reason_labels_come_from_the_catalogue_then_the_operators_then_the_code() -> None:
    assert reason_label("prescriptions_refills") == "Prescriptions / Refills"
    assert reason_label("travel_vaccines", {"travel_vaccines": "Travel vaccines"}) == (
        "Travel vaccines"
    )
    assert reason_label("travel_vaccines") == "Travel vaccines"
    c = communication(facts(reason="travel_vaccines", reason_label="Travel jabs"))
    assert c["topic"]["text"] == "Travel jabs"


def test_an_invalid_communication_names_the_element_never_the_value() -> None:
    with pytest.raises(CommunicationInvalid) as caught:
        communication(facts(reason="bad  code", body="secret body"))
    text = str(caught.value)
    assert "topic" in text and "coding" in text
    assert "bad  code" not in text and "secret" not in text


def test_the_conditional_create_searches_by_the_message_identifier() -> None:
    assert identifier_query(MID) == f"identifier={MESSAGE_ID_SYSTEM}|{MID}"


# --- the server's answers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (201, "created"),
        (200, "exists"),
        (500, "retry"),
        (503, "retry"),
        (429, "retry"),
        (401, "retry"),
        (404, "retry"),
        (400, "reject"),
        (412, "reject"),
        (422, "reject"),
    ],
)
def test_answers_are_classified(status: int, outcome: str) -> None:
    assert classify(status) == outcome


def test_an_operation_outcome_gives_elements_and_codes_never_diagnostics() -> None:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "invalid",
                "diagnostics": "Patient Jane Doe 212-555-0101 unknown",
                "expression": ["Communication.subject"],
            },
            {
                "code": "value",
                "expression": ["Communication.identifier.where(value='jane@example.com')"],
            },
            {"code": "required"},
        ],
    }
    text = outcome_elements(body)
    assert "Communication.subject" in text and "invalid" in text and "required" in text
    assert "Jane" not in text and "555" not in text and "jane@example.com" not in text
    assert outcome_elements("<html>") == "no OperationOutcome"


def test_the_server_id_comes_from_the_body_or_the_location_header() -> None:
    assert server_id({"resourceType": "Communication", "id": "abc"}, None) == "abc"
    assert server_id(None, "http://ehr/fhir/Communication/x9/_history/1") == "x9"
    assert server_id(None, None) is None


# --- the conditional create over HTTP --------------------------------------------------------


async def _no_sleep(_: float) -> None:
    return None


def writer_with(answers: list[Any], seen: list[httpx.Request]) -> CommunicationWriter:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    client = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    return CommunicationWriter(client, max_attempts=3, sleep=_no_sleep)


async def test_create_is_conditional_and_retries_server_errors_and_timeouts() -> None:
    seen: list[httpx.Request] = []
    created = httpx.Response(
        201,
        json={"resourceType": "Communication", "id": "srv-1"},
        headers={"Location": "http://ehr/fhir/Communication/srv-1/_history/1"},
    )
    writer = writer_with([httpx.Response(503), httpx.ReadTimeout("slow"), created], seen)
    written = await writer.create("http://ehr/fhir/", "tok", MID, communication(facts()))
    assert written.server_id == "srv-1" and not written.existed
    assert len(seen) == 3
    last = seen[-1]
    assert str(last.url) == "http://ehr/fhir/Communication"
    assert last.headers["If-None-Exist"] == identifier_query(MID)
    assert last.headers["Authorization"] == "Bearer tok"
    assert last.headers["Content-Type"] == "application/fhir+json"


async def test_an_existing_communication_is_found_not_created_again() -> None:
    seen: list[httpx.Request] = []
    found = httpx.Response(200, json={"resourceType": "Communication", "id": "srv-1"})
    writer = writer_with([found], seen)
    written = await writer.create("http://ehr/fhir", None, MID, communication(facts()))
    assert written.existed and written.server_id == "srv-1"


async def test_a_server_that_stays_down_makes_the_batch_wait_not_dead_letter() -> None:
    seen: list[httpx.Request] = []
    writer = writer_with(
        [httpx.Response(502), httpx.ConnectError("down"), httpx.Response(500)], seen
    )
    with pytest.raises(FhirServerUnavailable) as caught:
        await writer.create("http://ehr/fhir", None, MID, communication(facts()))
    assert is_transient(caught.value)  # the consumer retries the batch, commits nothing
    assert len(seen) == 3


async def test_a_refusal_the_record_cannot_fix_is_rejected_naming_the_element() -> None:
    seen: list[httpx.Request] = []
    refused = httpx.Response(
        422,
        json={
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "code": "invalid",
                    "diagnostics": "unknown patient p-1",
                    "expression": ["Communication.subject"],
                }
            ],
        },
    )
    writer = writer_with([refused], seen)
    with pytest.raises(CommunicationRejected) as caught:
        await writer.create("http://ehr/fhir", None, MID, communication(facts()))
    assert "HTTP 422" in str(caught.value) and "Communication.subject" in str(caught.value)
    assert "p-1" not in str(caught.value)
    assert not is_transient(caught.value)
    assert len(seen) == 1  # never sent again


# --- a Communication that fails validation is dead-lettered ----------------------------------


class _Producer:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_and_wait(self, topic: str, **kwargs: Any) -> None:
        self.sent.append({"topic": topic, **kwargs})


class _Publisher:
    def __init__(self) -> None:
        self.producer = _Producer()


async def test_a_communication_failing_validation_is_dead_lettered_and_not_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: dict[str, Any] = {}
    row = fhir_out_store.Ready(
        practice_id="demo",
        message_id=MID,
        conversation_id=uuid.uuid4(),
        direction="inbound",
        channel="sms",
        at=AT,
        patient_id="p-1",
        reason="bad  code",  # fhir code cannot hold two spaces: topic.coding.code fails
        body="secret body",
        subject=None,
        attachments=0,
        provider_id=None,
        staff_user=None,
        in_response_to=None,
    )

    async def ready(session: Any, practice_id: str, conversation: uuid.UUID) -> list[Any]:
        return [row]

    async def labels(session: Any, practice_id: str) -> dict[str, str]:
        return {}

    async def rejected(session: Any, practice_id: str, message_id: uuid.UUID, why: str) -> None:
        calls["rejected"] = (message_id, why)

    async def published(*args: Any) -> None:
        calls["published"] = args

    monkeypatch.setattr(fhir_out_store, "ready", ready)
    monkeypatch.setattr(fhir_out_store, "reason_labels", labels)
    monkeypatch.setattr(fhir_out_store, "rejected", rejected)
    monkeypatch.setattr(fhir_out_store, "published", published)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError("an invalid Communication must not be sent")

    settings = PmSyncSettings(
        service_name="pm-sync-unit",
        topic_prefix="u.",
        fhir_practices=[FhirPractice(practice_id="demo", base_url="http://ehr/fhir")],
    )
    publisher = _Publisher()
    out = FhirOut(
        settings,
        publisher,  # type: ignore[arg-type]
        client=httpx.AsyncClient(transport=httpx.MockTransport(refuse)),
    )
    practice = settings.fhir_practices[0]
    assert await out.publish_ready(None, practice, row.conversation_id) == 1  # type: ignore[arg-type]
    assert "published" not in calls
    assert calls["rejected"][0] == MID
    [letter] = publisher.producer.sent
    assert letter["topic"] == "u.switchboard.dead-letter"
    headers = dict(letter["headers"])
    assert headers["dlq.consumer"] == b"pm-sync-fhir-writer"
    error = headers["dlq.error"].decode()
    assert "topic" in error and "coding" in error
    assert "bad  code" not in error and "secret" not in error
    assert json.loads(letter["value"])["resourceType"] == "Communication"
