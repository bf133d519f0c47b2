"""The SMS and voicemail webhooks' edge behaviour, with the publisher replaced by an
in-memory one and the contacts look-up by a stand-in."""

import pytest
from ingest_fakes import TOKEN, FakePublisher, make_client

from switchboard.events import deterministic_id
from switchboard.ingest.adapters.twilio import signature, signature_valid

URL = "http://testserver/webhooks/twilio/sms/demo"
VM_URL = "http://testserver/webhooks/twilio/voicemail/demo"


@pytest.fixture
def publisher():
    return FakePublisher()


@pytest.fixture
def client(tmp_path, publisher):
    return make_client(tmp_path, publisher)


def params(**over):
    return {
        "MessageSid": "SM123",
        "From": "+12125550101",
        "To": "+12125550000",
        "Body": "hi",
    } | over


def post(client, data, url=URL, sig=None):
    headers = {"X-Twilio-Signature": sig if sig is not None else signature(TOKEN, url, data)}
    return client.post(url.removeprefix("http://testserver"), data=data, headers=headers)


def test_signature_covers_url_and_every_param():
    p = params()
    sig = signature(TOKEN, URL, p)
    assert signature_valid(TOKEN, URL, p, sig)
    assert not signature_valid(TOKEN, URL, p | {"Body": "changed"}, sig)
    assert not signature_valid(TOKEN, URL + "?x=1", p, sig)
    assert not signature_valid("other-token", URL, p, sig)
    assert not signature_valid(TOKEN, URL, p, None)


def test_valid_sms_is_published_once_with_an_id_from_the_provider(client, publisher):
    r = post(client, params())
    assert r.status_code == 200
    assert "<Response>" in r.text
    [event] = publisher.published
    assert event.event_id == deterministic_id("demo", "twilio", "SM123")
    assert event.channel == "sms" and event.recipient == "+12125550000"
    assert event.body == "hi" and event.line_label == "Front desk"


def test_retried_webhook_has_the_same_event_id(client, publisher):
    post(client, params())
    post(client, params())
    a, b = publisher.published
    assert a.event_id == b.event_id and a.conversation_id == b.conversation_id


def test_same_line_same_sender_is_one_thread_other_line_another(client, publisher):
    post(client, params(MessageSid="SM1"))
    post(client, params(MessageSid="SM2"))
    post(client, params(MessageSid="SM3", To="+12125559999"))
    a, b, c = publisher.published
    assert a.conversation_id == b.conversation_id  # covers I-LINE-1
    assert c.conversation_id != a.conversation_id
    assert c.line_label == "Billing"


def test_each_sms_from_an_unrecognized_number_is_its_own_communication(tmp_path):
    publisher = FakePublisher()
    client = make_client(tmp_path, publisher, recognized=False)
    post(client, params(MessageSid="SM1"))
    post(client, params(MessageSid="SM2"))
    a, b = publisher.published
    assert a.conversation_id != b.conversation_id  # covers I-THREAD-1


def test_a_number_that_is_no_line_of_the_practice_is_404(client, publisher):
    assert post(client, params(To="+19995550000")).status_code == 404
    # another practice's line is not this practice's (T-1)
    assert post(client, params(To="+13105550000")).status_code == 404
    assert publisher.published == []


@pytest.mark.parametrize("sig", ["", "bm90IGEgc2lnbmF0dXJl"])
def test_bad_or_missing_signature_is_403_and_nothing_published(client, publisher, sig):
    r = post(client, params(), sig=sig)
    assert r.status_code == 403
    assert publisher.published == []


def test_missing_field_is_422_naming_it(client, publisher):
    data = params()
    del data["From"]
    r = post(client, data)
    assert r.status_code == 422
    assert "From is required" in r.json()["detail"]
    assert publisher.published == []


def test_body_too_long_is_422(client, publisher):
    r = post(client, params(Body="x" * 20_001))
    assert r.status_code == 422 and "Body" in r.json()["detail"]
    assert publisher.published == []


def test_wrong_content_type_is_415(client, publisher):
    r = client.post("/webhooks/twilio/sms/demo", json=params())
    assert r.status_code == 415


def test_media_without_url_is_422(client, publisher):
    r = post(client, params(NumMedia="1"))
    assert r.status_code == 422
    assert "MediaUrl0" in r.json()["detail"]


def test_mms_media_are_fetched_into_the_store(tmp_path):
    publisher = FakePublisher()
    client = make_client(
        tmp_path, publisher, media={"https://media.example/1": (200, b"\xff\xd8jpeg")}
    )
    r = post(
        client,
        params(NumMedia="1", MediaUrl0="https://media.example/1", MediaContentType0="image/jpeg"),
    )
    assert r.status_code == 200
    [a] = publisher.published[0].attachments
    assert a.content_type == "image/jpeg" and a.size_bytes == 6
    assert a.ref.startswith("store:demo/")
    assert (tmp_path / "attachments" / a.ref.removeprefix("store:")).read_bytes() == b"\xff\xd8jpeg"


