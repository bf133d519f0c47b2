"""HL7 v2 intake: real SIU / ADT message texts -> events, and the ACKs we answer with.

# covers X-FHIR-1 (HL7 v2 SIU over MLLP: parsing side), R-LOC-1 (appointment location)
"""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from switchboard.events import AppointmentChanged, PatientUpserted, deterministic_id
from switchboard.pm_sync.domain.hl7_ack import ack
from switchboard.pm_sync.domain.hl7_mapping import parse_hl7
from switchboard.pm_sync.domain.hl7_message import HL7Error
from switchboard.pm_sync.domain.schedule import latest_appointments, next_upcoming
from switchboard.pm_sync.entrypoints.hl7_intake import hl7_callback

EST = timezone(timedelta(hours=-5))


def msg(*segments: str) -> str:
    return "\r".join(segments) + "\r"


MSH_SIU = "MSH|^~\\&|ACME-PM|MAIN|SWITCHBOARD|SB|{ts}||SIU^{trigger}^SIU_S12|{cid}|P|2.5.1"
PID_JANE = (
    "PID|1||MRN-1001^^^ACME^MR~999-00-1234^^^SSA^SS||Doe^Jane^Q^^^^L||19800214|F|||"
    "12 Main St^^New York^NY^10001||(212) 555-0101^PRN^PH~^NET^Internet^Jane.Doe@Example.com"
    "|(646)555-0100^WPN^PH|SPA^Spanish^HL70296"
)


def siu(
    trigger,
    cid,
    start,
    *,
    ts="20250110083000-0500",
    status="Booked",
    appt="A-77",
    location="loc-manhattan^^^Manhattan",
    provider="dr-1^Lee^Sam^^^Dr",
):
    end = ""
    if start[:14].isdigit():
        end = (datetime.strptime(start[:14], "%Y%m%d%H%M%S") + timedelta(minutes=30)).strftime(
            "%Y%m%d%H%M%S"
        ) + start[14:]
    return msg(
        MSH_SIU.format(ts=ts, trigger=trigger, cid=cid),
        f"SCH|P-{appt}^ACME|{appt}^ACME||||ROUTINE|OFFICE^Office visit|OFFICE|30|MIN|"
        f"^^30^{start}^{end}" + "|" * 14 + status,  # SCH-25 filler status
        PID_JANE,
        "RGS|1|A",
        "AIS|1|A|OFFICE^Office visit^ACME|" + start + "|||30|MIN",
        f"AIL|1|A|{location}|||{start}",
        f"AIP|1|A|{provider}|PHYS^Physician||{start}",
    )


S12 = siu("S12", "MSG0001", "20250115090000-0500")
S13 = siu("S13", "MSG0002", "20250117143000-0500", ts="20250111101500-0500")
S15 = siu("S15", "MSG0003", "20250117143000-0500", ts="20250112090000-0500", status="Cancelled")
NO_START = siu("S12", "MSG0001", "")
S26 = siu("S26", "MSG0004", "20250117143000-0500", ts="20250117160000-0500", status="Noshow")

A04 = msg(
    "MSH|^~\\&|ACME-PM|MAIN|SWITCHBOARD|SB|20250105120000-0500||ADT^A04^ADT_A01|ADT0001|P|2.5.1",
    "EVN|A04|20250105115900-0500",
    PID_JANE,
    "PD1||||u-dr-1^Lee^Sam^^^Dr",
    "ROL|1|AD|PP^Primary Care Provider^HL70443|u-ma-manhattan-1^Morgan^MA",
    "ROL|2|AD|CP^Consulting Provider^HL70443|u-dr-2^Shah^Priya",
    "PV1|1|O|loc-manhattan^^^Manhattan||||dr-1^Lee^Sam",
)
A08 = msg(
    "MSH|^~\\&|ACME-PM|MAIN|SWITCHBOARD|SB|20250201090000-0500||ADT^A08^ADT_A01|ADT0002|P|2.3",
    "EVN|A08|20250201085500-0500",
    "PID|1||MRN-1001^^^ACME^MR||Doe-Smith^Jane||19800214|F|||||"
    "2125550199^PRN^CP~^NET^Internet^jane@newmail.example||en",
    "PD1||||u-dr-3^Cohen^Daniel",
)


