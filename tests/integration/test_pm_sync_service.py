"""pm-sync as it runs (app.py wiring), against the real Kafka and PostgreSQL: a real MLLP
client sends SIU / ADT over TCP, a local HTTP server serves FHIR R4 Bundles with paging,
and the internal read endpoints answer from pm-sync's own projection of its events.

# covers X-FHIR-1 (HL7 v2 SIU/ADT over MLLP, FHIR R4 polling), I-PANEL-1 (encounters),
# covers R-LOC-1 / R-PROV-1 (next upcoming appointment), I-UNREC-1 (phone / email look-up)
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import FastAPI
from sqlalchemy import create_engine, select

from switchboard.events import Topic, decode, deterministic_id
from switchboard.events.topics import PARTITIONS
from switchboard.gateway.auth import Principal, issue_token
from switchboard.gateway.clients import Peers
from switchboard.gateway.routes.ehr import router as ehr_router
from switchboard.gateway.settings import GatewaySettings
from switchboard.platform.internal_api import (
    dev_credentials,
    internal_app_of,
    settings_update,
)
from switchboard.platform.kafka import ensure_topics
from switchboard.platform.migrations import upgrade
from switchboard.pm_sync.adapters import storage
from switchboard.pm_sync.adapters.mllp import MLLPClient, ack_code
from switchboard.pm_sync.entrypoints.app import MIGRATIONS, build_app
from switchboard.pm_sync.settings import FhirPractice, PmSyncSettings
from switchboard_demo.fhir_server import FhirTestServer

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
# The internal API's callers and their tokens, as scripts/up.sh makes them.
CREDENTIALS = dev_credentials()
GATEWAY_TOKEN = CREDENTIALS["gateway"]["SWITCHBOARD_INTERNAL_TOKEN"]


# --- HL7 builders -------------------------------------------------------------------------


def ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S+0000")


def hl7(*segments: str) -> str:
    return "\r".join(segments) + "\r"


def adt(
    patient: str,
    *,
    cid: str | None = None,
    at: datetime = NOW - timedelta(days=30),
    phone: str = "(212) 555-0101",
    email: str | None = None,
    given: str = "Jane",
    family: str = "Doe",
    trigger: str = "A04",
) -> str:
    telecom = f"{phone}^PRN^PH" + (f"~^NET^Internet^{email}" if email else "")
    return hl7(
        f"MSH|^~\\&|ACME-PM|MAIN|SWITCHBOARD|SB|{ts(at)}||ADT^{trigger}^ADT_A01|"
        f"{cid or uuid.uuid4().hex[:16]}|P|2.5.1",
        f"EVN|{trigger}|{ts(at)}",
        f"PID|1||{patient}^^^ACME^MR||{family}^{given}^^^^^L||19800214|F|||||{telecom}||en",
        "PD1||||u-dr-1^Lee^Sam^^^Dr",
        "ROL|1|AD|PP^Primary Care Provider^HL70443|u-ma-manhattan-1",
    )


def siu(
    trigger: str,
    patient: str,
    appt: str,
    start: datetime,
    *,
    cid: str | None = None,
    at: datetime = NOW - timedelta(days=1),
    status: str = "Booked",
    location: str = "loc-manhattan",
    provider: str = "dr-1",
) -> str:
    end = start + timedelta(minutes=30)
    return hl7(
        f"MSH|^~\\&|ACME-PM|MAIN|SWITCHBOARD|SB|{ts(at)}||SIU^{trigger}^SIU_S12|"
        f"{cid or uuid.uuid4().hex[:16]}|P|2.5.1",
        f"SCH|P-{appt}^ACME|{appt}^ACME||||ROUTINE|OFFICE^Office visit|OFFICE|30|MIN|"
        f"^^30^{ts(start)}^{ts(end)}" + "|" * 14 + status,
        f"PID|1||{patient}^^^ACME^MR||Doe^Jane^^^^^L||19800214|F",
        "RGS|1|A",
        f"AIS|1|A|OFFICE^Office visit^ACME|{ts(start)}|||30|MIN",
        f"AIL|1|A|{location}^^^{location}|||{ts(start)}",
        f"AIP|1|A|{provider}^Lee^Sam^^^Dr|PHYS^Physician||{ts(start)}",
    )


def control_id(message: str) -> str:
    return message.split("\r", 1)[0].split("|")[9]


# --- running pm-sync ----------------------------------------------------------------------


@dataclass
class PmSync:
    app: FastAPI
    http: httpx.AsyncClient  # the internal API, as the gateway
    public: httpx.AsyncClient  # the public port (ops routes)
    settings: PmSyncSettings

    @property
    def mllp_port(self) -> int:
        return int(self.app.state.mllp.port)

    def mllp(self) -> MLLPClient:
        return MLLPClient("127.0.0.1", self.mllp_port, timeout_s=20)

    async def get(self, path: str, **params: str) -> httpx.Response:
        return await self.http.get(path, params=params)


def pm_settings(settings, **overrides: Any) -> PmSyncSettings:
    values: dict[str, Any] = {
        "service_name": "pm-sync-test",
        "kafka_bootstrap": settings.kafka_bootstrap,
        "database_url": settings.database_url,
        "topic_prefix": settings.topic_prefix,
        "consumer_backoff_initial_s": 0.01,
        "consumer_backoff_max_s": 0.05,
        "mllp_port": 0,
        "hl7_practice_id": "demo",
        "default_timezone": "UTC",
        "fhir_max_attempts": 2,
        "fhir_backoff_initial_s": 0.02,
        "fhir_backoff_max_s": 0.2,
        "fhir_timeout_s": 5,
        "publish_timeout_s": 5,
    }
    return PmSyncSettings(**(values | settings_update(CREDENTIALS["pm-sync"]) | overrides))


@pytest.fixture(scope="module")
async def prepared(settings):
    await asyncio.to_thread(upgrade, MIGRATIONS, settings.database_url)
    await ensure_topics(settings)
    return settings


@contextlib.asynccontextmanager
async def running(cfg: PmSyncSettings) -> AsyncIterator[PmSync]:
    app = build_app(cfg)
    internal = internal_app_of(app)
    assert internal is not None
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=internal),
            base_url="http://pm-sync",
            headers={"Authorization": f"Bearer {GATEWAY_TOKEN}"},
        ) as http,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pm") as public,
    ):
        yield PmSync(app, http, public, cfg)


@pytest.fixture(scope="module")
async def pm(prepared) -> AsyncIterator[PmSync]:
    """One pm-sync for the HL7 tests (practice "demo"; each test uses its own patient ids)."""
    async with running(pm_settings(prepared)) as service:
        yield service


async def eventually(check: Callable[[], Any], timeout_s: float = 30.0) -> Any:
    """Poll an async check until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


