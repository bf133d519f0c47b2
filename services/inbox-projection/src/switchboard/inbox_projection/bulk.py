"""A rebuild's bulk load: the log from offset 0 into a new generation nobody else writes yet.

The generation's state stays in memory (a `Fold` carried from batch to batch), so nothing is
read back; each batch is folded while the previous one is written (`writer`); rows that
only grow are COPYed directly, in COPY's text format encoded here (textcopy.py);
conversations, patients, care teams and the membership rows (the boxes each conversation is
in now, as the fold keeps them) are written once at the end, on two connections at once.
"""

from __future__ import annotations

import asyncio
import functools
import operator
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard.events import Event, UnknownEventError, decode, event_class
from switchboard.inbox_projection import storage
from switchboard.inbox_projection.handlers import write_small
from switchboard.inbox_projection.model import HANDLED, Fold, earliest_copies
from switchboard.inbox_projection.textcopy import Encoder, Memo, esc

# (event_type header, version header, value): what the load needs of a Kafka record
Raw = tuple[bytes | None, bytes | None, bytes]
# a folded batch, and the COPY lines of its append-only rows by table
Batch = tuple[Fold, dict[str, list[str]]]

# A rebuild writes a generation nobody reads until the switch, and a rebuild that dies is
# started again from scratch (the half-built generation is never switched to, and prune
# drops it): its transactions need not wait for the WAL flush. The switch itself commits
# synchronously, which flushes every earlier record of the log with it.
ASYNC_COMMIT = text("SET LOCAL synchronous_commit = off")


@functools.lru_cache(maxsize=256)
def _current(event_type: bytes, version: bytes) -> type[Event] | None:
    """The event class when `version` is its current one (no upcasting needed)."""
    try:
        cls = event_class(event_type.decode())
    except UnknownEventError:
        return None
    if str(cls.model_fields["version"].default) == version.decode():
        return cls
    return None


def fast_decode(event_type: bytes | None, version: bytes | None, value: bytes) -> Event:
    """The event: straight from JSON (pydantic's parser) when the producer's headers name the
    current version, else the full decode (with upcasting). Both validate the whole event."""
    if event_type is not None and version is not None:
        cls = _current(event_type, version)
        if cls is not None:
            event: Event = cls.model_validate_json(value)
            return event
    return decode(value)


