"""The gateway's one client to the other services' internal APIs (gateway/clients.py): URLs from
the settings, the gateway's own internal token sent to every peer, and the same answer for
every failed call."""

from __future__ import annotations

import httpx
import pytest
from fastapi import HTTPException

from switchboard.gateway.clients import Peers
from switchboard.gateway.settings import GatewaySettings

SETTINGS = GatewaySettings(
    router_url="http://router.test",
    ingest_url="http://ingest.test/",
    internal_token="gateway-secret",
    ingest_timeout_s=2,
    pm_sync_url="http://pm-sync.test",
    pm_sync_timeout_s=3,
)


async def test_url_token_and_one_client_for_every_call():
    seen: list[httpx.Request] = []

    def peer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    peers = Peers(SETTINGS, transport=httpx.MockTransport(peer))
    client = peers.client
    await peers.call("ingest", "GET", "/internal/practices/p1/lines", params={"a": "1"})
    await peers.call("router", "POST", "/internal/practices/p1/what-if", json={"days": 7})
    assert peers.client is client
    await peers.aclose()
    assert [str(r.url) for r in seen] == [
        "http://ingest.test/internal/practices/p1/lines?a=1",
        "http://router.test/internal/practices/p1/what-if",
    ]
    # every peer, the router included, gets the gateway's credential
    assert [r.headers["authorization"] for r in seen] == ["Bearer gateway-secret"] * 2


@pytest.mark.parametrize(
    ("service", "status", "detail"),
    [
        ("ingest", 503, "the messaging service (ingest) did not answer within 2s"),
        ("pm_sync", 504, "the practice-management sync (pm-sync) did not answer within 3s"),
    ],
)
async def test_no_answer_in_time(service, status, detail):
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    peers = Peers(SETTINGS, transport=httpx.MockTransport(slow))
    with pytest.raises(HTTPException) as raised:
        await peers.call(service, "GET", "/x")
    assert (raised.value.status_code, raised.value.detail) == (status, detail)


async def test_unreachable_is_502_with_the_error():
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    peers = Peers(SETTINGS, transport=httpx.MockTransport(down))
    with pytest.raises(HTTPException) as raised:
        await peers.call("router", "GET", "/x")
    assert raised.value.status_code == 502
    assert raised.value.detail == "the routing service (router) is unreachable (ConnectError)"


def test_an_error_answer_is_502_with_the_peers_reason_when_it_gave_one():
    peers = Peers(SETTINGS)
    with_reason = peers.failed("pm_sync", httpx.Response(500, json={"detail": "FHIR: HTTP 503"}))
    without = peers.failed("ingest", httpx.Response(500, text="oops"))
    assert with_reason.status_code == without.status_code == 502
    assert with_reason.detail == (
        "the practice-management sync (pm-sync) answered HTTP 500: FHIR: HTTP 503"
    )
    assert without.detail == "the messaging service (ingest) answered HTTP 500"


def test_an_answer_that_is_not_the_routes_model_is_a_502_naming_it():
    from switchboard.events.internal.router import Coverage

    peers = Peers(SETTINGS)
    with pytest.raises(HTTPException) as raised:
        peers.parsed("router", Coverage, {"gaps": []})  # the versions missing
    assert raised.value.status_code == 502
    assert raised.value.detail == (
        "the routing service (router) answered something other than a Coverage"
    )


def test_a_parsed_answer_is_relayed_as_the_peer_sent_it():
    from switchboard.events.internal.router import ConfigHistory
    from switchboard.gateway.clients import relayed

    config = {
        "practice_id": "p1",
        "version": 0,
        "reason_routing": False,
        "location_routing": False,
        "provider_routing": False,
        "voicemail_extensions": {},
        "extra_reasons": {},
        "auto_assign": {},
        "textable_numbers": [],
        "subscriptions_version": 0,
        "subscriptions": [],
        "timezone": "UTC",
        "seq": 0,
        "availability": {},
    }
    # no staff_id asked: the router sends no "subscription", the gateway adds no null
    sent = {"at": "2026-12-07T06:00:00+00:00", "config": config, "changes": []}
    assert relayed(Peers(SETTINGS).parsed("router", ConfigHistory, sent)) == sent
