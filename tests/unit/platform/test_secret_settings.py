"""Secrets in settings (issue 13, item 1): declared one way, checked at start-up, read from the
environment or files, never a public default."""

from __future__ import annotations

import io
import json
import typing

import pytest
import structlog
from pydantic import BaseModel, SecretStr

from switchboard.gateway.settings import GatewaySettings
from switchboard.inbox_projection.settings import ProjectionSettings
from switchboard.ingest.settings import IngestSettings
from switchboard.notifier.settings import NotifierSettings
from switchboard.platform.secret_settings import (
    DEV_PLACEHOLDERS,
    Secret,
    enforce_secrets,
    secret_findings,
)
from switchboard.platform.settings import ServiceSettings
from switchboard.pm_sync.settings import PmSyncSettings
from switchboard.router.settings import RouterSettings

SERVICES: list[type[ServiceSettings]] = [
    GatewaySettings,
    IngestSettings,
    RouterSettings,
    ProjectionSettings,
    NotifierSettings,
    PmSyncSettings,
]
GOOD = "k" * 48


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    """No SWITCHBOARD_* from the shell, and an empty secrets directory."""
    import os

    for name in list(os.environ):
        if name.startswith("SWITCHBOARD_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SWITCHBOARD_SECRETS_DIR", str(tmp_path / "no-secrets"))


def _mentions_secret(tp: object) -> bool:
    return tp is SecretStr or any(_mentions_secret(a) for a in typing.get_args(tp))


def _models_in(tp: object) -> list[type[BaseModel]]:
    found = [tp] if isinstance(tp, type) and issubclass(tp, BaseModel) else []
    return found + [m for a in typing.get_args(tp) for m in _models_in(a)]


def _unmarked(model: type[BaseModel], path: str) -> list[str]:
    missing = []
    for name, info in model.model_fields.items():
        marked = any(isinstance(m, Secret) for m in info.metadata)
        if _mentions_secret(info.annotation) and not marked:
            missing.append(f"{path}.{name}")
        for nested in _models_in(info.annotation):
            missing += _unmarked(nested, f"{path}.{name}")
    return missing


def test_every_secret_field_of_every_service_is_declared_with_the_secret_marker():
    # A new SecretStr setting without `Secret(...)` would escape the production check.
    unmarked = [n for cls in SERVICES for n in _unmarked(cls, cls.__name__)]
    assert unmarked == []
    # ... and the walk finds one that is forgotten, nested ones included.
    assert _unmarked(Forgetful, "Forgetful") == ["Forgetful.api_key", "Forgetful.peers.token"]


class Peer(BaseModel):
    token: SecretStr | None = None


class Forgetful(ServiceSettings):
    api_key: SecretStr | None = None
    peers: list[Peer] = []


def test_production_names_each_missing_secret_of_each_service():
    names = {cls.__name__: sorted(f.name for f in secret_findings(cls())) for cls in SERVICES}
    assert names == {
        "GatewaySettings": ["SWITCHBOARD_INTERNAL_TOKEN", "SWITCHBOARD_JWT_SECRET"],
        "IngestSettings": [
            "SWITCHBOARD_EMAIL_WEBHOOK_SECRET",
            "SWITCHBOARD_INTERNAL_CALLERS",
            "SWITCHBOARD_INTERNAL_TOKEN",
            "SWITCHBOARD_LINK_SECRET",
            "SWITCHBOARD_TWILIO_AUTH_TOKEN",
        ],
        "RouterSettings": ["SWITCHBOARD_INTERNAL_CALLERS"],
        "ProjectionSettings": [],
        "NotifierSettings": ["SWITCHBOARD_INTERNAL_CALLERS"],
        "PmSyncSettings": ["SWITCHBOARD_INTERNAL_CALLERS"],
    }


def test_placeholders_and_short_keys_count_as_default_and_good_values_pass():
    callers = {"gateway": GOOD}
    for placeholder in sorted(DEV_PLACEHOLDERS):
        s = GatewaySettings(jwt_secret=placeholder, internal_token=GOOD)
        assert [(f.name, f.why) for f in secret_findings(s)] == [
            ("SWITCHBOARD_JWT_SECRET", "a public development default")
        ]
    short = GatewaySettings(jwt_secret="x" * 31, internal_token=GOOD)
    assert [f.why for f in secret_findings(short)] == ["shorter than 32 characters"]
    assert secret_findings(GatewaySettings(jwt_secret=GOOD, internal_token=GOOD)) == []
    assert secret_findings(RouterSettings(internal_callers=callers)) == []
    stale = RouterSettings(internal_callers={"gateway": [GOOD, "dev-link-secret"]})
    assert [f.name for f in secret_findings(stale)] == ["SWITCHBOARD_INTERNAL_CALLERS"]


