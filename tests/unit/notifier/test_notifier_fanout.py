"""Fan-out planning: channels, availability and substitutes, orphans, burst coalescing,
link target (I-NOTIFY-1, X-AVAIL-1)."""

import uuid
from datetime import UTC, datetime, timedelta

from switchboard.events import (
    ChannelChoice,
    NotificationPreferencesChanged,
    PracticeNotificationSettingsChanged,
    StaffAvailabilityChanged,
    WeeklyWindow,
    deterministic_id,
)
from switchboard.notifier.fanout import (
    AlertRequest,
    escalation_targets,
    message_targets,
    plan_fanout,
)
from switchboard.notifier.model import PracticeConfig, StaffProfile, Webhook

NOW = datetime(2026, 6, 3, 16, 55, tzinfo=UTC)  # a Wednesday
CONV = uuid.UUID("00000000-0000-4000-8000-000000000001")
ENV = {
    "event_id": uuid.uuid4(),
    "occurred_at": NOW,
    "practice_id": "demo",
    "correlation_id": uuid.uuid4(),
    "actor": "u-admin",
}


def practice(**kw) -> PracticeConfig:
    hooks = kw.pop("webhooks", {"pager": Webhook("pager", "https://hooks.example/p", "x" * 16)})
    return PracticeConfig.from_event(
        "demo", PracticeNotificationSettingsChanged(**ENV, **kw), hooks
    )


def staff(staff_id, channels=(("in_app", None),), **avail) -> StaffProfile:
    prefs = NotificationPreferencesChanged(
        **ENV,
        staff_id=staff_id,
        channels=tuple(ChannelChoice(channel=c, address=a) for c, a in channels),
    )
    a = StaffAvailabilityChanged(**ENV, staff_id=staff_id, **avail) if avail else None
    return StaffProfile.build(staff_id, prefs, a, "UTC")


def request(*targets, at=NOW, cause=None, kind="message", patient_id=None) -> AlertRequest:
    return AlertRequest(
        kind=kind,
        cause_id=cause or uuid.uuid4(),
        conversation_id=CONV,
        at=at,
        targets=tuple(targets),
        message_id=uuid.uuid4(),
        patient_id=patient_id,
        routing_reason="refills",
    )


def by_staff(plan):
    out: dict[str, set[str]] = {}
    for a in plan.alerts:
        out.setdefault(a.staff_id, set()).add(a.channel)
    return out


# covers I-NOTIFY-1
def test_each_recipient_on_each_chosen_channel():
    profiles = {
        "u-1": staff("u-1", [("in_app", None), ("email", "u1@clinic.example")]),
        "u-2": staff("u-2", [("sms", "+12125550100"), ("webhook", "pager")]),
    }
    targets = message_targets(("u-1", "u-2"), None)
    plan = plan_fanout(request(*targets), practice(), profiles, {})
    assert by_staff(plan) == {"u-1": {"in_app", "email"}, "u-2": {"sms", "webhook"}}
    assert not plan.failures and not plan.orphan
    assert {a.why for a in plan.alerts} == {"subscribed"}


# covers I-NOTIFY-1
def test_staff_without_preferences_get_in_app_only():
    plan = plan_fanout(request(("u-9", "subscribed")), practice(), {}, {})
    assert by_staff(plan) == {"u-9": {"in_app"}}


# covers I-NOTIFY-1
def test_assignee_first_and_once():
    assert message_targets(("u-1", "u-2"), "u-2") == (("u-2", "assignee"), ("u-1", "subscribed"))


# covers I-NOTIFY-1
def test_no_valid_address_fails_that_channel_and_keeps_the_others():
    profiles = {
        "u-1": staff(
            "u-1",
            [
                ("in_app", None),
                ("email", "not-an-address"),
                ("sms", "555-0100"),
                ("webhook", "unknown-hook"),
            ],
        )
    }
    plan = plan_fanout(request(("u-1", "subscribed")), practice(), profiles, {})
    assert by_staff(plan) == {"u-1": {"in_app"}}
    assert {(f.channel, f.why) for f in plan.failures} == {
        ("email", "no_valid_address"),
        ("sms", "no_valid_address"),
        ("webhook", "no_valid_address"),
    }
    assert not plan.orphan


