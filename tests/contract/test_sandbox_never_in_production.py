"""The local carrier and mail sandbox (tools/sandbox) never reaches production: it is no
workspace package (nothing installs it), the image build copies no tools/ source, no service
or library imports it, and scripts/up.sh is its only starter, under the run's supervisord,
with the services pointed at it (docs/operations.md, "The local sandbox is never in
production")."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_sandbox_is_not_a_package_any_image_or_service_can_get():
    workspace = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]
    assert not any("sandbox" in m or m == "tools/*" for m in workspace["members"])
    copies = re.findall(r"^COPY\s+(\S+)", (ROOT / "Dockerfile").read_text(), re.M)
    assert not [c for c in copies if c.startswith("tools") and not c.endswith("pyproject.toml")]
    importers = [
        p
        for tree in ("libs", "services")
        for p in (ROOT / tree).rglob("*.py")
        if "tools.sandbox" in p.read_text()
    ]
    assert importers == []


def test_make_up_runs_the_sandbox_and_points_the_services_at_it():
    up = (ROOT / "scripts" / "up.sh").read_text()
    assert "[program:sandbox]" in up and "-m tools.sandbox" in up
    assert 'SWITCHBOARD_SMS_API_BASE_URL=\\"$sandbox\\"' in up  # ingest and notifier
    assert 'SWITCHBOARD_SMTP_RELAY_HOST="127.0.0.1"' in up  # ingest's email replies
    assert 'SWITCHBOARD_SMTP_HOST="127.0.0.1"' in up  # notifier's alert emails
    starters = [
        p.relative_to(ROOT)
        for tree in ("scripts", "deploy", "infra", ".ci")
        if (ROOT / tree).exists()
        for p in (ROOT / tree).rglob("*")
        if p.is_file() and "tools.sandbox" in p.read_text(errors="replace")
    ]
    assert starters == [Path("scripts/up.sh")]
