"""Steps on the patient messenger page (ingest's /patient/{practice}) for browser tests, and
the demo practice's patients to use there.

The demo practice that scripts/up.sh loads is `generate_demo()` with its default seed and
today's date (America/New_York): generating it again here gives the same patients, so a test
knows a real patient's name, date of birth and mobile number.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from system_support import System

from switchboard_demo.practice import LOCATIONS, DemoPractice, generate_demo

# The numbers scripts/demo_messages.py texts from: their conversations are already open.
_DEMO_SMS_NUMBERS = {"+12125550101", "+12125550102", "+17185550103", "+17185550104"}
_demo: DemoPractice | None = None


@dataclass(frozen=True)
class DemoPatientRef:
    patient_id: str
    given: str
    family: str
    birth_date: date
    phone: str  # E.164
    email: str | None
    location_name: str  # where the upcoming appointment is
    appointment_start: datetime

    @property
    def name(self) -> str:
        return f"{self.given} {self.family}"

    @property
    def local_phone(self) -> str:
        """The number as a patient types it: (212) 555-0123."""
        n = self.phone.removeprefix("+1")
        return f"({n[:3]}) {n[3:6]}-{n[6:]}"


def demo_practice() -> DemoPractice:
    global _demo
    if _demo is None:
        _demo = generate_demo()
    return _demo


def demo_patients_with_upcoming_appointment(location_name: str) -> list[DemoPatientRef]:
    """The demo patients with a booked appointment still to come at the location of this name
    (Manhattan, Brooklyn, Queens), in a stable order; each has a mobile number of their own
    (no family shares it) that no demo SMS came from, so their messenger thread starts empty."""
    demo = demo_practice()
    location = next(loc for loc in LOCATIONS if loc.name == location_name)
    sharing: dict[str, int] = {}
    for p in demo.patients:
        sharing[p.phone] = sharing.get(p.phone, 0) + 1
    now = datetime.now(UTC)
    found: dict[str, DemoPatientRef] = {}
    for a in sorted(demo.appointments, key=lambda a: (a.start, a.appointment_id)):
        if a.location_id != location.location_id or a.status != "booked" or a.start <= now:
            continue
        p = demo.patient(a.patient_id)
        if p.patient_id in found or sharing[p.phone] > 1 or p.phone in _DEMO_SMS_NUMBERS:
            continue
        found[p.patient_id] = DemoPatientRef(
            p.patient_id, p.given, p.family, p.birth_date, p.phone, p.email, location.name, a.start
        )
    return sorted(found.values(), key=lambda r: r.patient_id)


def demo_patient_with_upcoming_appointment(location_name: str, index: int = 0) -> DemoPatientRef:
    """One such patient; tests sharing a system take different `index`es so their threads
    do not meet."""
    return demo_patients_with_upcoming_appointment(location_name)[index]


def patient_page_url(system: System, practice: str = "demo") -> str:
    return f"{system.ingest}/patient/{practice}"


def fill_identity(
    page: Page,
    patient: DemoPatientRef,
    *,
    birth_date: date | None = None,
    phone: bool = True,
    language: str | None = "English",
) -> None:
    """Fill in and send the identity check. `language`: the switch's button the patient uses
    first (X-LANG-2): a demo patient may prefer Spanish, and the page would then speak it
    after sign-in; None leaves the choice to the page."""
    if language is not None:
        switch = page.get_by_role("group", name=re.compile(r"^(Language|Idioma)$"))
        switch.get_by_role("button", name=language).click()
    page.get_by_label("First name").fill(patient.given)
    page.get_by_label("Last name").fill(patient.family)
    page.get_by_label("Date of birth").fill((birth_date or patient.birth_date).isoformat())
    if phone:
        page.get_by_label("Mobile number").fill(patient.local_phone)
    page.get_by_role("button", name="Continue").click()


def patient_sign_in(
    page: Page, system: System, patient: DemoPatientRef, practice: str = "demo"
) -> None:
    """Open the messenger and pass the identity check (name, date of birth, mobile number)."""
    page.goto(patient_page_url(system, practice))
    fill_identity(page, patient)
    expect(page.get_by_role("heading", name="Your messages")).to_be_visible()


def patient_send(
    page: Page, text: str, reason: str | None = None, attachment: Path | str | None = None
) -> None:
    """Write and send a message: pick `reason` (its label) when given, attach a file when
    given; waits until the message is in the thread."""
    if reason is not None:
        page.get_by_role("group", name="What is your message about?").get_by_role(
            "radio", name=reason
        ).check()
    page.get_by_label("Your message", exact=True).fill(text)
    if attachment is not None:
        page.get_by_label("Attach files").set_input_files(str(attachment))
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_have_text("Sent.")
    expect(thread(page).get_by_text(text)).to_be_visible()


def thread(page: Page):
    return page.get_by_role("log", name="Conversation")


def pick_reason_if_asked(page: Page, label: str | None = None) -> None:
    """When the page asks what the message is about (reason routing on and the picker offered,
    R-REASON-2), pick `label`, or the first reason. The page asks the router first: wait a
    little for the picker before deciding it is not shown."""
    picker = page.get_by_role("group", name="What is your message about?")
    with contextlib.suppress(PlaywrightTimeout):
        picker.wait_for(state="visible", timeout=5_000)
    if not picker.is_visible():
        return
    if label is None:
        picker.get_by_role("radio").first.check()
    else:
        picker.get_by_role("radio", name=label).check()
