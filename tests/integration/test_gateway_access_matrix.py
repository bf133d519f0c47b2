"""The authorization matrix over EVERY route of the gateway's OpenAPI (issue 13): roles x
policies x two practices, through the real Kafka and PostgreSQL (the router, inbox projection
and pm-sync run as processes; the gateway in process).

Each practice has a *marked* patient (name, phone, email, birth date, message text, file
name) with one conversation. Every user of both practices calls every route, for both
practices' conversation where the route takes one, and:
- gets the status the tables below declare (past the access check, write routes are sent a
  stale `expected_version` or a bad body, so nothing changes);
- never sees a marked patient's data unless they may read that patient's conversation
  (0 leaks: refusals, filtered lists and searches alike);
- another practice's conversation is always 404, with the body of an id that does not exist.
A route missing from CASES fails the test, so a new route cannot slip by.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from inbox_support import OTHER, PRACTICE, ServiceProcess, eventually, in_process, phone, user
from sqlalchemy import insert

from switchboard.events import (
    Attachment,
    MessageReceived,
    PatientUpserted,
    StaffSubscriptionsSet,
    deterministic_id,
)
from switchboard.gateway import storage
from switchboard.gateway.app import MIGRATIONS as GATEWAY_MIGRATIONS
from switchboard.gateway.app import build_app as gateway_app
from switchboard.gateway.auth import Principal, hash_password, issue_client_token, issue_token
from switchboard.gateway.settings import GatewaySettings
from switchboard.gateway.users import upsert_users
from switchboard.inbox_projection.app import MIGRATIONS as INBOX_MIGRATIONS
from switchboard.platform.db import make_sync_engine
from switchboard.platform.internal_api import dev_credentials, settings_update
from switchboard.platform.kafka import Publisher, ensure_topics, make_producer
from switchboard.platform.migrations import upgrade

# three services to start and ~1700 requests: more than the default 300 s on a busy machine
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1500)]

SECRET = "access-matrix-secret-0123456789abcdef0123"
LINE = "+12125550000"
PRACTICES = (PRACTICE, OTHER)
CARE, FULL, API = "inbox.care_team", "inbox.full_patient", "inbox.api"


@dataclass(frozen=True)
class Role:
    """A kind of user, as the practice sets them up, and what they should be able to do."""

    role: str
    policies: tuple[str, ...] = ()
    inbox: bool = True
    # may read the marked patient's conversation (and so the patient): declared, not computed
    reads_marked: bool = False
    views: frozenset[str] = field(default_factory=frozenset)  # view groups they may read
    subscribed: bool = False  # to the shared Unassigned inbox
    on_care_team: bool = False  # of the marked patient


ROLES = {
    # front desk: watches the Unassigned inbox, where the marked conversation is
    "front": Role("staff", reads_marked=True, views=frozenset({"my", "shared"}), subscribed=True),
    # medical assistant: My Inbox only; the marked conversation is in none of theirs
    "ma": Role("staff", views=frozenset({"my"})),
    # doctor on the marked patient's care team, with the Care Team policy
    "doctor": Role(
        "staff", (CARE,), reads_marked=True, views=frozenset({"my", "care-team"}), on_care_team=True
    ),
    # the Care Team policy, but not on this patient's care team
    "careteam": Role("staff", (CARE,), views=frozenset({"my", "care-team"})),
    # practice admin without policies: every shared inbox (R-SUB-2), no All Patients
    "admin": Role("practice_admin", reads_marked=True, views=frozenset({"my", "shared"})),
    "full": Role(
        "staff", (FULL,), reads_marked=True, views=frozenset({"my", "care-team", "all", "shared"})
    ),
    "api": Role(
        "api_client",
        (API,),
        reads_marked=True,
        views=frozenset({"my", "care-team", "all", "shared"}),
    ),
    "operator": Role("platform_operator", inbox=False),
    "noinbox": Role("no_inbox", inbox=False),
}


@dataclass(frozen=True)
class Caller:
    key: str  # ROLES key, or "anonymous"
    practice: str

    @property
    def user_id(self) -> str:
        return f"{self.key}-{self.practice}"

    @property
    def spec(self) -> Role:
        return ROLES[self.key]

    def headers(self) -> dict[str, str]:
        if self.key == "anonymous":
            return {}
        r = self.spec
        if self.key == "api":  # a real API client's token (a row in gateway.api_clients)
            token = issue_client_token(self.user_id, self.practice, 1, SECRET, 3600)
            return {"Authorization": f"Bearer {token}"}
        p = Principal(self.user_id, self.practice, r.role, frozenset(r.policies))
        return {"Authorization": f"Bearer {issue_token(p, SECRET, 3600)}"}


CALLERS = [Caller(k, p) for p in PRACTICES for k in ROLES]
ANONYMOUS = Caller("anonymous", PRACTICE)
USERS = [
    user(c.user_id, c.spec.role, c.spec.policies, practice=c.practice)
    | {"username": f"{c.user_id}@x", "password": f"pw-{c.user_id}"}
    for c in CALLERS
]


# --- who may call what ----------------------------------------------------------------------

Allowed = Callable[[Caller], bool]


def anyone(c: Caller) -> bool:
    return True


def inbox(c: Caller) -> bool:
    return c.spec.inbox


def admin(c: Caller) -> bool:
    return c.spec.role == "practice_admin"


def operator(c: Caller) -> bool:
    return c.spec.role == "platform_operator"


def view(group: str) -> Allowed:
    return lambda c: group in c.spec.views


def reads_marked(c: Caller) -> bool:
    return c.spec.reads_marked


@dataclass(frozen=True)
class Case:
    """One request: `ok` when `allowed`, else 403 (401 without a token). A `conversation`
    case is made for both practices' marked conversation: another practice's is 404."""

    method: str
    route: str  # as in the OpenAPI
    ok: int
    allowed: Allowed
    conversation: bool = False
    path: str | None = None  # the route with values ({cid}, {me}, {practice})
    params: dict[str, str] = field(default_factory=dict)
    body: Callable[[Caller], Any] | None = None
    content: bytes | None = None
    form: Callable[[Caller], dict[str, str]] | None = None  # a form body (OAuth)
    # for allowed readers of the marked patient: which mark their 200 body must show
    shows: str | None = None
    why: str = ""


STALE = {"expected_version": 10**9}  # past the access check: 409, nothing changes

CASES = [
    # sign-in and identity
    Case(
        "POST",
        "/api/auth/login",
        200,
        anyone,
        body=lambda c: {"username": f"{c.user_id}@x", "password": f"pw-{c.user_id}"},
        why="public: the anonymous caller sends a wrong password (401)",
    ),
    Case(
        "POST",
        "/api/oauth/token",
        401,
        anyone,
        form=lambda c: {
            "grant_type": "client_credentials",
            "client_id": "apic-" + hashlib.sha256(c.user_id.encode()).hexdigest()[:16],
            "client_secret": "wrong",
        },
        why="public (RFC 6749 4.4): an unknown client is invalid_client for everyone (one id "
        "per caller: the attempt limit counts per client id)",
    ),
    Case("GET", "/api/me", 200, anyone),
    Case("GET", "/api/asyncapi.yaml", 200, anyone, why="the event contract: no practice data"),
    # inbox views (T-2)
    Case("GET", "/api/inboxes", 200, inbox),
    Case("GET", "/api/inboxes/unassigned", 200, view("shared"), shows="patient_id"),
    Case("GET", "/api/inboxes/{group}/{view}", 200, view("my"), path="/api/inboxes/my/assigned"),
    Case(
        "GET",
        "/api/inboxes/{group}/{view}",
        200,
        view("care-team"),
        path="/api/inboxes/care-team/directed",
    ),
    Case(
        "GET",
        "/api/inboxes/{group}/{view}",
        200,
        view("all"),
        path="/api/inboxes/all/directed",
        shows="patient_id",
    ),
    Case(
        "GET",
        "/api/inboxes/{group}/{view}",
        200,
        view("shared"),
        path="/api/inboxes/shared/unassigned",
        shows="patient_id",
    ),
    Case(
        "GET",
        "/api/inboxes/{group}/{view}/as-of",
        200,
        view("shared"),
        path="/api/inboxes/shared/unassigned/as-of",
        params={"at": "2999-01-01T00:00:00+00:00"},
        shows="patient_id",
    ),
    # searches: only what the caller may read
    Case("GET", "/api/search", 200, inbox, params={"q": "{family}"}, shows="patient_id"),
    Case("GET", "/api/patients", 200, inbox, params={"q": "{family}"}, shows="patient_id"),
    Case("GET", "/api/staff", 200, inbox),
    # everything about one conversation: one access check
    Case(
        "GET",
        "/api/conversations/{conversation_id}",
        200,
        reads_marked,
        conversation=True,
        shows="text",
    ),
    Case(
        "GET",
        "/api/conversations/{conversation_id}/routing",
        200,
        reads_marked,
        conversation=True,
        shows="patient_id",
        why="issue 13: answered 200 to staff refused the conversation",
    ),
    Case(
        "GET",
        "/api/conversations/{conversation_id}/why",
        200,
        reads_marked,
        conversation=True,
        why="the routing sentence names the patient: the conversation's own access check",
    ),
    Case(
        "GET",
        "/api/conversations/{conversation_id}/panel",
        200,
        reads_marked,
        conversation=True,
        shows="birth_date",
    ),
    Case(
        "GET",
        "/api/conversations/{conversation_id}/link-candidates",
        200,
        reads_marked,
        conversation=True,
        params={"q": "{family}"},
        shows="patient_id",
    ),
    Case(
        "GET",
        "/api/conversations/{conversation_id}/assignees",
        200,
        reads_marked,
        conversation=True,
    ),
    Case(
        "GET",
        "/api/conversations/{conversation_id}/documents",
        200,
        reads_marked,
        conversation=True,
        shows="filename",
    ),
    Case(
        "POST",
        "/api/conversations/{conversation_id}/attachments",
        422,
        reads_marked,
        conversation=True,
        content=b"",
        why="an empty upload: refused after the access check, nothing stored",
    ),
    Case(
        "GET",
        "/api/conversations/{conversation_id}/attachments",
        404,
        reads_marked,
        conversation=True,
        params={"ref": "store:{practice}/no-such-file"},
        why="no such file in this (readable) conversation",
    ),
    Case(
        "POST",
        "/api/conversations/{conversation_id}/assign",
        409,
        reads_marked,
        conversation=True,
        body=lambda c: {"assignee": None, **STALE},
    ),
    Case(
        "POST",
        "/api/conversations/{conversation_id}/status",
        409,
        reads_marked,
        conversation=True,
        body=lambda c: {"status": "closed", **STALE},
    ),
    Case(
        "POST",
        "/api/conversations/{conversation_id}/link",
        409,
        reads_marked,
        conversation=True,
        body=lambda c: {"patient_id": "pat-x", **STALE},
    ),
    Case(
        "POST",
        "/api/conversations/{conversation_id}/reply",
        409,
        reads_marked,
        conversation=True,
        body=lambda c: {"body": "hello", **STALE},
    ),
    # team work (I-NOTE-1, I-SNOOZE-1, I-BULK-1)
    Case(
        "POST",
        "/api/conversations/{conversation_id}/notes",
        409,
        reads_marked,
        conversation=True,
        body=lambda c: {"body": "hello", **STALE},
    ),
    Case(
        "POST",
        "/api/conversations/{conversation_id}/snooze",
        409,
        reads_marked,
        conversation=True,
        body=lambda c: {"until": None, **STALE},
    ),
    Case(
        "POST",
        "/api/conversations/bulk",
        200,
        inbox,
        body=lambda c: {"action": "close", "conversation_ids": [str(uuid.uuid4())]},
        why="a conversation id nobody has: skipped and listed, nothing changes",
    ),
    Case(
        "POST",
        "/api/conversations/{conversation_id}/messages/{message_id}/retry",
        404,
        reads_marked,
        conversation=True,
        path="/api/conversations/{cid}/messages/00000000-0000-4000-8000-000000000000/retry",
        why="no such reply: refused after the access check, nothing sent",
    ),
    Case(
        "GET",
        "/api/routing/reasons",
        200,
        reads_marked,
        conversation=True,
        path="/api/routing/reasons",
        params={"conversation_id": "{cid}"},
    ),
    Case("GET", "/api/routing/reasons", 200, inbox),
    # the caller's own settings
    Case("GET", "/api/me/subscriptions", 200, inbox),
    Case(
        "PUT",
        "/api/notify/staff/{staff_id}/availability",
        422,
        anyone,
        path="/api/notify/staff/me/availability",
        body=lambda c: {"substitute_staff_id": c.user_id},
        why="one cannot substitute for oneself: refused after the access check",
    ),
    Case(
        "PUT",
        "/api/notify/staff/{staff_id}/preferences",
        202,
        lambda c: admin(c) or c.key == "ma",
        path="/api/notify/staff/ma-{practice}/preferences",
        body=lambda c: {"channels": []},
        why="admins set anyone's, staff their own (the MA's: no alert channels, this world only)",
    ),
    Case(
        "PUT",
        "/api/admin/routing/subscriptions/{staff_id}",
        422,
        lambda c: admin(c) or c.key == "ma",
        path="/api/admin/routing/subscriptions/ma-{practice}",
        body=lambda c: {"staff_id": "somebody-else"},
        why="admins set anyone's, staff their own; the body's staff_id differs: 422",
    ),
    Case("GET", "/api/lines", 502, anyone, why="ingest does not run here: past the check"),
    Case("GET", "/api/templates", 200, anyone),
    # practice admins
    Case(
        "PUT",
        "/api/admin/staff/{staff_id}/addresses",
        422,
        admin,
        path="/api/admin/staff/ma-{practice}/addresses",
        body=lambda c: {"addresses": ["not an address"]},
    ),
    Case("POST", "/api/admin/ehr-sync", 409, admin, why="this practice has no FHIR server"),
    Case(
        "GET",
        "/api/notify/practice-settings",
        502,
        admin,
        why="the notifier does not run here: past the check",
    ),
    Case(
        "PUT",
        "/api/notify/practice-settings",
        422,
        admin,
        body=lambda c: {"front_line_staff_ids": ["nobody"]},
    ),
    Case("GET", "/api/notify/timezones", 200, admin),
    Case(
        "GET",
        "/api/notify/webhooks",
        502,
        admin,
        why="the notifier does not run here: past the check",
    ),
    Case(
        "PUT",
        "/api/notify/webhooks/{subscription_id}",
        422,
        admin,
        path="/api/notify/webhooks/hook-1",
        body=lambda c: {"url": "x"},
    ),
    Case(
        "DELETE",
        "/api/notify/webhooks/{subscription_id}",
        422,
        admin,
        path="/api/notify/webhooks/bad%20id!",
    ),
    # event webhooks (issue 16): admins only; past the check the call goes to the notifier,
    # which does not run here (502), or the body is refused first (422)
    Case(
        "GET",
        "/api/admin/event-webhooks",
        502,
        admin,
        why="the notifier does not run here: past the check",
    ),
    Case("POST", "/api/admin/event-webhooks", 422, admin, body=lambda c: {"url": "x"}),
    Case(
        "PUT",
        "/api/admin/event-webhooks/{endpoint_id}",
        422,
        admin,
        path="/api/admin/event-webhooks/6f1c9a52-3b7e-4c8e-9d65-2a8f0e4b7c11",
        body=lambda c: {"event_types": []},
    ),
    Case(
        "DELETE",
        "/api/admin/event-webhooks/{endpoint_id}",
        502,
        admin,
        path="/api/admin/event-webhooks/6f1c9a52-3b7e-4c8e-9d65-2a8f0e4b7c11",
        why="the notifier does not run here: past the check",
    ),
    Case(
        "POST",
        "/api/admin/event-webhooks/{endpoint_id}/resume",
        502,
        admin,
        path="/api/admin/event-webhooks/6f1c9a52-3b7e-4c8e-9d65-2a8f0e4b7c11/resume",
        why="the notifier does not run here: past the check",
    ),
    Case(
        "POST",
        "/api/admin/event-webhooks/{endpoint_id}/rotate-secret",
        502,
        admin,
        path="/api/admin/event-webhooks/6f1c9a52-3b7e-4c8e-9d65-2a8f0e4b7c11/rotate-secret",
        why="the notifier does not run here: past the check",
    ),
    Case(
        "POST",
        "/api/admin/event-webhooks/{endpoint_id}/redeliver",
        422,
        admin,
        path="/api/admin/event-webhooks/6f1c9a52-3b7e-4c8e-9d65-2a8f0e4b7c11/redeliver",
        body=lambda c: {"since": "yesterday"},
    ),
    Case(
        "GET",
        "/api/admin/event-webhooks/{endpoint_id}/deliveries",
        502,
        admin,
        path="/api/admin/event-webhooks/6f1c9a52-3b7e-4c8e-9d65-2a8f0e4b7c11/deliveries",
        why="the notifier does not run here: past the check",
    ),
    # API clients (issue 16, ADR 0024): admins only; a client of another practice is 404
    Case("GET", "/api/admin/api-clients", 200, admin),
    Case("POST", "/api/admin/api-clients", 422, admin, body=lambda c: {"name": " "}),
    Case(
        "POST",
        "/api/admin/api-clients/{client_id}/rotate-secret",
        404,
        admin,
        path="/api/admin/api-clients/apic-0000000000000000/rotate-secret",
        why="no such client in this practice: past the check",
    ),
    Case(
        "DELETE",
        "/api/admin/api-clients/{client_id}",
        404,
        admin,
        path="/api/admin/api-clients/apic-0000000000000000",
        why="no such client in this practice: past the check",
    ),
    Case("GET", "/api/admin/routing", 200, admin),
    Case(
        "PUT",
        "/api/admin/routing/reasons/{code}/description",
        404,
        admin,
        path="/api/admin/routing/reasons/no_such_reason/description",
        body=lambda c: {"description": "x"},
        why="past the check: the router knows no such reason",
    ),
    # reports (X-REPORT-1): practice admins only; counts and ids, no patient data
    Case("GET", "/api/reports", 200, admin),
    Case("GET", "/api/reports.csv", 200, admin),
    Case(
        "GET",
        "/api/reports",
        422,
        admin,
        params={"first_day": "2026-12-07", "last_day": "2026-12-01"},
        why="a period that ends before it starts: refused after the check",
    ),
    Case("GET", "/api/admin/routing/coverage", 200, admin),
    Case("GET", "/api/admin/routing/history", 200, admin),
    Case("POST", "/api/admin/routing/what-if", 422, admin, body=lambda c: {"days": 0}),
    Case("GET", "/api/admin/routing/proposals", 200, admin),
    Case("POST", "/api/admin/routing/proposals", 422, admin, body=lambda c: {"name": ""}),
    Case(
        "POST",
        "/api/admin/routing/proposals/{proposal_id}/what-if",
        404,
        admin,
        path=f"/api/admin/routing/proposals/{uuid.UUID(int=0)}/what-if",
        why="no such proposal: past the check",
    ),
    Case(
        "POST",
        "/api/admin/routing/proposals/{proposal_id}/apply",
        404,
        admin,
        path=f"/api/admin/routing/proposals/{uuid.UUID(int=0)}/apply",
        why="no such proposal: past the check, nothing applied",
    ),
    Case("PATCH", "/api/admin/routing/settings", 422, admin, body=lambda c: {}),
    Case(
        "PUT",
        "/api/admin/routing/voicemail-extensions/{extension}",
        422,
        admin,
        path="/api/admin/routing/voicemail-extensions/x",
        body=lambda c: {"target": None},
    ),
    Case("GET", "/api/admin/routing/reason-menu", 200, admin),
    Case(
        "PUT",
        "/api/admin/routing/reason-menu",
        422,
        admin,
        body=lambda c: {"enabled": True, "line": "not a line"},
        why="past the check: a line is a number or an address (X-MENU-2)",
    ),
    Case(
        "PUT",
        "/api/admin/routing/auto-assign/{inbox}",
        422,
        admin,
        path="/api/admin/routing/auto-assign/bad",
        body=lambda c: {"policy": None},
    ),
    Case(
        "PUT",
        "/api/admin/lines/{channel}/{address}/label",
        422,
        admin,
        path="/api/admin/lines/sms/%2B12125550000/label",
        body=lambda c: {"label": "x" * 81},
    ),
    Case(
        "PUT",
        "/api/admin/templates/{template_id}",
        422,
        admin,
        path="/api/admin/templates/t-1",
        body=lambda c: {"name": " ", "body": " "},
    ),
    Case(
        "DELETE",
        "/api/admin/templates/{template_id}",
        404,
        admin,
        path="/api/admin/templates/t-none",
    ),
    # replies to unrecognized senders (X-UNREPLY-1): the practice setting, admins only
    Case("GET", "/api/admin/settings/reply-unrecognized", 200, admin),
    Case(
        "PUT",
        "/api/admin/settings/reply-unrecognized",
        422,
        admin,
        body=lambda c: {"value": "maybe"},
        why="past the check a value that is not true or false: 422, nothing changes",
    ),
    # platform operators
    Case(
        "POST",
        "/api/platform/practices/{practice_id}/reasons",
        422,
        operator,
        path="/api/platform/practices/NOT-A-SLUG/reasons",
        body=lambda c: {"code": "x", "label": "X"},
    ),
]


# --- the marked patients -----------------------------------------------------------------


@dataclass(frozen=True)
class Marked:
    practice: str
    patient_id: str
    given: str
    family: str
    phone: str
    email: str
    birth_date: date
    text: str
    filename: str
    conversation_id: uuid.UUID

    def needles(self) -> dict[str, str]:
        """The patient's data as it could appear in a body (a phone in several encodings)."""
        return {
            "patient_id": self.patient_id,
            "family": self.family,
            "phone": self.phone[2:],  # the national digits: inside +1..., %2B1..., 1...
            "email": self.email,
            "birth_date": self.birth_date.isoformat(),
            "text": self.text,
            "filename": self.filename,
        }


