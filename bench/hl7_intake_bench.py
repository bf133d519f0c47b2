"""How many SIU messages per second pm-sync's HL7 intake parses and ACKs over one MLLP
connection (real TCP on 127.0.0.1), with a trivial in-process publish (no Kafka).

    uv run python bench/hl7_intake_bench.py [--count 5000] [--window 1]

window 1 is HL7 original mode (send, wait for the ACK, send the next); a larger window
pipelines messages on the connection (the server still answers in order). The durable
figure (publish to Kafka before the ACK) is measured separately.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime

from switchboard.platform.logging import configure_logging
from switchboard.pm_sync.demo import generate_demo
from switchboard.pm_sync.hl7_intake import hl7_callback, parse_hl7
from switchboard.pm_sync.mllp import MLLPClient, MLLPServer, ack_code


def siu_messages(count: int) -> list[str]:
    demo = generate_demo(seed=1, now=datetime(2025, 3, 10, tzinfo=UTC))
    base = [m for m in demo.hl7_messages() if "|SIU^" in m]
    out = []
    for i in range(count):
        text = base[i % len(base)]
        control = text.split("|")[9]
        out.append(text.replace(f"|{control}|", f"|B{i:09d}|", 1))  # unique control ids
    return out


async def run(count: int, window: int) -> None:
    messages = siu_messages(count)
    published = 0

    async def publish(events) -> None:
        nonlocal published
        published += len(events)

    started = time.perf_counter()
    for m in messages[: min(count, 2000)]:
        parse_hl7(m, "demo", default_tz="America/New_York")
    parse_rate = min(count, 2000) / (time.perf_counter() - started)

    callback = hl7_callback("demo", publish, default_tz="America/New_York")
    async with MLLPServer(callback, port=0) as server, MLLPClient("127.0.0.1", server.port) as c:
        await c.send_many(messages[:200], window=window)  # warm up
        published = 0
        started = time.perf_counter()
        acks = await c.send_many(messages, window=window)
        elapsed = time.perf_counter() - started
    accepted = sum(ack_code(a) == "AA" for a in acks)
    assert accepted == count == published, (accepted, published)
    print(f"parse only:            {parse_rate:8.0f} SIU msgs/s (in process)")
    print(
        f"MLLP parse + ACK:      {count / elapsed:8.0f} SIU msgs/s "
        f"({count} messages, window {window}, one connection, {elapsed:.2f}s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--window", type=int, default=1)
    args = parser.parse_args()
    configure_logging("hl7-bench", "WARNING")
    asyncio.run(run(args.count, args.window))


if __name__ == "__main__":
    main()
