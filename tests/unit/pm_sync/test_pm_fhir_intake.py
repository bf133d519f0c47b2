"""FHIR R4 intake: resource mapping, validation, and polling a real local HTTP server that
serves paged search Bundles (bearer token, _lastUpdated cursor, next links, retries).

# covers X-FHIR-1 (FHIR R4 Patient, Appointment, Location, Practitioner)
"""

import json
import threading
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from switchboard.events import (
    AppointmentChanged,
    LocationUpserted,
    PatientUpserted,
    ProviderUpserted,
    deterministic_id,
)
from switchboard.events.pm_extra import CareTeamUpserted
from switchboard.pm_sync.adapters.fhir_client import FhirPoller, FhirPollError
from switchboard.pm_sync.domain.fhir_bundle import map_bundle
from switchboard.pm_sync.domain.fhir_mapping import (
    STAFF_USER_SYSTEM,
    FhirResourceError,
    map_resource,
)

TOKEN = "test-bearer-token"


def meta(ts, version="1"):
    return {"versionId": version, "lastUpdated": ts}


def fhir_patient(pid, ts="2025-01-05T10:00:00Z", **extra):
    return {
        "resourceType": "Patient",
        "id": pid,
        "meta": meta(ts),
        "name": [{"use": "official", "family": "Doe", "given": ["Jane", "Q"]}],
        "birthDate": "1980-02-14",
        "telecom": [
            {"system": "phone", "value": "(212) 555-0101", "use": "mobile"},
            {"system": "phone", "value": "212-555-0199", "period": {"end": "2020-01-01"}},
            {"system": "email", "value": "Jane.Doe@Example.com"},
        ],
        "communication": [
            {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en"}]}},
            {
                "language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "es"}]},
                "preferred": True,
            },
        ],
        "generalPractitioner": [
            {"identifier": {"system": STAFF_USER_SYSTEM, "value": "u-ma-manhattan-1"}},
            {
                "reference": "Practitioner/dr-1",
                "identifier": {"system": STAFF_USER_SYSTEM, "value": "u-dr-1"},
            },
        ],
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/tz-code",
                "valueCode": "America/New_York",
            }
        ],
        **extra,
    }


def fhir_appointment(aid, ts="2025-01-06T10:00:00Z", status="booked", version="1", **extra):
    return {
        "resourceType": "Appointment",
        "id": aid,
        "meta": meta(ts, version),
        "status": status,
        "start": "2025-01-15T09:00:00-05:00",
        "end": "2025-01-15T09:30:00-05:00",
        "participant": [
            {"actor": {"reference": "Patient/p-1"}, "status": "accepted"},
            {"actor": {"reference": "Practitioner/dr-1"}, "status": "accepted"},
            {
                "actor": {"reference": "https://fhir.example/r4/Location/loc-brooklyn/_history/3"},
                "status": "accepted",
            },
        ],
        **extra,
    }


# --- mapping ----------------------------------------------------------------------------------


def test_patient_maps_names_contacts_language_timezone_and_care_team():
    e = map_resource(fhir_patient("p-1"), "demo")
    assert isinstance(e, PatientUpserted)
    assert (e.patient_id, e.given_name, e.family_name) == ("p-1", "Jane", "Doe")
    assert e.birth_date == date(1980, 2, 14)
    assert e.phones == ("+12125550101",)  # the ended number is dropped
    assert e.emails == ("jane.doe@example.com",)
    assert e.preferred_language == "es"  # the preferred one, not the first one
    assert e.timezone == "America/New_York"
    assert e.care_team == ("u-ma-manhattan-1", "u-dr-1")
    assert e.primary_contact == "u-ma-manhattan-1"
    assert e.source_updated_at == datetime(2025, 1, 5, 10, tzinfo=UTC)
    assert e.event_id == deterministic_id("demo", "fhir", "Patient", "p-1", "1")


def test_appointment_maps_status_participants_and_version():
    e = map_resource(fhir_appointment("a-1"), "demo")
    assert isinstance(e, AppointmentChanged)
    assert (e.appointment_id, e.patient_id) == ("a-1", "p-1")
    assert (e.location_id, e.provider_id) == ("loc-brooklyn", "dr-1")
    assert (e.change, e.status, e.source_version) == ("booked", "booked", 1)
    assert e.start == datetime(2025, 1, 15, 14, tzinfo=UTC)
    moved = map_resource(fhir_appointment("a-1", version="2", status="checked-in"), "demo")
    assert (moved.change, moved.status, moved.source_version) == ("modified", "checked_in", 2)
    gone = map_resource(fhir_appointment("a-1", version="3", status="entered-in-error"), "demo")
    assert (gone.change, gone.status) == ("deleted", "deleted")
    no_show = map_resource(fhir_appointment("a-1", version="4", status="noshow"), "demo")
    assert (no_show.change, no_show.status) == ("noshow", "noshow")
    assert map_resource(fhir_appointment("a-2", status="proposed"), "demo") is None


