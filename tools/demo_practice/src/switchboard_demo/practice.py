"""A deterministic demo practice: 3 locations, 10 providers, 500 patients (some families
sharing one phone), appointments over the past 3 and the coming 2 months.

`generate_demo(seed, now)` gives the same practice for the same seed and day. It renders as
FHIR R4 Bundles (Location, Practitioner, Patient, CareTeam, Appointment) and as the HL7 v2
feed a PM system would have sent (ADT^A04 registrations, a few A08 updates, SIU^S12 bookings
then S13 reschedules, S14 completions, S15 cancellations, S26 no-shows), in send order.
load.py pushes that feed through MLLP into pm-sync.

Staff user ids on care teams are the ones in `DEMO_STAFF` (and demo/staff.json), so the
gateway can seed the same users. Phone numbers are in the 555-01xx fictional range, email
addresses at example.com.

Its size: longer than a production module would be (about 660 lines): one deterministic
data set and its two renderings read best side by side, and none of it ships in an image.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from switchboard.pm_sync.domain.fhir_mapping import STAFF_USER_SYSTEM

DEMO_PRACTICE_ID = "demo"
DEMO_TZ = "America/New_York"
DEFAULT_SEED = 20240611
MRN_SYSTEM = "urn:switchboard:demo:mrn"
TZ_EXTENSION = "http://hl7.org/fhir/StructureDefinition/tz-code"


@dataclass(frozen=True, slots=True)
class DemoStaff:
    user_id: str
    role: str  # gateway role: "practice_admin" or "staff"
    name: str
    title: str  # admin, front_desk, medical_assistant, physician, billing
    location_id: str | None = None


@dataclass(frozen=True, slots=True)
class DemoLocation:
    location_id: str
    name: str


@dataclass(frozen=True, slots=True)
class DemoProvider:
    provider_id: str
    user_id: str
    given: str
    family: str
    location_id: str

    @property
    def display(self) -> str:
        return f"Dr. {self.given} {self.family}"


LOCATIONS: tuple[DemoLocation, ...] = (
    DemoLocation("loc-manhattan", "Manhattan"),
    DemoLocation("loc-brooklyn", "Brooklyn"),
    DemoLocation("loc-queens", "Queens"),
)
_PROVIDER_NAMES = (
    ("Sam", "Lee"), ("Priya", "Shah"), ("Daniel", "Cohen"), ("Maria", "Alvarez"),
    ("James", "Okafor"), ("Elena", "Petrova"), ("Kevin", "Nguyen"),
    ("Grace", "Kim"), ("Omar", "Haddad"), ("Laura", "Rossi"),
)  # fmt: skip
PROVIDERS: tuple[DemoProvider, ...] = tuple(
    DemoProvider(
        f"dr-{i}",
        f"u-dr-{i}",
        given,
        family,
        "loc-manhattan" if i <= 4 else "loc-brooklyn" if i <= 7 else "loc-queens",
    )
    for i, (given, family) in enumerate(_PROVIDER_NAMES, start=1)
)
_MA_FOR_LOCATION = {
    "loc-manhattan": "u-ma-manhattan-1",
    "loc-brooklyn": "u-ma-brooklyn-1",
    "loc-queens": "u-ma-queens-1",
}
# All of them are in demo/staff.json (practice "demo"), which `make up` loads into the gateway.
DEMO_STAFF: tuple[DemoStaff, ...] = (
    DemoStaff("u-admin", "practice_admin", "Avery Admin", "admin"),
    DemoStaff("u-front-1", "staff", "Frankie Front Desk", "front_desk"),
    DemoStaff("u-ma-manhattan-1", "staff", "Morgan MA (Manhattan)", "medical_assistant",
              "loc-manhattan"),
    DemoStaff("u-ma-brooklyn-1", "staff", "Blake MA (Brooklyn)", "medical_assistant",
              "loc-brooklyn"),
    DemoStaff("u-ma-queens-1", "staff", "Quinn MA (Queens)", "medical_assistant", "loc-queens"),
    DemoStaff("u-billing-1", "staff", "Bailey Billing", "billing"),
    *(DemoStaff(p.user_id, "staff", p.display, "physician", p.location_id) for p in PROVIDERS),
)  # fmt: skip

_GIVEN_F = (
    "Olivia", "Emma", "Ava", "Sophia", "Isabella", "Mia", "Amelia", "Harper", "Evelyn",
    "Abigail", "Emily", "Ella", "Camila", "Aaliyah", "Chloe", "Sofia", "Mei", "Anya",
    "Fatima", "Rosa", "Keisha", "Hana", "Lucia", "Nadia", "Zoe",
)  # fmt: skip
_GIVEN_M = (
    "Liam", "Noah", "Oliver", "Elijah", "James", "William", "Benjamin", "Lucas", "Henry",
    "Alexander", "Mateo", "Jackson", "Sebastian", "Jamal", "Wei", "Dmitri", "Ahmed",
    "Carlos", "Minho", "Diego", "Tyrone", "Ivan", "Yusuf", "Andre", "Kenji",
)  # fmt: skip
_FAMILY = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
    "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
    "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Chen", "Wang", "Ivanova", "Park",
    "Kim", "Patel", "Khan", "Rivera", "Cruz", "Reyes", "Goldberg", "Friedman", "Murphy",
    "Sullivan", "Okoye", "Mensah", "Nowak", "Romano", "Haddad", "Tanaka",
)  # fmt: skip
_LANGUAGES = (
    ("en", "English", 70),
    ("es", "Spanish", 15),
    ("zh", "Chinese", 6),
    ("ru", "Russian", 5),
    ("ko", "Korean", 4),
)
_AREA_CODES = ("212", "646", "917", "718", "347", "929")
_VISIT_TYPES = (
    ("OFFICE", "Office visit", 30),
    ("FOLLOWUP", "Follow-up", 15),
    ("PHYSICAL", "Annual physical", 45),
    ("LAB", "Lab draw", 15),
)


@dataclass(slots=True)
class DemoPatient:
    patient_id: str
    given: str
    family: str
    sex: str
    birth_date: date
    phone: str  # E.164; shared within a family
    email: str | None
    language: tuple[str, str]  # (BCP-47 code, name)
    location_id: str
    provider: DemoProvider
    care_team: tuple[str, ...]
    primary_contact: str
    registered_at: datetime
    updated_at: datetime | None = None  # an A08 after registration, if any


@dataclass(slots=True)
class DemoAppointment:
    appointment_id: str
    patient_id: str
    location_id: str
    provider: DemoProvider
    visit: tuple[str, str, int]
    start: datetime  # final start (after any reschedule)
    status: str  # final status (booked, fulfilled, cancelled, noshow)
    # (trigger, sent_at, start at that point, filler status) in send order
    history: list[tuple[str, datetime, datetime, str]] = field(default_factory=list)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.visit[2])

    @property
    def updated_at(self) -> datetime:
        return self.history[-1][1]


@dataclass(slots=True)
class DemoPractice:
    practice_id: str
    now: datetime
    locations: tuple[DemoLocation, ...]
    providers: tuple[DemoProvider, ...]
    patients: list[DemoPatient]
    appointments: list[DemoAppointment]
    staff: tuple[DemoStaff, ...] = DEMO_STAFF

    def patient(self, patient_id: str) -> DemoPatient:
        return next(p for p in self.patients if p.patient_id == patient_id)

    # --- HL7 v2 -------------------------------------------------------------------------

    def hl7_messages(self) -> list[str]:
        """The whole feed in send order (by message time, registrations first on a tie)."""
        stamp = self.now.strftime("%Y%m%d")
        items: list[tuple[datetime, int, Any]] = []
        for p in self.patients:
            items.append((p.registered_at, 0, ("A04", p)))
            if p.updated_at is not None:
                items.append((p.updated_at, 0, ("A08", p)))
        for a in self.appointments:
            for step in a.history:
                items.append((step[1], 1, (a, step)))
        items.sort(key=lambda item: (item[0], item[1]))
        by_id = {p.patient_id: p for p in self.patients}
        messages = []
        for seq, (_, kind, payload) in enumerate(items, start=1):
            control_id = f"D{stamp}-{seq:06d}"
            if kind == 0:
                trigger, patient = payload
                at = patient.registered_at if trigger == "A04" else patient.updated_at
                messages.append(adt_message(trigger, control_id, at, patient))
            else:
                appt, (trigger, at, start, filler) = payload
                patient = by_id[appt.patient_id]
                messages.append(siu_message(trigger, control_id, at, appt, patient, start, filler))
        return messages

    # --- FHIR R4 --------------------------------------------------------------------------

    def fhir_resources(self, resource_type: str) -> list[dict[str, Any]]:
        if resource_type == "Location":
            return [_fhir_location(loc, self.now) for loc in self.locations]
        if resource_type == "Practitioner":
            return [_fhir_practitioner(p, self.now) for p in self.providers]
        if resource_type == "Patient":
            return [_fhir_patient(p) for p in self.patients]
        if resource_type == "CareTeam":
            return [_fhir_care_team(p) for p in self.patients]
        if resource_type == "Appointment":
            return [_fhir_appointment(a) for a in self.appointments]
        raise ValueError(f"no demo {resource_type} resources")

    def fhir_bundles(
        self, types: tuple[str, ...] = ("Location", "Practitioner", "Patient", "CareTeam")
    ) -> dict[str, dict[str, Any]]:
        """One `collection` Bundle per resource type."""
        return {
            t: {
                "resourceType": "Bundle",
                "type": "collection",
                "timestamp": _instant(self.now),
                "entry": [
                    {"fullUrl": f"urn:demo:{t}/{r['id']}", "resource": r}
                    for r in self.fhir_resources(t)
                ],
            }
            for t in types
        }


# --- generation -------------------------------------------------------------------------------


def _anchor(now: datetime | None) -> datetime:
    zone = ZoneInfo(DEMO_TZ)
    moment = (now or datetime.now(UTC)).astimezone(zone)
    return datetime.combine(moment.date(), time(0), zone)


def _weighted(rng: random.Random, options: tuple[tuple[str, str, int], ...]) -> tuple[str, str]:
    code, name, _ = rng.choices(options, weights=[w for *_, w in options])[0]
    return code, name


def _slot(rng: random.Random, day: date) -> datetime:
    minutes = rng.randrange(8 * 60, 17 * 60, 15)
    return datetime.combine(day, time(minutes // 60, minutes % 60), ZoneInfo(DEMO_TZ))


def _weekday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _make_patients(rng: random.Random, count: int, anchor: datetime) -> list[DemoPatient]:
    numbers = [f"+1{area}5550{n:03d}" for area in _AREA_CODES for n in range(100, 200)]
    rng.shuffle(numbers)
    patients: list[DemoPatient] = []
    family_left = 0
    family: DemoPatient | None = None
    for i in range(1, count + 1):
        sex = rng.choice("FM")
        given = rng.choice(_GIVEN_F if sex == "F" else _GIVEN_M)
        if family_left > 0 and family is not None:
            family_left -= 1
            surname, phone, location_id = family.family, family.phone, family.location_id
            provider = family.provider
        else:
            surname, phone = rng.choice(_FAMILY), numbers.pop()
            location_id = rng.choices([loc.location_id for loc in LOCATIONS], [5, 3, 2])[0]
            provider = rng.choice([p for p in PROVIDERS if p.location_id == location_id])
            family = None
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 80 * 365))
        email = None
        if rng.random() < 0.7:
            email = f"{given}.{surname}{i}@example.com".lower()
        ma = _MA_FOR_LOCATION[location_id]
        care_team = (provider.user_id, ma)
        primary = provider.user_id if rng.random() < 0.7 else ma
        registered = anchor - timedelta(days=rng.randint(130, 400), minutes=rng.randrange(0, 600))
        updated = None
        if rng.random() < 0.05:
            updated = anchor - timedelta(days=rng.randint(1, 99), minutes=rng.randrange(0, 600))
        patient = DemoPatient(
            patient_id=f"p-{i:04d}",
            given=given,
            family=surname,
            sex=sex,
            birth_date=born,
            phone=phone,
            email=email,
            language=_weighted(rng, _LANGUAGES),
            location_id=location_id,
            provider=provider,
            care_team=care_team,
            primary_contact=primary,
            registered_at=registered,
            updated_at=updated,
        )
        patients.append(patient)
        if family is None and family_left == 0 and rng.random() < 0.12:
            family, family_left = patient, rng.randint(1, 3)  # 2-4 people on one phone
    return patients


def _make_appointments(
    rng: random.Random, patients: list[DemoPatient], anchor: datetime
) -> list[DemoAppointment]:
    appointments: list[DemoAppointment] = []
    for patient in patients:
        if rng.random() < 0.08:
            continue  # some patients have no appointments at all
        for _ in range(rng.randint(1, 4)):
            day = _weekday(anchor.date() + timedelta(days=rng.randint(-90, 59)))
            start = _slot(rng, day)
            location_id = patient.location_id
            if rng.random() < 0.15:
                location_id = rng.choice([loc.location_id for loc in LOCATIONS])
            provider = patient.provider
            if provider.location_id != location_id:
                provider = rng.choice([p for p in PROVIDERS if p.location_id == location_id])
            visit = rng.choice(_VISIT_TYPES)
            appt = DemoAppointment(
                appointment_id=f"appt-{len(appointments) + 1:05d}",
                patient_id=patient.patient_id,
                location_id=location_id,
                provider=provider,
                visit=visit,
                start=start,
                status="booked",
            )
            _history(rng, appt, anchor)
            appointments.append(appt)
    return appointments


def _history(rng: random.Random, appt: DemoAppointment, anchor: datetime) -> None:
    """Booking, then what happened to it, all sent no later than `anchor`."""
    start = appt.start
    lead = timedelta(days=rng.randint(2, 30), minutes=rng.randrange(0, 480))
    booked_at = min(start - lead, anchor - timedelta(minutes=rng.randint(30, 600)))
    original = start
    roll = rng.random()
    if roll < 0.10:
        # originally at another time, moved to `start` before either time came
        original = _slot(rng, _weekday(start.date() + timedelta(days=rng.randint(1, 10))))
        booked_at = min(booked_at, original - timedelta(days=1))
    appt.history.append(("S12", booked_at, original, "Booked"))
    if original != start:
        moved_at = booked_at + (min(start, original, anchor) - booked_at) * rng.uniform(0.2, 0.8)
        appt.history.append(("S13", moved_at, start, "Booked"))
    last = appt.history[-1][1]
    if start < anchor:
        roll = rng.random()
        end = start + timedelta(minutes=appt.visit[2])
        if roll < 0.80:
            appt.status = "fulfilled"
            appt.history.append(("S14", min(end, anchor), start, "Complete"))
        elif roll < 0.90:
            appt.status = "noshow"
            appt.history.append(("S26", min(start + timedelta(hours=1), anchor), start, "Noshow"))
        else:
            appt.status = "cancelled"
            appt.history.append(("S15", last + (start - last) * 0.5, start, "Cancelled"))
    elif rng.random() < 0.07:
        appt.status = "cancelled"
        appt.history.append(("S15", last + (anchor - last) * 0.5, start, "Cancelled"))


def generate_demo(
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    *,
    practice_id: str = DEMO_PRACTICE_ID,
    patients: int = 500,
) -> DemoPractice:
    """The demo practice as of the start of `now`'s day in New York (default: today)."""
    rng = random.Random(seed)
    anchor = _anchor(now)
    people = _make_patients(rng, patients, anchor)
    appointments = _make_appointments(rng, people, anchor)
    return DemoPractice(practice_id, anchor, LOCATIONS, PROVIDERS, people, appointments)


