"""`make metrics`: the key figures of every local service's /metrics, refreshed in place.

Rates and quantiles are computed from the difference between two scrapes (histogram bucket
deltas), so they describe the last interval, as Prometheus' rate() would.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict

import httpx
from prometheus_client.parser import text_string_to_metric_families

SERVICES = ["gateway", "ingest", "router", "inbox-projection", "notifier", "pm-sync"]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> Samples:
    out: Samples = {}
    text = httpx.get(url, timeout=2).text
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name.startswith("switchboard_"):
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def total(samples: Samples, name: str, **match: str) -> float:
    return sum(
        v
        for (n, labels), v in samples.items()
        if n == name and all(dict(labels).get(k) == want for k, want in match.items())
    )


def quantile(before: Samples, after: Samples, name: str, q: float, **match: str) -> float | None:
    """The q-quantile of what a histogram observed between two scrapes (upper bucket bound)."""
    buckets: dict[float, float] = defaultdict(float)
    for (n, labels), v in after.items():
        d = dict(labels)
        if n != f"{name}_bucket" or any(d.get(k) != w for k, w in match.items()):
            continue
        le = float(d["le"])
        buckets[le] += v - before.get((n, labels), 0.0)
    if not buckets or max(buckets.values()) <= 0:
        return None
    bounds = sorted(buckets)
    count = buckets[bounds[-1]]
    for le in bounds:
        if buckets[le] >= q * count:
            return le
    return None


def fmt(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


def row(service: str, before: Samples, after: Samples, dt: float) -> list[str]:
    lag = total(after, "switchboard_consumer_lag")
    handled = (
        total(after, "switchboard_consumer_events_total", outcome="applied")
        - total(before, "switchboard_consumer_events_total", outcome="applied")
    ) / dt
    dead = total(after, "switchboard_consumer_events_total", outcome="dead_lettered")
    http = (
        total(after, "switchboard_http_requests_total")
        - total(before, "switchboard_http_requests_total")
    ) / dt
    return [
        service,
        f"{lag:.0f}",
        f"{handled:.1f}",
        f"{dead:.0f}",
        f"{http:.1f}",
        fmt(quantile(before, after, "switchboard_http_request_duration_seconds", 0.5)),
        fmt(quantile(before, after, "switchboard_http_request_duration_seconds", 0.99)),
        fmt(quantile(before, after, "switchboard_kafka_publish_seconds", 0.99)),
        fmt(quantile(before, after, "switchboard_end_to_end_seconds", 0.5)),
        fmt(quantile(before, after, "switchboard_end_to_end_seconds", 0.99)),
    ]


HEADER = ["service", "lag", "events/s", "dead", "http/s", "http p50", "http p99"]
HEADER += ["publish p99", "e2e p50", "e2e p99"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port-base", type=int, default=int(os.environ.get("SB_PORT_BASE", 8000)))
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--once", action="store_true", help="print one table and exit")
    args = parser.parse_args()
    urls = {s: f"http://127.0.0.1:{args.port_base + i}/metrics" for i, s in enumerate(SERVICES)}

    def all_samples() -> dict[str, Samples]:
        got = {}
        for s, u in urls.items():
            try:
                got[s] = scrape(u)
            except httpx.HTTPError:
                got[s] = {}
        return got

    before, t0 = all_samples(), time.monotonic()
    while True:
        time.sleep(args.interval)
        after, t1 = all_samples(), time.monotonic()
        rows = [HEADER] + [row(s, before[s], after[s], t1 - t0) for s in SERVICES]
        widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
        lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
        if not args.once:
            sys.stdout.write("\033[H\033[2J")
        print(time.strftime("%H:%M:%S"), f"(last {t1 - t0:.1f} s)")
        print("\n".join(lines), flush=True)
        if args.once:
            return
        before, t0 = after, t1


if __name__ == "__main__":
    main()
