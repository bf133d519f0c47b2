"""The figures of a run as Markdown tables (pasted into docs/reliability.md). Counts and
tokens' channels only: never a message's text."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tools.faults.ledger import Availability, Verdict


@dataclass(slots=True)
class RunFigures:
    command: str
    load_s: float
    rate: float
    faults: Sequence[str]  # labels of the faults injected, in order
    checks: Mapping[str, Verdict]  # e.g. "inbox (SMS, email, messenger)", "HL7 (pm-sync)"
    availability: Sequence[Availability]
    convergence_s: float | None  # None: did not converge within the limit
    rebuild_equal: bool | None  # None: not checked
    other: dict[str, str] = field(default_factory=dict)  # further named figures

    @property
    def holds(self) -> bool:
        return (
            all(v.holds for v in self.checks.values())
            and self.convergence_s is not None
            and self.rebuild_equal is not False
        )


def _table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def fault_counts(faults: Sequence[str]) -> str:
    counted = Counter(faults)
    return ", ".join(f"{label} x{n}" if n > 1 else label for label, n in counted.items())


def render(f: RunFigures) -> str:
    lines = [f"`{f.command}`: {f.load_s:.0f} s of load at {f.rate:g} messages/s.", ""]
    lines.append(f"Faults injected ({len(f.faults)}): {fault_counts(f.faults)}.")
    lines.append("")
    lines += _table(
        ("check", "sent", "acknowledged", "lost", "duplicated", "refused but applied"),
        [
            (name, v.sent, v.acknowledged, len(v.lost), len(v.duplicated), v.unacknowledged_seen)
            for name, v in f.checks.items()
        ],
    )
    lines.append("")
    conv = "did NOT converge" if f.convergence_s is None else f"{f.convergence_s:.1f} s"
    rebuild = {None: "not checked", True: "equal", False: "DIFFERENT"}[f.rebuild_equal]
    rows: list[tuple[str, str]] = [
        ("time to converge after the load ended", conv),
        ("inbox read models vs a rebuild from the log", rebuild),
    ]
    rows += list(f.other.items())
    lines += _table(("figure", "value"), rows)
    lines.append("")
    lines += _table(
        ("fault window", "s", "requests", "answered 2xx", "others answered"),
        [
            (
                a.label,
                f"{a.seconds:.1f}",
                a.attempts,
                f"{a.percent:.1f} %",
                ", ".join(f"{k} {n}" for k, n in a.answers) or "-",
            )
            for a in f.availability
        ],
    )
    lines.append("")
    lines.append("Invariants: " + ("HOLD" if f.holds else "VIOLATED"))
    return "\n".join(lines)
