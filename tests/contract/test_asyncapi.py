"""The committed AsyncAPI document (libs/events/asyncapi.yaml) is what the code generates,
the official parser (@asyncapi/parser, installed from the npm registry into .cache/ by
scripts/asyncapi_parser.sh) accepts it, and it tells a subscriber what it needs: every topic,
keys, CloudEvents headers, described properties, examples, which messages carry PHI."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from switchboard.events import registered_events
from switchboard.events.asyncapi import DOCUMENT_PATH, build, render
from switchboard.events.schemas import schema_for, undescribed
from switchboard.events.topics import TOPIC_SPECS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def document() -> dict:
    return build()


@pytest.fixture(scope="module")
def parser_modules() -> str:
    installed = subprocess.run(
        ["bash", "scripts/asyncapi_parser.sh"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    return installed.stdout.strip().splitlines()[-1]


def _parse(parser_modules: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(ROOT / "tools" / "asyncapi_validate.mjs"), str(path)],
        env=os.environ | {"NODE_PATH": parser_modules},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_committed_document_is_the_generated_one(document):
    assert DOCUMENT_PATH.read_text() == render(document), (
        "libs/events/asyncapi.yaml is stale: run `make schemas` and commit"
    )


def test_the_official_parser_accepts_the_document_and_refuses_a_broken_one(
    parser_modules, tmp_path
):
    ok = _parse(parser_modules, DOCUMENT_PATH)
    assert ok.returncode == 0, ok.stdout[-3000:] + ok.stderr[-3000:]
    summary = json.loads(ok.stdout.strip().splitlines()[-1])
    assert summary["channels"] == len(TOPIC_SPECS)
    # The parser does check: an operation on a channel that does not exist is refused.
    broken = yaml.safe_load(DOCUMENT_PATH.read_text())
    broken["operations"]["publish-messages"]["channel"] = {"$ref": "#/channels/nowhere"}
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(broken))
    assert _parse(parser_modules, tmp_path / "broken.yaml").returncode == 1


def test_every_topic_is_a_channel_and_every_event_a_message(document):
    addresses = {c["address"] for c in document["channels"].values()}
    assert addresses == {t.value for t in TOPIC_SPECS}
    messages = document["components"]["messages"]
    assert set(registered_events()) <= set(messages)
    received = document["channels"]["messages"]
    assert set(received["messages"]) == {"MessageReceived"}
    assert (
        received["bindings"]["kafka"]["partitions"]
        == TOPIC_SPECS[next(t for t in TOPIC_SPECS if t.value == "switchboard.messages")].partitions
    )


@pytest.mark.parametrize("event_type", sorted(registered_events()))
def test_every_published_property_is_described(event_type, document):
    assert undescribed(schema_for(event_type)) == []
    for name, schema in document["components"]["schemas"].items():
        for prop, sub in schema.get("properties", {}).items():
            assert "description" in sub, f"{name}.{prop}"


def test_messages_name_their_key_cloudevents_headers_and_an_example(document):
    message = document["components"]["messages"]["ConversationAssigned"]
    assert "<practice_id>:<conversation_id>" in message["bindings"]["kafka"]["key"]["description"]
    headers = message["headers"]
    assert headers["properties"]["ce_type"]["const"] == "com.switchboard.ConversationAssigned.v1"
    assert {"ce_id", "ce_source", "ce_specversion", "ce_time", "content-type"} <= set(
        headers["required"]
    )
    [example] = message["examples"]
    assert example["payload"]["event_type"] == "ConversationAssigned"
    assert example["headers"]["ce_subject"] == example["payload"]["conversation_id"]


def test_messages_with_patient_data_are_flagged(document):
    messages = document["components"]["messages"]
    received = messages["MessageReceived"]
    assert received["x-phi"] is True and {"name": "phi"} in received["tags"]
    assert {"body", "sender", "patient_id"} <= set(received["x-phi-fields"])
    assert "Holds patient data" in received["bindings"]["kafka"]["key"]["description"]
    for phi in ("PatientUpserted", "ReplyRequested", "MessageDeferred", "AppointmentChanged"):
        assert messages[phi]["x-phi"] is True, phi
    for clean in ("ConversationAssigned", "AlertSent", "ReasonAdded", "PresenceChanged"):
        assert messages[clean]["x-phi"] is False, clean
    assert messages["DeadLetter"]["x-phi"] is True  # the original records, whatever they are