def test_feature_credentials_are_required_only_when_the_feature_is_configured():
    base = {"internal_callers": {"gateway": GOOD}}
    assert secret_findings(NotifierSettings(**base)) == []
    sms = NotifierSettings(**base, sms_api_base_url="https://api.twilio.com")
    assert [f.name for f in secret_findings(sms)] == ["SWITCHBOARD_SMS_AUTH_TOKEN"]
    smtp = NotifierSettings(**base, smtp_host="mail", smtp_username="alerts")
    assert [f.name for f in secret_findings(smtp)] == ["SWITCHBOARD_SMTP_PASSWORD"]
    ingest = IngestSettings(
        twilio_auth_token=GOOD,
        email_webhook_secret=GOOD,
        link_secret=GOOD,
        internal_token=GOOD,
        internal_callers={"gateway": GOOD},
        attachment_store="s3",
    )
    assert [f.name for f in secret_findings(ingest)] == ["SWITCHBOARD_S3_SECRET_ACCESS_KEY"]


def test_each_fhir_practice_needs_a_real_token():
    s = PmSyncSettings(
        internal_callers={"gateway": GOOD},
        fhir_practices=[
            {"practice_id": "demo", "base_url": "https://a", "token": "demo-fhir-token"},
            {"practice_id": "north", "base_url": "https://b"},
            {"practice_id": "south", "base_url": "https://c", "token": GOOD},
        ],
    )
    assert [(f.name, f.why) for f in secret_findings(s)] == [
        ("SWITCHBOARD_FHIR_PRACTICES[demo].token", "a public development default"),
        ("SWITCHBOARD_FHIR_PRACTICES[north].token", "missing"),
    ]


def test_secrets_come_from_a_named_file_or_the_secrets_directory(monkeypatch, tmp_path):
    token_file = tmp_path / "jwt"
    token_file.write_text(GOOD + "\n")  # Kubernetes and editors leave a trailing newline
    monkeypatch.setenv("SWITCHBOARD_JWT_SECRET_FILE", str(token_file))
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    (secrets_dir / "internal_token").write_text("t" * 40)
    (secrets_dir / "jwt_previous_secrets").write_text(json.dumps(["p" * 40]))
    monkeypatch.setenv("SWITCHBOARD_SECRETS_DIR", str(secrets_dir))
    s = GatewaySettings()
    assert s.jwt_secret.get_secret_value() == GOOD
    assert s.internal_token is not None and s.internal_token.get_secret_value() == "t" * 40
    assert [k.get_secret_value() for k in s.jwt_previous_secrets] == ["p" * 40]
    assert secret_findings(s) == []
    # A JSON setting from a file: the internal API's accepted callers.
    (secrets_dir / "internal_callers").write_text(json.dumps({"gateway": [GOOD, "n" * 20]}))
    r = RouterSettings()
    assert [t.get_secret_value() for t in r.internal_callers["gateway"]] == [GOOD, "n" * 20]
    # The environment variable itself wins over a file.
    monkeypatch.setenv("SWITCHBOARD_INTERNAL_TOKEN", "e" * 40)
    assert GatewaySettings().internal_token.get_secret_value() == "e" * 40  # type: ignore[union-attr]


def test_a_named_file_that_is_not_there_is_an_error_naming_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("SWITCHBOARD_LINK_SECRET_FILE", str(tmp_path / "absent"))
    with pytest.raises(Exception, match="SWITCHBOARD_LINK_SECRET_FILE"):
        IngestSettings()


def _log_to(stream: io.StringIO) -> typing.Any:
    structlog.configure(
        processors=[structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(stream),
    )
    return structlog.get_logger()


def test_production_exits_naming_every_missing_secret_and_no_value(capsys):
    lines = io.StringIO()
    s = GatewaySettings(jwt_secret="dev-only-secret-change-me-0123456789abcdef")
    with pytest.raises(SystemExit) as exited:
        enforce_secrets(s, "gateway", _log_to(lines))
    assert exited.value.code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "SWITCHBOARD_JWT_SECRET (a public development default)" in err[0]
    assert "SWITCHBOARD_INTERNAL_TOKEN (missing)" in err[0]
    assert "dev-only-secret" not in err[0] and "dev-only-secret" not in lines.getvalue()
    structlog.reset_defaults()


def test_dev_warns_once_with_the_names_only(capsys):
    lines = io.StringIO()
    s = IngestSettings(env="dev", link_secret="dev-link-secret")
    enforce_secrets(s, "ingest", _log_to(lines))  # returns: dev runs on
    logged = [json.loads(x) for x in lines.getvalue().splitlines()]
    assert len(logged) == 1 and logged[0]["event"] == "secrets_not_set_dev_mode"
    assert "SWITCHBOARD_LINK_SECRET" in logged[0]["secrets"]
    assert "SWITCHBOARD_TWILIO_AUTH_TOKEN" in logged[0]["secrets"]
    assert "dev-link-secret" not in lines.getvalue() and capsys.readouterr().err == ""
    structlog.reset_defaults()


def test_the_kafka_password_is_required_once_kafka_is_reached_over_sasl():
    base = {"internal_callers": {"gateway": GOOD}}
    assert secret_findings(RouterSettings(**base)) == []
    sasl = RouterSettings(**base, kafka_security_protocol="SASL_SSL")
    assert [f.name for f in secret_findings(sasl)] == ["SWITCHBOARD_KAFKA_SASL_PASSWORD"]
