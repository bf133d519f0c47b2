"""The shipped alert rules and dashboards are valid PromQL, and the alerts fire when they
should (promtool, built from the Go module proxy by scripts/promtool.sh and cached)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
OBS = ROOT / "deploy" / "observability"


@pytest.fixture(scope="module")
def promtool() -> str:
    built = subprocess.run(
        ["bash", "scripts/promtool.sh"], cwd=ROOT, capture_output=True, text=True, timeout=1500
    )
    assert built.returncode == 0, built.stderr[-3000:]
    return built.stdout.strip().splitlines()[-1]


def _rules() -> dict:
    return yaml.safe_load((OBS / "prometheusrule.yaml").read_text())["spec"]


def test_alert_rules_check_and_their_unit_tests_pass(promtool, tmp_path):
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(_rules()))
    shutil.copy(ROOT / "tests" / "observability" / "rules_test.yaml", tmp_path)
    check = subprocess.run(
        [promtool, "check", "rules", "rules.yaml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    run = subprocess.run(
        [promtool, "test", "rules", "rules_test.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_alert_has_a_runbook_section():
    runbook = (ROOT / "docs" / "operations.md").read_text().lower()
    alerts = [r["alert"] for g in _rules()["groups"] for r in g["rules"] if "alert" in r]
    assert alerts
    for name in alerts:
        rule = next(r for g in _rules()["groups"] for r in g["rules"] if r.get("alert") == name)
        assert rule["annotations"]["runbook"] == f"docs/operations.md#{name.lower()}"
        assert f"### {name.lower()}" in runbook, f"no runbook section for {name}"


def test_dashboard_queries_are_valid_promql(promtool, tmp_path):
    exprs = []
    for path in sorted((OBS / "dashboards").glob("*.json")):
        board = json.loads(path.read_text())
        assert board["panels"], path.name
        exprs += [t["expr"] for p in board["panels"] for t in p["targets"]]
    group = {
        "groups": [
            {
                "name": "dashboards",
                "rules": [{"record": f"dashboard:q{i}", "expr": e} for i, e in enumerate(exprs)],
            }
        ]
    }
    (tmp_path / "dashboards.yaml").write_text(yaml.safe_dump(group))
    check = subprocess.run(
        [promtool, "check", "rules", "dashboards.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_every_series_the_rules_and_dashboards_use_is_one_the_code_exports():
    """A renamed metric must not leave an alert or a panel watching nothing."""
    code = "\n".join(p.read_text() for p in ROOT.glob("[ls]*/**/src/**/*.py"))
    text = (OBS / "prometheusrule.yaml").read_text() + "".join(
        p.read_text() for p in (OBS / "dashboards").glob("*.json")
    )
    for token in sorted(set(re.findall(r"switchboard_[a-z_]+", text))):
        names = {token} | {token.removesuffix(s) for s in ("_bucket", "_count", "_sum", "_total")}
        assert any(f'"{n}"' in code for n in names), f"{token} is used but never exported"