def test_location_practitioner_and_care_team():
    loc = map_resource(
        {
            "resourceType": "Location",
            "id": "loc-queens",
            "meta": meta("2025-01-01T00:00:00Z"),
            "name": "Queens",
            "status": "inactive",
            "extension": [
                {
                    "url": "http://hl7.org/fhir/StructureDefinition/tz-code",
                    "valueCode": "America/New_York",
                }
            ],
        },
        "demo",
    )
    assert isinstance(loc, LocationUpserted)
    assert (loc.location_id, loc.name, loc.active, loc.timezone) == (
        "loc-queens",
        "Queens",
        False,
        "America/New_York",
    )
    dr = map_resource(
        {
            "resourceType": "Practitioner",
            "id": "dr-2",
            "meta": meta("2025-01-01T00:00:00Z"),
            "name": [{"family": "Shah", "given": ["Priya"], "prefix": ["Dr."]}],
        },
        "demo",
    )
    assert isinstance(dr, ProviderUpserted)
    assert (dr.provider_id, dr.name, dr.active) == ("dr-2", "Dr. Priya Shah", True)
    team = map_resource(
        {
            "resourceType": "CareTeam",
            "id": "ct-1",
            "meta": meta("2025-01-02T00:00:00Z"),
            "status": "active",
            "subject": {"reference": "Patient/p-1"},
            "participant": [
                {"member": {"reference": "Practitioner/u-ma-brooklyn-1"}},
                {
                    "role": [
                        {"coding": [{"system": "http://snomed.info/sct", "code": "446050000"}]}
                    ],
                    "member": {"identifier": {"system": STAFF_USER_SYSTEM, "value": "u-dr-5"}},
                },
                {"member": {"reference": "RelatedPerson/rp-1"}},  # not staff
                {"member": {"reference": "Practitioner/u-old"}, "period": {"end": "2024-01-01"}},
            ],
        },
        "demo",
    )
    assert isinstance(team, CareTeamUpserted)
    assert (team.patient_id, team.members, team.primary_contact, team.active) == (
        "p-1",
        ("u-ma-brooklyn-1", "u-dr-5"),
        "u-dr-5",
        True,
    )
    assert team.partition_key() == "demo:patient:p-1"


@pytest.mark.parametrize(
    ("resource", "fragment"),
    [
        (fhir_patient("p-9", birthDate="1980-13-45"), "Patient.birthDate"),
        (fhir_patient("p-9", favouriteColour="blue"), "Patient.favouriteColour"),
        ({**fhir_patient("p-9"), "meta": {}}, "Patient.meta.lastUpdated missing"),
        ({**fhir_patient("p-9"), "id": ""}, "Patient.id missing"),
        ({**fhir_appointment("a-9"), "status": None}, "Appointment.status"),
        ({k: v for k, v in fhir_appointment("a-9").items() if k != "start"}, "Appointment.start"),
        (
            {
                **fhir_appointment("a-9"),
                "participant": [
                    {"actor": {"reference": "Practitioner/dr-1"}, "status": "accepted"}
                ],
            },
            "no Patient actor",
        ),
        (
            {
                "resourceType": "CareTeam",
                "id": "ct-9",
                "meta": meta("2025-01-01T00:00:00Z"),
                "subject": {"reference": "Group/g-1"},
            },
            "CareTeam.subject",
        ),
        ({"resourceType": "Observation", "id": "o-1"}, "unsupported resourceType"),
    ],
)
def test_invalid_resource_gives_a_reason_without_values(resource, fragment):
    with pytest.raises(FhirResourceError) as info:
        map_resource(resource, "demo")
    assert fragment in str(info.value)
    assert "555" not in str(info.value) and "Jane" not in str(info.value)


def test_invalid_resource_is_skipped_with_reason_while_the_page_goes_on():
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {"resource": fhir_patient("p-1", ts="2025-01-05T10:00:00Z")},
            {"resource": fhir_patient("p-2", ts="2025-01-07T10:00:00Z", birthDate="not-a-date")},
            {"resource": fhir_patient("p-3", ts="2025-01-06T10:00:00Z")},
            {
                "resource": {"resourceType": "OperationOutcome", "issue": []},
                "search": {"mode": "outcome"},
            },
        ],
    }
    result = map_bundle(bundle, "demo", "Patient")
    assert [e.patient_id for e in result.events] == ["p-1", "p-3"]
    ((resource, reason),) = result.invalid
    assert resource["id"] == "p-2" and "Patient.birthDate" in reason
    assert result.cursor == "2025-01-07T10:00:00Z"  # the cursor passes the bad one too


