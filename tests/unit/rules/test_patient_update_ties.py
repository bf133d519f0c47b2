"""One rule for two PatientUpserted of one patient with the same source time (issue 20): the
later in the log wins, in every consumer. Before, pm-sync kept the higher event id while
ingest, the router and the inbox projection kept the later one, so the patient panel and the
inbox could show different records of one patient."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from switchboard.events import PatientUpserted
from switchboard.inbox_projection.model import Fold
from switchboard.pm_sync.domain.projection import fold as pm_fold
from switchboard.pm_sync.domain.schedule import latest_patients
from switchboard.rules.contacts import replaces

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
HIGH, LOW = uuid.UUID(int=2**127 + 5), uuid.UUID(int=7)


def upsert(event_id: uuid.UUID, family: str) -> PatientUpserted:
    return PatientUpserted(
        event_id=event_id,
        correlation_id=event_id,
        occurred_at=AT,
        practice_id="demo",
        patient_id="p-tie",
        given_name="Jane",
        family_name=family,
        phones=(f"+1212555{len(family):04d}",),
        source_updated_at=AT,
    )


@pytest.mark.parametrize(
    "log",
    [
        (upsert(HIGH, "First"), upsert(LOW, "Second")),
        (upsert(LOW, "First"), upsert(HIGH, "Second")),
    ],
)
def test_every_consumer_keeps_the_later_of_two_equal_stamps(log):
    # ingest and the router: the rule itself
    assert replaces(log[0].source_updated_at, log[1].source_updated_at)
    # pm-sync: the batch fold and the panel's newest record
    assert latest_patients(log)["p-tie"].family_name == "Second"
    assert [p.family_name for p in pm_fold(log).patients] == ["Second"]
    # the inbox projection
    inbox = Fold(emit=False)
    inbox.apply(log)
    assert inbox.patients[("demo", "p-tie")].family_name == "Second"


def test_an_older_update_delivered_late_never_wins():
    newer = upsert(LOW, "Newer")
    older = upsert(HIGH, "Older").model_copy(update={"source_updated_at": AT.replace(hour=8)})
    assert not replaces(newer.source_updated_at, older.source_updated_at)
    assert latest_patients([newer, older])["p-tie"].family_name == "Newer"
