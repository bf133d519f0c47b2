"""The routing decision: where one message (or a re-route) goes, and why (R-EXPLAIN-1).

`decide` and `reroute` are pure: same inputs, same Decision. All times come from the message
(or the `now` the caller passes), never from a clock, so replays and what-ifs agree with
what happened live.

Its size: every routing rule (R-*) in one decision with its explanation; the smaller rules
are in picker.py, coverage.py and assign.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from switchboard.events import (
    AppointmentChanged,
    Event,
    MessageRouted,
    RuleFired,
    deterministic_id,
)
from switchboard.events.messages import LocationSource, ReasonSource
from switchboard.router.assign import auto_assign
from switchboard.router.catalogue import (
    LOCATION_UNKNOWN,
    OTHER,
    PROVIDER_UNKNOWN,
    is_known_reason,
)
from switchboard.router.model import (
    ConversationState,
    InboundMessage,
    NextAppointment,
    PatientState,
    RouterState,
    RoutingSettings,
    Subscription,
)
from switchboard.router.picker import WITHIN_ONE_HOUR, should_offer_picker, within_sticky_window
from switchboard.rules.boxes import UNASSIGNED

Trigger = Literal["message", "reroute"]
Inputs = dict[str, str | int | bool | list[str] | None]


# One step of the explanation as (rule id, outcome, inputs). Decisions keep these plain
# tuples and build the pydantic RuleFired models only when asked: validating ~7 models per
# message was a third of `decide`'s time, and what-if / coverage replays never need them.
Fired = tuple[str, str, Inputs]


def _rule(rule: str, outcome: str, inputs: Inputs) -> Fired:
    return rule, outcome, inputs


@dataclass(frozen=True, slots=True)
class Decision:
    """Where a message goes. `reason` is the routing bucket ("other" when there is none);
    `conversation_reason` is what the conversation carries afterwards (None: cleared / none).
    `new_profile_location_id` / `new_profile_provider_id` are set only when the patient's
    profile must change (R-LOC-3). `assigned_via` is the inbox whose policy chose the
    assignee, so the caller can move that inbox's round-robin cursor. `orphan`: routing was
    on, yet nobody reachable matched (X-AVAIL-1 orphan alert); `away_recipients` are the
    recipients who are away, whom alerts skip. `trace` holds the explanation as plain
    tuples; `explanation` gives it as RuleFired models."""

    practice_id: str
    conversation_id: uuid.UUID
    message_id: uuid.UUID | None
    patient_id: str | None
    trigger: Trigger
    reason: str
    reason_source: ReasonSource
    conversation_reason: str | None
    location_id: str | None
    location_source: LocationSource
    provider_id: str | None
    provider_source: LocationSource
    recipients: tuple[str, ...]
    away_recipients: tuple[str, ...]
    orphan: bool
    inboxes: tuple[str, ...]
    assignee: str | None
    assigned_via: str | None
    new_profile_location_id: str | None
    new_profile_provider_id: str | None
    settings_version: int
    trace: tuple[Fired, ...]
    decided_at: datetime

    @property
    def explanation(self) -> tuple[RuleFired, ...]:
        """Why it went where it went (R-EXPLAIN-1), as RuleFired models.

        Built without re-validation: `Fired` is typed to what RuleFired accepts (mypy checks
        every rule), and validating ~7 models per message cost more than deciding."""
        return tuple(
            RuleFired.model_construct(rule=r, outcome=o, inputs=i) for r, o, i in self.trace
        )

    def to_event(self, cause: Event, decided_at: datetime | None = None) -> MessageRouted:
        """The MessageRouted event, caused by the MessageReceived (or, for a re-route, the
        AppointmentChanged) it answers. The id is derived from the cause, so reprocessing
        the same cause yields the same event and it collapses downstream."""
        if cause.practice_id != self.practice_id:
            raise ValueError("a decision never crosses practices (T-1)")
        if self.trigger == "message":
            event_id = deterministic_id(cause.event_id, "router")
        else:
            # One appointment change re-routes several conversations: one event each.
            event_id = deterministic_id(cause.event_id, "router", "reroute", self.conversation_id)
        when = decided_at or self.decided_at
        routed: MessageRouted = MessageRouted.derive(
            cause,
            event_id=event_id,
            occurred_at=when,
            message_id=self.message_id,
            conversation_id=self.conversation_id,
            patient_id=self.patient_id,
            trigger=self.trigger,
            reason=self.reason,
            reason_source=self.reason_source,
            location_id=self.location_id,
            location_source=self.location_source,
            provider_id=self.provider_id,
            recipients=self.recipients,
            inboxes=self.inboxes,
            assignee=self.assignee,
            settings_version=self.settings_version,
            # Plain dicts: the event's own validation builds the RuleFired models in one
            # pass, far cheaper than constructing each model from Python.
            explanation=tuple({"rule": r, "outcome": o, "inputs": i} for r, o, i in self.trace),
            decided_at=when,
        )
        return routed


# --- reason (R-REASON-2, R-REASON-3, R-STICKY-1, R-OVERWRITE-1) -----------------------


@dataclass(frozen=True, slots=True)
class _Reason:
    reason: str
    source: ReasonSource
    conversation_reason: str | None
    rule: Fired


def _reason(
    message: InboundMessage, conversation: ConversationState | None, settings: RoutingSettings
) -> _Reason:
    current = conversation.reason if conversation is not None else None
    base: Inputs = {"channel": message.channel, "previous_reason": current}
    if not settings.reason_routing:
        # Nothing asks for or sets a reason; the conversation keeps whatever it had.
        rule = _rule("R-REASON-2", "reason routing off: not routed by reason", base)
        return _Reason(OTHER, "none", current, rule)

    # R-OVERWRITE-1 before stickiness: a voicemail or a text to the practice line is a new
    # topic even inside the hour ("the reason is instantly removed").
    if message.channel == "voicemail":
        mapped, shared = settings.voicemail_target(message.voicemail_extension)
        inputs: Inputs = {**base, "extension": message.voicemail_extension, "mapped_to": mapped}
        if mapped is not None and is_known_reason(mapped, settings.extra_reasons):
            return _Reason(
                mapped,
                "voicemail_extension",
                mapped,
                _rule("R-OVERWRITE-1", f"voicemail extension takes reason {mapped}", inputs),
            )
        inputs["mapped_to"] = mapped or shared
        return _Reason(OTHER, "cleared", None, _rule("R-OVERWRITE-1", "voicemail clears", inputs))
    if message.menu_pick is not None and is_known_reason(message.menu_pick, settings.extra_reasons):
        # X-MENU-3: the answer to the menu is the patient's pick for this new topic (an SMS
        # still cleared the previous reason, R-OVERWRITE-1).
        inputs = {**base, "menu_answer": message.menu_pick, "recipient": message.recipient}
        rule = _rule("X-MENU-3", f"patient answered the menu: {message.menu_pick}", inputs)
        return _Reason(message.menu_pick, "patient_pick", message.menu_pick, rule)
    if message.channel == "sms" and message.is_to_textable_number:
        inputs = {**base, "recipient": message.recipient}
        rule = _rule("R-OVERWRITE-1", "sms to textable number clears", inputs)
        return _Reason(OTHER, "cleared", None, rule)

    offered, why = should_offer_picker(conversation, message.received_at)
    picked = message.selected_reason
    inputs = {**base, "picker": why, "selected_reason": picked}
    if conversation is not None:
        last = conversation.last_patient_message_at
        inputs["last_patient_message_at"] = last.isoformat() if last else None
    if not offered:
        # R-REASON-3: the patient was not asked, so a stale pick from the client is ignored.
        kept = current or OTHER
        if why == WITHIN_ONE_HOUR or within_sticky_window(conversation, message.received_at):
            rule = _rule("R-STICKY-1", f"within one hour: keeps {kept}", inputs)
            return _Reason(kept, "sticky", current, rule)
        rule = _rule("R-REASON-3", f"picker not offered ({why}): keeps {kept}", inputs)
        return _Reason(kept, "kept", current, rule)
    if picked is not None and is_known_reason(picked, settings.extra_reasons):
        rule = _rule("R-REASON-2", f"patient picked {picked}", inputs)
        return _Reason(picked, "patient_pick", picked, rule)
    if current is not None:
        # A channel with no picker (email, web form) does not clear: only R-OVERWRITE-1 does.
        rule = _rule("R-OVERWRITE-1", f"not overwritten: keeps {current}", inputs)
        return _Reason(current, "kept", current, rule)
    return _Reason(OTHER, "none", None, _rule("R-REASON-2", "no reason: other", inputs))


# --- location and provider (R-LOC-1..3, R-PROV-1) --------------------------------------


@dataclass(frozen=True, slots=True)
class _Place:
    value: str | None
    source: LocationSource
    new_profile: str | None
    rules: tuple[Fired, ...]


def _upcoming(patient: PatientState | None, at: datetime) -> NextAppointment | None:
    appointment = patient.next_appointment if patient is not None else None
    if appointment is None or appointment.start < at:
        return None  # a stale "next" appointment that has already started is not upcoming
    return appointment


def _appointment_inputs(appointment: NextAppointment | None) -> Inputs:
    if appointment is None:
        return {"appointment_id": None}
    return {
        "appointment_id": appointment.appointment_id,
        "appointment_version": appointment.version,
        "appointment_start": appointment.start.isoformat(),
        "scheduling_event_id": str(appointment.event_id) if appointment.event_id else None,
    }


def _place(
    kind: Literal["location", "provider"],
    enabled: bool,
    patient: PatientState | None,
    appointment: NextAppointment | None,
    update_profile: bool,
) -> _Place:
    """Location (R-LOC-1..3) and provider (R-PROV-1) follow the same rules."""
    loc = kind == "location"
    if not enabled:
        # Labels and the profile are part of the feature: nothing set while it is off.
        rule = _rule("R-LOC-1" if loc else "R-PROV-1", f"{kind} routing off", {})
        return _Place(None, "unknown", None, (rule,))
    profile = None
    if patient is not None:
        profile = patient.profile_location_id if loc else patient.profile_provider_id
    from_appointment = None
    if appointment is not None:
        from_appointment = appointment.location_id if loc else appointment.provider_id
    inputs: Inputs = {**_appointment_inputs(appointment), f"profile_{kind}": profile}
    if from_appointment is not None:
        rules = [
            _rule("R-LOC-1" if loc else "R-PROV-1", f"next appointment: {from_appointment}", inputs)
        ]
        new_profile = None
        if update_profile and from_appointment != profile:
            # R-LOC-3: the profile moves only on a message with an upcoming appointment elsewhere.
            new_profile = from_appointment
            change: Inputs = {"from": profile, "to": from_appointment}
            rules.append(_rule("R-LOC-3" if loc else "R-PROV-1", f"profile {kind} updated", change))
        return _Place(from_appointment, "next_appointment", new_profile, tuple(rules))
    rule_id = "R-LOC-2" if loc else "R-PROV-1"
    if profile is not None:
        rule = _rule(rule_id, f"no upcoming appointment {kind}: profile {profile}", inputs)
        return _Place(profile, "profile", None, (rule,))
    rule = _rule(rule_id, f"{kind} unknown", inputs)
    return _Place(None, "unknown", None, (rule,))


# --- who receives it (R-SUB-1, R-SUB-2, R-VOICEMAIL-1, X-AVAIL-1, X-BALANCE-1) ----------


def recipients_for(
    settings: RoutingSettings,
    subscriptions: Iterable[Subscription],
    reason: str,
    location_id: str | None,
    provider_id: str | None,
) -> tuple[str, ...]:
    """Staff whose subscription matches every enabled dimension (R-SUB-1), sorted.

    No enabled dimension means no routing at all: everything stays in Unassigned only (the
    product default), rather than every subscriber matching vacuously.
    """
    if not settings.any_dimension:
        return ()
    by_reason, by_location, by_provider = (
        settings.reason_routing,
        settings.location_routing,
        settings.provider_routing,
    )
    location = location_id or LOCATION_UNKNOWN
    provider = provider_id or PROVIDER_UNKNOWN
    return tuple(
        sorted(
            {
                s.staff_id
                for s in subscriptions
                if (not by_reason or reason in s.reasons)
                and (not by_location or location in s.locations)
                and (not by_provider or provider in s.providers)
            }
        )
    )


def _dimensions(settings: RoutingSettings) -> list[str]:
    enabled = (
        ("reason", settings.reason_routing),
        ("location", settings.location_routing),
        ("provider", settings.provider_routing),
    )
    return [name for name, on in enabled if on]


@dataclass(frozen=True, slots=True)
class _Delivery:
    recipients: tuple[str, ...]
    away: tuple[str, ...]
    orphan: bool
    rules: tuple[Fired, ...]


def _deliver(
    settings: RoutingSettings,
    state: RouterState,
    reason: str,
    location: _Place,
    provider: _Place,
) -> _Delivery:
    recipients = recipients_for(
        settings, state.subscriptions, reason, location.value, provider.value
    )
    away = tuple(r for r in recipients if state.is_away(r))
    orphan = settings.any_dimension and len(away) == len(recipients)
    inputs: Inputs = {
        "dimensions": _dimensions(settings),
        "reason": reason,
        "location": (location.value or LOCATION_UNKNOWN) if settings.location_routing else None,
        "provider": (provider.value or PROVIDER_UNKNOWN) if settings.provider_routing else None,
        "settings_version": settings.version,
        "subscriptions_version": state.subscriptions_version,
        "subscriptions_considered": len(state.subscriptions),
        "recipients": list(recipients),
        "away": list(away),
        "orphan": orphan,
    }
    if not settings.any_dimension:
        outcome = "no routing dimension enabled: Unassigned only"
    elif not recipients:
        outcome = "no subscriber matches: Unassigned only"
    else:
        outcome = f"{len(recipients)} subscriber(s) match every enabled dimension"
    return _Delivery(recipients, away, orphan, (_rule("R-SUB-1", outcome, inputs),))


def _inboxes(message: InboundMessage | None, settings: RoutingSettings) -> list[str]:
    inboxes = [UNASSIGNED]  # R-SUB-2: always, and always first
    if message is not None and message.channel == "voicemail":
        _, shared = settings.voicemail_target(message.voicemail_extension)
        if shared is not None:
            inboxes.append(shared)
    return inboxes


# --- the two entry points ---------------------------------------------------------------


def decide(
    message: InboundMessage, state: RouterState, settings: RoutingSettings, now: datetime
) -> Decision:
    """Route one inbound message. `now` is only the decision's timestamp: every rule is
    evaluated at the message's `received_at`, so a late or replayed decision is the same."""
    conversation, patient = state.conversation, state.patient
    if message.practice_id != settings.practice_id:
        raise ValueError("message and settings belong to different practices (T-1)")
    if conversation is not None and conversation.conversation_id != message.conversation_id:
        raise ValueError("conversation state is for another conversation")
    if patient is not None and patient.patient_id != message.patient_id:
        raise ValueError("patient state is for another patient")

    at = message.received_at
    reason = _reason(message, conversation, settings)
    appointment = _upcoming(patient, at)
    location = _place("location", settings.location_routing, patient, appointment, True)
    provider = _place("provider", settings.provider_routing, patient, appointment, True)
    delivery = _deliver(settings, state, reason.reason, location, provider)

    inboxes = _inboxes(message, settings)
    rules = [reason.rule, *location.rules, *provider.rules, *delivery.rules]
    rules.append(_rule("R-SUB-2", "Unassigned", {"reason": reason.reason}))
    if len(inboxes) > 1:
        rules.append(
            _rule(
                "R-VOICEMAIL-1",
                f"voicemail extension routes to {inboxes[1]}",
                {"extension": message.voicemail_extension},
            )
        )

    assignee = assigned_via = None
    # A conversation someone already holds is never taken from them by a new message.
    held = conversation is not None and conversation.assignee is not None
    if not held and any(settings.auto_assign.get(i) for i in inboxes):
        chosen = auto_assign(inboxes, settings, state)
        if chosen is None:
            inputs: Inputs = {"inboxes": inboxes}
            rules.append(_rule("X-BALANCE-1", "no available subscriber to assign", inputs))
        else:
            assignee, assigned_via = chosen.staff_id, chosen.inbox
            inputs = {"inbox": chosen.inbox, "candidates": list(chosen.candidates)}
            rules.append(_rule("X-BALANCE-1", f"{chosen.policy}: {assignee}", inputs))

    return Decision(
        practice_id=message.practice_id,
        conversation_id=message.conversation_id,
        message_id=message.message_id,
        patient_id=message.patient_id,
        trigger="message",
        reason=reason.reason,
        reason_source=reason.source,
        conversation_reason=reason.conversation_reason,
        location_id=location.value,
        location_source=location.source,
        provider_id=provider.value,
        provider_source=provider.source,
        recipients=delivery.recipients,
        away_recipients=delivery.away,
        orphan=delivery.orphan,
        inboxes=tuple(inboxes),
        assignee=assignee,
        assigned_via=assigned_via,
        new_profile_location_id=location.new_profile,
        new_profile_provider_id=provider.new_profile,
        settings_version=settings.version,
        trace=tuple(rules),
        decided_at=now,
    )


