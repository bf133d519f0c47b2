"""The patient's language (X-LANG-1): which language the page speaks (the switch, the
patient's preferred language, the browser's Accept-Language, English), the page's one
catalogue, reasons and the emergency notice in that language."""

from __future__ import annotations

import re
import uuid

import pytest
from ingest_fakes import FakePublisher, make_client
from peer_answers import patient, reasons_offer

from switchboard.events.internal.pm_sync import PatientSummary
from switchboard.events.internal.router import ReasonsOffer
from switchboard.ingest.domain.language import choose, from_accept_language, supported
from switchboard.ingest.domain.page_text import PAGE_TEXT, page_text
from switchboard.ingest.domain.patient_words import (
    SPANISH_EMERGENCY_NOTICE,
    SPANISH_REASONS,
    emergency_notice,
    reasons_in,
)
from switchboard.ingest.entrypoints.page import WEB
from switchboard.ingest.entrypoints.patient_api import PatientSession, patient_session


def test_the_switch_wins_then_the_preferred_language_then_the_browser_then_english():
    # covers X-LANG-2
    assert choose("en", "es", "es") == "en"  # the patient switched to English
    assert choose(None, "es", "en-US,en;q=0.9") == "es"  # signed in: the PM system's
    assert choose(None, None, "es-MX,es;q=0.9,en;q=0.5") == "es"  # before sign-in
    assert choose(None, None, None) == "en"
    # a language the page does not speak falls through to the next
    assert choose("fr", "zh", "ko,es;q=0.4") == "es"
    assert choose("fr", "ru", "de") == "en"


def test_accept_language_follows_quality_values_and_ignores_the_unknown():
    # covers X-LANG-2
    assert from_accept_language("en;q=0.5, es;q=0.8") == "es"
    assert from_accept_language("es;q=0, en;q=0.1") == "en"  # q=0: not acceptable
    assert from_accept_language("fr-CA, es-419;q=0.9, en;q=0.9") == "es"  # a tie keeps order
    assert from_accept_language("*") is None
    assert from_accept_language("en;q=abc, es") == "es"
    assert from_accept_language("") is None
    assert from_accept_language("x" * 10_000 + ",es") is None  # a huge header is cut
    assert supported("ES_us") == "es" and supported("eng") is None and supported(None) is None


def test_every_entry_is_in_every_language_with_the_same_values():
    # covers X-LANG-1
    for key, words in PAGE_TEXT.items():
        assert set(words) == {"en", "es"}, key
        en, es = (set(re.findall(r"\{(\w+)\}", words[lang])) for lang in ("en", "es"))
        assert en == es, key
        assert words["es"].strip() and words["es"] != key
    assert page_text("es")["send"] == "Enviar" and page_text("en")["send"] == "Send"


def test_every_word_the_page_shows_comes_from_the_catalogue():
    # covers X-LANG-1: one way for the whole page
    html = (WEB / "patient.html").read_text()
    scripts = "".join((WEB / n).read_text() for n in ("patient.js", "patient_office.js"))
    used = set(re.findall(r'data-t(?:-label)?="([a-z_]+)"', html))
    used |= set(re.findall(r"\bt\('([a-z_]+)'", scripts))
    used |= set(re.findall(r"'((?:err|secure)_[a-z_]+)'", scripts))
    assert used, "the page marks its words"
    assert used <= set(PAGE_TEXT), used - set(PAGE_TEXT)
    # the HTML's own English is the catalogue's (what shows before the words arrive)
    for key, text in re.findall(r'data-t="([a-z_]+)"[^>]*>([^<]+)<', html):
        assert " ".join(text.split()) == PAGE_TEXT[key]["en"], key


def test_reasons_in_spanish_by_default_or_in_the_practices_own_words():
    # covers X-LANG-3
    offered = [
        {"code": "billing", "label": "Billing", "description": "Bills."},
        {"code": "vaccines", "label": "Vaccines", "description": ""},
        {"code": "other", "label": "Other", "description": "Anything else."},
    ]
    assert reasons_in(offered, "en") == offered
    es = reasons_in(offered, "es")
    assert [r["label"] for r in es] == ["Facturación", "Vaccines", "Otro"]
    assert es[0]["description"] == SPANISH_REASONS["billing"][1]
    assert es[1]["description"] == ""  # no description stays none
    own = {"vaccines": {"label": "Vacunas", "description": "Vacunas y refuerzos."}}
    mine = reasons_in(offered, "es", own)
    assert mine[1] == {"code": "vaccines"} | own["vaccines"]
    assert mine[0]["label"] == "Facturación"


