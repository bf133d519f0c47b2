"""Pipelined HL7 over one MLLP connection: messages that arrived together are parsed and
published as one batch (one Kafka round trip), and each still gets its own ACK, in order.

# covers X-FHIR-1 (HL7 v2 SIU over MLLP)
"""

import pickle

from test_pm_hl7_intake import A04, NO_START, S12, S13, S15

from switchboard.pm_sync.adapters.mllp import MLLPClient, MLLPServer, ack_code
from switchboard.pm_sync.domain.hl7_mapping import parse_many
from switchboard.pm_sync.domain.hl7_message import HL7Error
from switchboard.pm_sync.entrypoints.hl7_intake import hl7_batch_callback


class Store:
    def __init__(self, fail: bool = False):
        self.calls: list[list] = []
        self.fail = fail

    async def publish(self, events):
        if self.fail:
            raise RuntimeError("broker unavailable")
        self.calls.append(list(events))


async def test_one_publish_for_the_batch_and_one_ack_per_message_in_order():
    store = Store()
    on_batch = hl7_batch_callback("demo", store.publish)
    acks = await on_batch([A04, S12, NO_START, "junk", S13])
    assert [ack_code(a) for a in acks] == ["AA", "AA", "AE", "AR", "AA"]
    assert len(store.calls) == 1
    assert [e.event_type for e in store.calls[0]] == [
        "PatientUpserted",
        "AppointmentChanged",
        "AppointmentChanged",
    ]


async def test_a_failed_publish_rejects_only_the_messages_that_had_events():
    on_batch = hl7_batch_callback("demo", Store(fail=True).publish)
    acks = await on_batch([S12, NO_START, S15])
    assert [ack_code(a) for a in acks] == ["AR", "AE", "AR"]
    assert "could not store the message" in acks[0]


async def test_pipelined_frames_are_handed_over_together():
    store = Store()
    sizes: list[int] = []
    callback = hl7_batch_callback("demo", store.publish)

    async def on_batch(texts):
        sizes.append(len(texts))
        return await callback(texts)

    messages = [S12, S13, S15] * 40
    async with (
        MLLPServer(on_batch=on_batch, port=0, max_batch=50) as server,
        MLLPClient("127.0.0.1", server.port) as client,
    ):
        acks = await client.send_many(messages, window=120)
        one = await client.send(S12)  # original mode still works on the same connection
    assert [ack_code(a) for a in acks] == ["AA"] * len(messages)
    assert ack_code(one) == "AA"
    assert sum(sizes) == len(messages) + 1
    assert max(sizes) > 1 and max(sizes) <= 50  # batched, never over max_batch


def test_parse_results_cross_a_process_boundary():
    parsed = parse_many([S12, NO_START], "demo", "UTC")
    again = pickle.loads(pickle.dumps(parsed))
    assert again[0].events == parsed[0].events
    err = again[1]
    assert isinstance(err, HL7Error) and str(err) == "SCH-11: start time missing"
    assert (err.code, err.err_code, err.control_id) == ("AE", 101, "MSG0001")


async def test_two_stage_handler_parses_ahead_and_publishes_in_arrival_order():
    import asyncio

    from test_pm_hl7_intake import siu

    published: list[str] = []
    log: list[str] = []

    async def slow_publish(events):
        log.append("publish-start")
        await asyncio.sleep(0.01)  # waiting for Kafka
        published.extend(e.appointment_id for e in events)
        log.append("publish-end")

    handler = hl7_batch_callback("demo", slow_publish)
    prepare = handler.prepare

    async def logged_prepare(texts):
        log.append("prepare")
        return await prepare(texts)

    handler.prepare = logged_prepare  # type: ignore[method-assign]
    messages = [siu("S12", f"C{i:04d}", "20250115090000-0500", appt=f"A{i:04d}") for i in range(60)]
    async with (
        MLLPServer(on_batch=handler, port=0, max_batch=8) as server,
        MLLPClient("127.0.0.1", server.port) as client,
    ):
        acks = await client.send_many(messages, window=60)
    assert [ack_code(a) for a in acks] == ["AA"] * 60
    assert published == [f"A{i:04d}" for i in range(60)]  # order kept across batches
    # some batch was parsed while the one before it waited for its publish
    overlaps = [
        i for i in range(1, len(log) - 1) if log[i] == "prepare" and log[i - 1] == "publish-start"
    ]
    assert overlaps
