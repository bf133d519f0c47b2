"""The figures table: every check's counts, the convergence, and each fault window."""

from __future__ import annotations

from tools.faults.ledger import Availability, Verdict
from tools.faults.report import RunFigures, fault_counts, render


def figures(**kw) -> RunFigures:
    base = dict(
        command="make faults",
        load_s=60,
        rate=5,
        faults=["kill9 ingest", "kill9 ingest", "kafka_stop kafka"],
        checks={"inbox": Verdict(10, 9, (), (), 0)},
        availability=[Availability("kill9 ingest", 4.0, 20, 15, (("sms refused", 5),))],
        convergence_s=3.2,
        rebuild_equal=True,
    )
    return RunFigures(**(base | kw))


def test_the_table_has_the_counts_the_convergence_and_the_availability_per_window():
    text = render(figures())
    assert "| inbox | 10 | 9 | 0 | 0 | 0 |" in text
    assert "| time to converge after the load ended | 3.2 s |" in text
    assert "| kill9 ingest | 4.0 | 20 | 75.0 % | sms refused 5 |" in text
    assert "Faults injected (3): kill9 ingest x2, kafka_stop kafka." in text
    assert text.endswith("Invariants: HOLD")


def test_a_lost_message_a_failed_convergence_or_a_differing_rebuild_violates():
    lost = figures(checks={"inbox": Verdict(10, 10, ("t1",), (), 0)})
    assert not lost.holds and "| inbox | 10 | 10 | 1 | 0 | 0 |" in render(lost)
    assert not figures(convergence_s=None).holds
    assert "did NOT converge" in render(figures(convergence_s=None))
    assert not figures(rebuild_equal=False).holds
    assert figures(rebuild_equal=None).holds


def test_the_table_never_shows_a_token_only_counts():
    text = render(
        figures(checks={"inbox": Verdict(2, 2, ("fzabcdx000001",), ("fzabcdx000002",), 0)})
    )
    assert "fzabcdx" not in text


def test_fault_counts_keeps_first_seen_order():
    assert fault_counts(["b", "a", "b"]) == "b x2, a"
