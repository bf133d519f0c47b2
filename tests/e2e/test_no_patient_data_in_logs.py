"""No patient data in any log or dead-letter header (issue 13): the whole system is driven
through every channel with MARKED patient data (a unique name, date of birth, phone and
email in every encoding, message text, file names), inputs that fail included (bad
signatures, invalid JSON, an HL7 message answered AE, a record that is dead-lettered), and
then every service log of the run and every dead-letter header and key is scanned for any
mark in any encoding: 0 hits. (A dead letter's value is the original record: it may hold
data, as the topic it came from does.)"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import smtplib
import time
import uuid
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote, unquote

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from system_support import running_system

from switchboard.ingest.adapters.twilio import signature
from switchboard.pm_sync.adapters.mllp import MLLPClient, ack_code
from switchboard.rules.signing import signed_headers

# The system start and every channel, on a machine shared with other runs: more than 300 s.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]

GIVEN, FAMILY = "Quillon", "Zephyrine"
DOB = ("1931-07-19", "19310719", "07/19/1931")
PHONE = "+16467770123"  # valid (the messenger checks), unique to this test
PHONE_FORMS = (
    PHONE,
    "%2B16467770123",
    "16467770123",
    "(646) 777-0123",
    "646-777-0123",
    "646.777.0123",
)
EMAIL = "quillon.zephyrine@example.org"
TEXT = "Vexmorant rash since Tuesday"  # the message text's mark: "Vexmorant"
FILE = "glimwhistle-xray.png"  # the file names' mark: "glimwhistle"
# What the scan looks for, case-insensitively, in each text as it is and URL-decoded.
MARKS = (
    GIVEN,
    FAMILY,
    *DOB,
    "6467770123",
    "646) 777-0123",
    "646-777-0123",
    "646.777.0123",
    "777-0123",
    "quillon.zephyrine",
    "Vexmorant",
    "glimwhistle",
)
LINE = "+12125550000"
MAILBOX = "front@demo.switchboard.test"


def hits_in(text: str) -> list[str]:
    views = {text, unquote(text), unquote(unquote(text))}
    return sorted({m for m in MARKS for v in views if m.lower() in v.lower()})


def secret(run_home: Path, name: str, default: str) -> str:
    """A signing secret as the run has it (secrets.env when the run writes one)."""
    env = run_home / "secrets.env"
    if env.exists():
        for line in env.read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == name:
                return value.strip().strip("'\"")
    return os.environ.get(name, default)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    home = tmp_path_factory.mktemp("phi-run")
    base = int(os.environ.get("SB_E2E_PORT_BASE", "18000")) + 20
    with running_system(home, base, demo=False) as system:
        yield system, home, base


def wait_for(fn, timeout=120.0, every=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("condition not met in time")


def lenient_get(client: httpx.Client, path: str, params: dict[str, str]) -> None:
    """A query that may fail (a NUL gave 500 and a dropped connection): only its logs count."""
    with contextlib.suppress(httpx.TransportError):
        client.get(path, params=params)


def hl7(control: str, kind: str, *segments: str) -> str:
    msh = f"MSH|^~\\&|PM|DEMO|SWITCHBOARD|SWITCHBOARD|20260101120000||{kind}|{control}|P|2.5.1"
    return "\r".join([msh, *segments]) + "\r"


PID = (
    f"PID|1||pat-quillon^^^DEMO^MR||{FAMILY}^{GIVEN}^^^^^L||{DOB[1]}|F|||||"
    f"(646)777-0123^PRN^PH^^1^646^7770123~^NET^Internet^{EMAIL}"
)


async def send_hl7(port: int) -> list[str]:
    adt = hl7("q1", "ADT^A04^ADT_A01", "EVN|A04|20260101120000", PID, "PV1|1|O|loc-manhattan")
    siu = hl7(
        "q2",
        "SIU^S12^SIU_S12",
        "SCH|ap-quillon^DEMO|ap-quillon^DEMO||||||30|MIN|^^30^20260102090000-0500^20260102093000-0500",
        PID,
        "RGS|1|A",
        "AIL|1|A|loc-manhattan^^^Manhattan",
    )
    # content that is wrong (unreadable date of birth carrying the name): answered AE
    bad = hl7(
        "q3",
        "ADT^A08^ADT_A01",
        "EVN|A08|20260101120000",
        f"PID|1||pat-quillon^^^DEMO^MR||{FAMILY}^{GIVEN}||{GIVEN} {FAMILY} {PHONE}",
    )
    async with MLLPClient("127.0.0.1", port, timeout_s=30) as client:
        return [ack_code(await client.send(m)) for m in (adt, siu, bad)]


def sms(system, run_home, params: dict[str, str], kind="sms", good=True) -> httpx.Response:
    url = f"{system.ingest}/webhooks/twilio/{kind}/demo"
    token = secret(run_home, "SWITCHBOARD_TWILIO_AUTH_TOKEN", system.twilio_token)
    sig = signature(token, url, params) if good else "bad-signature"
    return httpx.post(url, data=params, headers={"X-Twilio-Signature": sig})


def email_bytes(subject: str) -> bytes:
    m = EmailMessage()
    m["From"] = f"{GIVEN} {FAMILY} <{EMAIL}>"
    m["To"] = MAILBOX
    m["Subject"] = subject
    m["Message-ID"] = f"<{uuid.uuid4().hex}@example.org>"
    m.set_content(f"{TEXT}. Born {DOB[0]}, call me on {PHONE_FORMS[3]}.")
    m.add_attachment(b"\x89PNG fake", maintype="image", subtype="png", filename=FILE)
    return bytes(m)


async def dead_letter_records(system) -> list:
    consumer = AIOKafkaConsumer(
        f"{system.topic_prefix}switchboard.dead-letter",
        bootstrap_servers=system.kafka,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        out = []
        while True:
            batch = await consumer.getmany(timeout_ms=3000)
            if not any(batch.values()):
                return out
            for records in batch.values():
                out.extend(records)
    finally:
        await consumer.stop()


async def produce_malformed(system) -> None:
    """A record a consumer cannot read, carrying the marks: it is dead-lettered."""
    producer = AIOKafkaProducer(bootstrap_servers=system.kafka, acks="all")
    await producer.start()
    try:
        value = {
            "event_type": "MessageReceived",
            "event_id": str(uuid.uuid4()),
            "occurred_at": f"{GIVEN} {FAMILY} {DOB[0]}",
            "practice_id": "demo",
            "sender": PHONE,
            "body": TEXT,
        }
        await producer.send_and_wait(
            f"{system.topic_prefix}switchboard.messages",
            json.dumps(value).encode(),
            key=b"demo",
        )
    finally:
        await producer.stop()


def test_marked_patient_data_is_in_no_log_and_no_dead_letter_header(run):
    system, home, base = run
    admin = system.login("admin@demo", "demo-admin")
    gw = httpx.Client(base_url=system.gateway, headers=admin, timeout=30)
    ingest = httpx.Client(base_url=system.ingest, timeout=30)

    # pm-sync: the patient, an appointment, and a message answered AE
    acks = asyncio.run(send_hl7(base - 8000 + 2575))
    assert acks[0] == "AA" and acks[2] in ("AE", "AR"), acks

    # SMS (signed, bad signature), voicemail (its recording URL carries the phone)
    r = sms(
        system,
        home,
        {
            "MessageSid": f"SM{uuid.uuid4().hex}",
            "From": PHONE,
            "To": LINE,
            "Body": f"{TEXT} - {GIVEN} {FAMILY} {DOB[2]} {EMAIL}",
        },
    )
    assert r.status_code == 200, r.text
    bad = {"MessageSid": "SMbad", "From": PHONE, "To": LINE, "Body": TEXT}
    assert sms(system, home, bad, good=False).status_code == 403
    voicemail = {
        "CallSid": f"CA{uuid.uuid4().hex}",
        "RecordingSid": f"RE{uuid.uuid4().hex}",
        "From": PHONE,
        "To": LINE,
        "RecordingUrl": f"http://127.0.0.1:9/rec/{quote(PHONE)}?caller={quote(PHONE)}",
        "TranscriptionText": f"This is {GIVEN} {FAMILY}, {TEXT}",
    }
    sms(system, home, voicemail, kind="voicemail")

    # email over HTTP (signed, and unsigned) and over SMTP
    secret_email = secret(home, "SWITCHBOARD_EMAIL_WEBHOOK_SECRET", "dev-email-webhook-secret")
    raw = email_bytes(f"{GIVEN} {FAMILY} question")
    ctype = {"content-type": "message/rfc822"}
    r = ingest.post(
        "/webhooks/email",
        content=raw,
        headers=ctype | signed_headers(secret_email, int(time.time()), raw),
    )
    assert r.status_code == 200, r.text
    assert ingest.post("/webhooks/email", content=raw, headers=ctype).status_code == 403
    with smtplib.SMTP("127.0.0.1", base - 8000 + 2525, timeout=30) as smtp:
        smtp.sendmail(EMAIL, [MAILBOX], email_bytes(f"{FAMILY} by SMTP"))

    # the patient messenger: failed and invalid sign-ins, then in, an upload and a message
    page = "/patient/demo"
    who = {"given_name": GIVEN, "family_name": FAMILY, "phone": PHONE_FORMS[3]}
    ingest.post(f"{page}/sessions", content=b'{"given_name": "Quillon", "phone": ')
    ingest.post(f"{page}/sessions", json=who | {"birth_date": GIVEN})
    ingest.post(f"{page}/sessions", json=who | {"birth_date": "1931-07-20"})
    # pm-sync knows the patient once the gateway lists them (same PM events); the sign-in is
    # then retried sparingly: each failure counts towards the attempt limit.
    wait_for(lambda: gw.get("/api/patients", params={"q": FAMILY}).json())
    signed_in = wait_for(
        lambda: (
            (r := ingest.post(f"{page}/sessions", json=who | {"birth_date": DOB[0]})).status_code
            == 201
            and r
        ),
        timeout=40,
        every=12,
    )
    auth = {"Authorization": f"Bearer {signed_in.json()['token']}"}
    up = ingest.post(
        f"{page}/attachments",
        params={"filename": FILE},
        content=b"\x89PNG fake",
        headers=auth | {"content-type": "image/png"},
    )
    assert up.status_code == 201, up.text
    r = ingest.post(
        f"{page}/messages",
        json={
            "client_message_id": "q1",
            "body": f"{TEXT} {DOB[0]}",
            "attachment_ids": [up.json()["attachment_id"]],
        },
        headers=auth,
    )
    assert r.status_code == 202, r.text

    # the staff side: searches and patient lookups with the marks (one with a NUL), replies
    for params in (
        {"q": f"{GIVEN} {FAMILY}"},
        {"q": PHONE},
        {"q": EMAIL},
        {"name": FAMILY},
        {"phone": PHONE},
        {"email": EMAIL},
        {"text": "Vexmorant"},
        {"q": f"{GIVEN}\x00{FAMILY}"},
        {"text": f"Vexmorant\x00{PHONE}"},
    ):
        lenient_get(gw, "/api/search", params)
    for q in (GIVEN, PHONE_FORMS[3], EMAIL, f"{FAMILY}\x00"):
        lenient_get(gw, "/api/patients", {"q": q})

    # the server may have closed pooled connections after those 500s
    gw = httpx.Client(base_url=system.gateway, headers=admin, timeout=30)

    def conversation(params: dict[str, str]):
        return next(iter(gw.get("/api/search", params=params).json().get("items", [])), None)

    for params, extra in (({"phone": PHONE}, {}), ({"email": EMAIL}, {"secure": True})):
        conv = wait_for(lambda p=params: conversation(p))
        detail = gw.get(f"/api/conversations/{conv['conversation_id']}").json()
        r = gw.post(
            f"/api/conversations/{conv['conversation_id']}/reply",
            json={
                "body": f"Dear {GIVEN} {FAMILY}, about {TEXT}",
                "expected_version": detail.get("version"),
                "keep_open": True,
            }
            | extra,
        )
        assert r.status_code in (200, 202), r.text

    # a record that cannot be read: dead-lettered
    asyncio.run(produce_malformed(system))

    def dead_lettered():
        return [r for r in asyncio.run(dead_letter_records(system)) if r.key == b"demo"]

    wait_for(dead_lettered, timeout=60)
    time.sleep(3)  # the services' last lines about all of the above reach their logs

    found: list[str] = []
    for log_file in sorted((home / "logs").glob("*.log")):
        for n, line in enumerate(log_file.read_text(errors="replace").splitlines(), 1):
            if marks := hits_in(line):
                found.append(f"{log_file.name}:{n}: {marks}: {line[:400]}")
    for record in asyncio.run(dead_letter_records(system)):
        where = f"dead letter {record.partition}/{record.offset}"
        if record.key and (marks := hits_in(record.key.decode(errors="replace"))):
            found.append(f"{where} key: {marks}")
        for name, value in record.headers or ():
            if marks := hits_in(value.decode(errors="replace")):
                found.append(f"{where} header {name}: {marks}: {value[:300]!r}")
    assert not found, f"{len(found)} hits of patient data:\n" + "\n".join(found[:80])