def reroute(
    change: AppointmentChanged,
    conversations: Iterable[ConversationState],
    state: RouterState,
    settings: RoutingSettings,
    now: datetime,
) -> list[Decision]:
    """Re-evaluate the patient's open conversations after an appointment change (X-REROUTE-1).

    `state.patient` must already reflect the change (its `next_appointment` recomputed by
    the caller as of `now`). Reasons are kept: only a patient message changes a reason. The
    profile is not touched: it moves only when the patient messages in (R-LOC-3). Only
    conversations whose location or provider label actually changes get a decision; each
    cites the scheduling event. Closed conversations are left alone.
    """
    if change.practice_id != settings.practice_id:
        raise ValueError("appointment change and settings belong to different practices (T-1)")
    patient = state.patient or PatientState(change.patient_id)
    if patient.patient_id != change.patient_id:
        raise ValueError("patient state is for another patient")
    if not (settings.location_routing or settings.provider_routing):
        return []  # with neither on, appointments cannot change where anything goes

    appointment = _upcoming(patient, now)
    location = _place("location", settings.location_routing, patient, appointment, False)
    provider = _place("provider", settings.provider_routing, patient, appointment, False)
    cause: Inputs = {
        "scheduling_event_id": str(change.event_id),
        "appointment_id": change.appointment_id,
        "appointment_version": change.source_version,
        "change": change.change,
        "status": change.status,
    }
    decisions = []
    for conversation in sorted(conversations, key=lambda c: c.conversation_id):
        if conversation.status != "open" or conversation.patient_id not in (
            None,
            change.patient_id,
        ):
            continue
        moved_location = settings.location_routing and location.value != conversation.location_id
        moved_provider = settings.provider_routing and provider.value != conversation.provider_id
        if not (moved_location or moved_provider):
            continue
        current = conversation.reason
        source: ReasonSource
        if settings.reason_routing:
            reason, source = current or OTHER, "kept"
            why = _rule("R-OVERWRITE-1", f"re-route keeps {reason}", {"previous_reason": current})
        else:
            reason, source = OTHER, "none"
            why = _rule("R-REASON-2", "reason routing off", {"previous_reason": current})
        delivery = _deliver(settings, state, reason, location, provider)
        inputs: Inputs = {
            **cause,
            "previous_location": conversation.location_id,
            "previous_provider": conversation.provider_id,
        }
        rules = (
            _rule("X-REROUTE-1", f"appointment {change.change}: re-evaluated", inputs),
            why,
            *location.rules,
            *provider.rules,
            *delivery.rules,
            _rule("R-SUB-2", "Unassigned", {"reason": reason}),
        )
        decisions.append(
            Decision(
                practice_id=change.practice_id,
                conversation_id=conversation.conversation_id,
                message_id=None,
                patient_id=change.patient_id,
                trigger="reroute",
                reason=reason,
                reason_source=source,
                conversation_reason=current,
                location_id=location.value,
                location_source=location.source,
                provider_id=provider.value,
                provider_source=provider.source,
                recipients=delivery.recipients,
                away_recipients=delivery.away,
                orphan=delivery.orphan,
                inboxes=(UNASSIGNED, *conversation.shared_inboxes),
                assignee=None,  # a re-route never reassigns; the holder keeps it
                assigned_via=None,
                new_profile_location_id=None,
                new_profile_provider_id=None,
                settings_version=settings.version,
                trace=rules,
                decided_at=now,
            )
        )
    return decisions


