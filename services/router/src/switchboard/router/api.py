"""The router's internal HTTP API: what only the router knows, for the gateway and the
messenger. Not exposed to browsers; the gateway authenticates and scopes every call (T-1).
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.events.internal import router as api
from switchboard.events.internal.router import WhatIfRequest
from switchboard.router import menu, queries
from switchboard.router.catalogue import Reason, catalogue
from switchboard.router.coverage import coverage_gaps, coverage_state, subscribers
from switchboard.router.explain import explain_staff
from switchboard.router.model import Subscription
from switchboard.router.picker import offered_reasons, should_offer_picker
from switchboard.router.practice_config import PracticeConfig, subscription_json
from switchboard.router.replay import replay_what_if

router = APIRouter(prefix="/internal/practices/{practice_id}")


def _session(request: Request) -> AsyncSession:
    return request.app.state.runtime.sessionmaker()  # type: ignore[no-any-return]


def _catalogue(config: PracticeConfig) -> tuple[Reason, ...]:
    return catalogue(config.settings.extra_reasons, config.settings.reason_descriptions)


@router.get("/routing", response_model=api.RoutingState)
async def routing(practice_id: str, request: Request) -> dict[str, Any]:
    """Current settings, subscriptions, catalogue and the locations/providers known from PM."""
    async with _session(request) as session:
        config = await queries.current_config(session, practice_id)
        directory = await queries.directory(session, practice_id)
    return {
        **config.to_json(),
        "reasons": [asdict(r) for r in _catalogue(config)],
        "locations": directory.get("location", []),
        "providers": directory.get("provider", []),
    }


@router.get("/reasons", response_model=api.ReasonsOffer)
async def reasons(
    practice_id: str,
    request: Request,
    conversation_id: uuid.UUID | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """What the messenger shows (R-REASON-2, R-REASON-3): the reasons with a subscriber (plus
    Other), and whether to ask at all in this conversation now; and the whole catalogue
    (R-REASON-1), which the staff inbox names reasons from."""
    now = at or datetime.now(UTC)
    async with _session(request) as session:
        config = await queries.current_config(session, practice_id)
        conversation = None
        if conversation_id is not None:
            conversation = await queries.conversation(session, practice_id, conversation_id)
    offered = offered_reasons(config.settings, config.subscription_list)
    show, why = should_offer_picker(conversation, now)
    return {
        "reason_routing": config.settings.reason_routing,
        # The inbox shows "Location unknown" only while location routing is on (labels are
        # part of the feature: with it off, a message has no location label at all).
        "location_routing": config.settings.location_routing,
        "show_picker": bool(offered) and show,
        "why": why if offered else "reason_routing_off",
        "reasons": [asdict(r) for r in offered],
        "catalogue": [asdict(r) for r in _catalogue(config)],
        "current_reason": conversation.reason if conversation else None,
    }


@router.get("/office", response_model=api.PracticeOffice)
async def office(practice_id: str, request: Request) -> dict[str, Any]:
    """The practice's office hours and response target, for the patient page (X-PATIENTPAGE-1).
    No patient data."""
    async with _session(request) as session:
        config = await queries.current_config(session, practice_id)
    return {
        "timezone": config.timezone,
        "sla_minutes": config.sla_minutes,
        "business_hours": [list(w) for w in config.business_hours],
        "holidays": list(config.holidays),
    }


@router.get("/reason-menu", response_model=api.ReasonMenuSettings)
async def reason_menu(practice_id: str, request: Request) -> dict[str, Any]:
    """The SMS / email reason menu's settings: the practice's and each line's (X-MENU-2)."""
    async with _session(request) as session:
        config = await queries.current_config(session, practice_id)
    return menu.settings_json(config.settings)


@router.get("/coverage", response_model=api.Coverage)
async def coverage(practice_id: str, request: Request) -> dict[str, Any]:
    """Every reason x location (x provider) nobody would receive (X-COVERAGE-1)."""
    async with _session(request) as session:
        config = await queries.current_config(session, practice_id)
        directory = await queries.directory(session, practice_id)
    locations = [d["id"] for d in directory.get("location", []) if d["active"]]
    providers = [d["id"] for d in directory.get("provider", []) if d["active"]]
    gaps = coverage_gaps(config.settings, config.subscription_list, locations, providers)
    return {
        "settings_version": config.settings.version,
        "subscriptions_version": config.subscriptions_version,
        "gaps": [asdict(g) for g in gaps],
        "state": coverage_state(config.settings, config.subscription_list, gaps),
        "subscribers": subscribers(config.settings, config.subscription_list),
    }