# --- a real FHIR server -----------------------------------------------------------------------


class FakeFhir:
    """Serves `resources[type]` as paged search Bundles on 127.0.0.1:<ephemeral>."""

    def __init__(self, page_size_cap=2):
        self.resources = {}
        self.requests = []
        self.failures = []  # status codes (or "drop") to answer the next requests with
        self.token = TOKEN
        self.page_size_cap = page_size_cap
        self.next_host = None  # to send a next link to another server
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake.requests.append((self.path, self.headers.get("Authorization")))
                if fake.failures:
                    failure = fake.failures.pop(0)
                    if failure == "drop":
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    self.send_response(failure)
                    if failure == 429:
                        self.send_header("Retry-After", "0")
                    self.end_headers()
                    return
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    self.send_response(401)
                    self.end_headers()
                    return
                self.reply(200, fake.search(self.path))

            def reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}/fhir"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def search(self, path):
        url = urlsplit(path)
        resource_type = url.path.rsplit("/", 1)[-1]
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        items = sorted(
            self.resources.get(resource_type, []), key=lambda r: r["meta"]["lastUpdated"]
        )
        since = q.get("_lastUpdated", "")
        if since.startswith("gt"):
            items = [r for r in items if r["meta"]["lastUpdated"] > since[2:]]
        count = min(int(q.get("_count", 100)), self.page_size_cap)
        offset = int(q.get("_offset", 0))
        page = items[offset : offset + count]
        bundle = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(items),
            "link": [{"relation": "self", "url": self.base + path}],
            "entry": [
                {
                    "fullUrl": f"{self.base}/{resource_type}/{r['id']}",
                    "resource": r,
                    "search": {"mode": "match"},
                }
                for r in page
            ],
        }
        if offset + count < len(items):
            host = self.next_host or f"127.0.0.1:{self.port}"
            nxt = {**q, "_offset": str(offset + count)}
            bundle["link"].append(
                {"relation": "next", "url": f"http://{host}/fhir/{resource_type}?{urlencode(nxt)}"}
            )
        return bundle

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fhir_server():
    server = FakeFhir()
    yield server
    server.close()


def poller(server, **kw):
    kw.setdefault("token", TOKEN)
    return FhirPoller(
        server.base, "demo", backoff_initial_s=0.01, backoff_max_s=0.05, timeout_s=5, **kw
    )


async def test_poll_pages_through_next_links_with_bearer_token(fhir_server):
    fhir_server.resources["Patient"] = [
        fhir_patient(f"p-{i}", ts=f"2025-01-0{i}T10:00:00Z") for i in range(1, 6)
    ]
    async with poller(fhir_server, page_size=2) as p:
        result = await p.poll("Patient")
    assert [e.patient_id for e in result.events] == ["p-1", "p-2", "p-3", "p-4", "p-5"]
    assert result.pages == 3
    assert result.cursor == "2025-01-05T10:00:00Z"
    assert result.invalid == []
    first_path = fhir_server.requests[0][0]
    assert first_path.startswith("/fhir/Patient?")
    assert "_sort=_lastUpdated" in first_path and "_count=2" in first_path
    assert "_lastUpdated=" not in first_path  # no cursor yet: everything
    assert {auth for _, auth in fhir_server.requests} == {f"Bearer {TOKEN}"}


async def test_poll_from_cursor_returns_only_newer_and_keeps_cursor_when_nothing_changed(
    fhir_server,
):
    fhir_server.resources["Patient"] = [
        fhir_patient(f"p-{i}", ts=f"2025-01-0{i}T10:00:00Z") for i in range(1, 6)
    ]
    async with poller(fhir_server) as p:
        result = await p.poll("Patient", "2025-01-03T10:00:00Z")
        assert [e.patient_id for e in result.events] == ["p-4", "p-5"]
        assert "_lastUpdated=gt2025-01-03T10%3A00%3A00Z" in fhir_server.requests[0][0]
        again = await p.poll("Patient", result.cursor)
    assert again.events == [] and again.cursor == "2025-01-05T10:00:00Z"


