"""docs/settings.md is generated from the settings classes: a setting added, removed or
re-documented in code without regenerating it fails here (CI catches the drift)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "settings_reference.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False
    )


def test_committed_settings_reference_matches_the_code() -> None:
    result = _run("--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_reference_lists_each_service_setting_with_its_secrecy() -> None:
    text = (ROOT / "docs" / "settings.md").read_text()
    rows = {
        line.split("|")[1].strip(" `") + "/" + line.split("|")[2].strip(): line
        for line in text.splitlines()
        if line.startswith("| `SWITCHBOARD_")
    }
    # A service's own setting, a shared one, and secrets typed SecretStr or named as such.
    assert "| no |" in rows["SWITCHBOARD_MLLP_PORT/pm-sync"]
    assert "| no |" in rows["SWITCHBOARD_KAFKA_BOOTSTRAP/all"]
    assert "| yes |" in rows["SWITCHBOARD_LINK_SECRET/ingest"]
    assert "| yes |" in rows["SWITCHBOARD_DATABASE_URL/all"]
    # Secret defaults are never printed (the dev values are not documentation).
    assert "dev-link-secret" not in text


def test_secret_keys_cover_every_secret_row() -> None:
    keys = set(_run("--secret-keys").stdout.split())
    assert {"SWITCHBOARD_DATABASE_URL", "SWITCHBOARD_JWT_SECRET", "SWITCHBOARD_LINK_SECRET"} <= keys
    assert "SWITCHBOARD_TOKEN_TTL_S" not in keys