def marked(practice: str) -> Marked:
    tag = uuid.uuid4().hex[:8]
    number = phone()
    return Marked(
        practice=practice,
        patient_id=f"pat-marked-{practice}-{tag}",
        given="Zebulon",
        family=f"Quixmark{practice.capitalize()}{tag}",
        phone=number,
        email=f"zq.{tag}@marked.example",
        birth_date=date(1961, 7, 4) if practice == PRACTICE else date(1972, 3, 9),
        text=f"marked message text {tag}",
        filename=f"marked-labs-{tag}.pdf",
        conversation_id=deterministic_id(practice, "sms", LINE, number),
    )


def _envelope(practice: str) -> dict[str, Any]:
    eid = uuid.uuid4()
    return {
        "event_id": eid,
        "correlation_id": eid,
        "occurred_at": datetime.now(UTC),
        "practice_id": practice,
    }


def _events(m: Marked) -> tuple[list[Any], list[Any]]:
    now = datetime.now(UTC)
    setup = [
        PatientUpserted(
            **_envelope(m.practice),
            patient_id=m.patient_id,
            given_name=m.given,
            family_name=m.family,
            birth_date=m.birth_date,
            phones=(m.phone,),
            emails=(m.email,),
            care_team=(f"doctor-{m.practice}", f"careteam-x-{m.practice}"),
            source_updated_at=now,
        ),
        StaffSubscriptionsSet(
            **_envelope(m.practice),
            actor=f"admin-{m.practice}",
            staff_id=f"front-{m.practice}",
            inboxes=("unassigned",),
        ),
    ]
    message = MessageReceived(
        **_envelope(m.practice),
        message_id=uuid.uuid4(),
        conversation_id=m.conversation_id,
        channel="sms",
        sender=m.phone,
        recipient=LINE,
        provider="twilio",
        provider_message_id=f"SM{uuid.uuid4().hex}",
        received_at=now,
        body=m.text,
        attachments=(
            Attachment(
                attachment_id="a-1",
                content_type="application/pdf",
                size_bytes=3,
                filename=m.filename,
                ref=f"store:{m.practice}/{uuid.uuid4().hex}",
            ),
        ),
        patient_id=m.patient_id,
    )
    return setup, [message]


