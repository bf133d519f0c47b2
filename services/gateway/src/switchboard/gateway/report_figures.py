"""The reports' figures (X-REPORT-1), computed from the reports read model's rows. Pure.

What the rows mean (opened at, first staff response, closed at, the SLA's outcome) is defined
where they are made: inbox-projection's reports_model.py (X-REPORT-2, X-REPORT-3, X-REPORT-5).

- X-REPORT-4 *Percentiles* are nearest-rank: the p-th percentile of n values is the smallest
  value with at least p% of the values at or below it (sorted[ceil(p/100 * n) - 1]); always a
  value that occurred; none for no values. Durations are whole seconds.
- X-REPORT-6 *Periods* are whole local days in the practice's time zone (its notification
  settings' zone, UTC when it has none): [first day 00:00, day after the last 00:00). The
  previous period is the same length just before. A conversation belongs to the period it was
  opened in; its first response and close count there even when they came later. Volume counts
  patient messages received in the period, by local hour and weekday (Monday = 0).
- X-REPORT-5 *Share answered within the SLA*: of the period's conversations whose reason had a
  response target (the practice's current targets), those answered before their timer ran out,
  over those answered in time plus those whose timer ran out (escalated); still running ones
  count in neither.
- X-REPORT-7 *Unanswered now*: open conversations whose latest patient message came after the
  latest staff reply (or that have none), by how long since the oldest such message: under 1
  hour, 1-4 hours, 4-24 hours, 1-3 days, over 3 days.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from switchboard.rules.availability import zone

DIMENSIONS = ("reason", "location", "channel", "staff")
AGE_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("under 1 h", timedelta(hours=1)),
    ("1-4 h", timedelta(hours=4)),
    ("4-24 h", timedelta(hours=24)),
    ("1-3 days", timedelta(days=3)),
    ("over 3 days", None),
)
NONE_KEY = "(none)"


@dataclass(frozen=True)
class ConversationFacts:
    conversation_id: str
    opened_at: datetime
    channel: str | None = None
    reason: str | None = None
    location_id: str | None = None
    first_response_at: datetime | None = None
    responder: str | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    escalation_started_at: datetime | None = None


@dataclass(frozen=True)
class PracticeTargets:
    timezone: str = "UTC"
    sla_minutes: int | None = None
    sla_by_reason: dict[str, int] = field(default_factory=dict)

    def target(self, reason: str | None) -> int | None:
        if reason is not None and reason in self.sla_by_reason:
            return self.sla_by_reason[reason]
        return self.sla_minutes


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime  # exclusive
    first_day: date
    last_day: date

    def __contains__(self, at: datetime) -> bool:
        return self.start <= at < self.end

    def previous(self, tz: str) -> Period:
        days = (self.last_day - self.first_day).days + 1
        return period(self.first_day - timedelta(days=days), self.first_day - timedelta(1), tz)

    def json(self) -> dict[str, str]:
        return {
            "first_day": self.first_day.isoformat(),
            "last_day": self.last_day.isoformat(),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }


def period(first_day: date, last_day: date, tz: str) -> Period:
    """Whole local days [first_day, last_day] in zone `tz` (X-REPORT-6)."""
    if last_day < first_day:
        raise ValueError("the period ends before it starts")
    z = zone(tz)
    start = datetime.combine(first_day, time(0), tzinfo=z)
    end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=z)
    return Period(start, end, first_day, last_day)


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (X-REPORT-4); None for no values."""
    if not values:
        return None
    if not 0 < p <= 100:
        raise ValueError("p is in (0, 100]")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _seconds(a: datetime, b: datetime) -> int:
    return max(0, round((b - a).total_seconds()))


def summary(values: Sequence[int]) -> dict[str, Any]:
    return {"count": len(values), "p50": percentile(values, 50), "p90": percentile(values, 90)}


def first_response_seconds(c: ConversationFacts) -> int | None:
    if c.first_response_at is None:
        return None
    return _seconds(c.opened_at, c.first_response_at)


