"""One access check for everything about a conversation (issue 13): every route that takes a
conversation id goes through conversation_access, and patient data and live events follow
the same rule (pure parts here; the answers over HTTP: test_gateway_access_matrix.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from switchboard.events import AlertSent, MessageRouted, PresenceChanged
from switchboard.gateway import access, live_relay
from switchboard.gateway.app import build_app
from switchboard.gateway.auth import Principal
from switchboard.gateway.conversation_access import (
    conversation_access,
    conversation_access_if_given,
)
from switchboard.gateway.settings import GatewaySettings

CHECKS = {conversation_access, conversation_access_if_given}


def _calls(d: Dependant) -> set[object]:
    out: set[object] = set()
    for sub in d.dependencies:
        out.add(sub.call)
        out |= _calls(sub)
    return out


def _params(d: Dependant) -> set[str]:
    names = {p.name for p in (*d.path_params, *d.query_params)}
    for sub in d.dependencies:
        names |= _params(sub)
    return names


def _api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    """Every API route, also inside included routers (FastAPI >= 0.165 keeps those whole)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _api_routes(inner.routes)


def test_every_route_taking_a_conversation_id_checks_access():
    # A new route with a conversation id and without the check fails here (T-2).
    app = build_app(GatewaySettings())
    taking = []
    for route in _api_routes(app.routes):
        if "conversation_id" in _params(route.dependant):
            taking.append(route.path)
            assert _calls(route.dependant) & CHECKS, (
                f"{sorted(route.methods)} {route.path} takes a conversation id without "
                "conversation_access"
            )
    # the routes the issue names are among them
    assert {
        "/api/conversations/{conversation_id}",
        "/api/conversations/{conversation_id}/routing",
        "/api/conversations/{conversation_id}/panel",
        "/api/conversations/{conversation_id}/documents",
        "/api/conversations/{conversation_id}/attachments",
        "/api/conversations/{conversation_id}/reply",
        "/api/routing/reasons",
    } <= set(taking)


def who(role: str, *policies: str, user: str = "u-1", practice: str = "demo") -> Principal:
    return Principal(user, practice, role, frozenset(policies))


def test_a_patient_is_readable_through_one_of_their_conversations():
    # covers T-2: panel, documents and the patient directory follow the conversations
    plain, care = who("staff"), who("staff", "inbox.care_team")
    theirs = [["routed:u-2"], ["inbox:unassigned", "careteam:u-1"]]
    assert access.can_see_patient(care, theirs, [])
    assert not access.can_see_patient(plain, theirs, [])
    assert access.can_see_patient(plain, theirs, ["unassigned"])
    assert access.can_see_patient(who("practice_admin"), theirs, [])  # shared inboxes
    assert not access.can_see_patient(plain, [], ["unassigned"])  # no conversation at all
    for everyone in (who("staff", "inbox.full_patient"), who("api_client", "inbox.api")):
        assert access.can_see_patient(everyone, [], [])
    assert not access.can_see_patient(who("no_inbox", "inbox.full_patient"), theirs, [])
    assert not access.can_see_patient(who("platform_operator"), theirs, ["unassigned"])


def _envelope(practice: str = "demo") -> dict[str, object]:
    eid = uuid.uuid4()
    return {
        "event_id": eid,
        "correlation_id": eid,
        "occurred_at": datetime.now(UTC),
        "practice_id": practice,
    }


def test_live_tells_only_those_who_may_read_the_conversation():
    # covers I-LIVE-1, T-1, T-2: conversation changes, alerts and presence alike
    cid, now = uuid.uuid4(), datetime.now(UTC)
    routed = MessageRouted(
        **_envelope(),
        message_id=uuid.uuid4(),
        conversation_id=cid,
        reason="other",
        reason_source="none",
        decided_at=now,
    )
    alert = AlertSent(
        **_envelope(),
        conversation_id=cid,
        alert_id=uuid.uuid4(),
        staff_id="u-1",
        channel="in_app",
        kind="message",
        why="subscribed",
        link="/inbox",
        sent_at=now,
    )
    seen = PresenceChanged(
        **_envelope(),
        conversation_id=cid,
        staff_id="u-2",
        display_name="B",
        state="viewing",
        expires_at=now + timedelta(seconds=30),
    )
    me = who("staff")
    for event, kind in ((routed, "conversation"), (alert, "alert"), (seen, "presence")):
        told = live_relay.view(event, me, visible=True)
        assert told is not None and told["type"] == kind
        assert live_relay.view(event, me, visible=False) is None
        assert live_relay.view(event, who("staff", practice="other"), visible=True) is None
