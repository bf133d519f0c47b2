"""The patient panel and the projection's fold, pure.

# covers I-PANEL-1 (age, local time, care team and primary contact, five encounters)
"""

from datetime import UTC, date, datetime, timedelta

from switchboard.events import AppointmentChanged, CareTeamUpserted, deterministic_id
from switchboard.pm_sync.domain.panel import age_on, build_panel, effective_care_team
from switchboard.pm_sync.domain.projection import fold

NOW = datetime(2026, 6, 3, 16, 55, tzinfo=UTC)
PATIENT = {
    "patient_id": "p-1",
    "given_name": "Ana",
    "family_name": "Diaz",
    "birth_date": date(1980, 6, 4),
    "phones": ["+12125550101"],
    "emails": [],
    "preferred_language": "es",
    "timezone": "America/New_York",
    "care_team": ["u-dr-1"],
    "primary_contact": "u-dr-1",
}


def appt(aid: str, start: datetime, status: str = "booked", version: int = 0, at=NOW):
    eid = deterministic_id("demo", aid, str(version), status, at.isoformat())
    return AppointmentChanged(
        event_id=eid,
        occurred_at=at,
        practice_id="demo",
        correlation_id=eid,
        appointment_id=aid,
        patient_id="p-1",
        change="booked",
        status=status,
        start=start,
        location_id="loc-1",
        provider_id="dr-1",
        source_updated_at=at,
        source_version=version,
    )


def test_age_turns_on_the_birthday():
    assert age_on(date(1980, 6, 4), date(2026, 6, 3)) == 45
    assert age_on(date(1980, 6, 4), date(2026, 6, 4)) == 46
    assert age_on(None, date(2026, 6, 4)) is None


def test_care_team_primary_contact_of_a_care_team_wins():
    teams = [
        {
            "care_team_id": "ct-1",
            "members": ["u-ma-1"],
            "primary_contact": "u-ma-1",
            "active": True,
        },
        {"care_team_id": "ct-2", "members": ["u-x"], "primary_contact": None, "active": False},
    ]
    members, primary = effective_care_team(PATIENT, teams)
    assert members == ["u-dr-1", "u-ma-1"] and primary == "u-ma-1"
    assert effective_care_team(PATIENT, []) == (["u-dr-1"], "u-dr-1")


def test_panel_five_encounters_upcoming_first_and_the_next_appointment():
    days = [1, 20, -2, -30, -5, -60, 3]
    appts = [appt(f"a{d}", NOW + timedelta(days=d)) for d in days]
    appts.append(appt("gone", NOW + timedelta(days=2), "cancelled", version=1))
    p = build_panel(PATIENT, [], appts, NOW, "UTC", {"loc-1": "Manhattan"}, {})
    assert [e.appointment_id for e in p.encounters] == ["a1", "a3", "a20", "a-2", "a-5"]
    assert p.next_appointment is not None and p.next_appointment.appointment_id == "a1"
    assert p.encounters[0].location_name == "Manhattan"
    assert p.age == 45 and p.local_time.utcoffset() == timedelta(hours=-4)


def test_fold_keeps_the_newest_version_per_appointment_whatever_the_order():
    old = appt("a", NOW + timedelta(days=1), at=NOW - timedelta(hours=2))
    new = appt("a", NOW + timedelta(days=4), at=NOW - timedelta(hours=1))
    for order in ([old, new], [new, old], [new, old, new, old]):
        folded = fold(order)
        assert [a.start for a in folded.appointments] == [new.start]
    team = CareTeamUpserted(
        event_id=deterministic_id("ct"),
        occurred_at=NOW,
        practice_id="demo",
        correlation_id=deterministic_id("ct"),
        care_team_id="ct-1",
        patient_id="p-1",
        source_updated_at=NOW,
    )
    assert fold([team, team]).care_teams == [team]