@pytest.fixture(scope="module")
async def world(settings, own_db):
    test_db = own_db
    cfg = settings.model_copy(
        update={"topic_prefix": f"acl{uuid.uuid4().hex[:6]}.", "database_url": test_db}
    )
    await ensure_topics(cfg)
    upgrade(INBOX_MIGRATIONS, test_db)
    upgrade(GATEWAY_MIGRATIONS, test_db)
    upsert_users(test_db, USERS)
    _api_clients(test_db)
    producer = make_producer(cfg)
    await producer.start()
    publisher = Publisher(producer, cfg)
    credentials = dev_credentials()
    router = ServiceProcess("router", cfg, "acl-it-", **credentials["router"])
    projection = ServiceProcess("inbox-projection", cfg, "acl-it-")
    pm_sync = ServiceProcess(
        "pm-sync",
        cfg,
        "acl-it-",
        **credentials["pm-sync"],
        SWITCHBOARD_MLLP_ENABLED="false",
        SWITCHBOARD_FHIR_PRACTICES="[]",
    )
    marks = {p: marked(p) for p in PRACTICES}
    try:
        # together, and patiently: on a loaded machine each takes a while to be ready
        with ThreadPoolExecutor(3) as pool:
            for started in [pool.submit(p.start, 300) for p in (router, projection, pm_sync)]:
                started.result()
        gw = gateway_app(
            GatewaySettings(
                service_name="gateway",
                kafka_bootstrap=cfg.kafka_bootstrap,
                database_url=test_db,
                topic_prefix=cfg.topic_prefix,
                jwt_secret=SECRET,
                router_url=router.internal_url,
                pm_sync_url=pm_sync.internal_url,
                ingest_url="http://127.0.0.1:9",  # not running: its routes answer 502
                notifier_url="http://127.0.0.1:9",
                action_wait_s=5,
                apply_wait_s=1,
                **settings_update(credentials["gateway"]),
            )
        )
        async with in_process(gw, "http://gateway") as client:
            for m in marks.values():
                setup, _ = _events(m)
                await publisher.publish(setup)
            for m in marks.values():
                await eventually(lambda m=m: _ready_to_route(client, m), timeout_s=60)
                _, messages = _events(m)
                await publisher.publish(messages)
            for m in marks.values():
                await eventually(lambda m=m: _routed(client, m), timeout_s=60)
            yield client, marks
    finally:
        for proc in (projection, router, pm_sync):
            proc.stop()
        await producer.stop()


