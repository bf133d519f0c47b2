"""The practices' numbers and mailboxes: which practice a number or mailbox belongs to, and
its label (I-LINE-1). Pure: built once from the settings; labels set later by practice admins
are laid over it with `relabel` (adapters/line_labels.py reads and stores them)."""

from __future__ import annotations

from collections.abc import Iterable

from switchboard.ingest.settings import Line, LineChannel


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
