"""The Kafka declarations production is deployed from: topic settings, per-service ACLs
checked against the services' code, and the committed Strimzi files against the generator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kafka_wiring import scan_service

from switchboard.events.topics import TOPIC_SPECS, Topic, min_insync_replicas
from switchboard.platform.kafka_access import ACCESS

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "src").is_dir())


def test_every_service_and_topic_is_declared() -> None:
    assert sorted(a.service for a in ACCESS) == SERVICES
    assert set(TOPIC_SPECS) == set(Topic)


def test_min_insync_replicas_tolerates_one_broker_down_in_production() -> None:
    assert min_insync_replicas(3) == 2
    assert min_insync_replicas(1) == 1  # the local single broker can still take writes


@pytest.mark.parametrize("service", SERVICES)
def test_declared_access_matches_what_the_code_consumes_and_publishes(service: str) -> None:
    found = scan_service(service)
    declared = next(a for a in ACCESS if a.service == service)
    assert {g: set(ts) for g, ts in declared.groups.items()} == found.groups
    assert {p: set(ts) for p, ts in declared.group_prefixes.items()} == found.group_prefixes
    assert set(declared.reads_ungrouped) == found.reads_ungrouped
    assert set(declared.writes) == found.writes


def test_committed_manifests_are_the_generated_ones() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "kafka_manifests.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _docs(name: str) -> list[dict]:
    return list(yaml.safe_load_all((ROOT / "deploy" / "kafka" / name).read_text()))


def test_production_topics_are_replicated_and_config_is_not_compacted() -> None:
    topics = {d["spec"]["topicName"]: d["spec"] for d in _docs("topics.yaml")}
    assert set(topics) == {str(t) for t in Topic}
    for spec in topics.values():
        assert spec["replicas"] == 3
        assert spec["config"]["min.insync.replicas"] == 2
    # every config change is folded on replay and shares one key per practice
    assert topics[Topic.CONFIG]["config"]["cleanup.policy"] == "delete"
    assert topics[Topic.CONFIG]["config"]["retention.ms"] == -1
    assert topics[Topic.PRESENCE]["config"]["retention.ms"] <= 24 * 3_600_000
    assert topics[Topic.DEAD_LETTER]["config"]["retention.ms"] >= 30 * 24 * 3_600_000


def test_each_user_writes_only_the_topics_its_service_publishes() -> None:
    users = {d["metadata"]["name"]: d["spec"]["authorization"]["acls"] for d in _docs("users.yaml")}
    for access in ACCESS:
        acls = users[f"switchboard-{access.service}"]
        writes = {a["resource"]["name"] for a in acls if "Write" in a["operations"]}
        reads = {
            a["resource"]["name"]
            for a in acls
            if a["resource"]["type"] == "topic" and "Read" in a["operations"]
        }
        groups = {a["resource"]["name"] for a in acls if a["resource"]["type"] == "group"}
        assert writes == {str(t) for t in access.writes}
        assert reads == {str(t) for t in access.reads}
        assert groups == set(access.groups) | set(access.group_prefixes)
        assert not any(a["resource"].get("name") == "*" for a in acls)