def _api_clients(db_url: str) -> None:
    """The "api" callers are API clients (ADR 0024): their tokens are checked per request."""
    engine = make_sync_engine(db_url)
    with engine.begin() as conn:
        for p in PRACTICES:
            conn.execute(
                insert(storage.api_clients).values(
                    client_id=f"api-{p}",
                    practice_id=p,
                    name=f"matrix client {p}",
                    secret_hash=hash_password("unused"),
                    created_by=f"admin-{p}",
                )
            )
    engine.dispose()


async def _ready_to_route(client: httpx.AsyncClient, m: Marked) -> bool:
    """The patient and the front desk's subscription are in the read model."""
    full = Caller("full", m.practice).headers()
    front = Caller("front", m.practice).headers()
    found = await client.get("/api/patients", params={"q": m.family}, headers=full)
    shared = await client.get("/api/inboxes/shared/unassigned", headers=front)
    return found.status_code == 200 and bool(found.json()) and shared.status_code == 200


async def _routed(client: httpx.AsyncClient, m: Marked) -> bool:
    """The conversation is in the Unassigned inbox and on the doctor's Care Team, with its
    routing decision, and pm-sync has the patient (the panel)."""
    full = Caller("full", m.practice).headers()
    path = f"/api/conversations/{m.conversation_id}"
    r = await client.get(path, headers=full)
    if r.status_code != 200:
        return False
    boxes = r.json()["inboxes"]
    routing = await client.get(f"{path}/routing", headers=full)
    panel = await client.get(f"{path}/panel", headers=full)
    doctor = await client.get(path, headers=Caller("doctor", m.practice).headers())
    return (
        "unassigned" in boxes
        and routing.status_code == 200
        and panel.status_code == 200
        and doctor.status_code == 200
    )


