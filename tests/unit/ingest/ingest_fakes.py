"""Stand-ins for the ingest unit tests: an in-memory publisher and an app wired without
Kafka or PostgreSQL (whose few database reads are replaced per test)."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
from fastapi.testclient import TestClient

from switchboard.ingest.adapters.attachments import FilesystemStore
from switchboard.ingest.app import build_app, wire
from switchboard.ingest.settings import IngestSettings, Line
from switchboard.platform.kafka import PublishError

TOKEN = "test-token"
EMAIL_SECRET = "test-email-webhook-secret"
LINES = [
    Line(practice_id="demo", channel="sms", address="+12125550000", label="Front desk"),
    Line(practice_id="demo", channel="sms", address="+12125559999", label="Billing"),
    Line(practice_id="demo", channel="voice", address="+12125550000"),
    Line(practice_id="demo", channel="email", address="front@demo.test"),
    Line(practice_id="other", channel="sms", address="+13105550000"),
    Line(practice_id="other", channel="email", address="front@other.test"),
]


class FakePublisher:
    def __init__(self, fail: bool = False) -> None:
        self.published: list = []
        self.fail = fail

    async def publish(self, events, timeout_s=None):
        if self.fail:
            raise PublishError("Kafka did not acknowledge within 5s")
        self.published.extend(events)


def settings(tmp_path, **over) -> IngestSettings:
    return IngestSettings(
        twilio_auth_token=TOKEN,
        email_webhook_secret=EMAIL_SECRET,
        practices=["demo"],
        lines=LINES,
        attachment_dir=str(tmp_path / "attachments"),
        max_attachment_bytes=1000,
        **over,
    )


def make_client(
    tmp_path,
    publisher: FakePublisher,
    *,
    recognized: bool = True,
    media: dict[str, tuple[int, bytes]] | None = None,
    **over,
) -> TestClient:
    s = settings(tmp_path, **over)
    app = build_app(s)
    runtime = SimpleNamespace(publisher=publisher, sessionmaker=None)
    app.state.runtime = runtime
    wire(app, s, runtime, FilesystemStore(s.attachment_dir))

    async def _recognized(practice_id: str, sender: str) -> bool:
        return recognized

    app.state.intake.recognized = _recognized
    files = media or {}

    def serve(request: httpx.Request) -> httpx.Response:
        status, data = files.get(str(request.url), (404, b""))
        return httpx.Response(status, content=data)

    app.state.intake.client = httpx.AsyncClient(transport=httpx.MockTransport(serve))
    return TestClient(app)  # no lifespan: no Kafka, no database
