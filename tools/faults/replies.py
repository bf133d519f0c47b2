"""Staff replies under faults, counted where they arrive: the local SMS sandbox (issue 21:
"no outbound reply sent twice to the same recipient, counted at the local sandbox").

A few of the load's SMS numbers are registered as patients (HL7 ADT^A04), so their texts
land in recognized conversations that can be answered. While the load runs, a staff member
replies to one of them every few seconds through the gateway, as the inbox does: with an
Idempotency-Key (I-DELIV-6), repeating the same request after a refusal, a timeout or a
5xx until it is answered 2xx or 4xx. Each reply carries a token (`fr<run>x<seq>`) in its
text; at the end the sandbox's record of sends is counted per token: every acknowledged
reply must have reached the carrier exactly once. Counts only are printed, never a text.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import time
from collections import Counter
from collections.abc import Callable

import httpx

from tools.faults.ledger import OK, Attempt, Ledger, classify_http

# Senders of the load's SMS are +1646555 0000..0049 (driver.Load.sms); these answer.
PATIENT_PHONES = tuple(f"+1646555{n:04d}" for n in range(5))
TOKEN_RE = r"fr[0-9a-f]{4}x[0-9]{5}"


class Replier:
    def __init__(
        self,
        gateway: str,
        staff: Callable[[], dict[str, str]],
        run: str,
        every_s: float = 3.0,
        retries: int = 20,
    ) -> None:
        self.gateway = gateway
        self.staff = staff  # the staff member's Authorization header, fresh on each call
        self.run = run
        self.every_s = every_s
        self.retries = retries
        self.ledger = Ledger()
        self.seq = 0
        self.http = httpx.AsyncClient(timeout=10)
        self.t0 = time.monotonic()

    async def answerable(self) -> list[str]:
        """Recognized SMS conversations of the registered numbers (the gateway's search)."""
        found: list[str] = []
        for phone in PATIENT_PHONES:
            with contextlib.suppress(httpx.HTTPError):
                r = await self.http.get(
                    f"{self.gateway}/api/search",
                    params={"phone": phone, "limit": 20},
                    headers=self.staff(),
                )
                if r.status_code == 200:
                    found += [
                        str(c["conversation_id"])
                        for c in r.json()["items"]
                        if c.get("patient_id") and c.get("channel") == "sms"
                    ]
        return found

    async def reply(self, conversation_id: str) -> None:
        """One reply, repeated under its key until answered 2xx or 4xx."""
        self.seq += 1
        token = f"fr{self.run}x{self.seq:05d}"
        url = f"{self.gateway}/api/conversations/{conversation_id}/reply"
        body = {"body": f"Synthetic reply {token}", "keep_open": True}
        for n in range(1 + self.retries):
            if n:
                await asyncio.sleep(min(5.0, 0.5 * n))
            started = time.monotonic() - self.t0
            try:
                headers = self.staff() | {"Idempotency-Key": token}
                r = await self.http.post(url, json=body, headers=headers)
                answer = classify_http(r.status_code)
            except (httpx.ConnectError, ConnectionError):
                answer = "refused"
            except httpx.TimeoutException:
                answer = "timeout"
            except httpx.HTTPError:
                answer = "error"
            self.ledger.record(Attempt("reply", token, started, answer))
            if answer == OK or answer.startswith("http_4"):
                return

    async def run_while(self, going: Callable[[], bool]) -> None:
        """Reply every `every_s` while `going()`; the replies still being repeated are
        awaited at the end."""
        tasks: set[asyncio.Task[None]] = set()
        while going():
            await asyncio.sleep(self.every_s)
            with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
                targets = await self.answerable()
                if targets:
                    task = asyncio.create_task(self.reply(random.choice(targets)))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)

    async def close(self) -> None:
        await self.http.aclose()


def sent_counts(sends: list[dict[str, object]], pattern: str = TOKEN_RE) -> Counter[str]:
    """How many times the sandbox received each reply token (its SMS sends)."""
    token = re.compile(pattern)
    counts: Counter[str] = Counter()
    for s in sends:
        if s.get("channel") == "sms":
            counts.update(token.findall(str(s.get("body") or "")))
    return counts


async def sandbox_counts(sandbox: str) -> Counter[str]:
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.get(f"{sandbox}/_sandbox/sends", params={"channel": "sms"})
        r.raise_for_status()
        return sent_counts(r.json()["sends"])


async def converge_replies(ledger: Ledger, sandbox: str, limit_s: float) -> Counter[str]:
    """Until every acknowledged reply reached the sandbox (or `limit_s`): the counts."""
    deadline = time.monotonic() + limit_s
    while True:
        counts = await sandbox_counts(sandbox)
        if all(counts[t] for t in ledger.acknowledged) or time.monotonic() > deadline:
            return counts
        await asyncio.sleep(2)