def _fill(text: str, caller: Caller, m: Marked | None, own: Marked) -> str:
    target = m or own
    return (
        text.replace("{cid}", str(target.conversation_id))
        .replace("{family}", own.family)
        .replace("{practice}", caller.practice)
    )


async def _call(
    client: httpx.AsyncClient, case: Case, caller: Caller, m: Marked | None, own: Marked
) -> httpx.Response:
    path = case.path or case.route
    if m is not None:
        path = path.replace("{conversation_id}", str(m.conversation_id))
    path = _fill(path, caller, m, own)
    params = {k: _fill(v, caller, m, own) for k, v in case.params.items()}
    kw: dict[str, Any] = {"params": params, "headers": caller.headers()}
    if case.body is not None:
        who = caller if caller.key != "anonymous" else Caller("ma", caller.practice)
        body = case.body(who)
        if caller.key == "anonymous" and case.route == "/api/auth/login":
            body = {"username": "nobody@x", "password": "wrong"}
        kw["json"] = body
    if case.content is not None:
        kw["content"] = case.content
    if case.form is not None:
        kw["data"] = case.form(caller)
    return await client.request(case.method, path, **kw)


def _expected(case: Case, caller: Caller, target: Marked | None) -> int:
    if caller.key == "anonymous":
        return 401
    if target is not None and target.practice != caller.practice:
        return 404  # T-1: another practice's conversation, as if it did not exist
    return case.ok if case.allowed(caller) else 403