async def panel(pm: PmSync, patient: str, practice: str = "demo") -> dict[str, Any] | None:
    r = await pm.get(f"/internal/practices/{practice}/patients/{patient}")
    return r.json() if r.status_code == 200 else None


async def read_topic(settings, topic: Topic) -> list[Any]:
    """Every record of a topic so far (a fresh reader, no group)."""
    name = settings.topic(topic)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        tps = [TopicPartition(name, p) for p in range(PARTITIONS[topic])]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[Any] = []

        async def behind() -> bool:
            return any([await consumer.position(tp) < end for tp, end in ends.items()])

        while await behind():
            batch = await consumer.getmany(timeout_ms=500)
            for rs in batch.values():
                records.extend(rs)
        return records
    finally:
        await consumer.stop()


async def event_ids(settings) -> list[uuid.UUID]:
    """Event ids on the PM topic (other tests of the session put junk there: skipped)."""
    out = []
    for r in await read_topic(settings, Topic.PM):
        with contextlib.suppress(Exception):
            out.append(decode(r.value).event_id)
    return out


def pid() -> str:
    return f"MRN-{uuid.uuid4().hex[:10]}"


# --- HL7 over MLLP ------------------------------------------------------------------------


async def test_siu_is_acknowledged_only_once_kafka_has_it(pm):
    # covers X-FHIR-1: AA means the events are on the log (acks=all) already
    patient, appt = pid(), f"A-{uuid.uuid4().hex[:8]}"
    booking = siu("S12", patient, appt, NOW + timedelta(days=3))
    async with pm.mllp() as client:
        assert ack_code(await client.send(adt(patient))) == "AA"
        reply = await client.send(booking)
    assert ack_code(reply) == "AA"
    assert f"MSA|AA|{control_id(booking)}" in reply
    expected = deterministic_id("demo", "hl7", control_id(booking), "0")
    assert expected in await event_ids(pm.settings)

    # covers R-LOC-1, R-PROV-1: the next upcoming appointment gives location and provider
    seen = await eventually(lambda: _with_next(pm, patient))
    assert seen["next_appointment"]["appointment_id"] == appt
    assert seen["next_appointment"]["location_id"] == "loc-manhattan"
    assert seen["next_appointment"]["provider_id"] == "dr-1"
    assert set(seen["care_team"]) == {"u-dr-1", "u-ma-manhattan-1"}
    assert seen["primary_contact"] == "u-ma-manhattan-1"


