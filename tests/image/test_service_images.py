"""The container images, built and run for real (podman): one image per service, each runs
its `migrate` command against the local PostgreSQL, then starts against the local Kafka and
PostgreSQL (host network, a database and topic prefix of its own) and must answer /readyz
200 within a bound. Run by `make image-test` (not by `make test`: it needs podman)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from switchboard.platform.kafka import ensure_topics

# Building cold (the base, then the dependency layer) takes minutes on two cores.
pytestmark = [pytest.mark.image, pytest.mark.timeout(2400)]

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ["gateway", "ingest", "router", "inbox-projection", "notifier", "pm-sync"]
PORT_BASE = int(os.environ.get("SB_IMAGE_PORT_BASE", "8800"))
TAG = os.environ.get("SB_IMAGE_TAG", "dev")
READY_WITHIN_S = float(os.environ.get("SB_IMAGE_READY_S", "240"))


def image(service: str) -> str:
    return f"localhost/switchboard-{service}:{TAG}"


@pytest.fixture(scope="module")
def built() -> None:
    """Every service's image (scripts/images.sh: the base and the dependency layers are
    built once and cached; it prints each build's time and size)."""
    if shutil.which("podman") is None:
        pytest.fail("podman is not installed: `make image-test` installs it (scripts/bootstrap.sh)")
    subprocess.run(["bash", "scripts/images.sh", *SERVICES], cwd=ROOT, check=True)


def container_env(service: str, database_url: str, prefix: str, kafka: str) -> dict[str, str]:
    i = SERVICES.index(service)
    port = {s: PORT_BASE + SERVICES.index(s) for s in SERVICES}
    return {
        "SWITCHBOARD_ENV": "dev",
        "SWITCHBOARD_DATABASE_URL": database_url,
        "SWITCHBOARD_KAFKA_BOOTSTRAP": kafka,
        "SWITCHBOARD_TOPIC_PREFIX": prefix,
        # host network: listen on loopback only, on ports of this test's own
        "SWITCHBOARD_HTTP_HOST": "127.0.0.1",
        "SWITCHBOARD_HTTP_PORT": str(port[service]),
        "SWITCHBOARD_INTERNAL_HTTP_PORT": str(PORT_BASE + 50 + i),
        "SWITCHBOARD_MLLP_PORT": str(PORT_BASE + 75),
        "SWITCHBOARD_SMTP_LISTEN_PORT": str(PORT_BASE + 76),
        "SWITCHBOARD_ROUTER_URL": f"http://127.0.0.1:{port['router']}",
        "SWITCHBOARD_PM_SYNC_URL": f"http://127.0.0.1:{port['pm-sync']}",
        "SWITCHBOARD_INGEST_URL": f"http://127.0.0.1:{port['ingest']}",
        "SWITCHBOARD_NOTIFIER_URL": f"http://127.0.0.1:{port['notifier']}",
        "SWITCHBOARD_LOG_LEVEL": "INFO",
    }


def podman_run(service: str, env: dict[str, str], *args: str) -> list[str]:
    flags = [f"--env={k}={v}" for k, v in env.items()]
    return ["podman", "run", "--network", "host", *flags, *args, image(service)]


def running(name: str) -> bool:
    state = subprocess.run(
        ["podman", "inspect", "--format", "{{.State.Status}}", name],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return state in ("running", "created")


def test_every_service_image_migrates_starts_and_becomes_ready(built, settings, test_db):
    prefix = f"img{uuid.uuid4().hex[:6]}."
    asyncio.run(ensure_topics(settings.model_copy(update={"topic_prefix": prefix})))
    envs = {s: container_env(s, test_db, prefix, settings.kafka_bootstrap) for s in SERVICES}

    for s in SERVICES:  # as a release does: the migrate commands first
        done = subprocess.run(
            [*podman_run(s, envs[s], "--rm"), "migrate"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"{s} migrate: {done.stdout}{done.stderr}"

    run_id = uuid.uuid4().hex[:6]
    names = {s: f"sb-image-test-{run_id}-{s}" for s in SERVICES}
    started: dict[str, float] = {}
    took: dict[str, float] = {}
    failed: dict[str, str] = {}
    try:
        for s in SERVICES:
            subprocess.run(
                podman_run(s, envs[s], "--detach", f"--name={names[s]}"),
                check=True,
                capture_output=True,
            )
            started[s] = time.monotonic()
        pending = set(SERVICES)
        last: dict[str, str] = dict.fromkeys(SERVICES, "no answer")
        while pending:  # every container polled in turn, so each time is its own
            for s in sorted(pending):
                url = f"http://127.0.0.1:{envs[s]['SWITCHBOARD_HTTP_PORT']}"
                try:
                    answer = httpx.get(f"{url}/readyz", timeout=2)
                    if answer.status_code == 200:
                        took[s] = time.monotonic() - started[s]
                        health = httpx.get(f"{url}/healthz", timeout=2)
                        assert health.status_code == 200, (s, health.text)
                        pending.discard(s)
                        continue
                    last[s] = answer.text
                except httpx.HTTPError as exc:
                    last[s] = type(exc).__name__
                if time.monotonic() - started[s] > READY_WITHIN_S or not running(names[s]):
                    logs = subprocess.run(
                        ["podman", "logs", "--tail", "30", names[s]],
                        capture_output=True,
                        text=True,
                    )
                    failed[s] = f"{last[s]}\n{logs.stdout}{logs.stderr}"
                    pending.discard(s)
            time.sleep(0.5)
    finally:
        subprocess.run(
            ["podman", "rm", "--force", "--time", "10", *names.values()], capture_output=True
        )
    for s in SERVICES:
        print(f"image {s:<18} ready in {took[s]:5.1f}s" if s in took else f"image {s} NOT READY")
    assert not failed, "\n".join(f"--- {s}: {why}" for s, why in failed.items())
