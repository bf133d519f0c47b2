"""Feeds the demo practice's HL7 v2 messages (practice.py) to pm-sync's MLLP listener, in
order, on one connection; `make up` runs it once pm-sync is ready.

    python -m switchboard_demo.load --host 127.0.0.1 --port 2575
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from switchboard.pm_sync.adapters.mllp import MLLPClient, ack_code
from switchboard_demo.practice import DEFAULT_SEED, DemoPractice, generate_demo


@dataclass(slots=True)
class LoadReport:
    sent: int = 0
    accepted: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (index, ACK code)


async def load_demo(
    mllp_host: str,
    mllp_port: int,
    *,
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    practice: DemoPractice | None = None,
    window: int = 1,
    timeout_s: float = 30.0,
) -> LoadReport:
    """Send the demo HL7 feed to an MLLP listener (pm-sync), in order, on one connection."""
    demo = practice or generate_demo(seed, now)
    messages = demo.hl7_messages()
    report = LoadReport()
    async with MLLPClient(mllp_host, mllp_port, timeout_s=timeout_s) as client:
        acks = await client.send_many(messages, window=window)
    for index, text in enumerate(acks):
        report.sent += 1
        code = ack_code(text)
        if code == "AA":
            report.accepted += 1
        else:
            report.rejected.append((index, code))
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Feed the demo practice's HL7 to pm-sync.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2575)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--window", type=int, default=1)
    args = parser.parse_args(argv)
    report = asyncio.run(load_demo(args.host, args.port, seed=args.seed, window=args.window))
    print(
        f"demo HL7: sent {report.sent}, accepted {report.accepted}, rejected {len(report.rejected)}"
    )
    if report.rejected:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
