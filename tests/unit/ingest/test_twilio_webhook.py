"""The SMS webhook's edge behaviour, with the publisher replaced by an in-memory one."""

from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from switchboard.events import deterministic_id
from switchboard.ingest.app import build_app
from switchboard.ingest.settings import IngestSettings
from switchboard.ingest.twilio import signature, signature_valid
from switchboard.platform.kafka import PublishError

TOKEN = "test-token"
URL = "http://testserver/webhooks/twilio/sms/demo"


class FakePublisher:
    def __init__(self, fail: bool = False) -> None:
        self.published = []
        self.fail = fail

    async def publish(self, events, timeout_s=None):
        if self.fail:
            raise PublishError("Kafka did not acknowledge within 5s")
        self.published.extend(events)


@pytest.fixture
def publisher():
    return FakePublisher()


@pytest.fixture
def client(publisher):
    app = build_app(IngestSettings(twilio_auth_token=TOKEN, practices=["demo"]))
    app.state.runtime = SimpleNamespace(publisher=publisher)
    return TestClient(app)  # no lifespan: no Kafka here


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
    assert event.body == "hi"


def test_same_line_same_sender_is_one_thread_other_line_another(client, publisher):
    post(client, params(MessageSid="SM1"))
    post(client, params(MessageSid="SM2"))
    post(client, params(MessageSid="SM3", To="+12125559999"))
    a, b, c = publisher.published
    assert a.conversation_id == b.conversation_id  # covers I-LINE-1
    assert c.conversation_id != a.conversation_id


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


def test_media_without_url_is_422(client, publisher):
    r = post(client, params(NumMedia="1"))
    assert r.status_code == 422
    assert "MediaUrl0" in r.json()["detail"]


def test_mms_media_become_attachments(client, publisher):
    r = post(
        client,
        params(NumMedia="1", MediaUrl0="https://media.example/1", MediaContentType0="image/jpeg"),
    )
    assert r.status_code == 200
    [a] = publisher.published[0].attachments
    assert a.content_type == "image/jpeg" and a.ref == "https://media.example/1"


def test_unknown_practice_is_404(client, publisher):
    url = "http://testserver/webhooks/twilio/sms/nobody"
    r = post(client, params(), url=url)
    assert r.status_code == 404
    assert publisher.published == []


def test_kafka_unavailable_is_503_so_the_provider_retries():
    app = build_app(IngestSettings(twilio_auth_token=TOKEN))
    app.state.runtime = SimpleNamespace(publisher=FakePublisher(fail=True))
    r = post(TestClient(app), params())
    assert r.status_code == 503