# --- HL7 rendering ----------------------------------------------------------------------------


def _ts(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(DEMO_TZ)).strftime("%Y%m%d%H%M%S%z")


def _seg(name: str, values: dict[int, str]) -> str:
    fields = [name] + [""] * max(values)
    for index, value in values.items():
        fields[index] = value
    return "|".join(fields)


def _msh(control_id: str, at: datetime, message_type: str) -> str:
    return "|".join(
        [
            "MSH",
            "^~\\&",
            "DEMO-PM",
            "DEMO",
            "SWITCHBOARD",
            "SWITCHBOARD",
            _ts(at),
            "",
            message_type,
            control_id,
            "P",
            "2.5.1",
        ]
    )


def _pid(p: DemoPatient) -> str:
    local = p.phone[2:]  # +1AAANNNNNNN -> AAANNNNNNN
    phones = f"({local[:3]}){local[3:6]}-{local[6:]}^PRN^PH^^1^{local[:3]}^{local[3:]}"
    if p.email:
        phones += f"~^NET^Internet^{p.email}"
    return _seg(
        "PID",
        {
            1: "1",
            3: f"{p.patient_id}^^^DEMO^MR",
            5: f"{p.family}^{p.given}^^^^^L",
            7: p.birth_date.strftime("%Y%m%d"),
            8: p.sex,
            13: phones,
            15: f"{p.language[0]}^{p.language[1]}^ISO639",
        },
    )


