"""Router handler: apply a batch of events to the router's state and emit decisions.

Messages are routed by the pure `decide`; appointment changes re-route the patient's open
conversations (`reroute`); PM, configuration and staff-action events only update the state
`decide` reads. Every time a decision uses comes from an event, never from a clock, so a
replay of the log gives the decisions emitted live (X-REPLAY-1).

The SMS / email reason menu (menu.py, X-MENU-1..6): a message that should ask for a reason
waits (a pending row) and the menu goes out as a system ReplyRequested; the patient's
answer, a second unrecognised one, the timer's ReasonMenuExpired or any other message then
routes the waiting message, caused by it, with the MessageRouted id it would have had.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.events import (
    AppointmentChanged,
    ConversationAssigned,
    ConversationLinked,
    ConversationStatusChanged,
    Event,
    LocationUpserted,
    MessageReceived,
    MessageRouted,
    PatientUpserted,
    PracticeMessageRead,
    ProviderUpserted,
    ReasonMenuExpired,
    ReplySent,
)
from switchboard.events.actions import ConversationAction
from switchboard.platform.db import RawJSON
from switchboard.router import menu, menu_store, working_set
from switchboard.router.decision import (
    Decision,
    decide,
    next_conversation_state,
    next_patient_state,
    reroute,
)
from switchboard.router.menu_reply import menu_reply, opening_of
from switchboard.router.menu_store import MenuState
from switchboard.router.menu_text import language_of
from switchboard.router.model import (
    ConversationState,
    InboundMessage,
    NextAppointment,
    PatientState,
    RouterState,
)
from switchboard.router.picker import offered_reasons
from switchboard.router.practice_config import CONFIG_EVENTS
from switchboard.router.snapshots import state_inputs
from switchboard.router.working_set import AppointmentRow, Decided, WorkingSet
from switchboard.rules import appointments
from switchboard.rules.appointments import next_upcoming
from switchboard.rules.contacts import recognized, replaces


async def handle_batch(session: AsyncSession, events: Sequence[Event]) -> list[Event]:
    ws = await _load(session, events)
    menus = await menu_store.load(
        session,
        (e.conversation_id for e in events if isinstance(e, MessageReceived | ReasonMenuExpired)),
        [
            *ws.patients,
            *((e.practice_id, e.patient_id) for e in events if isinstance(e, PatientUpserted)),
        ],
    )
    out: list[Event] = []
    history: list[dict[str, Any]] = []
    for event in events:
        if isinstance(event, MessageReceived):
            out.extend(await _message(session, ws, menus, event))
        elif isinstance(event, ReasonMenuExpired):
            out.extend(await _expired(session, ws, menus, event))
        elif isinstance(event, AppointmentChanged):
            out.extend(_appointment(ws, event))
        elif isinstance(event, PatientUpserted):
            _patient(ws, event)
            menus.set_language(
                event.practice_id,
                event.patient_id,
                event.preferred_language,
                event.source_updated_at,
            )
        elif isinstance(event, LocationUpserted | ProviderUpserted):
            kind = "location" if isinstance(event, LocationUpserted) else "provider"
            item = event.location_id if isinstance(event, LocationUpserted) else event.provider_id
            ws.directory[(event.practice_id, kind, item)] = (event.name, event.active)
        elif isinstance(event, CONFIG_EVENTS):
            history.append(_configure(ws, event))
        elif isinstance(event, ConversationAction | ReplySent):
            _action(ws, event)
        # Other events on these topics belong to other services; nothing to do.
    await working_set.flush(session, ws, history)
    await menu_store.flush(session, menus)
    return out


async def _load(session: AsyncSession, events: Sequence[Event]) -> WorkingSet:
    practices: set[str] = set()
    conversation_ids: set[uuid.UUID] = set()
    contacts: set[tuple[str, str]] = set()
    patients: set[tuple[str, str]] = set()
    appointment_ids: set[tuple[str, str]] = set()
    reroute_patients: set[tuple[str, str]] = set()
    for e in events:
        practices.add(e.practice_id)
        if isinstance(e, ReasonMenuExpired):
            conversation_ids.add(e.conversation_id)
        if isinstance(e, MessageReceived):
            conversation_ids.add(e.conversation_id)
            if e.patient_id:
                patients.add((e.practice_id, e.patient_id))
            else:
                contacts.add((e.practice_id, e.sender))
        elif isinstance(e, ConversationAction | ReplySent):
            conversation_ids.add(e.conversation_id)
        elif isinstance(e, PatientUpserted):
            patients.add((e.practice_id, e.patient_id))
            contacts.update((e.practice_id, c) for c in (*e.phones, *e.emails))
        elif isinstance(e, AppointmentChanged):
            appointment_ids.add((e.practice_id, e.appointment_id))
            reroute_patients.add((e.practice_id, e.patient_id))
    return await working_set.load(
        session,
        practices=practices,
        conversation_ids=conversation_ids,
        contacts=contacts,
        patients=patients,
        appointment_ids=appointment_ids,
        reroute_patients=reroute_patients,
    )


def _patient_state(ws: WorkingSet, practice_id: str, patient_id: str, at: Any) -> PatientState:
    row = ws.patient(practice_id, patient_id)
    return PatientState(
        patient_id,
        row.profile_location_id,
        row.profile_provider_id,
        next_upcoming(ws.active_appointments(practice_id, patient_id), at),
    )


def _resolve_patient(
    ws: WorkingSet, event: MessageReceived, conversation: ConversationState | None
) -> tuple[str | None, tuple[str, ...]]:
    """The patient a message is from: stated by the channel (a verified messenger), linked
    by staff, or the one patient whose phone/email the sender is. Several: unrecognized."""
    if event.patient_id:
        return event.patient_id, ()
    if conversation is not None and conversation.patient_id:
        return conversation.patient_id, ()
    owners = sorted(ws.patients_by_contact(event.practice_id, event.sender))
    if recognized(len(owners)):
        return owners[0], ()
    return None, tuple(owners)


async def _message(
    session: AsyncSession, ws: WorkingSet, menus: MenuState, event: MessageReceived
) -> list[Event]:
    """Route a patient message, or let it answer (or open) a reason menu (X-MENU-2..6)."""
    waiting = menus.pending.get(event.conversation_id)
    if waiting is None:
        return await _route(session, ws, event, menus=menus)
    step, pick = menu.answer(waiting, event.body, event.channel, event.received_at)
    if step == "retry":
        retried = waiting.retried(event.received_at)
        menus.put(retried)
        return [menu_reply(retried, event)]
    status = {"picked": "answered", "give_up": "gave_up", "late": "late"}[step]
    menus.end(waiting, status, pick)
    opening = opening_of(waiting)
    out = await _route(session, ws, opening, pick=pick, decided_at=event.received_at)
    if step == "late":
        return [*out, *await _route(session, ws, event, menus=menus)]
    # X-MENU-3: the answer is kept in the history, not routed as a new topic; it is still
    # the patient's latest message (R-STICKY-1).
    current = ws.conversations[event.conversation_id]
    ws.put_conversation(
        event.practice_id, replace(current, last_patient_message_at=event.received_at)
    )
    return out


async def _expired(
    session: AsyncSession, ws: WorkingSet, menus: MenuState, event: ReasonMenuExpired
) -> list[Event]:
    """No usable answer in the window: route the waiting message without a reason (X-MENU-4).
    A timer event for an earlier window (a retry moved the deadline) changes nothing."""
    waiting = menus.pending.get(event.conversation_id)
    if waiting is None or waiting.menu_id != event.menu_id:
        return []
    if not menu.is_due(waiting, event.occurred_at):
        return []
    menus.end(waiting, "expired")
    return await _route(session, ws, opening_of(waiting), decided_at=event.occurred_at)


async def _route(
    session: AsyncSession,
    ws: WorkingSet,
    event: MessageReceived,
    *,
    menus: MenuState | None = None,
    pick: str | None = None,
    decided_at: Any = None,
) -> list[Event]:
    """Route one message. With `menus`, a message that should ask for a reason waits for the
    menu's answer instead (X-MENU-2); `pick` is the reason the answer named (X-MENU-3)."""
    practice = event.practice_id
    config = ws.config(practice)
    settings = config.settings
    conversation = ws.conversations.get(event.conversation_id)
    patient_id, matched = _resolve_patient(ws, event, conversation)
    at = event.received_at
    patient = _patient_state(ws, practice, patient_id, at) if patient_id else None
    message = replace(
        InboundMessage.from_event(event, settings), patient_id=patient_id, menu_pick=pick
    )
    if menus is not None:
        offered = offered_reasons(settings, config.subscription_list)
        wanted, _ = menu.wants_menu(message, conversation, settings, offered)
        if wanted:
            language = language_of(menus.language(practice, patient_id or ""))
            opened = menu.open_menu(
                message,
                event.model_dump(mode="json"),
                offered,
                language,
                menu.setting_for(settings, message.recipient),
            )
            menus.put(opened)
            return [menu_reply(opened, event)]
    open_work: dict[str, int] = {}
    if "least_open" in settings.auto_assign.values():
        open_work = await working_set.load_open_work(session, ws, practice)
    state = RouterState(
        subscriptions=config.subscription_list,
        subscriptions_version=config.subscriptions_version,
        patient=patient,
        conversation=conversation,
        availability=config.away_at(at),
        open_work=open_work,
        rr_cursor=ws.rr_cursor[practice],
    )
    decision = decide(message, state, settings, now=decided_at or at)
    routed = _event(decision, event, config.subscriptions_version, matched)

    ws.put_conversation(practice, next_conversation_state(conversation, message, decision))
    updated = next_patient_state(patient, decision)
    if updated is not None and updated != patient:
        row = ws.patient(practice, updated.patient_id)
        row.profile_location_id = updated.profile_location_id
        row.profile_provider_id = updated.profile_provider_id
        ws.dirty_patients.add((practice, updated.patient_id))
    if decision.assignee is not None and decision.assigned_via is not None:
        ws.rr_cursor[practice][decision.assigned_via] = decision.assignee
        ws.dirty_cursors.add((practice, decision.assigned_via))
        open_work[decision.assignee] = open_work.get(decision.assignee, 0) + 1
    _remember(ws, routed, state_inputs(message, conversation, patient))
    return [routed]


