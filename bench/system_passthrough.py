"""Bare pass-throughs in place of the services, for bench/system_bench.py: the same load over
the same Kafka and PostgreSQL with (nearly) nothing of Switchboard in between, so the
system's figures can be read against what this machine's Kafka and PostgreSQL allow.

    python bench/system_passthrough.py ingest     --prefix P --port N
    python bench/system_passthrough.py router     --prefix P
    python bench/system_passthrough.py projection --prefix P --database D

- ingest: an ASGI app under uvicorn (the services' HTTP server) that publishes each POST's
  form fields with ingest's producer settings (acks=all, idempotence) and answers 200 once
  Kafka acknowledged it. No signature check, no sender look-up, no event model.
- router: consume -> produce (acks=all) -> commit offsets, records copied as they are.
- projection: consume -> one INSERT per poll (unnest) into `bare.visible` with the row's
  clock time -> COMMIT -> commit offsets (the services' order: offsets after the database).
Each runs as its own process, as the services do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import psycopg
import uvicorn
from aiokafka import AIOKafkaConsumer

from switchboard.platform.kafka import make_producer
from switchboard.platform.settings import ServiceSettings

KAFKA = os.environ.get("SWITCHBOARD_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
PG_PORT = int(os.environ.get("PG_PORT", "55432"))
SCHEMA_SQL = """
CREATE SCHEMA IF NOT EXISTS bare;
CREATE TABLE IF NOT EXISTS bare.visible (
    sid text PRIMARY KEY,
    sender text NOT NULL,
    received_at timestamptz NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
"""


def topics(prefix: str) -> tuple[str, str]:
    return f"{prefix}bare.received", f"{prefix}bare.routed"


def settings(name: str) -> ServiceSettings:
    return ServiceSettings(service_name=name, kafka_bootstrap=KAFKA, env="dev")


def database_url(database: str) -> str:
    return f"postgresql://switchboard@127.0.0.1:{PG_PORT}/{database}"


def ingest_app(prefix: str) -> Any:
    received, _ = topics(prefix)
    state: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    # aiokafka wants its loop running: made here, not at import
                    state["producer"] = make_producer(settings("bare-ingest"))
                    await state["producer"].start()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await state["producer"].stop()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        form = dict(parse_qsl(body.decode()))
        if scope["path"] == "/readyz":
            status = 200
        else:
            record = {
                "sid": form.get("MessageSid", ""),
                "sender": form.get("From", ""),
                "received_at": datetime.now(UTC).isoformat(),
            }
            future = await state["producer"].send(
                received, json.dumps(record).encode(), key=record["sender"].encode()
            )
            await future
            status = 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return app


def consumer(topic: str, group: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=KAFKA,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_poll_records=2000,
    )


async def router(prefix: str) -> None:
    source, sink = topics(prefix)
    producer = make_producer(settings("bare-router"))
    await producer.start()
    c = consumer(source, f"{prefix}bare-router")
    await c.start()
    try:
        while True:
            batches = await c.getmany(timeout_ms=500, max_records=2000)
            futures = [
                await producer.send(sink, r.value, key=r.key) for rs in batches.values() for r in rs
            ]
            await asyncio.gather(*futures)
            if batches:
                await c.commit({tp: rs[-1].offset + 1 for tp, rs in batches.items()})
    finally:
        await c.stop()
        await producer.stop()


async def projection(prefix: str, database: str) -> None:
    _, source = topics(prefix)
    conn = await psycopg.AsyncConnection.connect(database_url(database))
    await conn.execute(SCHEMA_SQL)
    await conn.commit()
    c = consumer(source, f"{prefix}bare-projection")
    await c.start()
    insert = (
        "INSERT INTO bare.visible (sid, sender, received_at) "
        "SELECT * FROM unnest(%s::text[], %s::text[], %s::timestamptz[]) "
        "ON CONFLICT (sid) DO NOTHING"
    )
    try:
        while True:
            batches = await c.getmany(timeout_ms=500, max_records=2000)
            records = [json.loads(r.value) for rs in batches.values() for r in rs]
            if not records:
                continue
            await conn.execute(
                insert,
                (
                    [r["sid"] for r in records],
                    [r["sender"] for r in records],
                    [r["received_at"] for r in records],
                ),
            )
            await conn.commit()
            await c.commit({tp: rs[-1].offset + 1 for tp, rs in batches.items()})
    finally:
        await c.stop()
        await conn.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("role", choices=["ingest", "router", "projection"])
    ap.add_argument("--prefix", required=True, help="topic prefix of this run")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--database", default="")
    args = ap.parse_args()
    if args.role == "ingest":
        uvicorn.run(ingest_app(args.prefix), host="127.0.0.1", port=args.port, log_level="warning")
    elif args.role == "router":
        asyncio.run(router(args.prefix))
    else:
        asyncio.run(projection(args.prefix, args.database))


if __name__ == "__main__":
    main()