def close_seconds(c: ConversationFacts) -> int | None:
    if c.closed_at is None:
        return None
    return _seconds(c.opened_at, c.closed_at)


def sla_outcome(c: ConversationFacts, targets: PracticeTargets) -> str | None:
    """'within', 'breached', 'pending', or None when no target applies (X-REPORT-5)."""
    if targets.target(c.reason) is None:
        return None
    late = c.escalation_started_at is not None and (
        c.first_response_at is None or c.escalation_started_at <= c.first_response_at
    )
    if late:
        return "breached"
    return "within" if c.first_response_at is not None else "pending"


def sla_share(convs: Iterable[ConversationFacts], targets: PracticeTargets) -> dict[str, Any]:
    counts = {"within": 0, "breached": 0, "pending": 0}
    for c in convs:
        outcome = sla_outcome(c, targets)
        if outcome is not None:
            counts[outcome] += 1
    decided = counts["within"] + counts["breached"]
    return {**counts, "share": counts["within"] / decided if decided else None}


_KEYS: dict[str, tuple[Callable[[ConversationFacts], str | None], ...]] = {
    # (key for first response, key for close)
    "reason": (lambda c: c.reason, lambda c: c.reason),
    "location": (lambda c: c.location_id, lambda c: c.location_id),
    "channel": (lambda c: c.channel, lambda c: c.channel),
    # staff: who sent the first response; who closed it
    "staff": (lambda c: c.responder, lambda c: c.closed_by),
}


def breakdown(convs: Sequence[ConversationFacts], dimension: str) -> list[dict[str, Any]]:
    """Per value of `dimension`: conversations, first response and close p50/p90."""
    respond_key, close_key = _KEYS[dimension]
    groups: dict[str, dict[str, list[int]]] = {}

    def group(key: str | None) -> dict[str, list[int]]:
        return groups.setdefault(key or NONE_KEY, {"n": [], "first": [], "close": []})

    for c in convs:
        if dimension != "staff":
            group(respond_key(c))["n"].append(1)
        first = first_response_seconds(c)
        if first is not None:
            g = group(respond_key(c))
            g["first"].append(first)
            if dimension == "staff":
                g["n"].append(1)
        closed = close_seconds(c)
        if closed is not None:
            group(close_key(c))["close"].append(closed)
    return [
        {
            "key": key,
            "conversations": len(g["n"]),
            "first_response": summary(g["first"]),
            "time_to_close": summary(g["close"]),
        }
        for key, g in sorted(groups.items())
    ]


def volume(received: Iterable[datetime], tz: str) -> dict[str, Any]:
    """Patient messages by local hour, by weekday, and by both (X-REPORT-6)."""
    z = zone(tz)
    by_hour = [0] * 24
    by_weekday = [0] * 7
    grid = [[0] * 24 for _ in range(7)]
    total = 0
    for at in received:
        local = at.astimezone(z)
        by_hour[local.hour] += 1
        by_weekday[local.weekday()] += 1
        grid[local.weekday()][local.hour] += 1
        total += 1
    return {"messages": total, "by_hour": by_hour, "by_weekday": by_weekday, "grid": grid}


def age_buckets(waiting_since: Iterable[datetime], now: datetime) -> list[dict[str, Any]]:
    """Unanswered conversations by how long the patient has waited (X-REPORT-7)."""
    counts = [0] * len(AGE_BUCKETS)
    for since in waiting_since:
        age = now - since
        for i, (_, limit) in enumerate(AGE_BUCKETS):
            if limit is None or age < limit:
                counts[i] += 1
                break
    return [
        {"bucket": name, "conversations": n}
        for (name, _), n in zip(AGE_BUCKETS, counts, strict=True)
    ]


