"""The reports read model through the real Kafka and PostgreSQL (X-REPORT-1): a known history
of two practices is published, the inbox-projection service (a process: both its consumer
groups) folds it, and the gateway's reports equal a direct computation over the same events,
written here from the definitions, independently of the projection and of report_figures.
Then a rebuild of the reports read model from offset 0 equals the live one, and the live
consumer writes to the new generation after the switch."""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from inbox_support import ServiceProcess, eventually
from report_events import T0, history, received
from sqlalchemy import text

from switchboard.events import (
    ConversationEscalated,
    ConversationStatusChanged,
    Event,
    MessageReceived,
    MessageRouted,
    PracticeNotificationSettingsChanged,
    ReplySent,
)
from switchboard.gateway import report_figures
from switchboard.gateway.readmodel import reports as readmodel
from switchboard.inbox_projection.app import MIGRATIONS as INBOX_MIGRATIONS
from switchboard.inbox_projection.reports_rebuild import checksums, prune, rebuild_reports
from switchboard.platform.db import make_engine, make_sessionmaker
from switchboard.platform.kafka import Publisher, ensure_topics, make_producer
from switchboard.platform.migrations import upgrade

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

GROUPS = "reports-it-"
EVENTS = history(seed=11, conversations=80) + history(seed=12, conversations=30, practice="other")


@pytest.fixture(scope="module")
async def world(settings, own_db):
    cfg = settings.model_copy(
        update={"topic_prefix": f"trep{uuid.uuid4().hex[:6]}.", "database_url": own_db}
    )
    await ensure_topics(cfg)
    upgrade(INBOX_MIGRATIONS, own_db)
    producer = make_producer(cfg)
    await producer.start()
    publisher = Publisher(producer, cfg)
    projection = ServiceProcess("inbox-projection", cfg, GROUPS)
    projection.start(timeout_s=240)
    try:
        await publisher.publish(EVENTS)
        await eventually(lambda: _processed(own_db, len(EVENTS)), timeout_s=120)
        yield cfg, publisher
    finally:
        projection.stop()
        await producer.stop()


async def _processed(url: str, n: int) -> bool:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            done = await conn.scalar(
                text("SELECT count(*) FROM inbox.processed_events WHERE consumer = 'inbox-reports'")
            )
    finally:
        await engine.dispose()
    return int(done or 0) >= n


# --- the direct computation ------------------------------------------------------------------


def _nearest_rank(xs: list[int], p: int) -> int | None:
    if not xs:
        return None
    xs = sorted(xs)
    return xs[math.ceil(p * len(xs) / 100) - 1]


