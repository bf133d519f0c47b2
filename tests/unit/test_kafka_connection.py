"""How Kafka clients connect: plain locally, SASL_SSL with the service's Strimzi user in
production (the password never printed with the settings)."""

from __future__ import annotations

import ssl

from switchboard.platform.kafka import connection
from switchboard.platform.settings import ServiceSettings


def test_local_clients_connect_in_plaintext_without_credentials() -> None:
    options = connection(ServiceSettings(kafka_bootstrap="127.0.0.1:19092"))
    assert options == {"bootstrap_servers": "127.0.0.1:19092", "security_protocol": "PLAINTEXT"}


def test_production_clients_authenticate_over_tls(monkeypatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("SWITCHBOARD_KAFKA_SASL_USERNAME", "switchboard-router")
    monkeypatch.setenv("SWITCHBOARD_KAFKA_SASL_PASSWORD", "s3cret-from-strimzi")
    settings = ServiceSettings(kafka_bootstrap="switchboard-kafka-bootstrap:9093")
    options = connection(settings)
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "switchboard-router"
    assert options["sasl_plain_password"] == "s3cret-from-strimzi"
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert options["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    assert "s3cret" not in repr(settings)
