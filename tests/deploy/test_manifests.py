"""deploy/ renders with kustomize and every object validates against its schema (Kubernetes'
own kinds, KEDA, Strimzi, Prometheus Operator), and the production overlay has what running
in a real cluster needs. The first run fetches the schemas and builds kubeconform (minutes);
later runs use $SB_CACHE/k8s-validate."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from switchboard.events.topics import PARTITIONS

ROOT = Path(__file__).resolve().parents[2]


def _script(name: str) -> Any:
    """A module of scripts/ (they are run as files, not installed)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


k8s = _script("k8s_validate")
settings_reference = _script("settings_reference")

SERVICES = ["gateway", "ingest", "router", "inbox-projection", "notifier", "pm-sync"]


@pytest.fixture(scope="session")
def deploy_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """deploy/ with the production params filled from the example (as an ops team would)."""
    root = tmp_path_factory.mktemp("deploy")
    shutil.copytree(ROOT / "deploy", root / "deploy")
    prod = root / "deploy" / "overlays" / "production"
    (prod / "params.env").unlink(missing_ok=True)
    shutil.copy(prod / "params.env.example", prod / "params.env")
    return root / "deploy"


def _render(path: Path) -> str:
    return k8s.kustomize(path)


def _objects(text: str) -> list[dict[str, Any]]:
    return [o for o in yaml.safe_load_all(text) if o]


@pytest.fixture(scope="session")
def production(deploy_copy: Path) -> list[dict[str, Any]]:
    return _objects(_render(deploy_copy / "overlays" / "production"))


def _targets(deploy_copy: Path) -> Iterator[Path]:
    yield from sorted(p.parent for p in (deploy_copy / "overlays").glob("*/kustomization.yaml"))
    for extra in ("kafka", "observability"):
        if (deploy_copy / extra / "kustomization.yaml").exists():
            yield deploy_copy / extra


def test_every_overlay_and_the_kafka_resources_validate(deploy_copy: Path) -> None:
    kinds: set[str] = set()
    for target in _targets(deploy_copy):
        text = _render(target)
        assert k8s.kubeconform(text) == [], target.name
        kinds |= {o["kind"] for o in _objects(text)}
    # The custom resources were validated too (a kind without a schema would have failed).
    assert {"ScaledObject", "TriggerAuthentication", "KafkaUser", "Ingress"} <= kinds
    assert {"ServiceMonitor", "PrometheusRule"} <= kinds  # deploy/observability


@pytest.mark.parametrize(
    ("kind", "path", "value"),
    [
        ("ScaledObject", ["spec", "maxReplicas"], 6),  # KEDA spells it maxReplicaCount
        ("KafkaUser", ["spec", "authentication", "type"], "scram-sha-256"),  # not a choice
        ("Deployment", ["spec", "template", "spec", "containers", 0, "livenessprobe"], {}),
        ("Service", ["spec", "ports", 0, "port"], "eighty"),  # an integer
    ],
)
def test_validation_rejects_a_wrong_field(
    production: list[dict[str, Any]], kind: str, path: list[Any], value: Any
) -> None:
    obj = yaml.safe_load(yaml.safe_dump(next(o for o in production if o["kind"] == kind)))
    node = obj
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    bad = k8s.kubeconform(yaml.safe_dump(obj))
    assert [b["kind"] for b in bad] == [kind]