def _direct(events: list[Event], practice: str, first: date, last: date, now: datetime):
    """The reports, straight from the events: per conversation, its events in time order."""
    mine = [e for e in events if e.practice_id == practice]
    settings = max(
        (e for e in mine if isinstance(e, PracticeNotificationSettingsChanged)),
        key=lambda e: e.occurred_at,
    )
    tz = ZoneInfo(settings.timezone)
    targets = {t.reason: t.minutes for t in settings.sla_by_reason}
    by_conv: dict[uuid.UUID, list[Event]] = defaultdict(list)
    for e in mine:
        cid = getattr(e, "conversation_id", None)
        if cid is not None:
            by_conv[cid].append(e)
    convs = []
    for es in by_conv.values():
        inbound = sorted(e.received_at for e in es if isinstance(e, MessageReceived))
        first_msg = min(
            (e for e in es if isinstance(e, MessageReceived)), key=lambda e: e.received_at
        )
        decision = max((e for e in es if isinstance(e, MessageRouted)), key=lambda e: e.decided_at)
        replies = sorted(
            (e.sent_at, e.actor) for e in es if isinstance(e, ReplySent) and e.actor != "system"
        )
        timeline = sorted(
            [(at, 1, "open", "") for at in inbound]
            + [
                (e.occurred_at, int(e.status == "open"), e.status, e.actor)
                for e in es
                if isinstance(e, ConversationStatusChanged)
            ]
        )
        final = timeline[-1]
        escalations = [e.started_at for e in es if isinstance(e, ConversationEscalated)]
        convs.append(
            {
                "opened": inbound[0],
                "inbound": inbound,
                "channel": first_msg.channel,
                "reason": decision.reason,
                "location": decision.location_id,
                "first": replies[0] if replies else None,
                "last_reply": replies[-1][0] if replies else None,
                "closed": (final[0], final[3]) if final[2] == "closed" else None,
                "open": final[2] == "open",
                "escalated": min(escalations) if escalations else None,
            }
        )

    def local_midnight(d: date) -> datetime:
        return datetime(d.year, d.month, d.day, tzinfo=tz)

    def figures(a: date, b: date) -> dict[str, Any]:
        start, end = local_midnight(a), local_midnight(b + timedelta(days=1))
        cs = [c for c in convs if start <= c["opened"] < end]
        firsts = [int((c["first"][0] - c["opened"]).total_seconds()) for c in cs if c["first"]]
        closes = [int((c["closed"][0] - c["opened"]).total_seconds()) for c in cs if c["closed"]]
        sla = {"within": 0, "breached": 0, "pending": 0}
        for c in cs:
            if targets.get(c["reason"], settings.sla_minutes) is None:
                continue
            if c["escalated"] is not None and (
                c["first"] is None or c["escalated"] <= c["first"][0]
            ):
                sla["breached"] += 1
            elif c["first"] is not None:
                sla["within"] += 1
            else:
                sla["pending"] += 1
        hours, days = [0] * 24, [0] * 7
        for c in convs:
            for at in c["inbound"]:
                if start <= at < end:
                    hours[at.astimezone(tz).hour] += 1
                    days[at.astimezone(tz).weekday()] += 1
        groups: dict[str, dict[str, dict[str, list[int]]]] = {}
        for dim in ("reason", "location", "channel", "staff"):
            g: dict[str, dict[str, list[int]]] = defaultdict(
                lambda: {"n": [], "first": [], "close": []}
            )
            for c in cs:
                rkey = c["first"][1] if dim == "staff" and c["first"] else c.get(dim)
                ckey = c["closed"][1] if dim == "staff" and c["closed"] else c.get(dim)
                if dim != "staff" or c["first"]:
                    g[rkey or "(none)"]["n"].append(1)
                if c["first"]:
                    g[rkey or "(none)"]["first"].append(
                        int((c["first"][0] - c["opened"]).total_seconds())
                    )
                if c["closed"]:
                    g[ckey or "(none)"]["close"].append(
                        int((c["closed"][0] - c["opened"]).total_seconds())
                    )
            groups[dim] = dict(g)
        return {
            "conversations": len(cs),
            "first": (len(firsts), _nearest_rank(firsts, 50), _nearest_rank(firsts, 90)),
            "close": (len(closes), _nearest_rank(closes, 50), _nearest_rank(closes, 90)),
            "sla": sla,
            "hours": hours,
            "days": days,
            "by": {
                dim: {
                    k: (
                        len(v["n"]),
                        _nearest_rank(v["first"], 50),
                        _nearest_rank(v["first"], 90),
                        _nearest_rank(v["close"], 50),
                        _nearest_rank(v["close"], 90),
                    )
                    for k, v in g.items()
                }
                for dim, g in groups.items()
            },
        }

    n = (last - first).days + 1
    waiting = []
    for c in convs:
        answered_after = c["last_reply"]
        pending = [at for at in c["inbound"] if answered_after is None or at > answered_after]
        if c["open"] and pending:
            waiting.append(now - min(pending))
    limits = [timedelta(hours=1), timedelta(hours=4), timedelta(days=1), timedelta(days=3)]
    buckets = [0] * 5
    for age in waiting:
        buckets[next((i for i, lim in enumerate(limits) if age < lim), 4)] += 1
    return {
        "current": figures(first, last),
        "previous": figures(first - timedelta(days=n), first - timedelta(days=1)),
        "unanswered": buckets,
    }