def _event(
    decision: Decision, cause: Event, subscriptions_version: int, matched: tuple[str, ...]
) -> MessageRouted:
    routed = decision.to_event(cause)
    return routed.model_copy(
        update={"subscriptions_version": subscriptions_version, "matched_patient_ids": matched}
    )


def _remember(ws: WorkingSet, routed: MessageRouted, inputs: dict[str, Any] | None) -> None:
    ws.decided.append(
        Decided(
            event_id=routed.event_id,
            practice_id=routed.practice_id,
            conversation_id=routed.conversation_id,
            message_id=routed.message_id,
            decided_at=routed.decided_at,
            decision=RawJSON(routed.model_dump_json()),
            inputs=inputs,
        )
    )


def _appointment(ws: WorkingSet, change: AppointmentChanged) -> list[MessageRouted]:
    """Keep the newest version of the appointment; if it changed, re-route (X-REROUTE-1)."""
    practice = change.practice_id
    key = (practice, change.appointment_id)
    known = ws.appointments.get(key)
    row = AppointmentRow(
        change.patient_id,
        NextAppointment.from_event(change),
        appointments.is_active(change.status, change.change),
        change.source_updated_at,
    )
    if known is not None and row.version_key() <= known.version_key():
        # A duplicate, an older version delivered late, or the loser of an exact tie (the
        # one rule pm-sync's patient panel applies too): never moves it back.
        return []
    ws.put_appointment(practice, change.appointment_id, row)
    ws.dirty_appointments.add(key)

    config = ws.config(practice)
    now = change.occurred_at
    patient = _patient_state(ws, practice, change.patient_id, now)
    conversations = ws.open_conversations_of(practice, change.patient_id)
    if not conversations:
        return []
    state = RouterState(
        subscriptions=config.subscription_list,
        subscriptions_version=config.subscriptions_version,
        patient=patient,
        availability=config.away_at(now),
    )
    out = []
    for decision in reroute(change, conversations, state, config.settings, now):
        routed = _event(decision, change, config.subscriptions_version, ())
        current = ws.conversations[decision.conversation_id]
        ws.put_conversation(
            practice,
            replace(current, location_id=decision.location_id, provider_id=decision.provider_id),
        )
        _remember(ws, routed, None)
        out.append(routed)
    return out


