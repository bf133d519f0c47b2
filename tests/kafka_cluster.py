"""The local three-broker KRaft cluster (scripts/kafka-cluster.sh) as a pytest fixture.

Its own ports (SB_TEST_KAFKA_CLUSTER_PORT, default 29192-29194 + controllers 29195-29197, so
a developer's `make up KAFKA_BROKERS=3` cluster on 29092 is left alone) and its own data
folder under the test's temporary directory; stopped at the end. Never touches the shared
single broker (19092).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "kafka-cluster.sh"


@dataclass
class KafkaCluster:
    env: dict[str, str]
    directory: Path
    bootstrap: str

    def pid(self, node: int) -> int:
        return int((self.directory / f"node{node}" / "kafka.pid").read_text())

    def kill(self, node: int) -> None:
        """kill -9: no clean shutdown, no leadership hand-over."""
        os.kill(self.pid(node), signal.SIGKILL)

    def run(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run(
            ["bash", str(SCRIPT), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            logs = "\n".join(
                f"--- node{n}\n" + _tail(self.directory / f"node{n}" / "server.log")
                for n in (1, 2, 3)
            )
            raise RuntimeError(f"kafka-cluster.sh {' '.join(args)}: {done.stderr}\n{logs}")
        return done.stdout


async def _brokers(bootstrap: str) -> int:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        return len((await admin.describe_cluster())["brokers"])
    except Exception:  # not up yet
        return 0
    finally:
        await admin.close()


def wait_for_brokers(bootstrap: str, count: int, limit_s: float = 300) -> None:
    """Until `count` brokers have registered (the ports open before the quorum forms)."""
    deadline = time.monotonic() + limit_s
    while asyncio.run(_brokers(bootstrap)) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"fewer than {count} brokers registered after {limit_s} s")
        time.sleep(1)


def _tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text().splitlines()[-lines:]) if path.exists() else "(no log)"


@pytest.fixture(scope="module")
def kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    port = int(os.environ.get("SB_TEST_KAFKA_CLUSTER_PORT", "29192"))
    directory = tmp_path_factory.mktemp("kafka-cluster")
    env = os.environ | {
        "KAFKA_CLUSTER_PORT": str(port),
        "KAFKA_CLUSTER_DIR": str(directory),
    }
    cluster = KafkaCluster(env, directory, ",".join(f"127.0.0.1:{port + i}" for i in range(3)))
    try:
        cluster.run("start")
        wait_for_brokers(cluster.bootstrap, 3)
        yield cluster
    finally:
        cluster.run("stop", timeout=120)
