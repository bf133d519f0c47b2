"""ingest's calls to the router's and pm-sync's internal APIs carry ingest's own credential
(`SWITCHBOARD_INTERNAL_TOKEN`) and go to the URLs configured for their internal listeners."""

from __future__ import annotations

import uuid

import httpx

from switchboard.ingest.adapters.peers import Peers
from switchboard.ingest.settings import IngestSettings


async def test_every_call_to_a_peer_sends_ingests_token():
    seen: list[httpx.Request] = []

    def peer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/reasons"):
            return httpx.Response(200, json={"show_picker": False, "reasons": []})
        return httpx.Response(200, json={"patients": []})

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