def _patient(ws: WorkingSet, event: PatientUpserted) -> None:
    row = ws.patient(event.practice_id, event.patient_id)
    if not replaces(row.source_updated_at, event.source_updated_at):
        return  # an older version delivered late
    row.source_updated_at = event.source_updated_at
    ws.set_contacts(event.practice_id, event.patient_id, (*event.phones, *event.emails))


def _configure(ws: WorkingSet, event: Event) -> dict[str, Any]:
    practice = event.practice_id
    config = ws.config(practice).apply(event)
    ws.configs[practice] = config
    ws.dirty_configs.add(practice)
    change = event.model_dump(
        mode="json",
        exclude={
            "event_id",
            "occurred_at",
            "practice_id",
            "correlation_id",
            "causation_id",
            "traceparent",
        },
    )
    return {
        "event_id": event.event_id,
        "practice_id": practice,
        "seq": config.seq,
        "event_type": event.event_type,
        "actor": getattr(event, "actor", "unknown"),
        "occurred_at": event.occurred_at,
        "change": change,
        "settings_version": config.settings.version,
        "subscriptions_version": config.subscriptions_version,
        "config": config.to_json(),
    }


def _action(ws: WorkingSet, event: ConversationAction | ReplySent) -> None:
    current = ws.conversations.get(event.conversation_id)
    if current is None:
        return  # not a conversation the router has routed (yet); nothing to remember
    if isinstance(event, ConversationAssigned):
        updated = replace(current, assignee=event.assignee)
    elif isinstance(event, ConversationStatusChanged):
        # R-REASON-3: only a closed conversation lets the patient pick a reason again.
        updated = replace(current, status=event.status, assigned=event.status == "open")
    elif isinstance(event, ConversationLinked):
        updated = replace(current, patient_id=event.patient_id)
    elif isinstance(event, PracticeMessageRead):
        updated = replace(current, patient_read_last_practice_message=True)
    elif isinstance(event, ReplySent):
        # R-REASON-3: until the patient reads this reply, they are not asked for a reason.
        updated = replace(current, patient_read_last_practice_message=False)
    else:
        return
    ws.put_conversation(event.practice_id, updated)
