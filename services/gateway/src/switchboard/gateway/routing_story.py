""" "Why was this routed here?" in words staff use (X-EXPLAIN-1, I-EXPLAIN-1). Pure.

The router records each decision as rule ids with inputs (`MessageRouted.explanation`); this
turns that record plus the names the gateway knows (reason labels, location, provider and
staff names, the patient's first name) into one sentence and a few notes, e.g.

    Routed to you because you receive Prescriptions / Refills at Manhattan, where Jane's
    next appointment is (Tue 3 Dec, Dr. Sam Lee).

Rule ids and raw codes never appear in the sentence or the notes (I-EXPLAIN-1); practice
admins see the raw record separately. A code with no known name is humanized
("prescriptions_refills" -> "Prescriptions refills"), never shown raw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LOCATION_UNKNOWN, PROVIDER_UNKNOWN, OTHER = "location_unknown", "provider_unknown", "other"
POLICIES = {"round_robin": "round robin", "least_open": "least open work"}


@dataclass(frozen=True, slots=True)
class Names:
    """What the sentence names things by. `patient` is the first name (None: unrecognized
    sender); `appointment_provider` names the provider of the next appointment when known."""

    viewer_id: str
    patient: str | None = None
    reasons: Mapping[str, str] = field(default_factory=dict)
    locations: Mapping[str, str] = field(default_factory=dict)
    providers: Mapping[str, str] = field(default_factory=dict)
    staff: Mapping[str, str] = field(default_factory=dict)
    appointment_provider: str | None = None
    timezone: str = "UTC"
    care_team: Sequence[str] = ()
    primary_contact: str | None = None
    assignee: str | None = None


@dataclass(frozen=True, slots=True)
class Story:
    sentence: str
    notes: tuple[str, ...] = ()


def humanize(code: str) -> str:
    text = code.replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]


def _name(names: Mapping[str, str], code: str | None) -> str:
    return names.get(code, humanize(code)) if code else ""


def reason_name(names: Names, code: str) -> str:
    return "Other" if code == OTHER and OTHER not in names.reasons else _name(names.reasons, code)


def location_name(names: Names, code: str | None) -> str:
    if code in (None, LOCATION_UNKNOWN):
        return "an unknown location"
    return _name(names.locations, code)


def provider_name(names: Names, code: str | None) -> str:
    if code in (None, PROVIDER_UNKNOWN):
        return "an unknown provider"
    return _name(names.providers, code)


def staff_name(names: Names, staff_id: str) -> str:
    return "you" if staff_id == names.viewer_id else names.staff.get(staff_id, "a former user")


def _people(names: Names, ids: Sequence[str]) -> str:
    """'you', 'you and Dr. Sam Lee', 'Morgan, Blake and 3 others' (the viewer first)."""
    ordered = sorted(ids, key=lambda i: (i != names.viewer_id, staff_name(names, i)))
    shown = [staff_name(names, i) for i in ordered[:3]]
    if len(ordered) > 3:
        rest = len(ordered) - 2
        return f"{', '.join(shown[:2])} and {rest} others"
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def _day(iso: str | None, timezone: str) -> str | None:
    if not iso:
        return None
    try:
        when = datetime.fromisoformat(iso)
        zone = ZoneInfo(timezone)
    except (ValueError, ZoneInfoNotFoundError):
        return None
    local = when.astimezone(zone) if when.tzinfo else when
    return f"{local:%a} {local.day} {local:%b}"


def _whose(names: Names) -> str:
    return f"{names.patient}'s" if names.patient else "the patient's"


def _steps(explanation: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    out: dict[str, list[Mapping[str, Any]]] = {}
    for step in explanation:
        out.setdefault(str(step.get("rule", "")), []).append(step)
    return out


def _place_clause(names: Names, steps: dict[str, list[Mapping[str, Any]]], location: str) -> str:
    """Where the location came from: the next appointment, the patient's usual one, or none."""
    loc = [s for s in steps.get("R-LOC-1", []) + steps.get("R-LOC-2", []) if s.get("outcome")]
    step = loc[0] if loc else None
    outcome = str(step.get("outcome", "")) if step else ""
    inputs: Mapping[str, Any] = (step.get("inputs") or {}) if step else {}
    if location in ("", LOCATION_UNKNOWN):
        if names.patient is None:
            return "a location unknown because the sender is not a recognized patient"
        return (
            f"a location unknown because {names.patient} has no upcoming appointment "
            "and no usual location"
        )
    where = location_name(names, location)
    if outcome.startswith("next appointment"):
        detail = [
            x
            for x in (
                _day(inputs.get("appointment_start"), names.timezone),
                names.appointment_provider,
            )
            if x
        ]
        tail = f" ({', '.join(detail)})" if detail else ""
        return f"{where}, where {_whose(names)} next appointment is{tail}"
    if outcome.startswith("no upcoming appointment"):
        return f"{where}, {_whose(names)} usual location (no upcoming appointment)"
    return where


