"""@mentions in an internal note (I-NOTE-1). Pure: no I/O.

A note names colleagues two ways: the staff UI sends their ids (`mentions`, picked from the
staff directory, shown as "@Display Name" in the text), and an API client may write
`@<user id>` in the text. Either way each must be a colleague of the practice who may read the
conversation (the gateway's one access rule, access.can_see); otherwise the note is refused
and the answer names them and why (`problems`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

# "@u-front-1" after a space or at the start (not "ada@example.org"); a trailing "." or ","
# ends a sentence, not the id.
TOKEN = re.compile(r"(?<![\w@.])@([A-Za-z0-9][A-Za-z0-9_.:-]*[A-Za-z0-9])")


def written(body: str) -> list[str]:
    """The `@<id>` tokens in a note's text, in order, each once."""
    out: dict[str, None] = {}
    for m in TOKEN.finditer(body):
        out.setdefault(m.group(1), None)
    return list(out)


def mentioned(body: str, chosen: Iterable[str], staff: Iterable[str]) -> list[str]:
    """Who a note mentions: every id `chosen`, and each `@<id>` in the text that is a staff id
    of the practice (other "@words" are just text), each once, sorted."""
    known = set(staff)
    return sorted({*chosen, *(t for t in written(body) if t in known)})


def problems(
    mentions: Iterable[str], names: Mapping[str, str], may_read: Iterable[str]
) -> list[str]:
    """Why each refused mention is refused: not a colleague of this practice (`names` is the
    practice's staff), or one who may not read the conversation (`may_read`)."""
    readers = set(may_read)
    out = []
    for m in mentions:
        if m not in names:
            out.append(f"{m} is not a colleague in this practice")
        elif m not in readers:
            out.append(f"{names[m]} ({m}) cannot see this patient's conversation")
    return out
