"""The whole system without the demo practice: each test makes the data it needs."""

from __future__ import annotations

import os

import pytest
from system_support import System, running_system

__all__ = ["System"]


@pytest.fixture(scope="session")
def system(tmp_path_factory) -> System:
    port_base = int(os.environ.get("SB_E2E_PORT_BASE", "18000"))
    with running_system(tmp_path_factory.mktemp("run"), port_base, demo=False) as s:
        yield s
