"""The whole system, started by scripts/up.sh exactly as `make up` starts it, but on its own
ports, topics, database and run folder, so it never touches a developer's running system."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
DERIVED = ("SB_MLLP_PORT", "SB_DEMO_FHIR_PORT", "SB_SANDBOX_PORT", "SB_SANDBOX_SMTP_PORT")
# scripts/env.sh SERVICES: a service's public port is the port base + its index, its internal
# API's port the port base + 50 + its index.
SERVICES = ("gateway", "ingest", "router", "inbox-projection", "notifier", "pm-sync")


def stranger_number(area: str = "917") -> str:
    """A phone number no demo patient has: the demo practice gives its patients the
    fictional 555-0100..0199 numbers of six area codes (tools/demo_practice), so a test's
    "unknown" sender drawn from the whole 555 exchange was a patient about once in a hundred
    runs (it then threaded into that patient's conversation)."""
    return f"+1{area}555{2000 + uuid.uuid4().int % 8000:04d}"


@dataclass
class System:
    gateway: str
    ingest: str
    topic_prefix: str = ""
    kafka: str = "127.0.0.1:19092"
    database: str = ""
    # The run's random secrets ($SB_RUN_HOME/secrets.env, made by scripts/up.sh).
    secrets: dict[str, str] = field(default_factory=dict)
    port_base: int = 0

    @property
    def twilio_token(self) -> str:
        return self.secrets["SWITCHBOARD_TWILIO_AUTH_TOKEN"]

    @property
    def email_webhook_secret(self) -> str:
        return self.secrets["SWITCHBOARD_EMAIL_WEBHOOK_SECRET"]

    @property
    def link_secret(self) -> str:
        return self.secrets["SWITCHBOARD_LINK_SECRET"]

    def public_url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.port_base + SERVICES.index(service)}"

    @property
    def sandbox(self) -> str:
        """The carrier and mail sandbox (tools/sandbox): scripts/env.sh's port base + 95."""
        return f"http://127.0.0.1:{self.port_base + 95}"

    def internal_url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.port_base + 50 + SERVICES.index(service)}"

    def login(self, username: str, password: str) -> dict[str, str]:
        r = httpx.post(
            f"{self.gateway}/api/auth/login", json={"username": username, "password": password}
        )
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['token']}"}


def read_secrets(run_home: Path) -> dict[str, str]:
    """NAME=value lines of the run's secrets.env."""
    lines = (run_home / "secrets.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


@contextmanager
def running_system(
    run_home: Path, port_base: int, *, demo: bool, extra_env: dict[str, str] | None = None
) -> Iterator[System]:
    """`make up` on `port_base` (with the demo practice when `demo`), stopped afterwards;
    `extra_env` reaches every service (e.g. OTEL_* variables)."""
    prefix = f"e2e{uuid.uuid4().hex[:6]}."
    database = f"sb_e2e_{uuid.uuid4().hex[:8]}"
    # Ports scripts/env.sh derives from the port base: a value inherited from the shell that
    # started pytest (make test exports the defaults) would make two systems collide.
    inherited = {k: v for k, v in os.environ.items() if k not in DERIVED}
    env = inherited | {
        "SB_RUN_HOME": str(run_home),
        "SB_PORT_BASE": str(port_base),
        "SB_DB_NAME": database,
        "SWITCHBOARD_TOPIC_PREFIX": prefix,
        "SWITCHBOARD_ENV": "dev",
    }
    env |= extra_env or {}
    if not demo:
        env["SB_SKIP_DEMO"] = "1"
    try:
        # Inside the try: a timeout while up.sh runs must still stop what it started.
        up = subprocess.run(
            ["bash", "scripts/up.sh"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        if up.returncode != 0:
            logs = "\n".join(
                f"--- {p.name}\n{p.read_text()[-2000:]}" for p in (run_home / "logs").glob("*.log")
            )
            pytest.fail(f"make up failed:\n{up.stdout[-3000:]}\n{up.stderr[-3000:]}\n{logs}")
        yield System(
            gateway=f"http://127.0.0.1:{port_base}",
            ingest=f"http://127.0.0.1:{port_base + 1}",
            topic_prefix=prefix,
            kafka=os.environ.get("SWITCHBOARD_KAFKA_BOOTSTRAP", "127.0.0.1:19092"),
            database=database,
            secrets=read_secrets(run_home),
            port_base=port_base,
        )
    finally:
        subprocess.run(
            ["bash", "scripts/down.sh"], cwd=ROOT, env=env | {"SB_KEEP_INFRA": "1"}, check=False
        )