def appt(text, tz="UTC") -> AppointmentChanged:
    result = parse_hl7(text, "demo", default_tz=tz)
    (event,) = result.events
    assert isinstance(event, AppointmentChanged)
    return event


def test_s12_new_appointment_carries_patient_time_location_provider():
    result = parse_hl7(S12, "demo")
    assert (result.message_type, result.trigger, result.control_id) == ("SIU", "S12", "MSG0001")
    (e,) = result.events
    assert isinstance(e, AppointmentChanged)
    assert e.appointment_id == "A-77"  # SCH-2 filler id wins over SCH-1 placer id
    assert e.patient_id == "MRN-1001"  # the MR identifier, not the SSN repetition
    assert (e.change, e.status) == ("booked", "booked")
    assert e.start == datetime(2025, 1, 15, 14, 0, tzinfo=UTC)
    assert e.end == e.start + timedelta(minutes=30)
    assert (e.location_id, e.provider_id) == ("loc-manhattan", "dr-1")
    assert e.source_updated_at == datetime(2025, 1, 10, 13, 30, tzinfo=UTC)
    assert e.event_id == deterministic_id("demo", "hl7", "MSG0001", 0)
    assert e.partition_key() == "demo:patient:MRN-1001"


def test_reschedule_updates_the_same_appointment_instead_of_adding_one():
    booked, moved = appt(S12), appt(S13)
    assert moved.appointment_id == booked.appointment_id
    assert (moved.change, moved.status) == ("rescheduled", "booked")
    assert moved.start == datetime(2025, 1, 17, 19, 30, tzinfo=UTC)
    latest = latest_appointments([booked, moved])
    assert list(latest) == ["A-77"]
    assert latest["A-77"].start == moved.start
    now = datetime(2025, 1, 14, tzinfo=UTC)
    assert next_upcoming([booked, moved], now).start == moved.start


def test_cancel_and_no_show_end_the_appointment():
    cancelled, noshow = appt(S15), appt(S26)
    assert (cancelled.change, cancelled.status) == ("cancelled", "cancelled")
    assert (noshow.change, noshow.status) == ("noshow", "noshow")
    now = datetime(2025, 1, 14, tzinfo=UTC)
    assert next_upcoming([appt(S12), appt(S13), cancelled], now) is None


def test_s14_reads_filler_status_and_s17_deletes():
    complete = siu("S14", "MSG0005", "20250115090000-0500", status="Complete")
    assert (appt(complete).change, appt(complete).status) == ("modified", "fulfilled")
    started = siu("S14", "MSG0006", "20250115090000-0500", status="Started")
    assert appt(started).status == "checked_in"
    deleted = siu("S17", "MSG0007", "20250115090000-0500", status="Booked")
    assert (appt(deleted).change, appt(deleted).status) == ("deleted", "deleted")


def test_duplicate_delivery_gives_identical_events():
    first, again = parse_hl7(S12, "demo"), parse_hl7(S12, "demo")
    assert first.events == again.events
    assert first.events[0].event_id == again.events[0].event_id
    # and another practice's copy of the same control id is a different event
    assert parse_hl7(S12, "other").events[0].event_id != first.events[0].event_id


def test_times_without_offset_are_read_in_the_practice_zone():
    naive = siu("S12", "MSG0010", "20250715090000", ts="20250701080000")
    e = appt(naive, tz="America/New_York")
    assert e.start == datetime(2025, 7, 15, 13, 0, tzinfo=UTC)  # EDT in July
    assert appt(naive).start == datetime(2025, 7, 15, 9, 0, tzinfo=UTC)  # default UTC


