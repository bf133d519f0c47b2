"""Listing an inbox page of 50 through the gateway's HTTP API with 100,000 conversations in
the read models.

    uv run python bench/inbox_listing_bench.py [--conversations 100000] [--requests 500]

Needs the running Kafka and PostgreSQL. Fills a throw-away database with the projection's
own fold (`apply_batch`, 2,000 events a transaction: that rate is printed too), then calls
the gateway app in process (ASGI, the real routes, auth and SQL) for first pages and
cursor-followed pages of several views (Unassigned, All Patients, Care Team, My Inbox, with
and without filters). Reported: p50 / p95 / p99 / max latency per request.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from inbox_events import (
    KAFKA,
    PRACTICE,
    STAFF,
    conversations,
    drop_database,
    patients,
    scratch_database,
)

from switchboard.events import Event
from switchboard.gateway.app import MIGRATIONS as GATEWAY_MIGRATIONS
from switchboard.gateway.app import build_app
from switchboard.gateway.auth import Principal, issue_token
from switchboard.gateway.settings import GatewaySettings
from switchboard.inbox_projection.app import MIGRATIONS as INBOX_MIGRATIONS
from switchboard.inbox_projection.handlers import apply_batch
from switchboard.platform.db import make_engine, make_sessionmaker
from switchboard.platform.migrations import upgrade

SECRET = "bench-secret-0123456789abcdef0123456789abcdef"


async def fill(url: str, count: int, patient_count: int, batch: int = 2000) -> float:
    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    events: list[Event] = list(patients(patient_count))
    for received, routed in conversations(count, patient_count):
        events += [received, routed]
    started = time.perf_counter()
    for i in range(0, len(events), batch):
        async with sessionmaker() as session, session.begin():
            await apply_batch(session, events[i : i + batch], "inbox", emit=False)
        if (i // batch) % 20 == 0:
            print(f"  filled {i + batch:,}/{len(events):,} events", end="\r", flush=True)
    seconds = time.perf_counter() - started
    async with engine.begin() as conn:
        from sqlalchemy import text

        await conn.execute(text("ANALYZE"))
    await engine.dispose()
    print()
    return len(events) / seconds


def headers(user_id: str, role: str, policies: tuple[str, ...]) -> dict[str, str]:
    p = Principal(user_id, PRACTICE, role, frozenset(policies))
    return {"Authorization": f"Bearer {issue_token(p, SECRET, 3600)}"}


async def measure(url: str, requests: int) -> list[float]:
    settings = GatewaySettings(
        service_name="gateway-bench",
        kafka_bootstrap=KAFKA,
        database_url=url,
        topic_prefix=f"bench{uuid.uuid4().hex[:6]}.",
        jwt_secret=SECRET,
    )
    app = build_app(settings)
    admin = headers("u-admin", "practice_admin", ("inbox.full_patient",))
    rng = random.Random(3)
    cases = [
        ("/api/inboxes/shared/unassigned", admin, {}),
        ("/api/inboxes/all/directed", admin, {}),
        ("/api/inboxes/all/unrecognized", admin, {}),
        ("/api/inboxes/shared/unassigned", admin, {"status": "open", "reason": "billing"}),
        ("/api/inboxes/shared/unassigned", admin, {"unassigned_only": "true"}),
        ("/api/inboxes/shared/refills", admin, {}),
    ]
    for u in STAFF[:5]:
        h = headers(u, "staff", ("inbox.care_team",))
        cases += [
            ("/api/inboxes/care-team/directed", h, {}),
            ("/api/inboxes/my/routed", h, {}),
            ("/api/inboxes/my/assigned", h, {}),
        ]
    timings: list[float] = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            cursors: dict[int, str | None] = {}
            for n in range(requests + 20):
                k = rng.randrange(len(cases))
                path, h, params = cases[k]
                q = dict(params, limit=50)
                if cursors.get(k) and rng.random() < 0.7:
                    q["cursor"] = cursors[k]
                t0 = time.perf_counter()
                r = await client.get(path, headers=h, params=q)
                elapsed = time.perf_counter() - t0
                assert r.status_code == 200, r.text
                body = r.json()
                cursors[k] = body["next_cursor"]
                if n >= 20:  # warm-up excluded
                    timings.append(elapsed * 1000)
    return timings


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    url, name = scratch_database("sb_bench_inbox")
    try:
        upgrade(INBOX_MIGRATIONS, url)
        upgrade(GATEWAY_MIGRATIONS, url)
        print(f"filling {args.conversations:,} conversations ({args.patients:,} patients)")
        rate = await fill(url, args.conversations, args.patients)
        print(f"projection fold in process: {rate:,.0f} events/s (2,000 events a transaction)")
        timings = sorted(await measure(url, args.requests))
        q = statistics.quantiles(timings, n=100)
        print(
            f"page of 50, {len(timings)} requests over {args.conversations:,} conversations: "
            f"p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, p99 {q[98]:.1f} ms, "
            f"max {timings[-1]:.1f} ms"
        )
    finally:
        if not args.keep:
            drop_database(name)
        else:
            print(f"kept database {name}")


if __name__ == "__main__":
    asyncio.run(main())