# covers I-NOTIFY-1
def test_alert_ids_are_deterministic_per_cause_staff_and_channel():
    cause = deterministic_id("routed", "1")
    profiles = {"u-1": staff("u-1", [("in_app", None), ("email", "a@b.example")])}
    one = plan_fanout(request(("u-1", "subscribed"), cause=cause), practice(), profiles, {})
    two = plan_fanout(request(("u-1", "subscribed"), cause=cause), practice(), profiles, {})
    assert [a.alert_id for a in one.alerts] == [a.alert_id for a in two.alerts]
    assert len({a.alert_id for a in one.alerts}) == 2


# covers X-AVAIL-1
def test_out_of_office_is_skipped_and_the_substitute_is_alerted():
    profiles = {
        "u-1": staff(
            "u-1",
            out_of_office_from=NOW - timedelta(days=1),
            out_of_office_until=NOW + timedelta(days=3),
            substitute_staff_id="u-sub",
        ),
        "u-sub": staff("u-sub", [("in_app", None)]),
    }
    plan = plan_fanout(request(("u-1", "subscribed")), practice(), profiles, {})
    assert by_staff(plan) == {"u-sub": {"in_app"}}
    (alert,) = plan.alerts
    assert alert.why == "substitute" and alert.substitute_for == "u-1"
    assert plan.unavailable == ["u-1"] and not plan.orphan


# covers X-AVAIL-1
def test_back_from_leave_is_alerted_again():
    profiles = {
        "u-1": staff(
            "u-1",
            out_of_office_from=NOW - timedelta(days=5),
            out_of_office_until=NOW - timedelta(minutes=1),
        )
    }
    plan = plan_fanout(request(("u-1", "subscribed")), practice(), profiles, {})
    assert by_staff(plan) == {"u-1": {"in_app"}}


# covers X-AVAIL-1
def test_off_shift_is_skipped():
    # Works Monday-Friday 08:00-12:00 UTC; NOW is Wednesday 16:55.
    shifts = tuple(WeeklyWindow(weekday=d, start="08:00", end="12:00") for d in range(5))
    profiles = {"u-1": staff("u-1", shifts=shifts), "u-2": staff("u-2")}
    plan = plan_fanout(
        request(("u-1", "subscribed"), ("u-2", "subscribed")), practice(), profiles, {}
    )
    assert by_staff(plan) == {"u-2": {"in_app"}}
    morning = NOW.replace(hour=9)
    plan = plan_fanout(request(("u-1", "subscribed"), at=morning), practice(), profiles, {})
    assert by_staff(plan) == {"u-1": {"in_app"}}


# covers X-AVAIL-1
def test_substitute_who_is_also_away_passes_it_on_but_never_in_a_circle():
    away = {
        "out_of_office_from": NOW - timedelta(days=1),
        "out_of_office_until": NOW + timedelta(days=1),
    }
    profiles = {
        "u-1": staff("u-1", substitute_staff_id="u-2", **away),
        "u-2": staff("u-2", substitute_staff_id="u-3", **away),
        "u-3": staff("u-3"),
    }
    plan = plan_fanout(request(("u-1", "subscribed")), practice(), profiles, {})
    assert by_staff(plan) == {"u-3": {"in_app"}}
    circle = {
        "u-1": staff("u-1", substitute_staff_id="u-2", **away),
        "u-2": staff("u-2", substitute_staff_id="u-1", **away),
    }
    plan = plan_fanout(
        request(("u-1", "subscribed")), practice(front_line_staff_ids=("u-f",)), circle, {}
    )
    assert plan.orphan and by_staff(plan) == {"u-f": {"in_app"}}