def _may_read(caller: Caller, m: Marked) -> bool:
    return caller.key != "anonymous" and caller.practice == m.practice and reads_marked(caller)


def test_every_route_is_in_the_matrix():
    spec = gateway_app(GatewaySettings()).openapi()
    published = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    covered = {(c.method, c.route) for c in CASES}
    assert published - covered == set(), "routes without a row in the authorization matrix"
    assert covered - published == set(), "matrix rows for routes that are not published"


async def test_authorization_matrix_roles_policies_two_practices(world):
    # covers T-1, T-2, T-3's reads, I-PANEL-1, X-EXPLAIN-1, I-LIVE-1 (live: test_gateway_live)
    client, marks = world
    wrong, leaks, missing_marks = [], [], []
    for case in CASES:
        for caller in [*CALLERS, ANONYMOUS]:
            own = marks[caller.practice]
            targets: list[Marked | None] = list(marks.values()) if case.conversation else [None]
            for target in targets:
                r = await _call(client, case, caller, target, own)
                want = _expected(case, caller, target)
                label = f"{case.method} {case.path or case.route} as {caller.user_id}"
                if target is not None:
                    label += f" on {target.practice}'s conversation"
                if r.status_code != want:
                    wrong.append(f"{label}: {r.status_code} != {want} ({r.text[:100]})")
                for m in marks.values():
                    if _may_read(caller, m):
                        continue
                    for what, needle in m.needles().items():
                        if needle.lower() in r.text.lower():
                            leaks.append(f"{label}: {m.practice}'s marked {what}")
                if (
                    case.shows
                    and r.status_code == 200
                    and (target is None or target is own)
                    and _may_read(caller, own)
                    and own.needles()[case.shows] not in r.text
                ):
                    missing_marks.append(f"{label}: no {case.shows} of the marked patient")
                if want == 404 and target is not None and target is not own:
                    # the same answer as an id that does not exist
                    ghost = Marked(**{**target.__dict__, "conversation_id": uuid.uuid4()})
                    missing = await _call(client, case, caller, ghost, own)
                    if (missing.status_code, missing.json()) != (r.status_code, r.json()):
                        wrong.append(f"{label}: not the answer for a missing id ({r.text[:80]})")
    assert wrong == []
    assert leaks == []
    assert missing_marks == []  # the readers do read it: the filters hide it from the others only
