"""Webhook benchmark against a running system (`make up`).

Posts N signed SMS webhooks at a fixed rate and prints:
- webhook-ack latency (the 200 comes only after Kafka's acks=all), p50 / p99;
- webhook-to-visible latency: from the post until the gateway lists the conversation, p50 / p99.

    uv run python bench/webhook_latency.py --count 500 --rate 100
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from pathlib import Path

import httpx

from switchboard.ingest.adapters.twilio import signature


def run_twilio_token() -> str:
    """The running system's token: $SWITCHBOARD_TWILIO_AUTH_TOKEN, else the run's secrets.env
    (make up makes it; there is no default token)."""
    if os.environ.get("SWITCHBOARD_TWILIO_AUTH_TOKEN"):
        return os.environ["SWITCHBOARD_TWILIO_AUTH_TOKEN"]
    run_home = Path(os.environ.get("SB_RUN_HOME", Path(__file__).parents[1] / ".local" / "run"))
    for line in (run_home / "secrets.env").read_text().splitlines():
        if line.startswith("SWITCHBOARD_TWILIO_AUTH_TOKEN="):
            return line.split("=", 1)[1]
    raise SystemExit("no SWITCHBOARD_TWILIO_AUTH_TOKEN in the run's secrets.env")


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--rate", type=float, default=100.0, help="webhooks per second")
    ap.add_argument("--port-base", type=int, default=8000)
    ap.add_argument("--token", default=None, help="default: the running system's token")
    args = ap.parse_args()
    args.token = args.token or run_twilio_token()
    gateway = f"http://127.0.0.1:{args.port_base}"
    url = f"http://127.0.0.1:{args.port_base + 1}/webhooks/twilio/sms/demo"
    run = uuid.uuid4().hex[:6]
    async with httpx.AsyncClient(timeout=30) as client:
        login = await client.post(
            f"{gateway}/api/auth/login", json={"username": "admin@demo", "password": "demo-admin"}
        )
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        posted: dict[str, float] = {}
        acks: list[float] = []
        seen: dict[str, float] = {}
        done = asyncio.Event()

        async def poll() -> None:
            while not done.is_set():
                r = await client.get(f"{gateway}/api/inboxes/unassigned?limit=200", headers=headers)
                now = time.perf_counter()
                for c in r.json()["items"]:
                    if c["sender"] in posted and c["sender"] not in seen:
                        seen[c["sender"]] = now
                if len(seen) == args.count:
                    done.set()
                await asyncio.sleep(0.02)

        async def send(i: int) -> None:
            sender = f"+1555{run_digits}{i:05d}"
            params = {
                "MessageSid": f"SMbench{run}{i}",
                "From": sender,
                "To": "+12125550000",
                "Body": "bench",
            }
            started = time.perf_counter()
            posted[sender] = started
            r = await client.post(
                url, data=params, headers={"X-Twilio-Signature": signature(args.token, url, params)}
            )
            r.raise_for_status()
            acks.append(time.perf_counter() - started)

        run_digits = f"{int(run, 16) % 100:02d}"
        poller = asyncio.create_task(poll())
        t0 = time.perf_counter()
        tasks = []
        for i in range(args.count):
            tasks.append(asyncio.create_task(send(i)))
            await asyncio.sleep(max(0.0, t0 + (i + 1) / args.rate - time.perf_counter()))
        await asyncio.gather(*tasks)
        sent_s = time.perf_counter() - t0
        try:
            await asyncio.wait_for(done.wait(), timeout=60)
        finally:
            done.set()
            await poller
    visible = [seen[s] - posted[s] for s in seen]
    print(f"webhooks: {args.count} at {args.count / sent_s:.0f}/s offered")
    mean_ack = statistics.mean(acks) * 1000
    print(
        f"webhook ack (acks=all):   p50 {pct(acks, 0.5):6.1f} ms   "
        f"p99 {pct(acks, 0.99):6.1f} ms   mean {mean_ack:.1f} ms"
    )
    print(
        f"webhook -> gateway list:  p50 {pct(visible, 0.5):6.1f} ms   "
        f"p99 {pct(visible, 0.99):6.1f} ms   ({len(visible)}/{args.count} seen)"
    )


if __name__ == "__main__":
    asyncio.run(main())
