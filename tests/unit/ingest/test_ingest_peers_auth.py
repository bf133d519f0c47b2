"""ingest's calls to the router's and pm-sync's internal APIs carry ingest's own credential
(`SWITCHBOARD_INTERNAL_TOKEN`) and go to the URLs configured for their internal listeners."""

from __future__ import annotations

import uuid

import httpx
import pytest

from switchboard.ingest.peers import Peers, PeerUnavailable
from switchboard.ingest.settings import IngestSettings

# The router's answer in full: ingest parses it into its model (switchboard.events.internal).
REASONS = {
    "reason_routing": False,
    "location_routing": False,
    "show_picker": False,
    "why": "reason_routing_off",
    "reasons": [],
    "current_reason": None,
}


async def test_every_call_to_a_peer_sends_ingests_token():
    seen: list[httpx.Request] = []

    def peer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/reasons"):
            return httpx.Response(200, json=REASONS)
        if request.url.path.endswith("/patients"):
            return httpx.Response(200, json={"practice_id": "demo", "patients": []})
        return httpx.Response(404, json={"detail": "no such patient in this practice"})

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


async def test_an_answer_out_of_contract_is_a_peer_unavailable_not_a_crash():
    def peer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"show_picker": True})  # the other fields missing

    s = IngestSettings(router_url="http://router.test:8152", internal_token="t")
    async with httpx.AsyncClient(transport=httpx.MockTransport(peer)) as client:
        with pytest.raises(PeerUnavailable, match="not a ReasonsOffer"):
            await Peers(s, client).reasons("demo", uuid.uuid4())


async def test_answers_are_parsed_into_the_internal_api_models():
    offered = REASONS | {"show_picker": True, "reasons": [{"code": "refill", "label": "Refill"}]}

    def peer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=offered)

    s = IngestSettings(router_url="http://router.test:8152", internal_token="t")
    async with httpx.AsyncClient(transport=httpx.MockTransport(peer)) as client:
        answer = await Peers(s, client).reasons("demo", uuid.uuid4())
    assert answer.show_picker and [r.code for r in answer.reasons] == ["refill"]