# --- applying a decision to the router's own state --------------------------------------


def next_conversation_state(
    conversation: ConversationState | None, message: InboundMessage, decision: Decision
) -> ConversationState:
    """The conversation as the router should remember it after routing `message`.

    Any inbound message opens the conversation and puts it in Unassigned (I-STATUS-1,
    R-SUB-2), so it counts as assigned for the picker until staff close it.
    """
    previous = conversation or ConversationState(message.conversation_id)
    reason_changed = decision.reason_source in ("patient_pick", "voicemail_extension", "cleared")
    shared = tuple(
        dict.fromkeys([*previous.shared_inboxes, *(i for i in decision.inboxes if i != UNASSIGNED)])
    )
    return ConversationState(
        conversation_id=message.conversation_id,
        reason=decision.conversation_reason,
        reason_set_at=message.received_at if reason_changed else previous.reason_set_at,
        last_patient_message_at=message.received_at,
        assigned=True,
        status="open",
        patient_read_last_practice_message=previous.patient_read_last_practice_message,
        patient_id=message.patient_id or previous.patient_id,
        assignee=decision.assignee or previous.assignee,
        location_id=decision.location_id,
        provider_id=decision.provider_id,
        shared_inboxes=shared,
    )


def next_patient_state(patient: PatientState | None, decision: Decision) -> PatientState | None:
    """The patient with the profile location/provider the decision set (R-LOC-3)."""
    if patient is None:
        if decision.patient_id is None:
            return None
        patient = PatientState(decision.patient_id)
    location = decision.new_profile_location_id or patient.profile_location_id
    provider = decision.new_profile_provider_id or patient.profile_provider_id
    return PatientState(patient.patient_id, location, provider, patient.next_appointment)