async def _with_next(pm: PmSync, patient: str) -> dict[str, Any] | None:
    p = await panel(pm, patient)
    return p if p and p["next_appointment"] else None


async def test_reschedule_cancel_and_no_show_update_one_appointment_each(pm):
    patient = pid()
    a, b = f"A-{uuid.uuid4().hex[:8]}", f"B-{uuid.uuid4().hex[:8]}"
    first, moved = NOW + timedelta(days=2), NOW + timedelta(days=5)
    async with pm.mllp() as client:
        acks = await client.send_many(
            [
                adt(patient),
                siu("S12", patient, a, first, at=NOW - timedelta(hours=5)),
                siu("S13", patient, a, moved, at=NOW - timedelta(hours=4)),  # rescheduled
                siu("S12", patient, b, NOW - timedelta(days=1), at=NOW - timedelta(days=9)),
                siu("S26", patient, b, NOW - timedelta(days=1), at=NOW - timedelta(hours=20)),
            ],
            window=5,
        )
    assert [ack_code(x) for x in acks] == ["AA"] * 5

    async def rescheduled() -> dict[str, Any] | None:
        p = await panel(pm, patient)
        nxt = p and p["next_appointment"]
        return p if nxt and _at(nxt["start"]) == moved else None

    seen = await eventually(rescheduled)
    # one appointment, moved (not a second one); the no-show is not an encounter
    assert [e["appointment_id"] for e in seen["encounters"]] == [a]

    async with pm.mllp() as client:
        reply = await client.send(
            siu("S15", patient, a, moved, at=NOW - timedelta(hours=1), status="Cancelled")
        )
    assert ack_code(reply) == "AA"

    async def cancelled() -> dict[str, Any] | None:
        p = await panel(pm, patient)
        return p if p and p["next_appointment"] is None else None

    seen = await eventually(cancelled)
    assert seen["encounters"] == []
    rows = await _appointment_rows(pm, patient)
    assert {r["appointment_id"]: r["status"] for r in rows} == {a: "cancelled", b: "noshow"}


async def _appointment_rows(pm: PmSync, patient: str) -> list[dict[str, Any]]:
    def query() -> list[dict[str, Any]]:
        engine = create_engine(pm.settings.database_url)
        try:
            with engine.connect() as conn:
                t = storage.appointments
                rows = conn.execute(
                    select(t.c.appointment_id, t.c.status, t.c.start_at).where(
                        t.c.practice_id == "demo", t.c.patient_id == patient
                    )
                )
                return [dict(r._mapping) for r in rows]
        finally:
            engine.dispose()

    return await asyncio.to_thread(query)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_duplicates_and_out_of_order_delivery_never_duplicate_or_regress(pm):
    patient, appt = pid(), f"A-{uuid.uuid4().hex[:8]}"
    booked_at, moved_at = NOW + timedelta(days=4), NOW + timedelta(days=6)
    booking = siu("S12", patient, appt, booked_at, at=NOW - timedelta(hours=6))
    move = siu("S13", patient, appt, moved_at, at=NOW - timedelta(hours=2))
    async with pm.mllp() as client:
        # the reschedule arrives first, then the original booking, then both again
        acks = [await client.send(m) for m in (adt(patient), move, booking, move, booking)]
    assert {ack_code(x) for x in acks} == {"AA"}

    async def settled() -> list[dict[str, Any]] | None:
        p = await panel(pm, patient)
        rows = await _appointment_rows(pm, patient)
        return rows if p and p["next_appointment"] and rows else None

    await eventually(settled)
    await asyncio.sleep(1.0)  # let every delivery land
    rows = await _appointment_rows(pm, patient)
    assert len(rows) == 1
    assert rows[0]["start_at"] == moved_at  # the older booking did not win
    p = await panel(pm, patient)
    assert p is not None and _at(p["next_appointment"]["start"]) == moved_at
    assert len(p["encounters"]) == 1
    # the duplicate control ids produced the same event ids: one applied, one a no-op
    ids = {deterministic_id("demo", "hl7", control_id(m), "0") for m in (move, booking)}

    def processed() -> list[tuple[Any, str]]:
        engine = create_engine(pm.settings.database_url)
        try:
            with engine.connect() as conn:
                t = storage.processed
                return [
                    tuple(r)
                    for r in conn.execute(
                        select(t.c.event_id, t.c.outcome).where(t.c.event_id.in_(ids))
                    )
                ]
        finally:
            engine.dispose()

    assert sorted(o for _, o in await asyncio.to_thread(processed)) == ["applied", "applied"]