def test_start_falls_back_to_tq1_then_ail():
    no_sch11 = S12.replace("^^30^20250115090000-0500^20250115093000-0500", "")
    with_tq1 = no_sch11.replace(
        "\rPID|", "\rTQ1|1||||||20250115100000-0500|20250115103000-0500\rPID|"
    )
    e = appt(with_tq1)
    assert e.start == datetime(2025, 1, 15, 15, 0, tzinfo=UTC)
    assert e.end == datetime(2025, 1, 15, 15, 30, tzinfo=UTC)
    e2 = appt(no_sch11)  # AIL-6 still carries the start; end from SCH-9/10 duration
    assert e2.start == datetime(2025, 1, 15, 14, 0, tzinfo=UTC)
    assert e2.end == e2.start + timedelta(minutes=30)


def test_provider_falls_back_to_pv1_and_deleted_resources_are_ignored():
    text = S12.replace("AIP|1|A|", "AIP|1|D|").replace(
        "\rRGS|", "\rPV1|1|O|loc-queens^^^Queens||||dr-9^Haddad^Omar\rRGS|"
    )
    e = appt(text)
    assert e.provider_id == "dr-9"
    assert e.location_id == "loc-manhattan"  # AIL still wins over PV1-3


def test_lf_line_endings_and_mllp_bytes_are_accepted():
    assert appt(S12.replace("\r", "\n")).appointment_id == "A-77"
    assert appt(("\x0b" + S12 + "\x1c\r").encode()).appointment_id == "A-77"


def test_a04_registers_patient_with_normalised_contacts_language_and_care_team():
    result = parse_hl7(A04, "demo")
    (p,) = result.events
    assert isinstance(p, PatientUpserted)
    assert p.patient_id == "MRN-1001"
    assert (p.given_name, p.family_name) == ("Jane", "Doe")
    assert p.birth_date == date(1980, 2, 14)
    assert p.phones == ("+12125550101", "+16465550100")  # home and business, E.164
    assert p.emails == ("jane.doe@example.com",)
    assert p.preferred_language == "es"
    # ROL primary care provider is the primary contact; everyone on ROL / PD1-4 is care team
    assert p.primary_contact == "u-ma-manhattan-1"
    assert p.care_team == ("u-ma-manhattan-1", "u-dr-2", "u-dr-1")
    assert p.source_updated_at == datetime(2025, 1, 5, 16, 59, tzinfo=UTC)  # EVN-2
    assert p.event_id == deterministic_id("demo", "hl7", "ADT0001", 0)


def test_a08_update_replaces_demographics_and_pd1_gives_primary_contact():
    (p,) = parse_hl7(A08, "demo").events
    assert isinstance(p, PatientUpserted)
    assert p.family_name == "Doe-Smith"
    assert p.phones == ("+12125550199",)
    assert p.emails == ("jane@newmail.example",)
    assert p.preferred_language == "en"
    assert (p.care_team, p.primary_contact) == (("u-dr-3",), "u-dr-3")


def test_a28_and_a31_are_patient_upserts_other_adt_triggers_are_ignored():
    for trigger in ("A28", "A31"):
        (p,) = parse_hl7(A04.replace("ADT^A04", f"ADT^{trigger}"), "demo").events
        assert isinstance(p, PatientUpserted)
    discharge = parse_hl7(A04.replace("ADT^A04", "ADT^A03"), "demo")
    assert discharge.ignored and discharge.events == ()
    assert "MSA|AA|ADT0001|ignored" in ack(A04, "AA", "ignored: trigger not used")


def test_invalid_phone_is_dropped_not_fatal():
    text = A04.replace("(212) 555-0101", "555-12")
    (p,) = parse_hl7(text, "demo").events
    assert p.phones == ("+16465550100",)


