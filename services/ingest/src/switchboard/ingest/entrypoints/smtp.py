"""The SMTP listener (aiosmtpd) for practices that relay their mail to us.

RCPT to a mailbox of no practice: 550 (we are nobody's relay). DATA is answered only after
Kafka acknowledged: 250, or 451 when it did not, so the sending server keeps the message
and retries -- nothing is lost. Too large: 552; malformed: 550 naming the problem. Past
ingest's in-flight limit (overload.py): 451 at once, the sender retries later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from switchboard.ingest.domain.errors import IntakeError
from switchboard.ingest.entrypoints.overload import SHED, Gate
from switchboard.ingest.intake import Intake
from switchboard.ingest.settings import IngestSettings
from switchboard.platform.logging import get_logger

log = get_logger(__name__)


class MailHandler:
    def __init__(self, intake: Intake, gate: Gate | None = None) -> None:
        self.intake = intake
        self.gate = gate or Gate(0)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.intake.directory.find("email", address) is None:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if not self.gate.enter():
            SHED.labels("smtp").inc()
            return "451 4.3.2 busy, try again later"
        try:
            return await self._data(envelope)
        finally:
            self.gate.leave()

    async def _data(self, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            events = await self.intake.email(raw, envelope.rcpt_tos, via="smtp")
        except IntakeError as exc:
            log.warning("mail_refused", why=type(exc).__name__, status=exc.smtp)
            return f"{exc.smtp} {exc.why}"
        except Exception as exc:
            log.exception("mail_failed", error=type(exc).__name__)
            return "451 4.3.0 temporary failure, try again later"
        return f"250 2.0.0 accepted {len(events)}"


class SmtpListener:
    def __init__(self, settings: IngestSettings, intake: Intake, gate: Gate | None = None) -> None:
        self.settings = settings
        self.handler = MailHandler(intake, gate)
        self.server: asyncio.base_events.Server | None = None

    def _protocol(self) -> Any:
        return SMTP(
            self.handler,
            data_size_limit=self.settings.max_email_bytes,
            enable_SMTPUTF8=True,
            hostname=self.settings.mail_domain,
            ident="Switchboard ingest",
            timeout=60,
        )

    async def start(self) -> None:
        # aiosmtpd logs peers and addresses at INFO: patient data stays out of our logs.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            self._protocol, host=self.settings.smtp_listen_host, port=self.settings.smtp_listen_port
        )
        log.info("smtp_listening", port=self.settings.smtp_listen_port)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.server.wait_closed(), timeout=5)