def test_production_does_not_render_without_its_params(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy")
    (tmp_path / "deploy" / "overlays" / "production" / "params.env").unlink(missing_ok=True)
    with pytest.raises(RuntimeError, match=r"params\.env"):
        _render(tmp_path / "deploy" / "overlays" / "production")


def _by(objs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


def test_production_links_to_the_params_hosts_never_to_a_placeholder(
    production: list[dict[str, Any]],
) -> None:
    text = yaml.safe_dump_all(production)
    assert "switchboard.invalid" not in text
    notifier = _by(production, "Deployment")["switchboard-notifier"]
    env = {
        e["name"]: e.get("value")
        for e in notifier["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["SWITCHBOARD_APP_BASE_URL"] == "https://switchboard.example.org"


def test_every_deployment_is_production_ready(production: list[dict[str, Any]]) -> None:
    accounts = _by(production, "ServiceAccount")
    pdbs = [
        p["spec"]["selector"]["matchLabels"]
        for p in _by(production, "PodDisruptionBudget").values()
    ]
    scaled = {s["spec"]["scaleTargetRef"]["name"] for s in _by(production, "ScaledObject").values()}
    hpas = {
        h["spec"]["scaleTargetRef"]["name"]
        for h in _by(production, "HorizontalPodAutoscaler").values()
    }
    deployments = _by(production, "Deployment")
    assert set(deployments) == {f"switchboard-{s}" for s in SERVICES}
    for name, d in deployments.items():
        pod = d["spec"]["template"]["spec"]
        assert "replicas" not in d["spec"], name  # the autoscaler owns it
        assert pod["automountServiceAccountToken"] is False, name
        assert accounts[pod["serviceAccountName"]]["automountServiceAccountToken"] is False
        assert {c["topologyKey"] for c in pod["topologySpreadConstraints"]} >= {
            "kubernetes.io/hostname",
            "topology.kubernetes.io/zone",
        }
        assert d["spec"]["selector"]["matchLabels"] in pdbs, name
        assert (name in scaled) != (name in hpas), name  # exactly one autoscaler
        for c in pod["containers"]:
            assert c["startupProbe"]["httpGet"]["path"] == "/healthz", name
            assert c["livenessProbe"]["httpGet"]["path"] == "/healthz", name
            assert c["readinessProbe"]["httpGet"]["path"] == "/readyz", name
            assert {"cpu", "memory"} <= set(c["resources"]["requests"]), name
            assert "memory" in c["resources"]["limits"], name


def test_consumers_scale_on_lag_up_to_the_partition_count(production: list[dict[str, Any]]) -> None:
    scaled = _by(production, "ScaledObject")
    groups = {
        t["metadata"]["consumerGroup"]
        for s in scaled.values()
        for t in s["spec"]["triggers"]
        if t["type"] == "kafka"
    }
    assert {"router", "inbox-projection", "notifier", "pm-sync", "ingest-replies"} <= groups
    for s in scaled.values():
        assert s["spec"]["maxReplicaCount"] <= min(PARTITIONS.values())


def test_ingress_routes_public_paths_only_with_tls(production: list[dict[str, Any]]) -> None:
    ingresses = _by(production, "Ingress")
    assert set(ingresses) == {"switchboard-gateway", "switchboard-ingest"}
    for ing in ingresses.values():
        assert ing["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
        hosts = {r["host"] for r in ing["spec"]["rules"]}
        assert hosts == {h for t in ing["spec"]["tls"] for h in t["hosts"]}
        for rule in ing["spec"]["rules"]:
            for p in rule["http"]["paths"]:
                assert not p["path"].startswith("/internal")
                assert p["backend"]["service"]["port"] == {"name": "http"}
    ingest_paths = {
        p["path"]
        for r in ingresses["switchboard-ingest"]["spec"]["rules"]
        for p in r["http"]["paths"]
    }
    assert "/" not in ingest_paths and "/webhooks" in ingest_paths


def test_mllp_and_smtp_are_reachable_from_outside(production: list[dict[str, Any]]) -> None:
    outside = {
        p["targetPort"]
        for s in _by(production, "Service").values()
        if s["spec"].get("type") in ("LoadBalancer", "NodePort")
        for p in s["spec"]["ports"]
    }
    assert {"mllp", "smtp"} <= outside


def _internal_callers_in_code() -> dict[str, set[str]]:
    """callee -> callers, from the settings: a `<peer>_url` setting is a call to that peer."""
    calls: dict[str, set[str]] = {}
    for caller, classes in settings_reference.service_classes().items():
        for cls in classes:
            for field in cls.model_fields:
                peer = field.removesuffix("_url").replace("_", "-")
                if field.endswith("_url") and peer in SERVICES:
                    calls.setdefault(peer, set()).add(caller)
    return calls


def test_internal_ports_admit_only_the_callers_the_code_has(
    production: list[dict[str, Any]],
) -> None:
    allowed: dict[str, set[str]] = {}
    for pol in _by(production, "NetworkPolicy").values():
        callee = pol["spec"]["podSelector"]["matchLabels"].get("app.kubernetes.io/name", "")
        for rule in pol["spec"].get("ingress", []):
            if 8100 not in {p["port"] for p in rule.get("ports", [])}:
                continue
            assert "from" in rule, pol["metadata"]["name"]  # never open to everyone
            for peer in rule["from"]:
                assert set(peer) == {"podSelector"}, pol["metadata"]["name"]
                name = peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
                allowed.setdefault(callee.removeprefix("switchboard-"), set()).add(
                    name.removeprefix("switchboard-")
                )
    assert allowed == _internal_callers_in_code()
    # And the callers are pointed at the internal listener.
    for caller, d in _by(production, "Deployment").items():
        for e in d["spec"]["template"]["spec"]["containers"][0]["env"]:
            peer = (
                e["name"]
                .removeprefix("SWITCHBOARD_")
                .removesuffix("_URL")
                .lower()
                .replace("_", "-")
            )
            if e["name"].endswith("_URL") and peer in SERVICES:
                assert e["value"] == f"http://switchboard-{peer}:8100", caller


def test_migration_job_runs_every_service_migration_once_per_release(
    production: list[dict[str, Any]],
) -> None:
    (job,) = _by(production, "Job").values()
    assert job["metadata"]["name"] == "switchboard-migrate-0.1.0"
    pod = job["spec"]["template"]["spec"]
    steps = pod.get("initContainers", []) + pod["containers"]
    assert sorted(c["name"] for c in steps) == sorted(SERVICES)
    for c in steps:
        assert c["args"] == ["migrate"] and c["image"].endswith(":0.1.0")


def test_every_secret_a_pod_needs_is_documented_or_made_by_the_cluster(
    production: list[dict[str, Any]],
) -> None:
    made = {o["metadata"]["name"] for o in production if o["kind"] == "Secret"}
    examples = {
        p.name.removesuffix(".env.example")
        for p in (ROOT / "deploy" / "secrets").glob("*.env.example")
    }
    for kind in ("Deployment", "Job"):
        for obj in _by(production, kind).values():
            pod = obj["spec"]["template"]["spec"]
            for c in pod.get("initContainers", []) + pod["containers"]:
                for src in c.get("envFrom", []):
                    ref = src.get("secretRef")
                    if ref and not ref.get("optional"):
                        assert ref["name"] in made | examples, ref["name"]


def test_each_service_connects_to_kafka_as_its_own_user(
    production: list[dict[str, Any]], deploy_copy: Path
) -> None:
    users = set()
    if (deploy_copy / "kafka" / "kustomization.yaml").exists():
        users = set(_by(_objects(_render(deploy_copy / "kafka")), "KafkaUser"))
    for name, d in _by(production, "Deployment").items():
        env = {e["name"]: e for e in d["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["SWITCHBOARD_KAFKA_SASL_USERNAME"]["value"] == name
        ref = env["SWITCHBOARD_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": name, "key": "password"}  # Strimzi's Secret for that user
        assert not users or name in users
