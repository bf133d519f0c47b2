"""The patient page (web messenger and secure email link): static files served with a strict
policy, the practice's name before sign-in, what a patient may upload, and the download
header of a file with any name."""

from __future__ import annotations

import re
import uuid
from html.parser import HTMLParser

import pytest
from ingest_fakes import FakePublisher, make_client

from switchboard.events.internal.router import PracticeOffice
from switchboard.ingest.entrypoints.page import WEB
from switchboard.ingest.entrypoints.patient_api import (
    PatientSession,
    content_disposition,
    patient_session,
    upload_type,
)
from switchboard.ingest.settings import IngestSettings


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline_script = False
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if a.get("id"):
            self.ids.append(str(a["id"]))
        if tag == "style" or "style" in a or any(k.startswith("on") for k in a):
            self.inline_script = True  # inline style or handler: the policy would refuse it

    def handle_data(self, data):
        if self.tags and self.tags[-1][0] == "script" and data.strip():
            self.inline_script = True


@pytest.fixture
def client(tmp_path):
    return make_client(tmp_path, FakePublisher())


def test_both_pages_are_the_static_page_with_a_strict_policy(client):
    for path in ("/patient/demo", f"/patient/demo/secure/{uuid.uuid4()}?t=x"):
        r = client.get(path)
        assert r.status_code == 200
        assert r.text == (WEB / "patient.html").read_text()
        csp = r.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "style-src 'self';" in csp
        assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert r.headers["referrer-policy"] == "no-referrer"  # the secure link's token stays
        assert r.headers["x-content-type-options"] == "nosniff"
    assert client.get("/patient/Bad Practice!").status_code == 422
    assert client.get("/patient/demo/secure/not-a-uuid").status_code == 422


def test_the_page_has_no_inline_script_or_style_and_labels_every_field():
    parser = _Tags()
    parser.feed((WEB / "patient.html").read_text())
    assert not parser.inline_script
    scripts = [a for t, a in parser.tags if t == "script"]
    assert scripts == [{"type": "module", "src": "/patient-assets/patient.js"}]
    assert len(parser.ids) == len(set(parser.ids))
    labelled = {a.get("for") for t, a in parser.tags if t == "label"}
    for tag, a in parser.tags:
        if tag in ("input", "textarea", "select") and a.get("type") != "radio":
            assert a.get("id") in labelled, f"{a.get('id')} has no label"
    alerts = [a for t, a in parser.tags if a.get("role") == "alert"]
    assert [a.get("id") for a in alerts] == ["error"]


def test_assets_are_served_and_nothing_else(client):
    js = client.get("/patient-assets/patient.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "innerHTML" not in js.text and "insertAdjacentHTML" not in js.text  # text only
    assert not re.search(r"\beval\(|new Function", js.text)
    assert not re.search(r"""import .* from ['"]https?:""", js.text)  # no third-party code
    css = client.get("/patient-assets/patient.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    for bad in ("patient.html", "../page.py", "other.js", "%2e%2e%2fpage.py"):
        assert client.get(f"/patient-assets/{bad}").status_code == 404


def test_the_practice_name_is_public_and_an_unknown_practice_is_not_found(client):
    # covers X-PATIENTPAGE-1
    r = client.get("/patient/demo/practice")
    assert r.status_code == 200
    # The router is not reachable here: no office, but the name and the emergency notice.
    assert r.json() == {
        "practice_id": "demo",
        "name": "Demo",
        "emergency_notice": IngestSettings().patient_emergency_notice,
        "office": None,
        "language": "en",
        "languages": [{"code": "en", "name": "English"}, {"code": "es", "name": "Español"}],
    }
    assert "911" in r.json()["emergency_notice"]
    assert client.get("/patient/nowhere/practice").status_code == 404


def test_the_practice_office_response_target_hours_and_coming_holidays(tmp_path):
    # covers X-PATIENTPAGE-1
    client = make_client(
        tmp_path, FakePublisher(), patient_emergency_notice="Emergencies: call 112."
    )
    asked = []

    async def office(practice_id: str) -> PracticeOffice:
        asked.append(practice_id)
        return PracticeOffice(
            timezone="America/Chicago",
            sla_minutes=120,
            business_hours=[(0, "08:30", "17:30"), (5, "09:00", "12:00")],
            holidays=["2001-01-01", "2999-12-25"],
        )

    client.app.state.peers.office = office
    body = client.get("/patient/demo/practice").json()
    assert asked == ["demo"]
    assert body["emergency_notice"] == "Emergencies: call 112."
    assert body["office"] == {
        "timezone": "America/Chicago",
        "response_minutes": 120,
        "business_hours": [[0, "08:30", "17:30"], [5, "09:00", "12:00"]],
        "holidays": ["2999-12-25"],  # past ones are left out
    }


def test_only_pictures_pdfs_and_documents_may_be_uploaded():
    assert upload_type("image/JPEG") == "image/jpeg"
    assert upload_type("text/plain; charset=utf-8") == "text/plain"
    assert upload_type("application/pdf") == "application/pdf"
    for bad in ("text/html", "image/svg+xml", "application/javascript", "", "application/x-sh"):
        with pytest.raises(Exception) as refused:
            upload_type(bad)
        assert getattr(refused.value, "status_code", None) == 415


def test_an_upload_of_a_refused_type_is_answered_415_with_a_reason(client):
    async def signed_in() -> PatientSession:
        return PatientSession("demo", "p1", uuid.uuid4(), "messenger", "+12125550101", "+1")

    client.app.dependency_overrides[patient_session] = signed_in
    r = client.post(
        "/patient/demo/attachments",
        params={"filename": "x.html"},
        content=b"<script>alert(1)</script>",
        headers={"content-type": "text/html", "authorization": "Bearer t"},
    )
    assert r.status_code == 415 and "text/html cannot be sent" in r.json()["detail"]
    big = client.post(
        "/patient/demo/attachments",
        content=b"x" * 1001,  # the fakes allow 1000 bytes
        headers={"content-type": "image/png", "authorization": "Bearer t"},
    )
    assert big.status_code == 413 and "at most 1000 bytes" in big.json()["detail"]


def test_a_download_names_its_file_safely_whatever_the_name():
    assert content_disposition("card.pdf") == 'attachment; filename="card.pdf"'
    assert content_disposition(None) == 'attachment; filename="attachment"'
    # Not Latin-1 (the header could not be written: a 500 before): ASCII fallback + UTF-8 name.
    header = content_disposition("результат анализа.pdf")
    header.encode("latin-1")
    assert header.endswith(
        "filename*=UTF-8''%D1%80%D0%B5%D0%B7%D1%83%D0%BB%D1%8C%D1%82%D0%B0%D1%82"
        "%20%D0%B0%D0%BD%D0%B0%D0%BB%D0%B8%D0%B7%D0%B0.pdf"
    )
    # No header splitting or quote breaking.
    tricky = content_disposition('a"b\\c\r\nSet-Cookie: x=1.png')
    assert "\r" not in tricky and "\n" not in tricky
    assert tricky.startswith('attachment; filename="a_b_cSet-Cookie: x=1.png"')
