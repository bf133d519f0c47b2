"""The patient page in the patient's language (X-LANG-1): a demo patient whose preferred
language in the PM system is Spanish signs in and the page speaks Spanish; the switch in the
header turns it to English and back for the session; the reason picker names the reasons in
Spanish and a message goes with one. Before sign-in, the browser's language chooses."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from patient_steps import (
    demo_patients_with_upcoming_appointment,
    demo_practice,
    patient_page_url,
)
from playwright.sync_api import expect
from staff_steps import screenshot

ADMIN = ("admin@demo", "demo-admin")
STAFF = "u-ma-manhattan-1"
LOCATION = "Manhattan"


def spanish_speaking_patient():
    """The first Manhattan patient from index 60 on (other tests use those below) whose
    preferred language is Spanish."""
    demo = demo_practice()
    patients = demo_patients_with_upcoming_appointment(LOCATION)[60:]
    return next(p for p in patients if demo.patient(p.patient_id).language[0] == "es")


@pytest.fixture
def billing_offered(demo_system) -> Iterator[None]:
    """Reason routing on, a Manhattan MA subscribed to Billing (so the picker shows); put
    back afterwards."""
    admin = demo_system.login(*ADMIN)
    base = f"{demo_system.gateway}/api/admin/routing"
    routing = httpx.get(base, headers=admin).json()
    old = next((s for s in routing["subscriptions"] if s.get("staff_id") == STAFF), None)
    keep = (
        {k: list(old.get(k, [])) for k in ("reasons", "locations", "providers", "inboxes")}
        if old
        else {}
    )
    new = keep | {"reasons": sorted(set(keep.get("reasons", [])) | {"billing"})}
    httpx.put(f"{base}/subscriptions/{STAFF}", json=new, headers=admin).raise_for_status()
    r = httpx.patch(f"{base}/settings", json={"reason_routing": True}, headers=admin)
    assert r.status_code == 200, r.text
    yield
    httpx.patch(
        f"{base}/settings", json={"reason_routing": routing["reason_routing"]}, headers=admin
    )
    restore = keep or {"reasons": [], "locations": [], "providers": [], "inboxes": []}
    httpx.put(f"{base}/subscriptions/{STAFF}", json=restore, headers=admin)


def test_a_spanish_speaking_patient_uses_the_page_in_spanish(demo_system, browser, billing_offered):
    # covers X-LANG-1, X-LANG-2, X-LANG-3
    patient = spanish_speaking_patient()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto(patient_page_url(demo_system))
        # an English browser: the sign-in is in English, with the switch offered
        expect(page.get_by_role("heading", name="Confirm your identity")).to_be_visible()
        switch = page.get_by_role("group", name="Language")
        expect(switch.get_by_role("button", name="Español")).to_be_visible()
        page.get_by_label("First name").fill(patient.given)
        page.get_by_label("Last name").fill(patient.family)
        page.get_by_label("Date of birth").fill(patient.birth_date.isoformat())
        page.get_by_label("Mobile number").fill(patient.local_phone)
        page.get_by_role("button", name="Continue").click()

        # signed in: the PM system says Spanish, so the page speaks Spanish
        expect(page.get_by_role("heading", name="Sus mensajes")).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", "es")
        expect(page.get_by_role("note", name="Emergencias")).to_contain_text("llame al 911")
        picker = page.get_by_role("group", name="¿De qué trata su mensaje?")
        expect(picker).to_be_visible()
        expect(picker.locator("label", has_text="Facturación")).to_contain_text(
            "Facturas, pagos, seguro médico y costos."
        )
        expect(picker).to_contain_text("¿No sabe cuál elegir? Elija Otro")
        expect(page.get_by_role("button", name="Enviar")).to_be_visible()
        for width in (1280, 800):
            page.set_viewport_size({"width": width, "height": 900})
            screenshot(page, f"patient-page-spanish-{width}")
        page.set_viewport_size({"width": 1280, "height": 900})

        # the switch: English, then back to Spanish
        page.get_by_role("group", name="Idioma").get_by_role("button", name="English").click()
        expect(page.get_by_role("heading", name="Your messages")).to_be_visible()
        picker = page.get_by_role("group", name="What is your message about?")
        expect(picker.locator("label", has_text="Billing")).to_be_visible()
        expect(page.get_by_role("button", name="English")).to_have_attribute("aria-pressed", "true")
        # remembered for the session: a reload stays in English
        page.reload()
        expect(page.get_by_role("heading", name="Your messages")).to_be_visible()
        page.get_by_role("group", name="Language").get_by_role("button", name="Español").click()
        expect(page.get_by_role("heading", name="Sus mensajes")).to_be_visible()

        # a message with a reason picked in Spanish
        page.get_by_role("group", name="¿De qué trata su mensaje?").get_by_role(
            "radio", name="Facturación"
        ).check()
        page.get_by_label("Su mensaje", exact=True).fill("Tengo una pregunta sobre mi factura.")
        page.get_by_role("button", name="Enviar").click()
        expect(page.get_by_role("status")).to_have_text("Enviado.")
        sent = page.get_by_role("log", name="Conversación").locator("li.msg.patient").last
        expect(sent).to_contain_text("Tengo una pregunta sobre mi factura.")
        expect(sent).to_contain_text("Usted")
        screenshot(page, "patient-page-spanish-sent-1280")
    finally:
        context.close()


def test_before_sign_in_a_spanish_browser_gets_spanish(demo_system, browser):
    # covers X-LANG-2
    context = browser.new_context(viewport={"width": 800, "height": 900}, locale="es-MX")
    page = context.new_page()
    try:
        page.goto(patient_page_url(demo_system))
        expect(page.get_by_role("heading", name="Confirme su identidad")).to_be_visible()
        expect(page.get_by_label("Fecha de nacimiento")).to_be_visible()
        page.get_by_role("button", name="Continuar").click()
        expect(page.get_by_role("alert")).to_contain_text("Complete: Nombre")
        screenshot(page, "patient-page-sign-in-spanish-800")
    finally:
        context.close()