def _later_with_lower_event_id() -> tuple[str, str]:
    """Two control ids, the second's event id the lower: an event-id tie-break would keep
    the first message, the log-order rule the second."""
    while True:
        a, b = uuid.uuid4().hex[:16], uuid.uuid4().hex[:16]
        ids = [str(deterministic_id("demo", "hl7", c, "0")) for c in (a, b)]
        if ids[1] < ids[0]:
            return a, b


async def test_an_exact_tie_between_two_patient_updates_goes_to_the_later_as_everywhere(pm):
    # Issue 20: on an equal source time, ingest, the router and the inbox kept the later
    # update in the log and pm-sync the higher event id, so the patient panel could show
    # another name than the inbox. pm-sync now applies the shared rule (contacts.replaces).
    patient, at = pid(), NOW - timedelta(days=3)
    first, second = _later_with_lower_event_id()
    async with pm.mllp() as client:
        for cid, family in ((first, "Before"), (second, "After")):
            assert ack_code(await client.send(adt(patient, cid=cid, at=at, family=family))) == "AA"

    async def renamed() -> dict[str, Any] | None:
        p = await panel(pm, patient)
        return p if p and p["family_name"] == "After" else None

    await eventually(renamed)


async def test_patient_with_no_appointments_has_an_empty_panel(pm):
    # covers I-PANEL-1
    patient = pid()
    async with pm.mllp() as client:
        assert ack_code(await client.send(adt(patient, given="Nora", family="Nobook"))) == "AA"
    seen = await eventually(lambda: panel(pm, patient))
    assert seen["given_name"] == "Nora" and seen["family_name"] == "Nobook"
    assert seen["encounters"] == [] and seen["next_appointment"] is None
    assert seen["age"] >= 44
    missing = await pm.get(f"/internal/practices/demo/patients/{pid()}")
    assert missing.status_code == 404
    other_practice = await pm.get(f"/internal/practices/other/patients/{patient}")
    assert other_practice.status_code == 404  # T-1


async def test_panel_shows_five_encounters_upcoming_first_then_recent_past(pm):
    # covers I-PANEL-1
    patient = pid()
    starts = [NOW + timedelta(days=d) for d in (9, 2, -3, -40, -10, -60, 20)]
    appts = [f"E{i}-{uuid.uuid4().hex[:6]}" for i in range(len(starts))]
    messages = [adt(patient)] + [
        siu("S12", patient, a, s, at=NOW - timedelta(days=70))
        for a, s in zip(appts, starts, strict=True)
    ]
    async with pm.mllp() as client:
        acks = await client.send_many(messages, window=8)
    assert {ack_code(x) for x in acks} == {"AA"}

    async def all_in() -> dict[str, Any] | None:
        p = await panel(pm, patient)
        return p if p and len(await _appointment_rows(pm, patient)) == len(appts) else None

    seen = await eventually(all_in)
    shown = [_at(e["start"]) for e in seen["encounters"]]
    days = sorted(starts)
    upcoming = [s for s in days if s >= NOW]
    past = sorted((s for s in days if s < NOW), reverse=True)
    assert shown == (upcoming + past)[:5]
    assert _at(seen["next_appointment"]["start"]) == upcoming[0]