async def test_invalid_resource_on_a_page_is_returned_with_reason_and_paging_continues(
    fhir_server,
):
    fhir_server.resources["Appointment"] = [
        fhir_appointment("a-1", ts="2025-01-01T00:00:00Z"),
        fhir_appointment("a-2", ts="2025-01-02T00:00:00Z", start="tomorrow-ish"),
        fhir_appointment("a-3", ts="2025-01-03T00:00:00Z"),
        fhir_appointment("a-4", ts="2025-01-04T00:00:00Z", status="proposed"),
        fhir_appointment("a-5", ts="2025-01-05T00:00:00Z"),
    ]
    async with poller(fhir_server, page_size=2) as p:
        result = await p.poll("Appointment")
    assert [e.appointment_id for e in result.events] == ["a-1", "a-3", "a-5"]
    assert [(r["id"], "Appointment.start" in why) for r, why in result.invalid] == [("a-2", True)]
    assert result.ignored == 1
    assert result.cursor == "2025-01-05T00:00:00Z"


async def test_retries_5xx_429_and_dropped_connections(fhir_server):
    fhir_server.resources["Location"] = [
        {
            "resourceType": "Location",
            "id": f"loc-{i}",
            "meta": meta(f"2025-01-0{i}T00:00:00Z"),
            "name": f"L{i}",
        }
        for i in range(1, 4)
    ]
    fhir_server.failures = [503, "drop", 429, 500]
    async with poller(fhir_server, max_attempts=5) as p:
        result = await p.poll("Location")
    assert [e.location_id for e in result.events] == ["loc-1", "loc-2", "loc-3"]
    assert len(fhir_server.requests) == 4 + 2  # four failures, then two pages


async def test_gives_up_after_max_attempts_with_partial_result(fhir_server):
    fhir_server.resources["Patient"] = [
        fhir_patient(f"p-{i}", ts=f"2025-01-0{i}T10:00:00Z") for i in range(1, 5)
    ]

    async with poller(fhir_server, max_attempts=3) as p:
        pages = p.pages("Patient", "2024-12-31T00:00:00Z")
        first = await anext(pages)
        assert [e.patient_id for e in first.events] == ["p-1", "p-2"]
        await pages.aclose()
        fhir_server.failures = [502] * 3
        with pytest.raises(FhirPollError) as info:
            await p.poll("Patient", "2024-12-31T00:00:00Z")
    assert info.value.partial.events == []
    assert info.value.partial.cursor == "2024-12-31T00:00:00Z"  # not advanced
    assert "after 3 attempts" in str(info.value)


async def test_client_errors_are_not_retried_and_a_wrong_token_fails(fhir_server):
    async with poller(fhir_server, token="wrong") as p:
        with pytest.raises(FhirPollError, match="HTTP 401"):
            await p.poll("Patient")
    assert len(fhir_server.requests) == 1


async def test_token_source_is_asked_again_after_401(fhir_server):
    fhir_server.resources["Patient"] = [fhir_patient("p-1")]
    tokens = iter(["expired", TOKEN])

    async def token_source():
        return next(tokens)

    async with poller(fhir_server, token=token_source) as p:
        result = await p.poll("Patient")
    assert [e.patient_id for e in result.events] == ["p-1"]
    assert [auth for _, auth in fhir_server.requests] == ["Bearer expired", f"Bearer {TOKEN}"]


async def test_next_link_to_another_server_is_refused(fhir_server):
    fhir_server.resources["Patient"] = [
        fhir_patient(f"p-{i}", ts=f"2025-01-0{i}T10:00:00Z") for i in range(1, 5)
    ]
    fhir_server.next_host = "attacker.example:80"
    async with poller(fhir_server) as p:
        with pytest.raises(FhirPollError, match="another server") as info:
            await p.poll("Patient")
    assert len(info.value.partial.events) == 2  # the first page was read
    assert len(fhir_server.requests) == 1  # and the token never left for the other host


async def test_poll_all_reads_every_type_in_dependency_order(fhir_server):
    fhir_server.resources = {
        "Location": [
            {
                "resourceType": "Location",
                "id": "loc-1",
                "name": "M",
                "meta": meta("2025-01-01T00:00:00Z"),
            }
        ],
        "Practitioner": [
            {"resourceType": "Practitioner", "id": "dr-1", "meta": meta("2025-01-01T00:00:00Z")}
        ],
        "Patient": [fhir_patient("p-1")],
        "Appointment": [fhir_appointment("a-1")],
    }
    async with poller(fhir_server) as p:
        results = await p.poll_all()
    assert list(results) == ["Location", "Practitioner", "Patient", "CareTeam", "Appointment"]
    assert [len(r.events) for r in results.values()] == [1, 1, 1, 0, 1]
    assert results["CareTeam"].cursor is None