def adt_message(trigger: str, control_id: str, at: datetime, p: DemoPatient) -> str:
    provider = p.provider
    segments = [
        _msh(control_id, at, f"ADT^{trigger}^ADT_A01"),
        _seg("EVN", {1: trigger, 2: _ts(at)}),
        _pid(p),
        _seg("PD1", {4: f"{provider.user_id}^{provider.family}^{provider.given}^^^Dr"}),
    ]
    others = [m for m in p.care_team if m != p.primary_contact]
    segments.append(
        _seg(
            "ROL",
            {1: "1", 2: "AD", 3: "PP^Primary Care Provider^HL70443", 4: f"{p.primary_contact}"},
        )
    )
    for n, member in enumerate(others, start=2):
        segments.append(_seg("ROL", {1: str(n), 2: "AD", 3: "CP^Care Team^HL70443", 4: member}))
    segments.append(_seg("PV1", {1: "1", 2: "O", 3: f"{p.location_id}^^^{p.location_id}"}))
    return "\r".join(segments) + "\r"


def siu_message(
    trigger: str,
    control_id: str,
    at: datetime,
    a: DemoAppointment,
    p: DemoPatient,
    start: datetime,
    filler: str,
) -> str:
    code, text, minutes = a.visit
    end = start + timedelta(minutes=minutes)
    action = "A" if trigger == "S12" else "U"
    location = next(loc for loc in LOCATIONS if loc.location_id == a.location_id)
    segments = [
        _msh(control_id, at, f"SIU^{trigger}^SIU_S12"),
        _seg(
            "SCH",
            {
                1: f"{a.appointment_id}^DEMO",
                2: f"{a.appointment_id}^DEMO",
                7: f"{code}^{text}",
                8: code,
                9: str(minutes),
                10: "MIN",
                11: f"^^{minutes}^{_ts(start)}^{_ts(end)}",
                25: filler,
            },
        ),
        _pid(p),
        _seg("RGS", {1: "1", 2: action}),
        _seg(
            "AIS",
            {1: "1", 2: action, 3: f"{code}^{text}^DEMO", 4: _ts(start), 7: str(minutes), 8: "MIN"},
        ),
        _seg(
            "AIL",
            {1: "1", 2: action, 3: f"{location.location_id}^^^{location.name}", 6: _ts(start)},
        ),
        _seg(
            "AIP",
            {
                1: "1",
                2: action,
                3: f"{a.provider.provider_id}^{a.provider.family}^{a.provider.given}^^^Dr",
                4: "PHYS^Physician",
                6: _ts(start),
            },
        ),
    ]
    return "\r".join(segments) + "\r"


