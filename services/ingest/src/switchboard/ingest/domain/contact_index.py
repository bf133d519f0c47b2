"""Who uses each phone and email, per practice, in memory (I-THREAD-1, I-UNREC-1).

The webhook asks it instead of the database: recognizing a sender costs a dict look-up, and a
webhook never waits on (or defers because of) PostgreSQL once the index is ready. It is fed
the same PatientUpserted records, in the same partition order, as the `ingest-contacts`
consumer that keeps `ingest.contacts`, and decides with the same rule (`replaces`: an older
record is ignored, on an equal stamp the later one in the log wins), so both say the same.

Pure: the feed (adapters/contact_feed.py) loads the table and tails the log into it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from switchboard.rules.contacts import contact_key, contact_keys, replaces

PatientKey = tuple[str, str]  # (practice_id, patient_id)
ContactKey = tuple[str, str]  # (practice_id, contact key)


class ContactIndex:
    def __init__(self) -> None:
        self._patients: dict[PatientKey, tuple[datetime, tuple[str, ...]]] = {}
        self._owners: dict[ContactKey, set[str]] = {}
        # False until the feed loaded the table and caught up its position in the log: the
        # webhook then asks the database, as before.
        self.ready = False

    def __len__(self) -> int:
        return len(self._patients)

    def load(
        self,
        patients: Iterable[tuple[str, str, datetime]],
        contacts: Iterable[tuple[str, str, str]],
    ) -> None:
        """Start from the table's state: patients (practice, patient, source time) and their
        contacts (practice, contact key, patient). Loaded again after a failure, a record the
        index already holds newer is kept: it never goes back while it answers."""
        by_patient: dict[PatientKey, list[str]] = {}
        for practice_id, contact, patient_id in contacts:
            by_patient.setdefault((practice_id, patient_id), []).append(contact)
        for practice_id, patient_id, updated_at in patients:
            key = (practice_id, patient_id)
            known = self._patients.get(key)
            if known is None or known[0] < updated_at:
                self._set(key, updated_at, tuple(sorted(by_patient.get(key, ()))))

    def apply(
        self, practice_id: str, patient_id: str, updated_at: datetime, contacts: Iterable[str]
    ) -> bool:
        """One PatientUpserted (its phones and emails); False when an older record."""
        key = (practice_id, patient_id)
        known = self._patients.get(key)
        if not replaces(known[0] if known else None, updated_at):
            return False
        self._set(key, updated_at, contact_keys(contacts))
        return True

    def owners(self, practice_id: str, contact: str) -> int:
        """How many patients of the practice use `contact`."""
        return len(self._owners.get((practice_id, contact_key(contact)), ()))

    def _set(self, key: PatientKey, updated_at: datetime, keys: tuple[str, ...]) -> None:
        practice_id, patient_id = key
        known = self._patients.get(key)
        for old in known[1] if known else ():
            users = self._owners.get((practice_id, old))
            if users is not None:
                users.discard(patient_id)
                if not users:
                    del self._owners[(practice_id, old)]
        for new in keys:
            self._owners.setdefault((practice_id, new), set()).add(patient_id)
        self._patients[key] = (updated_at, keys)