async def test_two_patients_sharing_a_phone_are_both_found(pm):
    # covers I-UNREC-1
    tag = uuid.uuid4().hex[:6]
    parent, child, other = pid(), pid(), pid()
    number = f"(917) 555-{int(tag, 16) % 10000:04d}"
    async with pm.mllp() as client:
        acks = await client.send_many(
            [
                adt(parent, phone=number, email=f"parent.{tag}@example.com"),
                adt(child, phone=number, given="Kid"),
                adt(other, phone="(646) 555-0199"),
            ],
            window=3,
        )
    assert {ack_code(x) for x in acks} == {"AA"}
    e164 = "+1917555" + number[-4:]

    async def both() -> list[dict[str, Any]] | None:
        r = await pm.get("/internal/practices/demo/patients", phone=e164)
        found = r.json()["patients"]
        return found if len(found) >= 2 else None

    found = await eventually(both)
    assert {p["patient_id"] for p in found} == {parent, child}
    # written another way, the same number finds the same people
    again = await pm.get("/internal/practices/demo/patients", phone=number)
    assert {p["patient_id"] for p in again.json()["patients"]} == {parent, child}
    by_mail = await pm.get("/internal/practices/demo/patients", email=f"Parent.{tag}@Example.com")
    assert [p["patient_id"] for p in by_mail.json()["patients"]] == [parent]
    nobody = await pm.get("/internal/practices/demo/patients", phone="+12025550143")
    assert nobody.json()["patients"] == []
    bad = await pm.get("/internal/practices/demo/patients", phone="12")
    assert bad.status_code == 422
    other_practice = await pm.get("/internal/practices/other/patients", phone=e164)
    assert other_practice.json()["patients"] == []  # T-1


async def test_malformed_message_gets_ae_naming_segment_and_field_and_nothing_is_published(pm):
    patient = pid()
    broken = siu("S12", patient, "A-broken", NOW + timedelta(days=1)).replace("\rAIL|", "\rXXX|")
    # no start time anywhere: SCH-11 empty, AIS/AIL/AIP without one
    no_start = hl7(
        f"MSH|^~\\&|ACME-PM|MAIN|SWITCHBOARD|SB|{ts(NOW)}||SIU^S12^SIU_S12|NS{patient}|P|2.5.1",
        "SCH|P-X^ACME|X^ACME||||ROUTINE|OFFICE^Office visit|OFFICE|30|MIN|",
        f"PID|1||{patient}^^^ACME^MR||Doe^Jane",
    )
    async with pm.mllp() as client:
        bad = await client.send(no_start)
        junk = await client.send("this is not HL7 at all")
        good = await client.send(broken)  # an unknown segment is ignored, the rest is fine
    assert ack_code(bad) == "AE"
    assert "SCH-11: start time missing" in bad and "\rERR|SCH^1^11^101" in bad
    assert ack_code(junk) == "AR"
    assert ack_code(good) == "AA"  # the connection stayed usable
    never = deterministic_id("demo", "hl7", f"NS{patient}", "0")
    assert never not in await event_ids(pm.settings)


async def test_kafka_refusing_the_write_gets_ar_and_the_resend_after_is_accepted(prepared):
    """Topics that do not exist yet (brokers never auto-create) stand for a Kafka that cannot
    take the write: the ACK is AR (resend later), never AA; once it can, the resend is AA."""
    prefix = f"nok{uuid.uuid4().hex[:6]}."
    cfg = pm_settings(prepared, topic_prefix=prefix, publish_timeout_s=1.0)
    patient = pid()
    message = adt(patient)
    async with running(cfg) as service, service.mllp() as client:
        refused = await client.send(message)
        assert ack_code(refused) == "AR"
        assert "could not store the message" in refused
        await ensure_topics(cfg)
        accepted = await eventually(lambda: _resend_until_aa(client, message), 30)
        assert ack_code(accepted) == "AA"
    # AA means it is on the log; the refused attempt left nothing there (or a duplicate
    # with the same event id, which collapses: the id comes from the control id)
    expected = deterministic_id("demo", "hl7", control_id(message), "0")
    ids = await event_ids(cfg)
    assert expected in ids and set(ids) == {expected}