def _shape(f: dict[str, Any]) -> dict[str, Any]:
    """The gateway's figures in the direct computation's shape."""
    return {
        "conversations": f["conversations"],
        "first": tuple(f["first_response"][k] for k in ("count", "p50", "p90")),
        "close": tuple(f["time_to_close"][k] for k in ("count", "p50", "p90")),
        "sla": {k: f["sla"][k] for k in ("within", "breached", "pending")},
        "hours": f["volume"]["by_hour"],
        "days": f["volume"]["by_weekday"],
        "by": {
            dim: {
                r["key"]: (
                    r["conversations"],
                    r["first_response"]["p50"],
                    r["first_response"]["p90"],
                    r["time_to_close"]["p50"],
                    r["time_to_close"]["p90"],
                )
                for r in rows
            }
            for dim, rows in f["by"].items()
        },
    }


async def _gateway_report(url: str, practice: str, first: date, last: date, now: datetime):
    """What GET /api/reports answers (routes/reports.py), at a fixed `now`."""
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            targets = await readmodel.targets(session, practice)
            p = report_figures.period(first, last, targets.timezone)
            before = p.previous(targets.timezone)
            convs = await readmodel.conversations(session, practice, before.start, p.end)
            got = await readmodel.received(session, practice, before.start, p.end)
            waiting = await readmodel.waiting_since(session, practice)
    finally:
        await engine.dispose()
    return report_figures.report(convs, got, waiting, targets, p, now)


@pytest.mark.parametrize(
    ("first", "last"),
    [(date(2026, 11, 9), date(2026, 11, 15)), (date(2026, 11, 2), date(2026, 11, 12))],
)
async def test_reports_equal_a_direct_computation_over_the_events(world, own_db, first, last):
    # covers X-REPORT-1, X-REPORT-2, X-REPORT-3, X-REPORT-5, X-REPORT-6, X-REPORT-7, T-1
    now = T0 + timedelta(days=22)
    r = await _gateway_report(own_db, "demo", first, last, now)
    expected = _direct(EVENTS, "demo", first, last, now)
    assert r["timezone"] == "America/New_York"
    assert _shape(r["current"]) == expected["current"]
    assert _shape(r["previous"]) == expected["previous"]
    assert [b["conversations"] for b in r["unanswered_now"]] == expected["unanswered"]
    # the history is not empty: there is something to compare
    assert expected["current"]["conversations"] > 10 and expected["current"]["first"][0] > 5
    assert sum(expected["unanswered"]) > 0 and expected["current"]["sla"]["breached"] > 0
    # the other practice's conversations never count here
    other = await _gateway_report(own_db, "other", first, last, now)
    assert _shape(other["current"]) == _direct(EVENTS, "other", first, last, now)["current"]


async def test_rebuild_of_the_reports_equals_live(world, own_db):
    # covers X-REPORT-1, X-REPLAY-1
    cfg, publisher = world
    engine = make_engine(own_db)
    try:
        live = await checksums(engine, "inbox")
        assert live["report_conversations"][0] == 110
        result = await rebuild_reports(
            cfg.model_copy(update={"consumer_group_prefix": f"rb{uuid.uuid4().hex[:6]}-"})
        )
        assert result.switched and result.events >= len(EVENTS)
        assert await checksums(engine, result.schema) == live
        async with engine.connect() as conn:
            active = await conn.scalar(
                text("SELECT schema_name FROM inbox.report_generations WHERE active")
            )
        assert active == result.schema
        # the live consumer writes to the new generation; the gateway reads it
        cid = uuid.uuid4()
        late = received("demo", cid, f"after-switch-{cid}", datetime.now(UTC))
        await publisher.publish([late])

        async def arrived() -> bool:
            async with engine.connect() as conn:
                return bool(
                    await conn.scalar(
                        text(
                            f"SELECT count(*) FROM {result.schema}.report_conversations "
                            "WHERE conversation_id = :c"
                        ),
                        {"c": cid},
                    )
                )

        await eventually(arrived, timeout_s=60)
        today = datetime.now(ZoneInfo("America/New_York")).date()
        r = await _gateway_report(own_db, "demo", today, today, datetime.now(UTC))
        assert r["current"]["conversations"] >= 1
        assert await prune(engine, keep=0) == ["inbox"]
    finally:
        await engine.dispose()
