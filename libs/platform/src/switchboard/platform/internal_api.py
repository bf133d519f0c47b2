"""What every service's internal HTTP API (`/internal/...`) shares: no browser reaches it; the
gateway authenticates staff and scopes each call to their practice (T-1). Where the network
is not trusted, set `SWITCHBOARD_INTERNAL_TOKEN` on both sides and callers must present it."""

from __future__ import annotations

import secrets

from fastapi import HTTPException, Request
from pydantic import SecretStr


def internal_caller(request: Request) -> None:
    """FastAPI dependency: with the service's `internal_token` set, the caller must present it
    as a bearer token (compared in constant time)."""
    expected: SecretStr | None = getattr(request.app.state.settings, "internal_token", None)
    if expected is None:
        return
    given = request.headers.get("authorization", "")
    if not secrets.compare_digest(given.encode(), f"Bearer {expected.get_secret_value()}".encode()):
        raise HTTPException(401, "internal token required")