def _reason_note(names: Names, step: Mapping[str, Any] | None, reason: str) -> str | None:
    """How the message got its reason, in words."""
    if step is None:
        return None
    outcome = str(step.get("outcome", ""))
    inputs: Mapping[str, Any] = step.get("inputs") or {}
    who = names.patient or "The sender"
    label = reason_name(names, reason)
    if outcome.startswith("patient picked"):
        return f"{who} picked {label} when writing."
    if outcome.startswith("within one hour"):
        return f"It keeps {label}: {who} wrote again within an hour."
    if outcome.startswith("voicemail extension takes"):
        return f"Voicemail extension {inputs.get('extension')} is set to {label}."
    if outcome.startswith("voicemail clears"):
        return "A voicemail starts a new topic, so it has no reason yet."
    if outcome.startswith("sms to textable"):
        return "A text to the practice's main number starts a new topic, so it has no reason yet."
    if outcome.startswith("picker not offered") or outcome.startswith("not overwritten"):
        return f"It keeps the conversation's reason, {label}."
    if outcome.startswith("re-route keeps"):
        return f"It keeps the conversation's reason, {label}."
    if outcome.startswith("no reason"):
        return f"{who} did not pick a reason, so it counts as Other."
    return None


def build_story(explanation: Sequence[Mapping[str, Any]] | None, names: Names) -> Story:
    """The sentence and notes for a conversation's latest decision."""
    if not explanation:
        return Story("Not routed yet: the router has not decided where this goes.")
    steps = _steps(explanation)
    sub = steps.get("R-SUB-1", [{}])[-1]
    inputs: Mapping[str, Any] = sub.get("inputs") or {}
    dimensions = list(inputs.get("dimensions") or [])
    recipients = [str(r) for r in inputs.get("recipients") or []]
    away = {str(r) for r in inputs.get("away") or []}
    reason = str(inputs.get("reason") or OTHER)
    location = str(inputs.get("location") or "")
    provider = str(inputs.get("provider") or "")

    notes: list[str] = []
    for step in steps.get("X-REROUTE-1", []):
        change = (step.get("inputs") or {}).get("change") or "changed"
        notes.append(f"Routed again because {_whose(names)} appointment was {change}.")
    if names.patient is None:
        notes.append("The sender is not a recognized patient yet: link them to a patient.")

    what = reason_name(names, reason) if "reason" in dimensions else "messages"
    if "reason" in dimensions and reason == OTHER:
        what = "Other"
    where = ""
    if "location" in dimensions:
        where += f" at {_place_clause(names, steps, location)}"
    if "provider" in dimensions:
        where += f" for {provider_name(names, provider)}"

    if not dimensions:
        sentence = (
            "In the shared Unassigned inbox: the practice does not route messages by reason, "
            "location or provider, so every message goes there."
        )
    elif not recipients:
        sentence = f"Nobody receives {what}{where}, so it went to the shared Unassigned inbox only."
    else:
        people = _people(names, recipients)
        verb = "receive" if names.viewer_id in recipients or len(recipients) > 1 else "receives"
        subject = (
            "you" if names.viewer_id in recipients else ("they" if len(recipients) > 1 else people)
        )
        sentence = f"Routed to {people} because {subject} {verb} {what}{where}."
        if away and away >= set(recipients):
            notes.append("Everyone it was routed to was away, so nobody was alerted.")
        elif away:
            notes.append(f"Away at the time: {_people(names, sorted(away))}.")

    if "reason" in dimensions:
        reason_steps = [
            s
            for rule in ("R-REASON-2", "R-REASON-3", "R-STICKY-1", "R-OVERWRITE-1")
            for s in steps.get(rule, [])
        ]
        note = _reason_note(names, reason_steps[0] if reason_steps else None, reason)
        if note:
            notes.append(note)
    for step in steps.get("R-VOICEMAIL-1", []):
        ext = (step.get("inputs") or {}).get("extension")
        box = str(step.get("outcome", "")).rsplit(" ", 1)[-1].removeprefix("shared:")
        notes.append(f"Also in the shared {humanize(box)} inbox: voicemail extension {ext}.")
    for step in steps.get("X-BALANCE-1", []):
        outcome = str(step.get("outcome", ""))
        policy, _, assignee = outcome.partition(": ")
        if assignee:
            how = POLICIES.get(policy, humanize(policy))
            notes.append(f"Assigned to {staff_name(names, assignee)} automatically ({how}).")
        elif outcome.startswith("no available"):
            notes.append("Nobody was available to assign it to automatically.")
    notes.extend(_viewer_notes(names, recipients))
    return Story(sentence, tuple(notes))