def test_the_emergency_notice_in_the_patients_language():
    # covers X-LANG-1
    assert emergency_notice("Call 911.", "en", {"es": "Llame al 112."}) == "Call 911."
    assert emergency_notice("Call 911.", "es", {"es": "Llame al 112."}) == "Llame al 112."
    assert emergency_notice("Call 911.", "es", {}) == SPANISH_EMERGENCY_NOTICE


@pytest.fixture
def client(tmp_path):
    return make_client(tmp_path, FakePublisher())


def test_the_page_before_sign_in_speaks_the_browsers_language(client):
    # covers X-LANG-2, X-LANG-1
    body = client.get("/patient/demo/practice", headers={"accept-language": "es-US,en;q=0.5"})
    assert body.json()["language"] == "es"
    assert body.json()["emergency_notice"] == SPANISH_EMERGENCY_NOTICE
    english = client.get("/patient/demo/practice", headers={"accept-language": "fr, en;q=0.2"})
    assert english.json()["language"] == "en" and "911" in english.json()["emergency_notice"]
    words = client.get("/patient-assets/text/es")
    assert words.status_code == 200 and words.json()["continue"] == "Continuar"
    assert words.headers["content-security-policy"].startswith("default-src 'self'")
    for bad in ("fr", "ES", "es-MX", "..%2fpage.py"):
        assert client.get(f"/patient-assets/text/{bad}").status_code == 404
    assert client.get("/patient-assets/patient_text.js").status_code == 200


def test_reasons_are_offered_in_the_language_the_page_asks_in(tmp_path):
    # covers X-LANG-3
    own = {"demo": {"es": {"billing": {"label": "Pagos"}}}}
    client = make_client(tmp_path, FakePublisher(), reason_translations=own)

    async def signed_in() -> PatientSession:
        return PatientSession("demo", "p1", uuid.uuid4(), "messenger", "+12125550101", "+1")

    async def reasons(practice_id: str, conversation_id: uuid.UUID) -> ReasonsOffer:
        offered = [
            {"code": "billing", "label": "Billing", "description": "Bills."},
            {"code": "other", "label": "Other", "description": "Anything else."},
        ]
        return ReasonsOffer.model_validate(reasons_offer(True, "new_conversation", offered))

    client.app.dependency_overrides[patient_session] = signed_in
    client.app.state.peers.reasons = reasons
    auth = {"authorization": "Bearer t"}
    es = client.get("/patient/demo/reasons", headers=auth | {"accept-language": "es"}).json()
    assert [(r["label"], r["description"]) for r in es["reasons"]] == [
        ("Pagos", SPANISH_REASONS["billing"][1]),
        SPANISH_REASONS["other"],
    ]
    en = client.get("/patient/demo/reasons", headers=auth).json()
    assert [r["label"] for r in en["reasons"]] == ["Billing", "Other"]


def test_an_automatic_notice_is_in_the_language_the_patients_at_the_address_share():
    # covers X-LANG-5
    from switchboard.ingest.adapters.mail import secure_notice_body, secure_notice_subject
    from switchboard.ingest.domain.patient_words import notice_language

    def speaking(*languages: str | None) -> list[PatientSummary]:
        return [
            PatientSummary.model_validate(
                patient(f"p{i}", "Ana", "Ruiz", "1990-01-01", preferred_language=language)
            )
            for i, language in enumerate(languages)
        ]

    assert notice_language(speaking("es-MX")) == "es"
    assert notice_language(speaking("es", "es")) == "es"
    # a family sharing the address who do not agree: English
    assert notice_language(speaking("es", None)) == "en"
    assert notice_language(speaking("zh")) == "en"
    assert notice_language([]) == "en"
    body = secure_notice_body("https://page.test/demo/secure/1?t=x", "es")
    assert "Léalo y responda aquí: https://page.test/demo/secure/1?t=x" in body
    assert secure_notice_subject("es") == "Tiene un nuevo mensaje seguro"
    assert secure_notice_subject() == "You have a new secure message"
