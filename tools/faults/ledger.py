"""What the harness sent and how each attempt was answered, and the invariants over it.

A message has a token (unique per message, carried in its text or id) and one or more
attempts (a refused one is retried with the same provider id, as a provider would). It is
acknowledged when some attempt was answered 2xx (HL7: AA). Afterwards the read model is
counted per token: an acknowledged message seen 0 times is lost, any message seen more than
once is duplicated."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# How an attempt was answered: "2xx" (and AA for HL7), "http_<code>", "refused" (connection
# refused or reset before an answer), "timeout", "nack_<code>" (HL7 AE/AR), "error".
OK = "2xx"


@dataclass(frozen=True, slots=True)
class Attempt:
    channel: str
    token: str
    started_s: float  # seconds since the load began
    answer: str

    @property
    def ok(self) -> bool:
        return self.answer == OK


def classify_http(status: int) -> str:
    return OK if 200 <= status < 300 else f"http_{status}"


@dataclass(slots=True)
class Ledger:
    attempts: list[Attempt] = field(default_factory=list)
    channels: dict[str, str] = field(default_factory=dict)  # token -> channel

    def record(self, attempt: Attempt) -> None:
        self.attempts.append(attempt)
        self.channels.setdefault(attempt.token, attempt.channel)

    @property
    def sent(self) -> set[str]:
        return set(self.channels)

    @property
    def acknowledged(self) -> set[str]:
        return {a.token for a in self.attempts if a.ok}


@dataclass(frozen=True, slots=True)
class Verdict:
    sent: int
    acknowledged: int
    lost: tuple[str, ...]  # acknowledged, never seen
    duplicated: tuple[str, ...]  # seen more than once
    unacknowledged_seen: int  # refused to the sender, but applied anyway (allowed)

    @property
    def holds(self) -> bool:
        return not self.lost and not self.duplicated


def verdict(
    ledger: Ledger, seen: Mapping[str, int], tokens: Iterable[str] | None = None
) -> Verdict:
    """The invariants for the messages `tokens` (default: all sent) against `seen`, the
    number of times each token appears in the read model."""
    chosen = set(ledger.sent if tokens is None else tokens)
    acked = ledger.acknowledged & chosen
    return Verdict(
        sent=len(chosen),
        acknowledged=len(acked),
        lost=tuple(sorted(t for t in acked if seen.get(t, 0) == 0)),
        duplicated=tuple(sorted(t for t in chosen if seen.get(t, 0) > 1)),
        unacknowledged_seen=sum(1 for t in chosen - acked if seen.get(t, 0) >= 1),
    )


def missing(ledger: Ledger, seen: Mapping[str, int], tokens: Iterable[str]) -> int:
    """Acknowledged messages among `tokens` not yet seen (the convergence wait's measure)."""
    return sum(1 for t in ledger.acknowledged & set(tokens) if seen.get(t, 0) == 0)


@dataclass(frozen=True, slots=True)
class Window:
    label: str
    start_s: float
    end_s: float  # when the system had recovered


@dataclass(frozen=True, slots=True)
class Availability:
    label: str
    seconds: float
    attempts: int
    ok: int
    answers: tuple[tuple[str, int], ...]  # "<channel> <answer>" of the others, most first

    @property
    def percent(self) -> float:
        return 100.0 * self.ok / self.attempts if self.attempts else 100.0


def availability(attempts: Iterable[Attempt], windows: Iterable[Window]) -> list[Availability]:
    """Per fault window: the share of attempts started in it that were answered 2xx, and
    how the others were answered, per channel."""
    items = list(attempts)
    out = []
    for w in windows:
        inside = [a for a in items if w.start_s <= a.started_s < w.end_s]
        refused = Counter(f"{a.channel} {a.answer}" for a in inside if not a.ok)
        out.append(
            Availability(
                label=w.label,
                seconds=w.end_s - w.start_s,
                attempts=len(inside),
                ok=sum(1 for a in inside if a.ok),
                answers=tuple(sorted(refused.items(), key=lambda kv: (-kv[1], kv[0]))),
            )
        )
    return out