# covers X-AVAIL-1
def test_nobody_available_raises_an_orphan_alert_to_the_front_line():
    away = {"out_of_office_from": NOW - timedelta(hours=1)}
    profiles = {"u-1": staff("u-1", **away), "u-2": staff("u-2", **away)}
    cfg = practice(front_line_staff_ids=("u-front", "u-front-2"))
    plan = plan_fanout(request(("u-1", "subscribed"), ("u-2", "subscribed")), cfg, profiles, {})
    assert plan.orphan
    assert plan.unavailable == ["u-1", "u-2"]
    assert plan.front_line_alerted == ["u-front", "u-front-2"]
    assert {a.kind for a in plan.alerts} == {"orphan"}
    assert {a.why for a in plan.alerts} == {"front_line"}


# covers X-AVAIL-1
def test_a_message_that_matched_nobody_is_an_orphan_too():
    plan = plan_fanout(request(), practice(front_line_staff_ids=("u-front",)), {}, {})
    assert plan.orphan and by_staff(plan) == {"u-front": {"in_app"}}


# covers X-AVAIL-1
def test_a_recipient_with_no_deliverable_channel_is_not_reached():
    profiles = {"u-1": staff("u-1", [("email", "broken")])}
    plan = plan_fanout(
        request(("u-1", "subscribed")), practice(front_line_staff_ids=("u-front",)), profiles, {}
    )
    assert plan.orphan and [f.channel for f in plan.failures] == ["email"]
    assert by_staff(plan) == {"u-front": {"in_app"}}


# covers I-NOTIFY-1
def test_a_burst_in_one_conversation_gives_one_alert_per_recipient():
    profiles = {"u-1": staff("u-1"), "u-2": staff("u-2", [("in_app", None), ("webhook", "pager")])}
    targets = message_targets(("u-1", "u-2"), None)
    cfg = practice(coalesce_seconds=300)
    last: dict = {}
    sent = 0
    for i in range(10):  # ten messages, 20 seconds apart
        plan = plan_fanout(
            request(*targets, at=NOW + timedelta(seconds=20 * i)), cfg, profiles, last
        )
        for key in plan.alerted:
            last[key] = NOW + timedelta(seconds=20 * i)
        sent += len(plan.alerts)
        if i > 0:
            assert plan.coalesced == ["u-1", "u-2"] and not plan.orphan
    assert sent == 3  # u-1 in-app, u-2 in-app + webhook: once
    # After the window, the conversation alerts again.
    later = plan_fanout(request(*targets, at=NOW + timedelta(minutes=10)), cfg, profiles, last)
    assert by_staff(later) == {"u-1": {"in_app"}, "u-2": {"in_app", "webhook"}}


# covers X-SLA-1
def test_escalation_is_not_coalesced_with_message_alerts():
    last = {("u-1", "message"): NOW}
    targets = escalation_targets(("u-1",), None, practice(front_line_staff_ids=("u-f",)))
    plan = plan_fanout(
        request(*targets, kind="escalation"),
        practice(front_line_staff_ids=("u-f",)),
        {"u-1": staff("u-1")},
        last,
    )
    assert by_staff(plan) == {"u-1": {"in_app"}, "u-f": {"in_app"}}
    assert {a.kind for a in plan.alerts} == {"escalation"}
    assert not plan.orphan


# covers I-NOTIFY-1
def test_link_opens_inbox_or_patient_page_as_the_practice_chose():
    inbox = plan_fanout(request(("u-1", "s"), patient_id="p-1"), practice(), {}, {})
    assert inbox.alerts[0].link == f"/inbox/conversations/{CONV}"
    page = plan_fanout(
        request(("u-1", "s"), patient_id="p-1"), practice(link_target="patient_page"), {}, {}
    )
    assert page.alerts[0].link == f"/patients/p-1/communications?conversation={CONV}"
    unlinked = plan_fanout(request(("u-1", "s")), practice(link_target="patient_page"), {}, {})
    assert unlinked.alerts[0].link == f"/inbox/conversations/{CONV}"


def test_sla_target_per_reason_overrides_practice_default():
    from switchboard.events import SlaTarget

    cfg = practice(sla_minutes=120, sla_by_reason=(SlaTarget(reason="refills", minutes=30),))
    assert cfg.sla_target("refills") == 30
    assert cfg.sla_target("billing") == 120
    assert practice().sla_target("refills") is None