def _viewer_notes(names: Names, recipients: Sequence[str]) -> list[str]:
    """Why the viewer sees it when routing did not send it to them."""
    if names.viewer_id in recipients:
        return []
    out = []
    if names.assignee == names.viewer_id:
        out.append("You see it because it is assigned to you.")
    if names.viewer_id in names.care_team:
        out.append(f"You see it because you are on {_whose(names)} care team.")
    if names.primary_contact == names.viewer_id:
        out.append(f"You see it because you are {_whose(names)} primary contact.")
    return out


def staff_story(
    staff_id: str, received: bool, checks: Sequence[Mapping[str, Any]], names: Names
) -> str:
    """Why one staff member did or did not receive the latest message, in words."""
    who = staff_name(names, staff_id)
    who = who[:1].upper() + who[1:]
    dims = {str(c.get("dimension")): c for c in checks}
    unassigned = dims.get("inbox", {}).get("ok")
    also = " They also watch the shared Unassigned inbox." if unassigned else ""
    if staff_id == names.viewer_id:
        also = also.replace("They", "You")
    if "settings" in dims:
        return (
            f"{who} did not receive it: the practice does not route by reason, location or "
            f"provider, so it went to the shared Unassigned inbox only.{also}"
        )
    if "subscription" in dims:
        return f"{who} did not receive it: no subscriptions at the time.{also}"
    label = {
        "reason": lambda v: reason_name(names, v),
        "location": lambda v: location_name(names, v),
        "provider": lambda v: provider_name(names, v),
    }
    wanted = [(d, dims[d]) for d in ("reason", "location", "provider") if d in dims]
    missing = [label[d](str(c.get("needed"))) for d, c in wanted if not c.get("ok")]
    matched = [label[d](str(c.get("needed"))) for d, c in wanted if c.get("ok")]
    if received:
        if not wanted:
            return f"{who} received it: it was assigned automatically.{also}"
        return f"{who} received it: subscribed to {' at '.join(matched)}.{also}"
    if missing:
        return f"{who} did not receive it: not subscribed to {' or '.join(missing)}.{also}"
    return f"{who} did not receive it.{also}"