def figures(
    convs: Sequence[ConversationFacts],
    received: Sequence[datetime],
    targets: PracticeTargets,
    p: Period,
) -> dict[str, Any]:
    """One period's figures: `convs` and `received` may hold more; only p's count."""
    mine = [c for c in convs if c.opened_at in p]
    firsts = [s for c in mine if (s := first_response_seconds(c)) is not None]
    closes = [s for c in mine if (s := close_seconds(c)) is not None]
    return {
        "period": p.json(),
        "conversations": len(mine),
        "first_response": summary(firsts),
        "time_to_close": summary(closes),
        "sla": sla_share(mine, targets),
        "volume": volume([at for at in received if at in p], targets.timezone),
        "by": {d: breakdown(mine, d) for d in DIMENSIONS},
    }


HEADLINES: tuple[tuple[str, Callable[[dict[str, Any]], float | None]], ...] = (
    ("conversations", lambda f: f["conversations"]),
    ("messages", lambda f: f["volume"]["messages"]),
    ("first_response_p50_s", lambda f: f["first_response"]["p50"]),
    ("first_response_p90_s", lambda f: f["first_response"]["p90"]),
    ("time_to_close_p50_s", lambda f: f["time_to_close"]["p50"]),
    ("time_to_close_p90_s", lambda f: f["time_to_close"]["p90"]),
    ("sla_share", lambda f: f["sla"]["share"]),
)


def compare(current: dict[str, Any], previous: dict[str, Any]) -> list[dict[str, Any]]:
    """Each headline figure now, before, and the change (None where either is missing)."""
    out = []
    for name, pick in HEADLINES:
        now, before = pick(current), pick(previous)
        change = None if now is None or before is None else now - before
        out.append({"figure": name, "current": now, "previous": before, "change": change})
    return out


def report(
    convs: Sequence[ConversationFacts],
    received: Sequence[datetime],
    waiting_since: Sequence[datetime],
    targets: PracticeTargets,
    p: Period,
    now: datetime,
) -> dict[str, Any]:
    """The whole report: the period, the previous one, their comparison, unanswered now."""
    current = figures(convs, received, targets, p)
    previous = figures(convs, received, targets, p.previous(targets.timezone))
    return {
        "timezone": targets.timezone,
        "current": current,
        "previous": previous,
        "comparison": compare(current, previous),
        "unanswered_now": age_buckets(waiting_since, now),
        "generated_at": now.isoformat(),
    }


def to_csv(r: dict[str, Any]) -> str:
    """The report as long-format CSV: period, section, dimension, key, measure, value."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["period", "section", "dimension", "key", "measure", "value"])

    def v(x: Any) -> Any:
        if isinstance(x, str) and x[:1] in ("=", "+", "-", "@"):
            return "'" + x  # never a formula in a spreadsheet
        return "" if x is None else (round(x, 4) if isinstance(x, float) else x)

    for c in r["comparison"]:
        w.writerow(["current", "headline", "", "", c["figure"], v(c["current"])])
        w.writerow(["previous", "headline", "", "", c["figure"], v(c["previous"])])
    for which in ("current", "previous"):
        f = r[which]
        for k in ("within", "breached", "pending"):
            w.writerow([which, "sla", "", "", k, f["sla"][k]])
        for d, rows in f["by"].items():
            for row in rows:
                key = v(row["key"])
                w.writerow([which, "breakdown", d, key, "conversations", row["conversations"]])
                for m in ("first_response", "time_to_close"):
                    for s in ("count", "p50", "p90"):
                        w.writerow([which, "breakdown", d, key, f"{m}_{s}", v(row[m][s])])
        for h, n in enumerate(f["volume"]["by_hour"]):
            w.writerow([which, "volume", "hour", h, "messages", n])
        for d, n in enumerate(f["volume"]["by_weekday"]):
            w.writerow([which, "volume", "weekday", d, "messages", n])
    for b in r["unanswered_now"]:
        w.writerow(["now", "unanswered", "age", b["bucket"], "conversations", b["conversations"]])
    return out.getvalue()
