"""The invariants and the availability figures over what the harness sent."""

from __future__ import annotations

from tools.faults.ledger import Attempt, Ledger, Window, availability, classify_http, verdict


def ledger(*attempts: tuple[str, float, str], channel: str = "sms") -> Ledger:
    out = Ledger()
    for token, at, answer in attempts:
        out.record(Attempt(channel, token, at, answer))
    return out


def test_acknowledged_and_seen_once_holds():
    led = ledger(("a", 0, "2xx"), ("b", 1, "2xx"))
    v = verdict(led, {"a": 1, "b": 1})
    assert v.holds and (v.sent, v.acknowledged) == (2, 2)


def test_an_acknowledged_message_never_seen_is_lost():
    v = verdict(ledger(("a", 0, "2xx"), ("b", 1, "2xx")), {"a": 1})
    assert v.lost == ("b",) and not v.holds


def test_a_message_seen_twice_is_duplicated_even_when_it_was_refused():
    v = verdict(ledger(("a", 0, "http_503"), ("b", 1, "2xx")), {"a": 2, "b": 1})
    assert v.duplicated == ("a",) and not v.holds


def test_refused_then_acknowledged_on_a_retry_counts_as_acknowledged():
    led = ledger(("a", 0, "refused"), ("a", 5, "2xx"))
    v = verdict(led, {})
    assert v.acknowledged == 1 and v.lost == ("a",)


def test_refused_and_not_seen_is_neither_lost_nor_duplicated_but_applied_anyway_is_counted():
    led = ledger(("a", 0, "timeout"), ("b", 0, "http_503"))
    v = verdict(led, {"a": 1})
    assert v.holds and v.acknowledged == 0 and v.unacknowledged_seen == 1


def test_verdict_is_limited_to_the_chosen_messages():
    led = ledger(("a", 0, "2xx"), ("b", 0, "2xx"))
    assert verdict(led, {"a": 1}, {"a"}).holds


def test_availability_per_window_counts_attempts_started_inside_it_and_how_others_were_answered():
    led = ledger(
        ("a", 0.5, "2xx"),
        ("b", 1.0, "refused"),
        ("c", 1.5, "refused"),
        ("d", 2.0, "http_503"),
        ("e", 2.9, "2xx"),
        ("f", 3.0, "http_429"),  # at the end: outside
    )
    [w] = availability(led.attempts, [Window("kill9 ingest", 1.0, 3.0)])
    assert (w.attempts, w.ok, w.seconds) == (4, 1, 2.0)
    assert w.percent == 25.0
    assert w.answers == (("sms refused", 2), ("sms http_503", 1))


def test_a_window_without_requests_is_fully_available():
    [w] = availability([], [Window("pg_restart postgres", 0, 1)])
    assert w.percent == 100.0 and w.attempts == 0


def test_http_statuses_are_classified():
    assert [classify_http(s) for s in (200, 202, 204, 429, 503)] == [
        "2xx",
        "2xx",
        "2xx",
        "http_429",
        "http_503",
    ]
