"""The demo EHR stand-in takes Communications (X-FHIR-2) as a FHIR server does: a create
answers 201 with Location; a conditional create (`If-None-Exist`) finds the one already
there (200, nothing new) and refuses when several match (412); searches by identifier and
subject read them back.

# covers X-FHIR-2
"""

from __future__ import annotations

import httpx

from switchboard_demo.fhir_server import FhirTestServer

SYSTEM = "urn:switchboard:message-id"


def comm(value: str, patient: str = "p-1") -> dict:
    return {
        "resourceType": "Communication",
        "status": "completed",
        "identifier": [{"system": SYSTEM, "value": value}],
        "subject": {"reference": f"Patient/{patient}"},
    }


def test_conditional_create_returns_the_existing_communication() -> None:
    with (
        FhirTestServer(token="tok") as server,
        httpx.Client(base_url=server.base_url, headers={"Authorization": "Bearer tok"}) as http,
    ):
        cond = {"If-None-Exist": f"identifier={SYSTEM}|m-1"}
        first = http.post("/Communication", json=comm("m-1"), headers=cond)
        assert first.status_code == 201
        created = first.json()
        assert first.headers["Location"].endswith(f"/Communication/{created['id']}/_history/1")
        again = http.post("/Communication", json=comm("m-1"), headers=cond)
        assert again.status_code == 200 and again.json()["id"] == created["id"]
        http.post("/Communication", json=comm("m-2", "p-2"))
        http.post("/Communication", json=comm("m-2", "p-2"))  # unconditional: a second one
        twice = http.post(
            "/Communication", json=comm("m-2"), headers={"If-None-Exist": "identifier=m-2"}
        )
        assert twice.status_code == 412
        assert server.creates == 5

        found = http.get("/Communication", params={"identifier": f"{SYSTEM}|m-1"}).json()
        assert [e["resource"]["id"] for e in found["entry"]] == [created["id"]]
        by_patient = http.get("/Communication", params={"subject": "Patient/p-2"}).json()
        assert by_patient["total"] == 2


def test_creates_need_the_token_and_a_status() -> None:
    with FhirTestServer(token="tok") as server, httpx.Client(base_url=server.base_url) as http:
        assert http.post("/Communication", json=comm("m-1")).status_code == 401
        bad = {k: v for k, v in comm("m-1").items() if k != "status"}
        answer = http.post("/Communication", json=bad, headers={"Authorization": "Bearer tok"})
        assert answer.status_code == 422
        assert answer.json()["issue"][0]["expression"] == ["Communication.status"]