@pytest.mark.parametrize(
    ("text", "location", "code", "fragment"),
    [
        (NO_START, "SCH-11", "AE", "start time missing"),
        (S12.replace("20250115090000-0500", "2025011X"), "SCH-11", "AE", "not a valid date/time"),
        (S12.replace("P-A-77^ACME|A-77^ACME|", "||"), "SCH-2", "AE", "appointment id missing"),
        (
            S12.replace("MRN-1001^^^ACME^MR~999-00-1234^^^SSA^SS", ""),
            "PID-3",
            "AE",
            "patient id missing",
        ),
        (A04.replace("Doe^Jane^Q^^^^L", ""), "PID-5", "AE", "patient name missing"),
        (A04.replace("19800214", "19801340"), "PID-7", "AE", "date of birth"),
        (S12.replace("|MSG0001|", "||"), "MSH-10", "AR", "control id missing"),
        (S12.replace("SIU^S12^SIU_S12", "ORU^R01^ORU_R01"), "MSH-9", "AR", "unsupported"),
        (S12.replace("|2.5.1", "|3.0"), "MSH-12", "AR", "version"),
        (S12.replace("20250110083000-0500", ""), "MSH-7", "AR", "message date/time missing"),
    ],
)
def test_malformed_message_names_segment_and_field(text, location, code, fragment):
    with pytest.raises(HL7Error) as info:
        parse_hl7(text, "demo")
    err = info.value
    assert err.location == location
    assert str(err).startswith(f"{location}: ")
    assert fragment in str(err)
    assert err.code == code
    # the error text never echoes patient data
    assert "Jane" not in str(err) and "1980" not in str(err) and "555" not in str(err)


def test_not_hl7_at_all_is_rejected_and_still_gets_an_ack():
    with pytest.raises(HL7Error) as info:
        parse_hl7("hello there", "demo")
    assert info.value.code == "AR" and info.value.segment == "MSH"
    reply = ack("hello there", "AR", error=info.value)
    segments = reply.split("\r")
    assert segments[1].startswith("MSA|AR||")  # no control id to echo
    assert segments[2].startswith("ERR|MSH^1^^100")


def test_ack_accept_echoes_control_id_and_swaps_applications():
    reply = ack(S12, "AA", now=datetime(2025, 1, 10, 13, 31, tzinfo=UTC), ack_control_id="ACK1")
    msh, msa, *rest = reply.rstrip("\r").split("\r")
    assert msh == (
        "MSH|^~\\&|SWITCHBOARD|SB|ACME-PM|MAIN|20250110133100+0000||ACK^S12^ACK|ACK1|P|2.5.1"
    )
    assert msa == "MSA|AA|MSG0001|"
    assert rest == []
    assert reply.endswith("\r")


def test_ack_error_has_err_segment_naming_segment_and_field():
    bad = NO_START
    with pytest.raises(HL7Error) as info:
        parse_hl7(bad, "demo")
    reply = ack(bad, info.value.code, error=info.value)
    _, msa, err = reply.rstrip("\r").split("\r")
    assert msa == "MSA|AE|MSG0001|SCH-11: start time missing"
    fields = err.split("|")
    assert fields[0] == "ERR"
    assert fields[1] == "SCH^1^11^101&Required field missing&HL70357"  # v2.3 ERR-1
    assert fields[2] == "SCH^1^11"  # v2.5 ERR-2 error location
    assert fields[3] == "101^Required field missing^HL70357"
    assert fields[4] == "E"
    assert fields[8] == "SCH-11: start time missing"


def test_ack_escapes_separators_in_text():
    reply = ack(S12, "AE", "bad | field ^ here & there")
    assert "MSA|AE|MSG0001|bad \\F\\ field \\S\\ here \\T\\ there" in reply


async def test_callback_publishes_before_acking_and_maps_failures():
    published = []

    async def publish(events):
        published.extend(events)

    on_message = hl7_callback("demo", publish, default_tz="America/New_York")
    assert "MSA|AA|MSG0001|" in await on_message(S12)
    assert [e.appointment_id for e in published] == ["A-77"]
    reply = await on_message(S12.replace("MRN-1001^^^ACME^MR~999-00-1234^^^SSA^SS", ""))
    assert "MSA|AE|MSG0001|PID-3: patient id missing" in reply and "\rERR|PID^1^3" in reply
    assert len(published) == 1

    async def broken(events):
        raise RuntimeError("kafka down")

    reply = await hl7_callback("demo", broken)(S13)
    assert "MSA|AR|MSG0002|MSH: could not store the message, resend later" in reply
    assert "|207^Application internal error^HL70357|" in reply
