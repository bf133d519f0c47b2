""" "Why was this routed here?" as a sentence with names (routing_story.py), built from the
router's real decisions (decide) so the words follow the router's record."""

from __future__ import annotations

import re
from typing import Any

from unit.router.router_builders import (
    BROOKLYN,
    DR_LEE,
    FRONT_DESK,
    MANHATTAN,
    MINUTE,
    QUEENS,
    T0,
    appointment,
    conversation,
    message,
    patient,
    settings,
    state,
)

from switchboard.gateway.routing_story import Names, build_story, staff_story
from switchboard.router.decision import decide
from switchboard.router.model import RoutingSettings

NAMES = dict(
    patient="Jane",
    reasons={"prescriptions_refills": "Prescriptions / Refills", "other": "Other"},
    locations={MANHATTAN: "Manhattan", BROOKLYN: "Brooklyn", QUEENS: "Queens"},
    providers={DR_LEE: "Dr. Sam Lee"},
    staff={
        "ma-manhattan-1": "Morgan MA",
        "ma-manhattan-2": "Mo MA",
        "front-desk": "Frankie Front Desk",
        "billing-1": "Bailey Billing",
    },
    appointment_provider="Dr. Sam Lee",
    timezone="America/New_York",
)
CODES = re.compile(r"R-[A-Z]+-\d|X-[A-Z]+-\d|_|loc-|prov-|subscriber\(s\)")


def story_of(decision: Any, viewer: str = "ma-manhattan-1", **names: Any):
    explanation = [s.model_dump() for s in decision.explanation]
    return build_story(explanation, Names(viewer_id=viewer, **(NAMES | names)))


def assert_plain(*texts: str) -> None:
    for text in texts:
        assert not CODES.search(text), text


# covers I-EXPLAIN-1, X-EXPLAIN-1
def test_routed_to_you_by_reason_and_next_appointment():
    # T0 is Mon 2 Jun 2025; the appointment is three days later, Thu 5 Jun.
    d = decide(
        message(reason="prescriptions_refills"),
        state(patient=patient(None, appointment(MANHATTAN))),
        settings(),
        T0,
    )
    s = story_of(d)
    assert s.sentence == (
        "Routed to you and Mo MA because you receive Prescriptions / Refills at Manhattan, "
        "where Jane's next appointment is (Thu 5 Jun, Dr. Sam Lee)."
    )
    assert "Jane picked Prescriptions / Refills when writing." in s.notes
    assert_plain(s.sentence, *s.notes)


# covers I-EXPLAIN-1
def test_someone_else_reads_who_it_went_to():
    d = decide(
        message(reason="prescriptions_refills"),
        state(patient=patient(None, appointment(MANHATTAN))),
        settings(),
        T0,
    )
    s = story_of(d, viewer="u-admin")
    assert s.sentence.startswith(
        "Routed to Mo MA and Morgan MA because they receive Prescriptions / Refills at Manhattan"
    )


# covers I-EXPLAIN-1, R-LOC-2
def test_usual_location_and_unknown_location():
    usual = decide(
        message(reason="prescriptions_refills"), state(patient=patient(MANHATTAN)), settings(), T0
    )
    assert (
        "at Manhattan, Jane's usual location (no upcoming appointment)" in story_of(usual).sentence
    )
    unknown = decide(
        message(), state(patient=patient(), subscriptions=(FRONT_DESK,)), settings(), T0
    )
    s = story_of(unknown, viewer="front-desk")
    assert s.sentence == (
        "Routed to you because you receive Other at a location unknown because Jane has no "
        "upcoming appointment and no usual location."
    )
    assert "Jane did not pick a reason, so it counts as Other." in s.notes
    assert_plain(s.sentence, *s.notes)


# covers I-EXPLAIN-1
def test_nobody_subscribes_goes_to_unassigned():
    d = decide(
        message(reason="prescriptions_refills"),
        state(patient=patient(None, appointment(QUEENS))),
        settings(),
        T0,
    )
    s = story_of(d)
    assert s.sentence.startswith("Nobody receives Prescriptions / Refills at Queens, where Jane")
    assert s.sentence.endswith("so it went to the shared Unassigned inbox only.")
    assert_plain(s.sentence, *s.notes)


# covers I-EXPLAIN-1
def test_routing_off_says_so():
    off = RoutingSettings(practice_id="manhattan-medical", version=1)
    d = decide(message(), state(patient=patient()), off, T0)
    s = story_of(d)
    assert s.sentence == (
        "In the shared Unassigned inbox: the practice does not route messages by reason, "
        "location or provider, so every message goes there."
    )


# covers I-EXPLAIN-1, I-UNREC-1
def test_unrecognized_sender():
    d = decide(message(patient=None), state(subscriptions=(FRONT_DESK,)), settings(), T0)
    s = story_of(d, viewer="front-desk", patient=None)
    assert "a location unknown because the sender is not a recognized patient" in s.sentence
    assert "The sender is not a recognized patient yet: link them to a patient." in s.notes
    assert_plain(s.sentence, *s.notes)


# covers I-EXPLAIN-1, R-STICKY-1
def test_sticky_reason_and_care_team_viewer():
    d = decide(
        message(at=T0 + 30 * MINUTE),
        state(patient=patient(MANHATTAN), conversation=conversation("prescriptions_refills", T0)),
        settings(),
        T0,
    )
    s = story_of(d, viewer="u-dr-1", care_team=["u-dr-1"])
    assert "It keeps Prescriptions / Refills: Jane wrote again within an hour." in s.notes
    assert "You see it because you are on Jane's care team." in s.notes


# covers I-EXPLAIN-1, X-BALANCE-1
def test_auto_assignment_is_named():
    s = settings(auto_assign={"unassigned": "round_robin"})
    d = decide(message(), state(patient=patient(), subscriptions=(FRONT_DESK,)), s, T0)
    story = story_of(d, viewer="front-desk")
    assert "Assigned to you automatically (round robin)." in story.notes


def test_no_decision_yet():
    assert build_story([], Names(viewer_id="x")).sentence.startswith("Not routed yet")


# covers I-EXPLAIN-1, X-EXPLAIN-1
def test_why_not_for_one_person_names_what_they_lack():
    checks = [
        {"rule": "R-SUB-2", "dimension": "inbox", "needed": "unassigned", "has": [], "ok": False},
        {
            "rule": "R-SUB-1",
            "dimension": "reason",
            "needed": "prescriptions_refills",
            "has": ["prescriptions_refills"],
            "ok": True,
        },
        {
            "rule": "R-SUB-1",
            "dimension": "location",
            "needed": BROOKLYN,
            "has": [MANHATTAN],
            "ok": False,
        },
    ]
    names = Names(viewer_id="u-admin", **NAMES)
    text = staff_story("ma-manhattan-1", False, checks, names)
    assert text == "Morgan MA did not receive it: not subscribed to Brooklyn."
    assert staff_story("ma-manhattan-1", True, checks[:2], names) == (
        "Morgan MA received it: subscribed to Prescriptions / Refills."
    )
    assert_plain(text)