@router.get("/config/history", response_model=api.ConfigHistory, response_model_exclude_unset=True)
async def config_history(
    practice_id: str,
    request: Request,
    at: datetime | None = None,
    staff_id: str | None = None,
) -> dict[str, Any]:
    """The configuration as it stood at `at` (or now) and every change up to then (X-ASOF-1);
    with `staff_id`, only that person's subscription and its changes."""
    async with _session(request) as session:
        if at is None:
            config = await queries.current_config(session, practice_id)
        else:
            config = await queries.config_as_of(session, practice_id, at)
        changes = await queries.history(session, practice_id, at, staff_id)
    body: dict[str, Any] = {"at": at, "config": config.to_json(), "changes": changes}
    if staff_id is not None:
        sub = config.subscriptions.get(staff_id)
        body["subscription"] = subscription_json(sub) if sub else None
    return body


@router.get("/config/events/{event_id}", response_model=api.ConfigApplied)
async def config_event_applied(
    practice_id: str, event_id: uuid.UUID, request: Request
) -> dict[str, bool]:
    """Whether a config change has been applied: the gateway waits on it (read-your-writes)."""
    async with _session(request) as session:
        if not await queries.applied(session, practice_id, event_id):
            raise HTTPException(404, "not applied yet")
    return {"applied": True}


@router.get(
    "/conversations/{conversation_id}/decisions",
    response_model=api.ConversationDecisions,
    response_model_exclude_unset=True,
)
async def conversation_decisions(
    practice_id: str,
    conversation_id: uuid.UUID,
    request: Request,
    staff_id: Annotated[str | None, Query(max_length=128)] = None,
) -> dict[str, Any]:
    """Every decision for the conversation with its explanation (X-EXPLAIN-1); with
    `staff_id`, also why that person did or did not receive each one."""
    async with _session(request) as session:
        found = await queries.decisions(session, practice_id, conversation_id)
        items = []
        for d in found:
            item: dict[str, Any] = {"decision": d.model_dump(mode="json")}
            if staff_id is not None:
                config = await queries.config_at_versions(
                    session, practice_id, d.settings_version, d.subscriptions_version
                )
                item["staff"] = asdict(explain_staff(d, config, staff_id))
            items.append(item)
    if not items:
        raise HTTPException(404, "no decision for this conversation")
    return {"conversation_id": conversation_id, "decisions": items}


@router.post("/what-if", response_model=api.WhatIfReport)
async def what_if(practice_id: str, body: WhatIfRequest, request: Request) -> dict[str, Any]:
    """Replay the past `days` of messages under a proposal (X-WHATIF-1)."""
    settings = request.app.state.settings
    async with _session(request) as session:
        config = await queries.current_config(session, practice_id)
        s = config.settings
        proposed = replace(
            s,
            reason_routing=s.reason_routing if body.reason_routing is None else body.reason_routing,
            location_routing=s.location_routing
            if body.location_routing is None
            else body.location_routing,
            provider_routing=s.provider_routing
            if body.provider_routing is None
            else body.provider_routing,
        )
        subscriptions = None
        if body.subscriptions is not None:
            merged = dict(config.subscriptions)
            for p in body.subscriptions:
                merged[p.staff_id] = Subscription(
                    p.staff_id, set(p.reasons), set(p.locations), set(p.providers), set(p.inboxes)
                )
            subscriptions = [merged[k] for k in sorted(merged)]
        report = await replay_what_if(
            session, settings, practice_id, body.days, datetime.now(UTC), proposed, subscriptions
        )
    return {
        "days": body.days,
        "messages": report.messages,
        "changed": report.changed,
        "staff": [asdict(s) for s in report.staff],
        "unassigned_only_before": _buckets(report.unassigned_only_before),
        "unassigned_only_after": _buckets(report.unassigned_only_after),
        "combos": [asdict(c) for c in report.combos],
    }


def _buckets(counts: Any) -> list[dict[str, Any]]:
    return [
        {"reason": reason, "location": location, "messages": n}
        for (reason, location), n in sorted(counts.items())
    ]
