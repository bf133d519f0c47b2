"""psycopg's str dumpers, each passing its text through `pg_safe` first (pgtext.install).

Registered in psycopg's own order (see psycopg.types.string): the by-oid ones first (COPY
with `set_types` finds them by oid), the text "unknown" one last as the default for str.
"""

from __future__ import annotations

from typing import Any

from psycopg.types import string

from switchboard.platform.pgtext import pg_safe


def _safe(base: type[Any]) -> type[Any]:
    def dump(self: Any, obj: str) -> Any:
        return base.dump(self, pg_safe(obj))

    return type(f"Safe{base.__name__}", (base,), {"dump": dump})


DUMPERS: list[type[Any]] = [
    _safe(c)
    for c in (
        string.StrBinaryDumperName,
        string.StrBinaryDumperVarchar,
        string.StrBinaryDumper,
        string.StrDumperName,
        string.StrDumperVarchar,
        string.StrDumper,
        string.StrDumperUnknown,
    )
]
