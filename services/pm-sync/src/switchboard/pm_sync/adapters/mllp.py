"""MLLP (Minimal Lower Layer Protocol) over asyncio: <VT> message <FS><CR>.

`MLLPServer` reads the frames of each connection in order, hands each message to an async
`on_message(text) -> ack_text` callback (or the messages that arrived pipelined together to
`on_batch(texts) -> ack_texts`) and writes the ACKs back in order (HL7 original-mode
acknowledgement keeps order per connection). A bad message, an oversized frame or a failing
callback gets a reject ACK, and the connection stays usable.

`MLLPClient` sends a message and waits for its ACK; `send_many` pipelines a window of
messages on one connection (the server still answers in order).

Its size: the server and the client share the framing and are tested against each other.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, Self, runtime_checkable

from switchboard.platform.logging import get_logger
from switchboard.pm_sync.domain.hl7_ack import ack
from switchboard.pm_sync.domain.hl7_message import ERR_INTERNAL, ERR_SEGMENT_SEQUENCE, HL7Error

log = get_logger(__name__)

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\x0d"
DEFAULT_MAX_FRAME_BYTES = 1 << 20

OnMessage = Callable[[str], Awaitable[str]]
# Several messages (in order) -> their ACKs (same order).
OnBatch = Callable[[list[str]], Awaitable[Sequence[str]]]


class MLLPError(ConnectionError):
    """The peer broke the framing or went away before answering."""


class FrameTooLarge(MLLPError):
    pass


class IncompleteFrame(MLLPError):
    pass


def frame(message: str | bytes, encoding: str = "utf-8") -> bytes:
    data = message.encode(encoding) if isinstance(message, str) else message
    return START_BLOCK + data + END_BLOCK


def _decode(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return data.decode("latin-1")


async def read_frame(reader: asyncio.StreamReader) -> bytes | None:
    """The payload of the next frame (bytes between <VT> and <FS><CR>); None at a clean EOF.

    Bytes before the start block are discarded. Raises FrameTooLarge when the frame exceeds
    the reader's limit (the rest of that frame is consumed, so the stream stays in sync),
    MLLPError when the stream ends mid-frame or a frame has no start block.
    """
    too_large = False
    while True:
        try:
            data = await reader.readuntil(END_BLOCK)
        except asyncio.IncompleteReadError as exc:
            if not exc.partial.strip(b"\r\n\t \x00"):
                return None
            raise IncompleteFrame("connection closed mid-frame") from None
        except asyncio.LimitOverrunError as exc:
            too_large = True
            await reader.readexactly(exc.consumed)  # drop what we have, keep looking for FS CR
            continue
        if too_large:
            raise FrameTooLarge("frame exceeds the size limit")
        start = data.find(START_BLOCK)
        if start < 0:
            raise MLLPError("frame without a start block")
        return data[start + 1 : -len(END_BLOCK)]


@dataclass(frozen=True, slots=True)
class _Reject:
    reply: str  # the ACK of a frame that could not be read


@dataclass(frozen=True, slots=True)
class _Batch:
    items: list[bytes | _Reject]
    texts: list[str]  # the readable messages among items, decoded
    prepared: asyncio.Task[Any]


@runtime_checkable
class TwoStageHandler(Protocol):
    """A batch handler in two stages: `prepare` (e.g. parse, in a worker process) may run for
    the next batch while `commit` (e.g. publish and wait for Kafka) runs for this one;
    commits run one at a time, in arrival order."""

    async def prepare(self, texts: list[str]) -> Any: ...

    async def commit(self, texts: list[str], prepared: Any) -> Sequence[str]: ...


class MLLPServer:
    """`async with MLLPServer(on_message, port=0) as server:` ... `server.port`.

    Give `on_message` (one message -> its ACK) or `on_batch` (messages that arrived
    pipelined on one connection -> their ACKs, e.g. to publish them to Kafka together)."""

    def __init__(
        self,
        on_message: OnMessage | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        on_batch: OnBatch | None = None,
        max_batch: int = 256,
        encoding: str = "utf-8",
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        idle_timeout_s: float | None = None,
    ) -> None:
        if (on_message is None) == (on_batch is None):
            raise ValueError("give exactly one of on_message and on_batch")
        self.on_message = on_message
        self.on_batch = on_batch
        self._two_stage = isinstance(on_batch, TwoStageHandler)
        self.max_batch = max(1, max_batch)
        self.host = host
        self.port = port
        self.encoding = encoding
        self.max_frame_bytes = max_frame_bytes
        self.idle_timeout_s = idle_timeout_s
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self.messages = 0  # frames answered (any ACK code)
        self.rejected = 0  # frames answered with AE / AR

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, limit=self.max_frame_bytes
        )
        sockets = self._server.sockets or ()
        if sockets:
            self.port = sockets[0].getsockname()[1]
        log.info("mllp_listening", host=self.host, port=self.port)

    @property
    def serving(self) -> bool:
        return self._server is not None and self._server.is_serving()

    async def close(self, grace_s: float = 5.0) -> None:
        """Stop accepting, end open connections (a message being handled finishes first,
        within `grace_s`), then release the port."""
        if self._server is not None:
            self._server.close()
        tasks = list(self._connections)
        for writer in self._connections.values():
            writer.transport.close()  # the reader sees EOF; the handler loop ends
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace_s)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        assert self._server is not None
        await self._server.serve_forever()

    async def _prepare(self, texts: list[str]) -> Any:
        """Stage one of a batch (a two-stage handler's `prepare`); may run while the batch
        before it is still being committed."""
        if self._two_stage:
            return await self.on_batch.prepare(texts)  # type: ignore[union-attr]
        return None

    async def _answer(self, texts: list[str], prepared: asyncio.Task[Any]) -> list[str]:
        """The ACKs of consecutive messages, in order: a two-stage handler's `commit`, one
        `on_batch` call, or `on_message` for each. A failing callback answers AR (resend
        later) for the messages it had not answered."""
        replies: list[str] = []
        try:
            done = await prepared
            if self._two_stage:
                answered = list(await self.on_batch.commit(texts, done))  # type: ignore[union-attr]
            elif self.on_batch is not None:
                answered = list(await self.on_batch(texts))
            else:
                assert self.on_message is not None
                for text in texts:
                    replies.append(await self.on_message(text))
                return replies
            if len(answered) != len(texts):
                raise RuntimeError("the batch handler returned the wrong number of ACKs")
            return answered
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("mllp_callback_failed", error_type=type(exc).__name__)
            err = HL7Error(
                "MSH", None, "internal error, resend later", code="AR", err_code=ERR_INTERNAL
            )
            return [*replies, *(ack(t, "AR", error=err) for t in texts[len(replies) :])]

    async def _read_frames(
        self, reader: asyncio.StreamReader, queue: asyncio.Queue[bytes | _Reject | None]
    ) -> None:
        """Frames into `queue` as they arrive (a broken one as its reject ACK), then None."""
        try:
            while True:
                try:
                    if self.idle_timeout_s is not None:
                        payload = await asyncio.wait_for(read_frame(reader), self.idle_timeout_s)
                    else:
                        payload = await read_frame(reader)
                except FrameTooLarge:
                    err = HL7Error(
                        "MSH", None, "message too large", code="AR", err_code=ERR_SEGMENT_SEQUENCE
                    )
                    await queue.put(_Reject(ack("", "AR", error=err)))
                    continue
                except IncompleteFrame:
                    break
                except MLLPError:
                    err = HL7Error(
                        "MSH", None, "not an MLLP frame", code="AR", err_code=ERR_SEGMENT_SEQUENCE
                    )
                    await queue.put(_Reject(ack("", "AR", error=err)))
                    continue
                except TimeoutError:
                    break
                if payload is None:
                    break
                await queue.put(payload)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        await queue.put(None)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Frames are read ahead while earlier ones are handled; the messages waiting when
        the handler is free are handled together (up to `max_batch`), and their ACKs are
        written in order. A sender in original mode (one at a time) gets batches of one.
        With a two-stage handler, the next batch is prepared while one is committed."""
        task = asyncio.current_task()
        if task is not None:
            self._connections[task] = writer
        peer = writer.get_extra_info("peername")
        log.info("mllp_connected", peer=str(peer))
        queue: asyncio.Queue[bytes | _Reject | None] = asyncio.Queue(maxsize=2 * self.max_batch)
        batches: asyncio.Queue[_Batch | None] = asyncio.Queue(maxsize=1)
        frames = asyncio.create_task(self._read_frames(reader, queue))
        answering = asyncio.create_task(self._write_answers(writer, batches))
        try:
            finished = False
            while not finished:
                first = await queue.get()
                if first is None:
                    break
                items: list[bytes | _Reject] = [first]
                while len(items) < self.max_batch and not queue.empty():
                    item = queue.get_nowait()
                    if item is None:
                        finished = True
                        break
                    items.append(item)
                texts = [_decode(i, self.encoding) for i in items if isinstance(i, bytes)]
                prepared = asyncio.create_task(self._prepare(texts))
                if not await self._hand_over(batches, _Batch(items, texts, prepared), answering):
                    prepared.cancel()
                    break
            if not answering.done():
                await self._hand_over(batches, None, answering)
                await answering
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            for helper in (frames, answering):
                helper.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await helper
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            if task is not None:
                self._connections.pop(task, None)
            log.info("mllp_disconnected", peer=str(peer))

    @staticmethod
    async def _hand_over(
        batches: asyncio.Queue[_Batch | None], batch: _Batch | None, answering: asyncio.Task[None]
    ) -> bool:
        """Queue a batch for the writer; False when the writer has stopped (peer gone)."""
        put = asyncio.ensure_future(batches.put(batch))
        await asyncio.wait({put, answering}, return_when=asyncio.FIRST_COMPLETED)
        if not put.done():
            put.cancel()
            return False
        return True

    async def _write_answers(
        self, writer: asyncio.StreamWriter, batches: asyncio.Queue[_Batch | None]
    ) -> None:
        """Commit batches in arrival order and write their ACKs."""
        while True:
            batch = await batches.get()
            if batch is None:
                return
            answers = iter(await self._answer(batch.texts, batch.prepared) if batch.texts else [])
            if not batch.texts:
                batch.prepared.cancel()
            for item in batch.items:
                reply = item.reply if isinstance(item, _Reject) else next(answers)
                self.messages += 1
                if ack_code(reply) != "AA":
                    self.rejected += 1
                writer.write(frame(reply, self.encoding))
            await writer.drain()


class MLLPClient:
    """`async with MLLPClient(host, port) as client: ack_text = await client.send(msg)`."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        encoding: str = "utf-8",
        timeout_s: float = 30.0,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    ) -> None:
        self.host = host
        self.port = port
        self.encoding = encoding
        self.timeout_s = timeout_s
        self.max_frame_bytes = max_frame_bytes
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._lock = asyncio.Lock()

    async def connect(self) -> None:
        self._reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port, limit=self.max_frame_bytes),
            self.timeout_s,
        )

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        self._reader = self._writer = None

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _read_ack(self) -> str:
        assert self._reader is not None
        payload = await asyncio.wait_for(read_frame(self._reader), self.timeout_s)
        if payload is None:
            raise MLLPError("server closed the connection before the ACK")
        return _decode(payload, self.encoding)

    async def send(self, message: str) -> str:
        """Send one message, return the ACK text."""
        if self._writer is None:
            await self.connect()
        async with self._lock:
            assert self._writer is not None
            self._writer.write(frame(message, self.encoding))
            await self._writer.drain()
            return await self._read_ack()

    async def send_many(self, messages: Iterable[str], window: int = 1) -> list[str]:
        """Send messages in order with up to `window` unanswered at a time; ACKs in order."""
        if self._writer is None:
            await self.connect()
        acks: list[str] = []
        async with self._lock:
            assert self._writer is not None
            in_flight = 0
            for message in messages:
                self._writer.write(frame(message, self.encoding))
                in_flight += 1
                if in_flight >= max(1, window):
                    await self._writer.drain()
                    acks.append(await self._read_ack())
                    in_flight -= 1
            await self._writer.drain()
            for _ in range(in_flight):
                acks.append(await self._read_ack())
        return acks


def ack_code(ack_text: str) -> str:
    """MSA-1 of an ACK ("AA", "AE", "AR"), "" when there is no MSA."""
    for segment in ack_text.replace("\n", "\r").split("\r"):
        if segment.startswith("MSA"):
            parts = segment.split(segment[3] if len(segment) > 3 else "|")
            return parts[1] if len(parts) > 1 else ""
    return ""
