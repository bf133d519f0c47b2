"""Local stand-ins for the outbound providers, with a record of every send so a test or the
fault harness can count what each recipient received.

- `SmsProvider`: Twilio's Messages resource as the carrier sandbox `make up` runs keeps it
  (tools/sandbox/carrier.py: the one implementation of messages, their list pages and the
  duplicate count). POST /2010-04-01/Accounts/{sid}/Messages.json creates a message (201,
  status `queued`) and ignores any `Idempotency-Key` header, as Twilio does; GET on the
  same path lists the account's messages newest first, filtered by `To` and `From`, paged
  by `PageSize`/`Page` with a `next_page_uri`, dates in RFC 2822. What it adds to the
  sandbox is what the reliability tests need in-process: holding an answer (`hold_next`)
  and counting lookups; what it leaves out is the sandbox's status sequence and callbacks
  (the messages stay `queued`) and the auth token check (it only requires Basic auth).
  Tests of the delivery statuses use the sandbox itself (tests/e2e/test_sandbox_loop.py).
- Webhook subscriber: any other POST is kept as a webhook delivery, answered 200.
- `MailReceiver`: an SMTP server (aiosmtpd) keeping every message with its Message-ID.

The record, for counting: `GET /_sandbox/sends` on the HTTP stand-in answers
`{"sends": [{"channel", "recipient", "key", "at"}...], "duplicates": [{"channel",
"recipient", "key", "count"}...]}` covering SMS, webhooks and (when the process runs one)
email. `key` says which sends are the same send: SMS a hash of the text (Twilio keeps no
reference of ours), email the Message-ID, webhooks the Idempotency-Key header. A
`duplicates` entry is one recipient that received the same key more than once;
`receiver_can_drop` is true for email and webhooks (the key is the receiver's dedupe key)
and false for SMS (the person got the text twice).

Run as a process for a whole system (the fault harness):
    uv run --frozen python tests/integration/provider_standins.py --http-port P --smtp-port S
then point SWITCHBOARD_SMS_API_BASE_URL at http://127.0.0.1:P, the SMTP relay / notifier
SMTP host at 127.0.0.1:S, and webhook subscriptions at http://127.0.0.1:P/hooks/<name>.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email
import email.policy
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from http_standin import Call, StandIn

from tools.sandbox import carrier
from tools.sandbox.record import duplicates, text_key

MESSAGES_PATH = "/Messages.json"


@dataclass
class Send:
    channel: str  # sms | webhook | email
    recipient: str
    key: str
    at: float

    def row(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "recipient": self.recipient,
            "key": self.key,
            "at": self.at,
        }


class MailReceiver:
    """A real SMTP server in its own thread; `hold_next` messages are kept and then answered
    only after `hold_s` (the client is gone by then: accepted, never confirmed)."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        from aiosmtpd.controller import Controller

        if port == 0:
            import socket

            with socket.socket() as sock:
                sock.bind((host, 0))
                port = int(sock.getsockname()[1])
        self.port = port
        self.messages: list[tuple[list[str], Any]] = []  # (recipients, parsed message)
        self.sends: list[Send] = []
        self.hold_next = 0
        self.hold_s = 0.0
        receiver = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
                rcpts = [str(r) for r in envelope.rcpt_tos]
                receiver.messages.append((rcpts, msg))
                mid = str(msg.get("Message-ID", ""))
                now = time.time()
                receiver.sends += [Send("email", r, mid, now) for r in rcpts]
                if receiver.hold_next > 0:
                    receiver.hold_next -= 1
                    await asyncio.sleep(receiver.hold_s)
                return "250 OK"

        self.controller = Controller(Handler(), hostname=host, port=port)

    def __enter__(self) -> MailReceiver:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    def by_message_id(self, recipient: str) -> Counter[str]:
        return Counter(s.key for s in self.sends if s.recipient == recipient)


@dataclass
class SmsProvider(StandIn):
    """Twilio's Messages resource and a webhook subscriber on one port (see the module).

    The next `hold_next` creates or webhook deliveries are kept and answered only after
    `hold_s`: the provider has the message, the client never hears so (its timeout, or a
    crash, comes first)."""

    messages: list[carrier.Message] = field(default_factory=list)
    webhooks: list[Call] = field(default_factory=list)
    sends: list[Send] = field(default_factory=list)
    mail: MailReceiver | None = None
    hold_next: int = 0
    hold_s: float = 0.0
    lookups: int = 0  # GETs of the message list

    def received(self, to: str) -> list[dict[str, Any]]:
        return [m.resource() for m in self.messages if m.to == to]

    async def answer(self, call: Call) -> tuple[int, bytes]:
        if call.path == "/_sandbox/sends":
            sends = self.sends + (self.mail.sends if self.mail else [])
            rows = [s.row() for s in sends]
            body = {"sends": rows, "duplicates": duplicates(rows)}
            return 200, json.dumps(body).encode()
        if call.path.endswith(MESSAGES_PATH) and call.path.startswith("/2010-04-01/Accounts/"):
            if "authorization" not in call.headers:
                return 401, b'{"code":20003,"message":"Authenticate","status":401}'
            if call.method == "POST":
                return await self._create(call)
            if call.method == "GET":
                return 200, json.dumps(self._list(call)).encode()
            return 405, b"{}"
        if call.method == "POST":
            self.webhooks.append(call)
            key = call.headers.get("idempotency-key", "")
            self.sends.append(Send("webhook", call.path, key, call.at))
            await self._hold()
            return 200, b"{}"
        return 404, b"{}"

    async def _create(self, call: Call) -> tuple[int, bytes]:
        account = call.path.split("/")[3]
        try:
            message = carrier.create(account, call.form(), datetime.now(UTC))
        except carrier.BadRequest as exc:
            return 400, json.dumps({"code": 21604, "message": str(exc), "status": 400}).encode()
        self.messages.append(message)
        self.sends.append(Send("sms", message.to, text_key(message.body), call.at))
        await self._hold()
        return 201, json.dumps(message.resource()).encode()

    async def _hold(self) -> None:
        if self.hold_next > 0:
            self.hold_next -= 1
            await asyncio.sleep(self.hold_s)

    def _list(self, call: Call) -> dict[str, Any]:
        self.lookups += 1
        return carrier.page(self.messages, call.path, {k: v[0] for k, v in call.query.items()})


async def _serve(http_port: int, smtp_port: int, host: str) -> None:
    with MailReceiver(smtp_port, host) as mail:
        provider = await SmsProvider(mail=mail).start(http_port, host)
        print(
            json.dumps(
                {
                    "http": f"http://{host}:{provider.port}",
                    "smtp": f"{host}:{mail.port}",
                    "sends": f"http://{host}:{provider.port}/_sandbox/sends",
                }
            ),
            flush=True,
        )
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()
        await provider.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--http-port", type=int, default=0)
    parser.add_argument("--smtp-port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.http_port, args.smtp_port, args.host))


if __name__ == "__main__":
    main()
