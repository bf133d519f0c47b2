"""pm-sync settings (`SWITCHBOARD_*`).

SWITCHBOARD_MLLP_PORT=2575               HL7 v2 over MLLP listener (0 = an ephemeral port)
SWITCHBOARD_HL7_PRACTICE_ID=demo         the practice whose PM system sends on that port
SWITCHBOARD_FHIR_PRACTICES='[{"practice_id": "demo", "base_url": "https://ehr/fhir",
                              "token": "...", "interval_s": 60,
                              "communications": true, "communication_payload": "none"}]'
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr

from switchboard.platform.secret_settings import InternalCallers, Secret
from switchboard.platform.settings import ServiceSettings


class FhirPractice(BaseModel):
    """One practice's FHIR R4 server, polled every `interval_s`."""

    practice_id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    base_url: str
    # Bearer token; never logged. Required in production for every practice listed.
    token: Annotated[SecretStr | None, Secret()] = None
    interval_s: float = Field(default=60.0, gt=0)
    page_size: int = Field(default=100, ge=1, le=1000)
    # X-FHIR-2: each message and reply of a recognized conversation published to this server
    # as a Communication. On wherever a base URL is configured, unless turned off here.
    communications: bool = True
    # What a Communication carries of the message: "none" (the default: no content leaves
    # Switchboard, a note says to read it there) or "full" (the text and an email's subject).
    communication_payload: Literal["none", "full"] = "none"


class PmSyncSettings(ServiceSettings):
    http_port: int = 8005
    # The MLLP intake publishes what arrived together and waits for it: no reason to linger.
    producer_linger_ms: int = 0
    # Its own projection can lag by a few ms: bigger batches leave the CPU to the intake.
    consumer_fetch_min_bytes: int = 64 * 1024
    consumer_fetch_max_wait_ms: int = 100
    # With a minimum of bytes a held fetch waits the whole hold for a lone small record: the
    # idle hold is what its projection may lag after a quiet spell, so it stays short.
    consumer_idle_fetch_max_wait_ms: int = 500

    # HL7 v2 over MLLP. One listener takes one practice's feed.
    mllp_enabled: bool = True
    mllp_host: str = "127.0.0.1"
    mllp_port: int = 2575
    mllp_max_batch: int = 256  # pipelined messages published to Kafka together
    hl7_practice_id: str = "demo"
    # Worker processes that parse HL7 when several messages arrived together (0 = parse in
    # this process), and how many make a hand-over worth it.
    hl7_parse_workers: int = 1
    hl7_parse_min_batch: int = 8
    # Zone for HL7 times without a UTC offset, and "today" of patients with no zone of their own.
    default_timezone: str = "America/New_York"

    # FHIR R4 servers, one per practice: polled (X-FHIR-1) and sent each message and reply as
    # a Communication unless the practice turns `communications` off (X-FHIR-2).
    fhir_practices: list[FhirPractice] = Field(default_factory=list)
    fhir_max_attempts: int = 5  # HTTP attempts per page before a poll counts as failed
    fhir_backoff_initial_s: float = 0.5
    fhir_backoff_max_s: float = 60.0
    fhir_timeout_s: float = 30.0
    # Communications out: HTTP attempts per conditional create before the batch waits (the
    # consumer then retries the batch with its own backoff until the server answers).
    fhir_out_max_attempts: int = Field(default=3, ge=1)

    # The callers its internal API accepts, each with its token(s): required in production.
    internal_callers: Annotated[InternalCallers, Secret(min_length=16)] = {}

    def fhir_practice(self, practice_id: str) -> FhirPractice | None:
        return next((p for p in self.fhir_practices if p.practice_id == practice_id), None)
