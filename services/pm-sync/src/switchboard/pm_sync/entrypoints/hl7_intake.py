"""The HL7 v2 intake behind the MLLP listener: parse each message (domain/hl7_mapping.py),
publish the events of a batch in one call, then ACK each (domain/hl7_ack.py), in order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import tzinfo

from switchboard.events import Event
from switchboard.pm_sync.domain.hl7_ack import ack
from switchboard.pm_sync.domain.hl7_mapping import Parsed, parse_many
from switchboard.pm_sync.domain.hl7_message import ERR_INTERNAL, HL7Error

Publish = Callable[[Sequence[Event]], Awaitable[None]]
# Parses messages (e.g. in a worker process); None = in this process.
ParseMany = Callable[[Sequence[str]], Awaitable[list[Parsed]]]


class HL7BatchHandler:
    """An `MLLPServer.on_batch`: parse each message, publish the events of all of them in one
    call, then ACK each, in order.

    AA only after `publish` returned (the events are durable). A bad message -> AE/AR with
    ERR, and the others go on. A publish failure -> AR with ERR 207 for every message that
    had events; the sender resends (ids are deterministic, so a resend collapses with
    anything that did get through). `parse` may move the parsing elsewhere (a process).

    Two stages for the MLLP server: `prepare` (parse) of the next batch may run while
    `commit` (publish, ACK) of this one waits for Kafka; commits keep arrival order.
    """

    def __init__(
        self,
        practice_id: str,
        publish: Publish,
        *,
        default_tz: tzinfo | str = "UTC",
        on_error: Callable[[HL7Error], None] | None = None,
        parse: ParseMany | None = None,
    ) -> None:
        self.practice_id = practice_id
        self.publish = publish
        self.default_tz = default_tz
        self.on_error = on_error
        self.parse = parse

    async def prepare(self, texts: Sequence[str]) -> list[Parsed]:
        if self.parse is not None:
            return await self.parse(texts)
        return parse_many(texts, self.practice_id, self.default_tz)

    async def commit(self, texts: Sequence[str], outcomes: Sequence[Parsed]) -> list[str]:
        on_error = self.on_error
        events: list[Event] = []
        for outcome in outcomes:
            if isinstance(outcome, HL7Error):
                if on_error is not None:
                    on_error(outcome)
            else:
                events.extend(outcome.events)
        stored = True
        if events:
            try:
                await self.publish(events)
            except Exception:
                stored = False
        replies = []
        for text, outcome in zip(texts, outcomes, strict=True):
            if isinstance(outcome, HL7Error):
                replies.append(ack(text, outcome.code, error=outcome))
            elif outcome.events and not stored:
                failure = HL7Error(
                    "MSH",
                    None,
                    "could not store the message, resend later",
                    code="AR",
                    err_code=ERR_INTERNAL,
                    control_id=outcome.control_id,
                )
                if on_error is not None:
                    on_error(failure)
                replies.append(ack(text, "AR", error=failure))
            else:
                note = "ignored: trigger not used" if outcome.ignored else ""
                replies.append(ack(text, "AA", note))
        return replies

    async def __call__(self, texts: Sequence[str]) -> list[str]:
        return await self.commit(texts, await self.prepare(texts))


def hl7_batch_callback(
    practice_id: str,
    publish: Publish,
    *,
    default_tz: tzinfo | str = "UTC",
    on_error: Callable[[HL7Error], None] | None = None,
    parse: ParseMany | None = None,
) -> HL7BatchHandler:
    """See `HL7BatchHandler`."""
    return HL7BatchHandler(
        practice_id, publish, default_tz=default_tz, on_error=on_error, parse=parse
    )


def hl7_callback(
    practice_id: str,
    publish: Publish,
    *,
    default_tz: tzinfo | str = "UTC",
    on_error: Callable[[HL7Error], None] | None = None,
) -> Callable[[str], Awaitable[str]]:
    """An `MLLPServer.on_message`: parse, publish, then ACK (`hl7_batch_callback` of one)."""
    on_batch = hl7_batch_callback(practice_id, publish, default_tz=default_tz, on_error=on_error)

    async def on_message(text: str) -> str:
        return (await on_batch([text]))[0]

    return on_message
