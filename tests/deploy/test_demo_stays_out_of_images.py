"""The demo practice (tools/demo_practice, package switchboard_demo) is for `make up`, tests and
benchmarks only: no library or service imports it, the Dockerfile copies nothing of it but the
pyproject uv needs to read the lock, and the pm-sync wheel an image installs holds no demo."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_no_library_or_service_uses_the_demo() -> None:
    users = [
        str(p.relative_to(ROOT))
        for base in ("libs", "services")
        for p in sorted((ROOT / base).rglob("*.py"))
        if "switchboard_demo" in p.read_text()
    ]
    assert users == []


def test_the_dockerfile_copies_only_the_demos_pyproject() -> None:
    copies = re.findall(r"^COPY\s+(?!--from)(.+)$", (ROOT / "Dockerfile").read_text(), re.M)
    sources = [src for line in copies for src in line.split()[:-1]]
    assert "." not in sources and "tools" not in sources
    assert [s for s in sources if s.startswith("tools")] == ["tools/demo_practice/pyproject.toml"]


@pytest.mark.skipif(shutil.which("uv") is None, reason="needs uv")
def test_the_pm_sync_wheel_holds_no_demo(tmp_path: Path) -> None:
    subprocess.run(
        ["uv", "build", "--wheel", "--out-dir", str(tmp_path), "services/pm-sync"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("switchboard_pm_sync-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "switchboard/pm_sync/entrypoints/app.py" in names
    assert not [n for n in names if "demo" in n or "fhir_server" in n]