# --- FHIR rendering ---------------------------------------------------------------------------


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _meta(at: datetime, version: int = 1) -> dict[str, str]:
    return {"versionId": str(version), "lastUpdated": _instant(at)}


def _staff_ref(user_id: str, display: str | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"identifier": {"system": STAFF_USER_SYSTEM, "value": user_id}}
    provider = next((p for p in PROVIDERS if p.user_id == user_id), None)
    if provider is not None:
        ref["reference"] = f"Practitioner/{provider.provider_id}"
    if display:
        ref["display"] = display
    return ref


def _fhir_location(loc: DemoLocation, now: datetime) -> dict[str, Any]:
    return {
        "resourceType": "Location",
        "id": loc.location_id,
        "meta": _meta(now - timedelta(days=400)),
        "extension": [{"url": TZ_EXTENSION, "valueCode": DEMO_TZ}],
        "status": "active",
        "name": loc.name,
        "address": {"city": "New York", "state": "NY", "country": "US"},
    }


def _fhir_practitioner(p: DemoProvider, now: datetime) -> dict[str, Any]:
    return {
        "resourceType": "Practitioner",
        "id": p.provider_id,
        "meta": _meta(now - timedelta(days=400)),
        "identifier": [{"system": STAFF_USER_SYSTEM, "value": p.user_id}],
        "active": True,
        "name": [{"use": "official", "family": p.family, "given": [p.given], "prefix": ["Dr."]}],
    }


