"""Render every kustomize overlay and validate every object offline with kubeconform.

    uv run --frozen python scripts/k8s_validate.py        # make k8s-validate

Schemas come from the package registries at first use and are cached under
$SB_CACHE/k8s-validate (nothing fetched is committed):
- kubeconform: built from the Go module proxy (`go install`).
- Kubernetes' own kinds: the strict JSON Schemas shipped in the `kubernetes-validate` wheel
  (PyPI); their `/api/_definitions.json` references are made relative for kubeconform.
- KEDA (ScaledObject) and the Prometheus Operator (ServiceMonitor, PrometheusRule): the CRDs in
  their Go modules (`go mod download -json`).
- Strimzi (Kafka, KafkaNodePool, KafkaTopic, KafkaUser): `io.strimzi:api` and
  `io.strimzi:crd-generator` from Maven Central, whose CrdGenerator writes the same CRDs (full
  openAPIV3Schema) Strimzi releases; the api jar itself holds no CRD files.
CRD schemas are made strict (no unknown fields where the CRD lists properties), as kubeconform's
-strict does for Kubernetes' kinds. A kind with no schema is an error, not a skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("SB_CACHE", ROOT / ".cache")) / "k8s-validate"

KUBECONFORM = "github.com/yannh/kubeconform/cmd/kubeconform@v0.6.7"
KUSTOMIZE = "sigs.k8s.io/kustomize/kustomize/v5@v5.5.0"  # only where kubectl is absent
KUBERNETES_VERSION = "1.32.0"
KUBERNETES_VALIDATE = "kubernetes-validate==1.32.0"
KEDA = ("github.com/kedacore/keda/v2@v2.16.1", "config/crd/bases")
PROMETHEUS_OPERATOR = (
    "github.com/prometheus-operator/prometheus-operator@v0.79.2",
    "example/prometheus-operator-crd",
)
STRIMZI_VERSION = "0.45.0"
STRIMZI_KINDS = {
    "io.strimzi.api.kafka.model.kafka.Kafka": "kafka.yaml",
    "io.strimzi.api.kafka.model.nodepool.KafkaNodePool": "kafkanodepool.yaml",
    "io.strimzi.api.kafka.model.topic.KafkaTopic": "kafkatopic.yaml",
    "io.strimzi.api.kafka.model.user.KafkaUser": "kafkauser.yaml",
}
STAMP = json.dumps(
    [KUBECONFORM, KUBERNETES_VALIDATE, KEDA, PROMETHEUS_OPERATOR, STRIMZI_VERSION, STRIMZI_KINDS, 4]
)


class _Loader(yaml.SafeLoader):
    """PyYAML reads a bare `=` (an enum value in the Prometheus Operator's CRDs) as YAML 1.1's
    obsolete value tag; it is just the string."""


_Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: node.value)


def _run(cmd: list[str], **kw: Any) -> str:
    result = subprocess.run(  # noqa: S603 (our own commands)
        cmd, capture_output=True, text=True, check=False, **kw
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{env.get('PATH', '')}:/usr/local/go/bin"
    env.setdefault("GOFLAGS", "-mod=mod")
    return env


def _go_install(module: str, name: str) -> Path:
    binary = CACHE / "bin" / name
    if not binary.exists():
        _run(["go", "install", module], env={**_go_env(), "GOBIN": str(binary.parent)})
    return binary


def _go_module_dir(module: str) -> Path:
    return Path(json.loads(_run(["go", "mod", "download", "-json", module], env=_go_env()))["Dir"])


def _strict(node: Any) -> Any:
    """additionalProperties: false wherever an object lists its properties and says nothing
    of others (kubeconform's -strict applies only to schemas that say so)."""
    if isinstance(node, dict):
        out = {k: _strict(v) for k, v in node.items()}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_strict(v) for v in node]
    return node


def _crd_schemas(crd_files: list[Path], out: Path) -> list[str]:
    """Write <group>/<kind>_<version>.json for every CRD version; return the kinds written."""
    kinds = []
    for path in crd_files:
        for crd in yaml.load_all(path.read_text(), Loader=_Loader):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                schema = version.get("schema", {}).get("openAPIV3Schema")
                if not schema:
                    continue
                target = out / group / f"{kind.lower()}_{version['name']}.json"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(json.dumps(_strict(schema)))
                kinds.append(f"{group}/{version['name']}/{kind}")
    return kinds


def _kubernetes_schemas(out: Path) -> None:
    wheel = CACHE / "download" / "kubernetes-validate"
    if not wheel.exists():
        _run(["uv", "pip", "install", "--no-deps", "--target", str(wheel), KUBERNETES_VALIDATE])
    src = wheel / "kubernetes_validate" / "kubernetes-json-schema"
    src = src / f"v{KUBERNETES_VERSION}-local-strict"
    defs = json.loads((src / "_definitions.json").read_text())["$defs"]
    out.mkdir(parents=True, exist_ok=True)
    for path in src.glob("*.json"):
        text = path.read_text()
        if '"kind"' not in text or path.name.startswith("_"):
            continue  # not a resource kind (kubeconform only looks up those)
        # Self-contained: kubeconform cannot follow the wheel's "/api/_definitions.json" refs.
        text = text.replace('"/api/_definitions.json#', '"#')
        schema = json.loads(text)
        schema["$defs"] = _closure(schema, defs)
        (out / path.name).write_text(json.dumps(schema))


def _closure(schema: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """The definitions `schema` refers to, directly or through each other."""
    found: dict[str, Any] = {}
    todo = [schema]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            ref = ref if isinstance(ref, str) else ""
            if ref.startswith("#/$defs/") and ref[8:] not in found:
                found[ref[8:]] = defs[ref[8:]]
                todo.append(defs[ref[8:]])
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return found


def _strimzi_crds(work: Path) -> list[Path]:
    pom = work / "pom.xml"
    pom.write_text(
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        "<groupId>local.switchboard</groupId><artifactId>strimzi-crds</artifactId>"
        "<version>1</version><dependencies>"
        + "".join(
            f"<dependency><groupId>io.strimzi</groupId><artifactId>{a}</artifactId>"
            f"<version>{STRIMZI_VERSION}</version></dependency>"
            for a in ("api", "crd-generator")
        )
        + "</dependencies></project>"
    )
    classpath = work / "cp.txt"
    _run(
        ["mvn", "-q", "-B", "dependency:build-classpath", f"-Dmdep.outputFile={classpath}"],
        cwd=work,
    )
    out = work / "crds"
    out.mkdir(exist_ok=True)
    _run(
        [
            "java",
            "-cp",
            classpath.read_text().strip(),
            "io.strimzi.crdgenerator.CrdGenerator",
            "--target-kube",
            "1.16+",
            "--crd-api-version",
            "v1",
            "--api-versions",
            "v1beta2",
            "--storage-version",
            "v1beta2",
            "--yaml",
            *(f"{cls}={out / name}" for cls, name in STRIMZI_KINDS.items()),
        ],
        cwd=work,
    )
    return sorted(out.glob("*.yaml"))


def prepare() -> tuple[Path, Path]:
    """kubeconform and the schema folder, built once and cached."""
    schemas = CACHE / "schemas"
    kubeconform = _go_install(KUBECONFORM, "kubeconform")
    stamp = CACHE / "schemas.stamp"
    if stamp.exists() and stamp.read_text() == STAMP:
        return kubeconform, schemas
    shutil.rmtree(schemas, ignore_errors=True)
    _kubernetes_schemas(schemas / "kubernetes")
    crd_files = []
    for module, folder in (KEDA, PROMETHEUS_OPERATOR):
        crd_files += sorted((_go_module_dir(module) / folder).glob("*.yaml"))
    with tempfile.TemporaryDirectory() as tmp:
        crd_files += _strimzi_crds(Path(tmp))
        kinds = _crd_schemas(crd_files, schemas / "crds")
    for needed in (
        "keda.sh/v1alpha1/ScaledObject",
        "kafka.strimzi.io/v1beta2/KafkaTopic",
        "kafka.strimzi.io/v1beta2/KafkaUser",
        "monitoring.coreos.com/v1/ServiceMonitor",
    ):
        if needed not in kinds:
            raise RuntimeError(f"no schema for {needed}")
    stamp.write_text(STAMP)
    return kubeconform, schemas


def kustomize(path: Path) -> str:
    if shutil.which("kubectl"):
        return _run(["kubectl", "kustomize", str(path)])
    return _run([str(_go_install(KUSTOMIZE, "kustomize")), "build", str(path)])


def kubeconform(manifests: str) -> list[dict[str, Any]]:
    """kubeconform's findings for every object that is not valid (empty: all valid)."""
    binary, schemas = prepare()
    result = subprocess.run(  # noqa: S603 (our own binary)
        [
            str(binary),
            "-strict",
            "-output",
            "json",
            "-kubernetes-version",
            KUBERNETES_VERSION,
            "-schema-location",
            f"{schemas}/kubernetes/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json",
            "-schema-location",
            f"{schemas}/crds/{{{{ .Group }}}}/{{{{ .ResourceKind }}}}_"
            "{{ .ResourceAPIVersion }}.json",
            "-",
        ],
        input=manifests,
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(result.stdout or "{}")
    bad = [r for r in report.get("resources", []) if r.get("status") != "statusValid"]
    if result.returncode != 0 and not bad:
        raise RuntimeError(f"kubeconform failed:\n{result.stdout}\n{result.stderr}")
    return bad


def overlays() -> list[Path]:
    """Every overlay, and the resources applied beside them (Kafka, monitoring)."""
    found = sorted(p.parent for p in (ROOT / "deploy" / "overlays").glob("*/kustomization.yaml"))
    return found + [
        ROOT / "deploy" / d
        for d in ("kafka", "observability")
        if (ROOT / "deploy" / d / "kustomization.yaml").exists()
    ]


def main() -> int:
    failed = False
    for overlay in overlays():
        bad = kubeconform(kustomize(overlay))
        for r in bad:
            print(f"{overlay.relative_to(ROOT)}: {r.get('kind')} {r.get('name')}: {r.get('msg')}")
        failed |= bool(bad)
        print(f"{overlay.relative_to(ROOT)}: {'INVALID' if bad else 'valid'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
