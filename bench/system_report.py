"""The headline system benchmark's arithmetic (bench/system_bench.py). Pure: no I/O.

The step plan, the load generator's pre-signed targets, percentiles, the per-step figures
from vegeta's results and the read model's timestamps, and the printed tables.
"""

from __future__ import annotations

import base64
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from switchboard.ingest.adapters.twilio import signature

DEFAULT_STEPS = (100, 200, 500, 1000, 1500)


def parse_steps(text: str) -> list[int]:
    """'100,200,500' -> [100, 200, 500]: whole, positive rates per second, in the order given."""
    rates = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        if not part.isdigit() or int(part) <= 0:
            raise ValueError(f"a step is a whole number of requests per second above 0: {part!r}")
        rates.append(int(part))
    if not rates:
        raise ValueError("no steps given")
    return rates


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 1]): the smallest value with at least q of the values
    at or below it; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def sender(step: int, i: int) -> str:
    """The patient number of request `i` of step `step`: unknown to the practice, so every
    message is its own conversation (I-THREAD-1) and the read model has one row per request."""
    if not 0 <= step <= 99 or not 0 <= i <= 99_999:
        raise ValueError("step 0-99, request 0-99,999")
    return f"+1555{step:02d}{i:05d}"


def sender_prefix(step: int) -> str:
    return f"+1555{step:02d}"


def twilio_target(url: str, token: str, params: Mapping[str, str]) -> str:
    """One line of vegeta's JSON target format: a signed Twilio SMS webhook POST."""
    body = urlencode(params).encode()
    return json.dumps(
        {
            "method": "POST",
            "url": url,
            "body": base64.b64encode(body).decode(),
            "header": {
                "Content-Type": ["application/x-www-form-urlencoded"],
                "X-Twilio-Signature": [signature(token, url, params)],
            },
        },
        separators=(",", ":"),
    )


def step_targets(url: str, token: str, run: str, step: int, count: int) -> list[str]:
    """`count` distinct signed webhooks for one step (each its own MessageSid and sender)."""
    return [
        twilio_target(
            url,
            token,
            {
                "MessageSid": f"SMb{run}s{step}n{i}",
                "From": sender(step, i),
                "To": "+12125550000",
                "Body": "benchmark message",
            },
        )
        for i in range(count)
    ]


@dataclass(frozen=True)
class Hit:
    """One request as vegeta recorded it: sent at (unix s), HTTP status (0: no response),
    latency (s)."""

    sent_at: float
    code: int
    latency_s: float


def parse_vegeta_csv(rows: Iterable[Sequence[str]]) -> list[Hit]:
    """`vegeta encode -to csv` rows: timestamp (unix ns), code, latency (ns), ..."""
    return [Hit(int(r[0]) / 1e9, int(r[1]), int(r[2]) / 1e9) for r in rows if r]


@dataclass
class Step:
    """The figures of one step of one target (the system, or the pass-throughs)."""

    rate: int
    duration_s: float
    hits: list[Hit]
    # Per acknowledged request: seconds from ingest's received_at to the read-model row.
    visible_s: list[float] = field(default_factory=list)
    # Acknowledged requests not yet in the read model when the load stopped, and how long
    # after that the last of them arrived. (A request answered 503 may still arrive: ingest
    # gave up waiting for Kafka's ack, not the record; the table counts visible of sent.)
    lag_at_end: int = 0
    drain_s: float = 0.0
    # process -> (mean cores over the step, peak RSS bytes)
    resources: dict[str, tuple[float, int]] = field(default_factory=dict)

    @property
    def ok(self) -> list[Hit]:
        return [h for h in self.hits if 200 <= h.code < 300]

    @property
    def codes(self) -> Counter[int]:
        return Counter(h.code for h in self.hits)

    @property
    def acks_per_s(self) -> float:
        """Acknowledged requests per second, from the first request sent to the last ack."""
        ok = self.ok
        if not ok:
            return 0.0
        start = min(h.sent_at for h in self.hits)
        end = max(h.sent_at + h.latency_s for h in ok)
        return len(ok) / max(end - start, self.duration_s, 1e-9)

    def ack(self, q: float) -> float:
        return percentile([h.latency_s for h in self.ok], q)

    def visible(self, q: float) -> float:
        return percentile(self.visible_s, q)

    @property
    def cpu_ms_per_message(self) -> float:
        """CPU of every measured process per acknowledged request (ms)."""
        cores = sum(c for c, _ in self.resources.values())
        rate = self.acks_per_s
        return cores * 1000 / rate if rate else math.nan


def _ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.0f}"


def _codes(step: Step) -> str:
    bad = {c: n for c, n in sorted(step.codes.items()) if not 200 <= c < 300}
    return ", ".join(f"{c or 'none'}: {n}" for c, n in bad.items()) or "-"


def steps_table(steps: Sequence[Step]) -> str:
    """The headline table (markdown): one row per offered rate."""
    head = (
        "| offered/s | sent | acks/s | ack p50 ms | ack p99 ms | ack max ms | visible p50 ms "
        "| visible p99 ms | visible | lag at end | drain s | CPU ms/msg | not 2xx |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    )
    rows = [
        f"| {s.rate} | {len(s.hits)} | {s.acks_per_s:.0f} | {_ms(s.ack(0.5))} | {_ms(s.ack(0.99))} "
        f"| {_ms(s.ack(1.0))} | {_ms(s.visible(0.5))} | {_ms(s.visible(0.99))} "
        f"| {len(s.visible_s)}/{len(s.hits)} | {s.lag_at_end} | {s.drain_s:.1f} "
        f"| {s.cpu_ms_per_message:.1f} | {_codes(s)} |"
        for s in steps
    ]
    return "\n".join([head, *rows])


def resources_table(steps: Sequence[Step]) -> str:
    """CPU (cores, mean over the step) and peak RSS (MiB) per process, one column per step."""
    names: list[str] = []
    for s in steps:
        names += [n for n in s.resources if n not in names]
    head = "| process | " + " | ".join(f"{s.rate}/s cores, RSS MiB" for s in steps) + " |"
    rule = "|---|" + "---:|" * len(steps)
    rows = []
    for n in names:
        cells = []
        for s in steps:
            cores, rss = s.resources.get(n, (math.nan, 0))
            cells.append("-" if math.isnan(cores) else f"{cores:.2f}, {rss / 2**20:.0f}")
        rows.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join([head, rule, *rows])


def ratio_table(system: Sequence[Step], bare: Sequence[Step]) -> str:
    """The system against the bare pass-throughs at the same offered rates: acks/s and
    visible p99, with the ratio system/bare of the throughputs."""
    by_rate = {s.rate: s for s in bare}
    head = (
        "| offered/s | system acks/s | bare acks/s | ratio | system visible p99 ms "
        "| bare visible p99 ms |\n|---:|---:|---:|---:|---:|---:|"
    )
    rows = []
    for s in system:
        b = by_rate.get(s.rate)
        if b is None:
            continue
        ratio = s.acks_per_s / b.acks_per_s if b.acks_per_s else math.nan
        rows.append(
            f"| {s.rate} | {s.acks_per_s:.0f} | {b.acks_per_s:.0f} | {ratio:.2f} "
            f"| {_ms(s.visible(0.99))} | {_ms(b.visible(0.99))} |"
        )
    return "\n".join([head, *rows])