def _fhir_patient(p: DemoPatient) -> dict[str, Any]:
    telecom: list[dict[str, Any]] = [{"system": "phone", "value": p.phone, "use": "mobile"}]
    if p.email:
        telecom.append({"system": "email", "value": p.email})
    ordered = (p.primary_contact, *[m for m in p.care_team if m != p.primary_contact])
    return {
        "resourceType": "Patient",
        "id": p.patient_id,
        "meta": _meta(p.updated_at or p.registered_at, 2 if p.updated_at else 1),
        "extension": [{"url": TZ_EXTENSION, "valueCode": DEMO_TZ}],
        "identifier": [{"system": MRN_SYSTEM, "value": p.patient_id}],
        "active": True,
        "name": [{"use": "official", "family": p.family, "given": [p.given]}],
        "gender": "female" if p.sex == "F" else "male",
        "birthDate": p.birth_date.isoformat(),
        "telecom": telecom,
        "communication": [
            {
                "language": {
                    "coding": [
                        {
                            "system": "urn:ietf:bcp:47",
                            "code": p.language[0],
                            "display": p.language[1],
                        }
                    ]
                },
                "preferred": True,
            }
        ],
        "generalPractitioner": [_staff_ref(m) for m in ordered],
    }


def _fhir_care_team(p: DemoPatient) -> dict[str, Any]:
    participants = []
    for member in p.care_team:
        role = (
            {
                "coding": [
                    {
                        "system": "http://snomed.info/sct",
                        "code": "446050000",
                        "display": "Primary care physician",
                    }
                ],
                "text": "primary contact",
            }
            if member == p.primary_contact
            else {"text": "care team member"}
        )
        participants.append({"role": [role], "member": _staff_ref(member)})
    return {
        "resourceType": "CareTeam",
        "id": f"ct-{p.patient_id}",
        "meta": _meta(p.registered_at),
        "status": "active",
        "subject": {"reference": f"Patient/{p.patient_id}"},
        "participant": participants,
    }


_FHIR_STATUS = {
    "booked": "booked",
    "fulfilled": "fulfilled",
    "cancelled": "cancelled",
    "noshow": "noshow",
}


def _fhir_appointment(a: DemoAppointment) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "id": a.appointment_id,
        "meta": _meta(a.updated_at, len(a.history)),
        "status": _FHIR_STATUS[a.status],
        "appointmentType": {"text": a.visit[1]},
        "start": a.start.isoformat(),
        "end": a.end.isoformat(),
        "minutesDuration": a.visit[2],
        "participant": [
            {"actor": {"reference": f"Patient/{a.patient_id}"}, "status": "accepted"},
            {
                "actor": {"reference": f"Practitioner/{a.provider.provider_id}"},
                "status": "accepted",
            },
            {"actor": {"reference": f"Location/{a.location_id}"}, "status": "accepted"},
        ],
    }
