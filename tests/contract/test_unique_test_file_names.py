"""Test files have distinct basenames across tests/: pytest imports them by basename (rootdir
conftest, no packages), so two files of one name stop the whole run at collection (the
fresh-clone CI of 2026-12-07 stopped on two test_patient_language.py)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_no_two_test_files_share_a_name() -> None:
    names = Counter(p.name for p in TESTS.rglob("test_*.py") if ".venv" not in p.parts)
    assert [n for n, count in names.items() if count > 1] == []
