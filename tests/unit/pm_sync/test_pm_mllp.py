"""MLLP over a real TCP socket on 127.0.0.1 (ephemeral port): framing, ACKs, bad input.

# covers X-FHIR-1 (HL7 v2 SIU over MLLP)
"""

import asyncio

import pytest
from test_pm_hl7_intake import A04, NO_START, S12, S13, S15, siu

from switchboard.pm_sync.adapters.mllp import (
    END_BLOCK,
    START_BLOCK,
    MLLPClient,
    MLLPServer,
    ack_code,
    frame,
)
from switchboard.pm_sync.entrypoints.hl7_intake import hl7_callback


class Store:
    def __init__(self):
        self.events = []
        self.fail = False

    async def publish(self, events):
        if self.fail:
            raise RuntimeError("broker unavailable")
        self.events.extend(events)


@pytest.fixture
async def store():
    return Store()


@pytest.fixture
async def server(store):
    async with MLLPServer(
        hl7_callback("demo", store.publish), "127.0.0.1", 0, max_frame_bytes=64 * 1024
    ) as srv:
        yield srv


async def raw_exchange(port, payload: bytes) -> list[str]:
    """Write raw bytes, read every ACK frame until the server has answered them all."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    writer.write(payload)
    await writer.drain()
    acks = []
    expected = payload.count(END_BLOCK)
    while len(acks) < expected:
        data = await asyncio.wait_for(reader.readuntil(END_BLOCK), 5)
        assert data.startswith(START_BLOCK)
        acks.append(data[1:-2].decode())
    writer.close()
    await writer.wait_closed()
    return acks


async def test_server_listens_on_an_ephemeral_port_and_acks_after_publishing(server, store):
    assert server.port > 0
    async with MLLPClient("127.0.0.1", server.port) as client:
        reply = await client.send(S12)
    assert ack_code(reply) == "AA"
    assert "\rMSA|AA|MSG0001|" in reply
    assert [e.appointment_id for e in store.events] == ["A-77"]


async def test_connection_stays_usable_after_bad_messages(server, store):
    async with MLLPClient("127.0.0.1", server.port) as client:
        bad = await client.send(NO_START)
        junk = await client.send("this is not HL7")
        good = await client.send(S13)
    assert ack_code(bad) == "AE" and "SCH-11: start time missing" in bad
    assert "\rERR|SCH^1^11^101" in bad
    assert ack_code(junk) == "AR"
    assert ack_code(good) == "AA"
    assert [e.change for e in store.events] == ["rescheduled"]
    assert server.messages == 3 and server.rejected == 2


async def test_pipelined_messages_are_answered_in_order(server, store):
    messages = [siu("S12", f"PIPE{i:04d}", "20250115090000-0500", appt=f"A-{i}") for i in range(50)]
    async with MLLPClient("127.0.0.1", server.port) as client:
        acks = await client.send_many(messages, window=10)
    assert [a.split("\r")[1].split("|")[2] for a in acks] == [f"PIPE{i:04d}" for i in range(50)]
    assert [e.appointment_id for e in store.events] == [f"A-{i}" for i in range(50)]


async def test_bytes_between_frames_are_skipped_and_split_writes_reassembled(server, store):
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    data = b"\r\n  " + frame(S12)
    for i in range(0, len(data), 7):  # trickle the frame in small TCP writes
        writer.write(data[i : i + 7])
        await writer.drain()
        await asyncio.sleep(0)
    reply = await asyncio.wait_for(reader.readuntil(END_BLOCK), 5)
    assert ack_code(reply[1:-2].decode()) == "AA"
    writer.close()
    await writer.wait_closed()


async def test_frame_without_start_block_and_oversized_frame_are_rejected_not_fatal(server, store):
    huge = S12.replace("ROUTINE", "X" * (200 * 1024))
    acks = await raw_exchange(
        server.port, b"garbage without start" + END_BLOCK + frame(huge) + frame(S15)
    )
    assert [ack_code(a) for a in acks] == ["AR", "AR", "AA"]
    assert "not an MLLP frame" in acks[0]
    assert "message too large" in acks[1]
    assert [e.status for e in store.events] == ["cancelled"]


async def test_publish_failure_answers_ar_so_the_sender_resends(server, store):
    store.fail = True
    async with MLLPClient("127.0.0.1", server.port) as client:
        first = await client.send(A04)
        store.fail = False
        again = await client.send(A04)  # the resend of the same control id
    assert ack_code(first) == "AR" and "resend" in first
    assert ack_code(again) == "AA"
    assert len(store.events) == 1


async def test_callback_exception_becomes_ar_and_the_connection_survives():
    calls = []

    async def flaky(text):
        calls.append(text)
        if len(calls) == 1:
            raise ValueError("boom")
        return "MSH|^~\\&|SB||||20250101000000||ACK|1|P|2.5.1\rMSA|AA|x\r"

    async with MLLPServer(flaky, port=0) as srv, MLLPClient("127.0.0.1", srv.port) as client:
        first = await client.send(S12)
        second = await client.send(S12)
    assert ack_code(first) == "AR" and "\rMSA|AR|MSG0001|" in first
    assert ack_code(second) == "AA"


async def test_several_clients_at_once(server, store):
    async def one(i):
        async with MLLPClient("127.0.0.1", server.port) as client:
            return await client.send(siu("S12", f"C{i}", "20250115090000-0500", appt=f"A-{i}"))

    acks = await asyncio.gather(*(one(i) for i in range(8)))
    assert [ack_code(a) for a in acks] == ["AA"] * 8
    assert sorted(e.appointment_id for e in store.events) == sorted(f"A-{i}" for i in range(8))


async def test_server_close_ends_open_connections(store):
    srv = MLLPServer(hl7_callback("demo", store.publish), port=0)
    await srv.start()
    client = MLLPClient("127.0.0.1", srv.port, timeout_s=5)
    await client.connect()
    assert ack_code(await client.send(S12)) == "AA"
    await asyncio.wait_for(srv.close(), 5)
    with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
        await client.send(S13)
    await client.close()