class BulkKeys:
    """What the bulk load has written of the append-only tables, so a duplicate (another
    event naming the same message) is dropped before COPY instead of conflicting. A copy of a
    message older than the row already written is kept in `earlier`, and `drained` moves the
    row's time back to it (model.earliest_copies: the live path keeps the earliest too)."""

    def __init__(self) -> None:
        self.messages: dict[uuid.UUID, datetime] = {}
        self.earlier: dict[uuid.UUID, datetime] = {}
        self.deliveries: set[tuple[uuid.UUID, str]] = set()
        self.decisions: set[uuid.UUID] = set()

    def new_messages(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for row in earliest_copies(rows):
            k, at = row["message_id"], row["sent_at"]
            written = self.messages.get(k)
            if written is None:
                self.messages[k] = at
                out.append(row)
            elif at < written:
                self.messages[k] = self.earlier[k] = at
        return out

    @staticmethod
    def new(rows: list[dict[str, Any]], seen: set[Any], *key: str) -> list[dict[str, Any]]:
        out = []
        for row in rows:
            k = row[key[0]] if len(key) == 1 else tuple(row[x] for x in key)
            if k not in seen:
                seen.add(k)
                out.append(row)
        return out


class BulkLoader:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], schema: str) -> None:
        self.sessionmaker = sessionmaker
        self.tables = storage.tables(schema)
        self.state = Fold(emit=False)
        self.seen: set[uuid.UUID] = set()
        self.keys = BulkKeys()
        self.memo = Memo()
        self.enc = {name: Encoder(table, self.memo) for name, table in self.tables.items()}
        self.skipped = 0
        # membership intervals: every one, and the open ones by (conversation, box)
        self.history: list[dict[str, Any]] = []
        self.open: dict[tuple[uuid.UUID, str], dict[str, Any]] = {}
        self.pending: asyncio.Queue[Batch | None] = asyncio.Queue(maxsize=2)
        self.writing = asyncio.create_task(self._writer(), name="rebuild-writer")
        self.encoding = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rebuild-encode")

    async def _writer(self) -> None:
        """Write each folded batch's append-only rows (conversations, patients, care teams,
        membership and its history are written once, at the end), its lines made with the
        fold: messages on one connection, the rest on another, beside the next fold."""
        while (item := await self.pending.get()) is not None:
            await asyncio.gather(
                self._copy(item, ["messages"], small=False),
                self._copy(item, ["deliveries", "decisions", "applied"], small=True),
            )

    async def _copy(self, batch: Batch, names: list[str], *, small: bool) -> None:
        fold, encoded = batch
        async with self.sessionmaker() as session, session.begin():
            await session.execute(ASYNC_COMMIT)
            for name in names:
                await self.enc[name].copy(session, encoded[name])
            if small:
                await write_small(session, self.tables, fold)

    def _lines(self, fold: Fold) -> dict[str, list[str]]:
        enc, keys = self.enc, self.keys
        return {
            name: enc[name].lines(rows)
            for name, rows in (
                ("messages", keys.new_messages(fold.messages)),
                ("deliveries", keys.new(fold.deliveries, keys.deliveries, "message_id", "kind")),
                ("decisions", keys.new(fold.decisions, keys.decisions, "event_id")),
                ("applied", fold.applied),
            )
        }

    def _fold(self, raws: Sequence[Raw]) -> Batch | None:
        """Decode and fold a batch (in log order), and make the lines of its append-only
        rows: in a worker thread, so the event loop goes on fetching from Kafka and writing
        the previous batch meanwhile. One at a time (`feed` waits for it); it alone changes
        the state."""
        fresh: list[Event] = []
        for event_type, version, value in raws:
            try:
                e = fast_decode(event_type, version, value)
            except (UnknownEventError, ValidationError):
                self.skipped += 1
                continue
            if isinstance(e, HANDLED) and e.event_id not in self.seen:
                self.seen.add(e.event_id)
                fresh.append(e)
        if not fresh:
            return None
        fold = self.state.next_batch()
        fold.apply(fresh)
        if fold.dirty_address_staff:  # written from the state as it is after this batch
            fold.addresses = dict(fold.addresses)
        self._history(fold)
        return fold, self._lines(fold)

    async def feed(self, raws: Sequence[Raw]) -> None:
        """Fold a batch (in log order) and queue it for writing."""
        batch = await asyncio.to_thread(self._fold, raws)
        if batch is None:
            return
        if self.writing.done():
            self.writing.result()  # raises what the writer failed with
        await self.pending.put(batch)

    def _history(self, fold: Fold) -> None:
        """Keep the batch's membership intervals (written once, by `write_history`): close
        the ones earlier batches opened and this one ended, as the live path's UPDATE does
        (handlers.close_history; one closed at the instant it opened was never there), then
        add the batch's own."""
        for close in fold.history_close:
            row = self.open.pop((close["c"], close["b"]), None)
            if row is not None:
                row["valid_to"] = close["t"]
        for row in fold.history_open:
            self.history.append(row)
            if row["valid_to"] is None:
                self.open[(row["conversation_id"], row["box"])] = row

    async def drained(self) -> None:
        """Wait until every batch fed is written (the append-only tables are complete)."""
        await self.pending.put(None)
        await self.writing
        if self.keys.earlier:
            m = self.tables["messages"]
            fix = update(m).where(m.c.message_id == bindparam("mid"))
            fix = fix.values(sent_at=bindparam("at"))
            async with self.sessionmaker() as session, session.begin():
                await session.execute(
                    fix, [{"mid": k, "at": at} for k, at in self.keys.earlier.items()]
                )

    async def _encoded(self, lines: Callable[[], list[str]]) -> list[str]:
        """`lines()` in the one encoding thread: what is asked first is made first (the
        membership before its history before the conversations), each COPYed while the
        next is made."""
        return await asyncio.get_running_loop().run_in_executor(self.encoding, lines)

    async def write_state(self) -> None:
        """Every conversation, patient and care team once."""
        state, enc = self.state, self.enc
        conv = enc["conversations"]
        get = operator.attrgetter(*conv.columns)  # Conversation has the table's columns

        def lines() -> list[str]:
            return conv.lines([get(c) for c in state.conversations.values()], tuples=True)

        encoded = await self._encoded(lines)
        async with self.sessionmaker() as session, session.begin():
            await session.execute(ASYNC_COMMIT)
            await conv.copy(session, encoded)
            for name, rows in (
                ("patients", [p.row() for p in state.patients.values()]),
                ("care_teams", [c.row() for c in state.care_teams.values()]),
            ):
                await enc[name].copy(session, enc[name].lines(rows))

    def _membership_lines(self) -> list[str]:
        """One row per (box, conversation) for the boxes each conversation is in now: what
        the live path writes (model.membership_rows), and the open history intervals."""
        state, memo = self.state, self.memo
        lines: list[str] = []
        for cid, boxes in state.now_boxes.items():
            if not boxes:
                continue
            c = state.conversations[cid]
            head = esc(c.practice_id) + "\t"
            tail = "\t".join(
                [
                    memo.uuid(cid),
                    memo.stamp(c.sort_at),
                    esc(c.status),
                    "t" if c.assignee is not None else "f",
                    esc(c.channel),
                    "\\N" if c.reason is None else esc(c.reason),
                    "\\N" if c.location_id is None else esc(c.location_id),
                ]
            )
            lines += [f"{head}{esc(b)}\t{tail}\n" for b in boxes]
        return lines

    async def write_membership(self) -> None:
        m = self.enc["membership"]
        encoded = await self._encoded(self._membership_lines)
        async with self.sessionmaker() as session, session.begin():
            await session.execute(ASYNC_COMMIT)
            await m.copy(session, encoded)

    def _history_lines(self) -> list[str]:
        """Every membership interval (none empty: see `_history`)."""
        memo = self.memo
        stamp = memo.stamp
        heads: dict[uuid.UUID, tuple[str, str]] = {}
        lines: list[str] = []
        append = lines.append
        for r in self.history:
            start, end = r["valid_from"], r["valid_to"]
            if end is not None and end == start:
                continue
            cid = r["conversation_id"]
            head = heads.get(cid)
            if head is None:
                head = heads[cid] = (esc(r["practice_id"]) + "\t", "\t" + memo.uuid(cid) + "\t")
            append(
                head[0]
                + esc(r["box"])
                + head[1]
                + stamp(start)
                + ("\t\\N\n" if end is None else "\t" + stamp(end) + "\n")
            )
        return lines

    async def write_history(self) -> None:
        h = self.enc["membership_history"]
        encoded = await self._encoded(self._history_lines)
        async with self.sessionmaker() as session, session.begin():
            await session.execute(ASYNC_COMMIT)
            await h.copy(session, encoded)

    def cancel(self) -> None:
        if not self.writing.done():
            self.writing.cancel()
        self.encoding.shutdown(wait=False, cancel_futures=True)
