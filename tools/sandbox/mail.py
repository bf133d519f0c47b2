"""The sandbox's mail sink: an SMTP server (aiosmtpd) on the sandbox's event loop that
accepts every message (ingest's email replies, notifier's alert emails) and keeps it for the
page. No relaying, no authentication, no TLS: local only."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiosmtpd.smtp import SMTP

from tools.sandbox.record import Mail, mail_of


class Handler:
    def __init__(self, keep: Callable[[Mail], None]) -> None:
        self.keep = keep

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        rcpts = [str(r) for r in envelope.rcpt_tos]
        self.keep(mail_of(str(envelope.mail_from or ""), rcpts, raw, datetime.now(UTC)))
        return "250 OK"


async def serve(keep: Callable[[Mail], None], host: str, port: int) -> asyncio.Server:
    # aiosmtpd logs every command (addresses included) at INFO: patient data, not logged.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    loop = asyncio.get_running_loop()
    handler = Handler(keep)
    return await loop.create_server(
        lambda: SMTP(handler, hostname="sandbox.invalid", ident="switchboard sandbox"),
        host,
        port,
    )