async def _resend_until_aa(client: MLLPClient, message: str) -> str | None:
    reply = await client.send(message)
    return reply if ack_code(reply) == "AA" else None


async def test_pipelined_messages_on_one_connection_are_all_acknowledged_in_order(pm):
    patient = pid()
    messages = [adt(patient)] + [
        siu("S12", patient, f"P{i}-{uuid.uuid4().hex[:6]}", NOW + timedelta(days=1, hours=i))
        for i in range(150)
    ]
    async with pm.mllp() as client:
        acks = await client.send_many(messages, window=64)
    assert [ack_code(x) for x in acks] == ["AA"] * len(messages)
    assert [x.split("\r")[1].split("|")[2] for x in acks] == [control_id(m) for m in messages]


# --- FHIR R4 polling ------------------------------------------------------------------------


def meta(at: datetime, version: int = 1) -> dict[str, str]:
    return {"versionId": str(version), "lastUpdated": at.strftime("%Y-%m-%dT%H:%M:%SZ")}


def fhir_patient(pid_: str, at: datetime, phone: str = "+12125550111", **extra: Any) -> dict:
    return {
        "resourceType": "Patient",
        "id": pid_,
        "meta": meta(at),
        "name": [{"use": "official", "family": "Fhir", "given": ["Pat"]}],
        "birthDate": "1975-05-05",
        "telecom": [{"system": "phone", "value": phone}],
        **extra,
    }


def fhir_appointment(aid: str, patient: str, at: datetime, start: datetime, **extra: Any) -> dict:
    return {
        "resourceType": "Appointment",
        "id": aid,
        "meta": meta(at),
        "status": "booked",
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=30)).isoformat(),
        "participant": [
            {"actor": {"reference": f"Patient/{patient}"}, "status": "accepted"},
            {"actor": {"reference": "Location/loc-a"}, "status": "accepted"},
            {"actor": {"reference": "Practitioner/prac-1"}, "status": "accepted"},
        ],
        **extra,
    }


def fhir_location(lid: str, name: str, at: datetime) -> dict:
    return {"resourceType": "Location", "id": lid, "meta": meta(at), "name": name}


def fhir_practitioner(pr: str, family: str, at: datetime) -> dict:
    return {
        "resourceType": "Practitioner",
        "id": pr,
        "meta": meta(at),
        "name": [{"family": family, "given": ["Ann"], "prefix": ["Dr."]}],
    }


def practice_id() -> str:
    return f"f{uuid.uuid4().hex[:8]}"


def fhir_cfg(prepared, practice: str, server: FhirTestServer, **overrides: Any) -> PmSyncSettings:
    fhir = FhirPractice(
        practice_id=practice,
        base_url=server.base_url,
        token="secret-token",
        interval_s=0.3,
        page_size=2,
    )
    return pm_settings(prepared, **({"mllp_enabled": False, "fhir_practices": [fhir]} | overrides))


