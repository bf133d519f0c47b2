"""ingest's calls to the router's and pm-sync's internal APIs carry ingest's own credential
(`SWITCHBOARD_INTERNAL_TOKEN`) and go to the URLs configured for their internal listeners."""

from __future__ import annotations

import uuid

import httpx
import pytest
from peer_answers import patient, reasons_offer

from switchboard.ingest.adapters.peers import Peers, PeerUnavailable
from switchboard.ingest.settings import IngestSettings


async def test_every_call_to_a_peer_sends_ingests_token():
    seen: list[httpx.Request] = []

    def peer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/reasons"):
            return httpx.Response(200, json=reasons_offer())
        if request.url.path.endswith("/patients"):
            return httpx.Response(200, json={"practice_id": "demo", "patients": []})
        return httpx.Response(404, json={})

    s = IngestSettings(
        router_url="http://router.test:8152",
        pm_sync_url="http://pm-sync.test:8155",
        internal_token="ingest-credential",
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(peer)) as client:
        peers = Peers(s, client)
        await peers.reasons("demo", uuid.uuid4())
        await peers.patients_by_contact("demo", phone="+12125550101")
        await peers.patient("demo", "pat-1")
    assert [(r.url.host, r.url.port) for r in seen] == [
        ("router.test", 8152),
        ("pm-sync.test", 8155),
        ("pm-sync.test", 8155),
    ]
    assert {r.headers.get("authorization") for r in seen} == {"Bearer ingest-credential"}


async def test_an_answer_that_breaks_the_contract_is_the_peers_fault_and_names_no_patient_data():
    bad = patient("pat-1", "Jane", "Doe", "1980-02-29") | {"birth_date": "29 Feb 1980"}

    def peer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/reasons"):
            return httpx.Response(200, json={"show_picker": True})  # no reasons, no why
        if request.url.path.endswith("/patients"):
            return httpx.Response(200, json={"practice_id": "demo", "patients": [bad]})
        return httpx.Response(404, json={"detail": "no such patient"})

    s = IngestSettings(router_url="http://r.test", pm_sync_url="http://p.test")
    async with httpx.AsyncClient(transport=httpx.MockTransport(peer)) as client:
        peers = Peers(s, client)
        with pytest.raises(PeerUnavailable, match="router: not a ReasonsOffer") as refused:
            await peers.reasons("demo", uuid.uuid4())
        assert "reasons" in str(refused.value)
        with pytest.raises(PeerUnavailable, match="pm-sync: not a PatientMatches") as refused:
            await peers.patients_by_contact("demo", phone="+12125550101")
        assert "birth_date" in str(refused.value) and "Feb" not in str(refused.value)
        assert await peers.patient("demo", "pat-2") is None  # 404: no such patient
