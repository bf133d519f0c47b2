"""Creating staff users (a command, used by `make up` for the demo practice)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy.dialects.postgresql import insert

from switchboard.gateway import storage
from switchboard.gateway.auth import POLICIES, ROLES, hash_password
from switchboard.platform.db import make_sync_engine


def upsert_users(database_url: str, users: list[dict[str, Any]]) -> int:
    rows = []
    for u in users:
        if u["role"] not in ROLES:
            raise ValueError(f"user {u['user_id']}: unknown role {u['role']!r}")
        unknown = set(u.get("policies", ())) - POLICIES
        if unknown:
            raise ValueError(f"user {u['user_id']}: unknown policies {sorted(unknown)}")
        rows.append(
            {
                "user_id": u["user_id"],
                "practice_id": u["practice_id"],
                "username": u["username"],
                "display_name": u["display_name"],
                "password_hash": hash_password(u["password"]),
                "role": u["role"],
                "policies": list(u.get("policies", ())),
            }
        )
    engine = make_sync_engine(database_url)
    with engine.begin() as conn:
        stmt = insert(storage.users).values(rows)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[storage.users.c.user_id],
                set_={
                    k: stmt.excluded[k]
                    for k in ("display_name", "password_hash", "role", "policies")
                },
            )
        )
    engine.dispose()
    return len(rows)


def load_users_file(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text())
    return list(data["users"])
