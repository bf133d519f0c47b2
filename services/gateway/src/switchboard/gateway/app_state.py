"""What a request handler takes from the app it runs in: the gateway's settings and a
database session (the peers' client is clients.of)."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.gateway.settings import GatewaySettings


def settings_of(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


def session_of(request: Request) -> AsyncSession:
    """A new session on the gateway's database (use it as `async with`)."""
    session: AsyncSession = request.app.state.runtime.sessionmaker()
    return session
