"""Text PostgreSQL cannot store, handled in one place.

PostgreSQL `text` (and `jsonb`) refuses NUL, and UTF-8 cannot encode a lone surrogate (what
Python's email parser makes of undeclared 8-bit bytes, or a JSON "\\ud800" escape). Events
keep the original text (JSON carries both); everything written to PostgreSQL goes through
`pg_safe`, which puts U+FFFD in their place, so a message is stored, shown and found by its
other words instead of failing the write (and the event being dead-lettered).

`install(engine)` makes every parameter an engine's connections send (str and JSON, COPY
included) go through `pg_safe`; code that writes COPY text itself calls `pg_safe` directly.
At the HTTP edge `unstorable` finds such text in a request (textguard.py answers 422).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

REPLACEMENT = "\ufffd"
_UNSAFE = re.compile("[\x00\ud800-\udfff]")


def pg_safe(s: str) -> str:
    """`s` with NUL and lone surrogates replaced by U+FFFD (the same string when it has none)."""
    if _UNSAFE.search(s) is None:
        return s
    return _UNSAFE.sub(REPLACEMENT, s)


def is_unsafe(s: str) -> bool:
    return _UNSAFE.search(s) is not None


def pg_safe_value(value: Any) -> Any:
    """A JSON-like value (dicts, lists, tuples, strings) with every string and key made safe."""
    if isinstance(value, str):
        return pg_safe(value)
    if isinstance(value, dict):
        return {pg_safe(k) if isinstance(k, str) else k: pg_safe_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [pg_safe_value(v) for v in value]
    return value


# A JSON escape of NUL or of a surrogate half, not itself escaped (an even run of backslashes
# before it): jsonb refuses \u0000 and an unpaired half, and a pair is cheaper to re-read.
_JSON_UNSAFE = re.compile(r"(?<!\\)(?:\\\\)*\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")


def pg_safe_json_text(doc: str) -> str:
    """JSON text as jsonb accepts it: strings holding NUL or lone surrogates made safe."""
    if not is_unsafe(doc) and _JSON_UNSAFE.search(doc) is None:
        return doc
    return json.dumps(pg_safe_value(json.loads(doc)), ensure_ascii=False)


def safe_json_dumps(obj: Any, **kwargs: Any) -> str:
    """`json.dumps` of `obj` as jsonb accepts it."""
    return json.dumps(pg_safe_value(obj), **kwargs)


Loc = tuple[str | int, ...]


def unstorable(value: Any, where: Loc) -> Iterator[Loc]:
    """The places (`where`, then keys/indexes) in a JSON-like value holding text PostgreSQL
    cannot store; names only, never the value (a key that is itself unsafe is not named)."""
    if isinstance(value, str):
        if is_unsafe(value):
            yield where
    elif isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str) and is_unsafe(k):
                yield where
            else:
                yield from unstorable(v, (*where, str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from unstorable(v, (*where, i))


def install(engine: Any) -> None:
    """Make every connection of `engine` (a SQLAlchemy engine on psycopg 3, sync or async)
    store safe text: str parameters and JSON, in statements and in COPY."""
    from sqlalchemy import event

    sync = getattr(engine, "sync_engine", engine)
    event.listen(sync, "connect", _on_connect)


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    conn = getattr(dbapi_connection, "driver_connection", dbapi_connection)
    adapt(conn)


def adapt(conn: Any) -> None:
    """Register the safe dumpers on one psycopg connection (or adapters context)."""
    from psycopg.types.json import set_json_dumps

    from switchboard.platform import _pgdumpers

    for cls in _pgdumpers.dumpers(pg_safe):
        conn.adapters.register_dumper(str, cls)
    set_json_dumps(safe_json_dumps, context=conn)
