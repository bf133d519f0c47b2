"""Start-up in each deployment mode, with the real console scripts (issue 13, item 1):
production without its secrets exits non-zero at once, naming each missing secret; dev warns
once and runs; production with its secrets (from files, as Kubernetes mounts them) runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from router_process import free_port

from switchboard.platform.settings import ServiceSettings

BIN = Path(sys.executable).parent
# What each service must be given in production (see docs/security.md, the secrets table).
REQUIRED = {
    "gateway": ["SWITCHBOARD_JWT_SECRET", "SWITCHBOARD_INTERNAL_TOKEN"],
    "ingest": [
        "SWITCHBOARD_TWILIO_AUTH_TOKEN",
        "SWITCHBOARD_EMAIL_WEBHOOK_SECRET",
        "SWITCHBOARD_LINK_SECRET",
        "SWITCHBOARD_INTERNAL_TOKEN",
        "SWITCHBOARD_INTERNAL_CALLERS",
    ],
    "router": ["SWITCHBOARD_INTERNAL_CALLERS"],
    "notifier": ["SWITCHBOARD_INTERNAL_CALLERS"],
    "pm-sync": ["SWITCHBOARD_INTERNAL_CALLERS"],
}


def bare_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No SWITCHBOARD_* from the shell, an empty secrets directory, and nothing reachable: a
    service that did not refuse would fail on the database instead (and touch nothing)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    return env | {
        "SWITCHBOARD_SECRETS_DIR": str(tmp_path / "empty"),
        "SWITCHBOARD_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
        "SWITCHBOARD_KAFKA_BOOTSTRAP": "127.0.0.1:1",
        "SWITCHBOARD_HTTP_PORT": str(free_port()),
        "SWITCHBOARD_SMTP_LISTEN_PORT": str(free_port()),
        "SWITCHBOARD_MLLP_PORT": str(free_port()),
        **extra,
    }


def test_production_without_secrets_refuses_to_start_naming_each_one(tmp_path):
    procs = {
        s: subprocess.Popen(
            [str(BIN / f"switchboard-{s}"), "run"],
            env=bare_env(tmp_path),  # SWITCHBOARD_ENV unset: production is the default
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for s in [*REQUIRED, "inbox-projection"]
    }
    results = {}
    for service, proc in procs.items():
        try:
            # A bound for a hung process, not a measure: the refusal comes before any
            # connection (a few seconds of imports), but a machine shared by many runs is slow.
            # The inbox projection has no secret and keeps running (it waits for its database
            # and Kafka): it is stopped once the others have answered and it had as long.
            bound = 600 if service in REQUIRED else 30
            out, err = proc.communicate(timeout=bound)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            err += "\n(killed: still running after the bound)"
        results[service] = (proc.returncode, out, err)
    for service, names in REQUIRED.items():
        code, out, err = results[service]
        assert code not in (0, None), f"{service} started in production without its secrets"
        refusal = [line for line in err.splitlines() if "refusing to start" in line]
        assert len(refusal) == 1, f"{service} exited {code}: {err[-2000:]}"
        for name in names:
            assert name in refusal[0], f"{service} does not name {name}: {refusal[0]}"
        assert "secrets_refused" in out  # the same names in the JSON log
    # The inbox projection holds no secret: it gets past the check (and waits for its database).
    code, _, err = results["inbox-projection"]
    assert "refusing to start" not in err


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(BIN / "switchboard-router"), "run"], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def _ready(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"router exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail(f"router not ready: {log.read_text()[-2000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def router_env(tmp_path, settings: ServiceSettings):
    env = bare_env(
        tmp_path,
        SWITCHBOARD_DATABASE_URL=settings.database_url,
        SWITCHBOARD_KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
        SWITCHBOARD_TOPIC_PREFIX=settings.topic_prefix,
    )
    subprocess.run(
        [str(BIN / "switchboard-router"), "migrate"], env=env, check=True, capture_output=True
    )
    return env


def test_dev_mode_warns_once_naming_the_secrets_and_runs(tmp_path, router_env):
    port = int(router_env["SWITCHBOARD_HTTP_PORT"])
    log = tmp_path / "router-dev.log"
    proc = _start(router_env | {"SWITCHBOARD_ENV": "dev"}, log)
    try:
        _ready(proc, port, log)
    finally:
        _stop(proc)
    warnings = [x for x in log.read_text().splitlines() if "secrets_not_set_dev_mode" in x]
    assert len(warnings) == 1 and "SWITCHBOARD_INTERNAL_CALLERS" in warnings[0]


def test_production_with_secrets_from_files_runs(tmp_path, router_env):
    callers = tmp_path / "callers.json"
    callers.write_text(json.dumps({"gateway": "g" * 40}))
    callers.chmod(0o600)
    port = int(router_env["SWITCHBOARD_HTTP_PORT"])
    log = tmp_path / "router-prod.log"
    env = router_env | {
        "SWITCHBOARD_ENV": "production",
        "SWITCHBOARD_INTERNAL_CALLERS_FILE": str(callers),
    }
    proc = _start(env, log)
    try:
        _ready(proc, port, log)
    finally:
        _stop(proc)
    text = log.read_text()
    assert "secrets_not_set_dev_mode" not in text and "secrets_refused" not in text
    assert "g" * 40 not in text