def test_mms_media_over_the_limit_is_413_and_nothing_published(tmp_path):
    publisher = FakePublisher()
    client = make_client(tmp_path, publisher, media={"https://media.example/1": (200, b"x" * 1001)})
    r = post(client, params(NumMedia="1", MediaUrl0="https://media.example/1"))
    assert r.status_code == 413
    assert publisher.published == []


def test_media_the_provider_cannot_serve_is_503_so_it_retries(tmp_path):
    publisher = FakePublisher()
    client = make_client(tmp_path, publisher, media={})
    r = post(client, params(NumMedia="1", MediaUrl0="https://media.example/gone"))
    assert r.status_code == 503 and publisher.published == []


def test_media_urls_kept_as_refs_when_fetching_is_off(tmp_path):
    publisher = FakePublisher()
    client = make_client(tmp_path, publisher, fetch_media=False)
    post(client, params(NumMedia="1", MediaUrl0="https://media.example/1"))
    [a] = publisher.published[0].attachments
    assert a.ref == "https://media.example/1"


def test_unknown_practice_is_404(client, publisher):
    url = "http://testserver/webhooks/twilio/sms/nobody"
    r = post(client, params(), url=url)
    assert r.status_code == 404
    assert publisher.published == []


def test_kafka_unavailable_is_503_so_the_provider_retries(tmp_path):
    client = make_client(tmp_path, FakePublisher(fail=True))
    r = post(client, params())
    assert r.status_code == 503


def voicemail(**over):
    return {
        "CallSid": "CA1",
        "RecordingSid": "RE1",
        "RecordingUrl": "https://api.example/Recordings/RE1",
        "RecordingDuration": "42",
        "From": "+12125550101",
        "To": "+12125550000",
        "Digits": "3",
        "TranscriptionText": "please refill my prescription",
    } | over


def test_voicemail_carries_caller_line_extension_recording_and_transcription(client, publisher):
    r = post(client, voicemail(), url=VM_URL)
    assert r.status_code == 200
    [e] = publisher.published
    assert e.channel == "voicemail" and e.sender == "+12125550101"
    assert e.recipient == "+12125550000"
    assert e.voicemail_extension == "3"  # covers R-OVERWRITE-1 (the router maps it)
    assert e.body == "please refill my prescription"
    [rec] = e.attachments
    assert rec.ref.endswith("/RE1") and rec.duration_s == 42
    assert e.event_id == deterministic_id("demo", "twilio-voicemail", "RE1")


def test_voicemail_from_a_known_patient_joins_their_thread_on_that_number(client, publisher):
    post(client, params(MessageSid="SM1"))
    post(client, voicemail(), url=VM_URL)
    sms, vm = publisher.published
    assert sms.conversation_id == vm.conversation_id


def test_voicemail_bad_extension_or_number_is_refused(client, publisher):
    assert post(client, voicemail(Digits="3; drop"), url=VM_URL).status_code == 422
    assert post(client, voicemail(To="+19995550000"), url=VM_URL).status_code == 404
    assert post(client, voicemail(RecordingDuration="long"), url=VM_URL).status_code == 422
    assert publisher.published == []


def test_the_patient_page_api_answers_the_practice_site_origin_only(tmp_path):
    client = make_client(tmp_path, FakePublisher(), patient_page_origins=["https://clinic.test"])
    pre = {"access-control-request-method": "POST"}
    ok = client.options("/patient/demo/sessions", headers=pre | {"origin": "https://clinic.test"})
    assert ok.headers.get("access-control-allow-origin") == "https://clinic.test"
    other = client.options("/patient/demo/sessions", headers=pre | {"origin": "https://evil.test"})
    assert "access-control-allow-origin" not in other.headers


def test_while_rotating_a_signature_by_the_secondary_token_is_accepted(tmp_path, publisher):
    client = make_client(tmp_path, publisher, twilio_secondary_auth_token="secondary-token")
    p = params(MessageSid="SMrot1")
    assert post(client, p, sig=signature("secondary-token", URL, p)).status_code == 200
    assert post(client, p, sig=signature(TOKEN, URL, p)).status_code == 200
    q = params(MessageSid="SMrot2")
    assert post(client, q, sig=signature("retired-token", URL, q)).status_code == 403
    assert post(client, q, sig=signature("dev-twilio-auth-token", URL, q)).status_code == 403