def cursors(database_url: str, practice: str) -> dict[str, str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            t = storage.fhir_cursors
            rows = conn.execute(
                select(t.c.resource_type, t.c.cursor).where(t.c.practice_id == practice)
            )
            return {r.resource_type: r.cursor for r in rows}
    finally:
        engine.dispose()


async def test_fhir_pages_are_polled_and_an_invalid_resource_is_dead_lettered(prepared):
    # covers X-FHIR-1 (FHIR R4 Patient, Appointment, Location, Practitioner; Bundle paging)
    practice = practice_id()
    t0 = NOW - timedelta(days=10)
    patients = [fhir_patient(f"pat-{i}", t0 + timedelta(minutes=i)) for i in range(5)]
    # the third patient of five (page 2 of 3, page size 2) is not valid FHIR R4
    patients[2] = fhir_patient("pat-2", t0 + timedelta(minutes=2), birthDate="May 1975")
    appointments = [
        fhir_appointment("ap-1", "pat-0", t0, NOW + timedelta(days=2)),
        fhir_appointment("ap-2", "pat-1", t0 + timedelta(minutes=1), NOW + timedelta(days=3)),
        {**fhir_appointment("ap-3", "pat-3", t0, NOW), "start": "next tuesday"},
    ]
    resources = {
        "Location": [fhir_location("loc-a", "Astoria", t0), fhir_location("loc-b", "Bronx", t0)],
        "Practitioner": [fhir_practitioner("prac-1", "Lee", t0)],
        "Patient": patients,
        "Appointment": appointments,
    }
    with FhirTestServer(resources, token="secret-token") as server:
        async with running(fhir_cfg(prepared, practice, server)) as service:

            async def polled() -> dict[str, Any] | None:
                # The practitioner and location are other partitions of the pm topic: the
                # appointment may be in the panel a moment before their names are.
                p = await panel(service, "pat-1", practice)
                nxt = p and p["next_appointment"]
                return p if nxt and nxt["provider_name"] and nxt["location_name"] else None

            seen = await eventually(polled)
            assert seen["next_appointment"]["location_name"] == "Astoria"
            assert seen["next_appointment"]["provider_name"] == "Dr. Ann Lee"
            for ok in ("pat-0", "pat-3", "pat-4"):  # the rest of the page went on
                assert await eventually(lambda ok=ok: panel(service, ok, practice))
            assert await panel(service, "pat-2", practice) is None
            assert any("_offset=2" in r for r in server.requests)  # followed the next links

    dead = [
        r
        for r in await read_topic(prepared, Topic.DEAD_LETTER)
        if dict(r.headers).get("practice_id") == practice.encode()
    ]
    by_resource = {dict(r.headers)["fhir.resource"].decode(): dict(r.headers) for r in dead}
    assert set(by_resource) == {"Patient/pat-2", "Appointment/ap-3"}
    reason = by_resource["Patient/pat-2"]["dlq.error"].decode()
    assert "Patient.birthDate" in reason and "May 1975" not in reason  # no values in reasons
    assert by_resource["Patient/pat-2"]["dlq.consumer"] == b"pm-sync-fhir"


async def test_an_hl7_update_keeps_the_timezone_fhir_gave(prepared):
    """HL7 ADT has no field for a patient's zone: a newer ADT keeps the FHIR one (I-PANEL-1
    shows the patient's local time)."""
    practice = practice_id()
    t0 = NOW - timedelta(days=5)
    zone = [{"url": "http://hl7.org/fhir/StructureDefinition/tz-code", "valueCode": "Asia/Tokyo"}]
    with FhirTestServer(
        {"Patient": [fhir_patient("tz-1", t0, extension=zone)]}, token="secret-token"
    ) as server:
        cfg = fhir_cfg(prepared, practice, server, mllp_enabled=True, hl7_practice_id=practice)
        async with running(cfg) as service:
            first = await eventually(lambda: panel(service, "tz-1", practice))
            assert first["timezone"] == "Asia/Tokyo"
            async with service.mllp() as client:
                reply = await client.send(adt("tz-1", given="Renamed", at=NOW - timedelta(days=1)))
            assert ack_code(reply) == "AA"

            async def renamed() -> dict[str, Any] | None:
                p = await panel(service, "tz-1", practice)
                return p if p and p["given_name"] == "Renamed" else None

            seen = await eventually(renamed)
            assert seen["timezone"] == "Asia/Tokyo"
            assert seen["local_time"].endswith("+09:00")


async def test_fhir_cursor_is_kept_per_practice_and_type_and_a_restart_resumes(prepared):
    practice = practice_id()
    t0 = NOW - timedelta(days=5)
    with FhirTestServer(
        {"Patient": [fhir_patient("c-1", t0), fhir_patient("c-2", t0 + timedelta(hours=1))]},
        token="secret-token",
    ) as server:
        cfg = fhir_cfg(prepared, practice, server)
        async with running(cfg) as service:
            await eventually(lambda: panel(service, "c-2", practice))
            await eventually(lambda: asyncio.to_thread(cursors, cfg.database_url, practice))
        saved = await asyncio.to_thread(cursors, cfg.database_url, practice)
        assert saved == {"Patient": meta(t0 + timedelta(hours=1))["lastUpdated"]}

        server.requests.clear()
        server.put(fhir_patient("c-3", t0 + timedelta(hours=2)))
        async with running(cfg) as service:  # a restart
            await eventually(lambda: panel(service, "c-3", practice))
        first_patient_query = next(r for r in server.requests if r.startswith("/fhir/Patient"))
        assert "_lastUpdated=gt" + saved["Patient"].replace(":", "%3A") in first_patient_query
        saved = await asyncio.to_thread(cursors, cfg.database_url, practice)
        assert saved["Patient"] == meta(t0 + timedelta(hours=2))["lastUpdated"]


async def test_fhir_server_errors_are_retried_and_readiness_says_degraded(prepared):
    practice = practice_id()
    t0 = NOW - timedelta(days=2)
    with FhirTestServer({"Patient": [fhir_patient("d-1", t0)]}, token="secret-token") as server:
        server.fail_status = 503
        async with running(fhir_cfg(prepared, practice, server)) as service:

            async def degraded() -> dict[str, Any] | None:
                r = await service.public.get("/readyz")
                return r.json() if r.json()["checks"].get("fhir") is False else None

            body = await eventually(degraded)
            assert body["status"] == "degraded"
            assert practice in body["reasons"]["fhir"] and "HTTP 503" in body["reasons"]["fhir"]
            failed = len(server.requests)
            await asyncio.sleep(0.5)
            assert len(server.requests) > failed  # still retrying, with backoff

            server.fail_status = None  # the server is back

            async def recovered() -> dict[str, Any] | None:
                r = await service.public.get("/readyz")
                return r.json() if r.json()["checks"]["fhir"] else None

            await eventually(recovered)
            assert await eventually(lambda: panel(service, "d-1", practice))


async def test_sync_with_ehr_pulls_locations_and_providers_now(prepared):
    practice = practice_id()
    t0 = NOW - timedelta(days=3)
    resources = {
        "Location": [fhir_location(f"l-{i}", f"Clinic {i}", t0) for i in range(3)],
        "Practitioner": [fhir_practitioner("pr-1", "Shah", t0), {"resourceType": "Practitioner"}],
    }
    with FhirTestServer(resources, token="secret-token") as server:
        # a long interval: only the sync endpoint pulls during this test
        cfg = fhir_cfg(prepared, practice, server)
        cfg.fhir_practices[0].interval_s = 3600
        async with running(cfg) as service:
            r = await service.http.post(f"/internal/practices/{practice}/sync")
            assert r.status_code == 200, r.text
            assert r.json() == {
                "practice_id": practice,
                "locations": 3,
                "providers": 1,
                "invalid": 1,
                "pages": 3,
            }

            async def listed() -> list[dict[str, Any]] | None:
                got = (await service.get(f"/internal/practices/{practice}/locations")).json()
                return got if len(got) == 3 else None

            assert [x["name"] for x in await eventually(listed)] == [
                "Clinic 0",
                "Clinic 1",
                "Clinic 2",
            ]
            unknown = await service.http.post("/internal/practices/nobody/sync")
            assert unknown.status_code == 404

            # "Sync with EHR" through the gateway: practice admins only (T-2)
            gateway = FastAPI()
            gateway.state.settings = GatewaySettings(
                pm_sync_url="http://pm-sync", **settings_update(CREDENTIALS["gateway"])
            )
            to_pm_sync = httpx.ASGITransport(app=internal_app_of(service.app))  # type: ignore[arg-type]
            gateway.state.peers = Peers(gateway.state.settings, transport=to_pm_sync)
            gateway.include_router(ehr_router)
            secret = gateway.state.settings.jwt_secret
            admin = issue_token(
                Principal("u-a", practice, "practice_admin", frozenset()), secret, 60
            )
            staff = issue_token(Principal("u-s", practice, "staff", frozenset()), secret, 60)
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=gateway), base_url="http://gateway"
            ) as gw:
                ok = await gw.post(
                    "/api/admin/ehr-sync", headers={"Authorization": f"Bearer {admin}"}
                )
                assert ok.status_code == 200 and ok.json()["locations"] == 3
                denied = await gw.post(
                    "/api/admin/ehr-sync", headers={"Authorization": f"Bearer {staff}"}
                )
                assert denied.status_code == 403
                server.fail_status = 500
                down = await gw.post(
                    "/api/admin/ehr-sync", headers={"Authorization": f"Bearer {admin}"}
                )
                assert down.status_code == 502 and "HTTP 500" in down.json()["detail"]
