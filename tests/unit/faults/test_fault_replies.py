"""Replies counted at the carrier sandbox (tools/faults/replies.py): an acknowledged reply
the sandbox never received is lost, one it received twice is duplicated; email sends and
other texts do not count."""

from __future__ import annotations

from tools.faults.ledger import OK, Attempt, Ledger, verdict
from tools.faults.replies import sent_counts


def sms(body: str) -> dict[str, object]:
    return {"channel": "sms", "recipient": "+16465550001", "body": body}


def test_each_token_is_counted_per_sms_send():
    sends = [
        sms("Synthetic reply frab12x00001"),
        sms("Synthetic reply frab12x00002"),
        sms("Synthetic reply frab12x00002"),
        {"channel": "email", "recipient": "a@example.org", "body": "frab12x00003"},
        sms("Reply 1 for Billing"),
    ]
    assert sent_counts(sends) == {"frab12x00001": 1, "frab12x00002": 2}


def test_a_reply_sent_twice_or_never_breaks_the_invariant():
    ledger = Ledger()
    for token, answer in (("frab12x00001", OK), ("frab12x00002", OK), ("frab12x00003", OK)):
        ledger.record(Attempt("reply", token, 0.0, answer))
    ledger.record(Attempt("reply", "frab12x00004", 0.0, "http_503"))  # never acknowledged
    counts = sent_counts([sms("frab12x00001"), sms("frab12x00002"), sms("frab12x00002")])
    v = verdict(ledger, counts)
    assert v.lost == ("frab12x00003",)
    assert v.duplicated == ("frab12x00002",)
    assert not v.holds and v.acknowledged == 3 and v.sent == 4
