"""The practices' numbers and mailboxes: which practice a number or mailbox belongs to, and
its label (I-LINE-1). The Directory is pure: built once from the settings; labels set later by
practice admins (LineLabelSet, folded by the `ingest-config` consumer into `ingest.line_labels`)
are laid over it with `relabel`, at start-up, as they are consumed and by a periodic refresh
(so every replica shows them, whichever one consumed the event)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

from sqlalchemy import Column, DateTime, Table, Text, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard.events import Event, LineLabelSet
from switchboard.ingest import storage
from switchboard.ingest.settings import Line, LineChannel
from switchboard.platform.logging import get_logger

log = get_logger(__name__)

line_labels = Table(
    "line_labels",
    storage.metadata,
    Column("practice_id", Text, primary_key=True),
    Column("channel", Text, primary_key=True),
    Column("address_key", Text, primary_key=True),
    Column("label", Text),
    Column("set_by", Text, nullable=False),
    Column("set_at", DateTime(timezone=True), nullable=False),
)


def address_key(address: str) -> str:
    """Numbers compare without spaces or dashes; mailboxes case-insensitively."""
    value = address.strip()
    if "@" in value:
        return value.lower()
    return "".join(c for c in value if c.isdigit() or c == "+")


class Directory:
    def __init__(self, lines: Iterable[Line], practices: Iterable[str] = ()) -> None:
        self._by_address: dict[tuple[LineChannel, str], Line] = {}
        for line in lines:
            key = (line.channel, address_key(line.address))
            known = self._by_address.get(key)
            if known is not None and known.practice_id != line.practice_id:
                # One number or mailbox serving two practices would cross tenants (T-1).
                raise ValueError(f"{line.channel} line configured for two practices")
            self._by_address[key] = line
        self.practices = frozenset(practices) | {ln.practice_id for ln in self._by_address.values()}

    def find(self, channel: LineChannel, address: str) -> Line | None:
        return self._by_address.get((channel, address_key(address)))

    def line_of(self, practice_id: str, channel: LineChannel, address: str) -> Line | None:
        """The practice's line with this address, or None (also when it is another's)."""
        line = self.find(channel, address)
        return line if line is not None and line.practice_id == practice_id else None

    def main_line(self, practice_id: str) -> Line | None:
        """The practice's first SMS line: the messenger's thread lives there, so a patient's
        texts and messenger messages are one conversation (R-OVERWRITE-1 needs both)."""
        return next(
            (
                ln
                for ln in self._by_address.values()
                if ln.practice_id == practice_id and ln.channel == "sms"
            ),
            None,
        )

    def of_practice(self, practice_id: str) -> list[Line]:
        return sorted(
            (ln for ln in self._by_address.values() if ln.practice_id == practice_id),
            key=lambda ln: (ln.channel, ln.address),
        )

    def relabel(self, practice_id: str, channel: str, address: str, label: str | None) -> bool:
        """Lay an admin's label over the line (None: no label). False when the practice has
        no such line (an event for another practice's number changes nothing, T-1)."""
        key = (channel, address_key(address))
        line = self._by_address.get(key)  # type: ignore[arg-type]
        if line is None or line.practice_id != practice_id:
            return False
        if line.label != label:
            self._by_address[key] = line.model_copy(update={"label": label})  # type: ignore[index]
        return True


async def load_labels(session: AsyncSession, directory: Directory) -> int:
    """Lay every stored label over the directory; how many rows there were."""
    rows = (await session.execute(select(line_labels))).all()
    for r in rows:
        directory.relabel(r.practice_id, r.channel, r.address_key, r.label)
    return len(rows)


async def apply_config(
    session: AsyncSession, directory: Directory, events: Sequence[Event]
) -> list[Event]:
    """The `ingest-config` consumer: store each LineLabelSet for one of our lines and lay it
    over the directory at once. Other configuration events are not ingest's."""
    for e in events:
        if not isinstance(e, LineLabelSet):
            continue
        if not directory.relabel(e.practice_id, e.channel, e.address, e.label):
            continue
        stmt = insert(line_labels).values(
            practice_id=e.practice_id,
            channel=e.channel,
            address_key=address_key(e.address),
            label=e.label,
            set_by=e.actor,
            set_at=e.occurred_at,
        )
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["practice_id", "channel", "address_key"],
                set_={"label": e.label, "set_by": e.actor, "set_at": e.occurred_at},
                where=line_labels.c.set_at <= e.occurred_at,
            )
        )
    return []


async def keep_labels_fresh(
    sessionmaker: async_sessionmaker[AsyncSession], directory: Directory, every_s: float = 5.0
) -> None:
    """Load the stored labels now and every `every_s` (another replica may have consumed a
    change). A failed load is logged and retried; it never stops the service."""
    while True:
        try:
            async with sessionmaker() as session:
                await load_labels(session, directory)
        except Exception as exc:  # the database may be briefly unavailable
            log.warning("line_labels_load_failed", error=type(exc).__name__)
        await asyncio.sleep(every_s)
