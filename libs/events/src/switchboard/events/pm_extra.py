"""Practice-management events beyond pm.py: a patient's care team from a FHIR CareTeam.

`PatientUpserted` carries the care team the PM system states on the patient itself (HL7
PD1-4 / ROL, FHIR Patient.generalPractitioner). A FHIR CareTeam is a separate resource that
changes on its own, so it gets its own event with its whole current state:

* the patient's effective care team = `PatientUpserted.care_team` plus the `members` of every
  active `CareTeamUpserted` for that patient (latest `source_updated_at` per care_team_id);
* a `primary_contact` set here takes precedence over the one on `PatientUpserted`;
* `active=False` (CareTeam inactive / entered-in-error) withdraws this team's members.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime

from switchboard.events.envelope import Event
from switchboard.events.registry import register
from switchboard.events.topics import Topic


@register
class CareTeamUpserted(Event):
    """A patient's care team (staff members, primary contact) as the practice-management
    system holds it now."""

    topic = Topic.PM
    event_type: Literal["CareTeamUpserted"] = "CareTeamUpserted"
    version: Literal[1] = 1

    care_team_id: str
    patient_id: str
    members: tuple[str, ...] = ()  # staff user ids
    primary_contact: str | None = None
    active: bool = True
    source_updated_at: AwareDatetime

    def partition_key(self) -> str:
        # Same key as the patient: one patient's events stay in order.
        return f"{self.practice_id}:patient:{self.patient_id}"
