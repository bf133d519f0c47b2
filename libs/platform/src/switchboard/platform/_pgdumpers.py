"""psycopg's str dumpers, each passing its text through `pg_safe` first (pgtext.install).
pgtext hands `pg_safe` in rather than this module importing it, so the two do not import
each other (pgtext imports this one lazily: its text checks load without psycopg).

Registered in psycopg's own order (see psycopg.types.string): the by-oid ones first (COPY
with `set_types` finds them by oid), the text "unknown" one last as the default for str.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from psycopg.types import string


def _safe(base: type[Any], clean: Callable[[str], str]) -> type[Any]:
    def dump(self: Any, obj: str) -> Any:
        return base.dump(self, clean(obj))

    return type(f"Safe{base.__name__}", (base,), {"dump": dump})


@cache  # one set of classes per cleaning function, not one per connection
def dumpers(clean: Callable[[str], str]) -> list[type[Any]]:
    return [
        _safe(c, clean)
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
