"""Run any `switchboard-<service> run` as a real process, as `make up` starts it (dev mode),
on a database and topic prefix the caller gives, with free ports; and cut one database off
(and back) without touching the shared PostgreSQL server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

BIN = Path(sys.executable).parent
PG_PORT = int(os.environ.get("PG_PORT", "55432"))
ADMIN_URL = f"postgresql+psycopg://switchboard@127.0.0.1:{PG_PORT}/postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def migrate(service: str, env: dict[str, str]) -> None:
    subprocess.run([str(BIN / f"switchboard-{service}"), "migrate"], env=env, check=True)


class ServiceProcess:
    def __init__(self, service: str, env: dict[str, str], log: Path) -> None:
        self.service = service
        self.port = free_port()
        self.env = env | {
            "SWITCHBOARD_ENV": "dev",
            "SWITCHBOARD_HTTP_PORT": str(self.port),
            "SWITCHBOARD_INTERNAL_HTTP_PORT": str(free_port()),
            "SWITCHBOARD_MLLP_PORT": str(free_port()),
        }
        self.env.setdefault("SWITCHBOARD_SMTP_LISTEN_PORT", "0")
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(BIN / f"switchboard-{self.service}"), "run"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def readyz(self) -> httpx.Response | None:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=5)
        except httpx.HTTPError:
            return None

    def wait_ready(self, ready: bool = True, timeout_s: float = 120) -> dict[str, Any]:
        """Polls /readyz until it answers ready (or unready); returns its body."""
        deadline = time.monotonic() + timeout_s
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, self.tail()
            r = self.readyz()
            if r is not None:
                body = r.json()
                if (r.status_code == 200) == ready:
                    return body
            time.sleep(0.2)
        raise AssertionError(
            f"{self.service} /readyz never {'ready' if ready else 'unready'}: {body}\n{self.tail()}"
        )

    def terminate(self, timeout_s: float = 60) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout_s)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def database_connections(name: str, allow: bool) -> None:
    """Refuse (and end) every connection to database `name`, or allow them again: that
    database is down for its service only; the server and every other database stay up."""
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allow).lower()}'))
            if not allow:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
    finally:
        admin.dispose()
