"""Who is calling the staff REST API: the FastAPI dependencies every route module uses
(`principal`, `admin_only`, `inbox_user`), from a local token or an OIDC issuer's (oidc.py).
No routes here (they are in routes/, which do not import each other; an import rule checks it).
Every query is scoped to the caller's practice (T-1); a conversation of another practice is
indistinguishable from one that does not exist (404). An API client's token (ADR 0024) is
good only while its client is active with that secret version, and each of its calls is in
the access log."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2

from switchboard.gateway.access_log import record_api_call
from switchboard.gateway.api_client_store import active_clients_of
from switchboard.gateway.api_clients import API_SCOPE
from switchboard.gateway.app_state import settings_of
from switchboard.gateway.auth import Principal, read_token
from switchboard.gateway.oidc import is_oidc_token, read_oidc_token

bearer = HTTPBearer(auto_error=False)
# The same bearer header, documented for programs: a token from POST /api/oauth/token.
client_credentials = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(
            tokenUrl="/api/oauth/token",
            scopes={API_SCOPE: "read every inbox view and act (reply, assign, close)"},
        )
    ),
    scheme_name="apiClient",
    description="API clients (practice admins make them): client credentials grant.",
    auto_error=False,
)


async def principal(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    _documented: Annotated[str | None, Security(client_credentials)] = None,
) -> Principal:
    if creds is None:
        raise HTTPException(401, "sign in first: Authorization: Bearer <token>")
    settings = settings_of(request)
    if is_oidc_token(creds.credentials, settings):
        p = await read_oidc_token(creds.credentials, settings)
    else:
        p = read_token(creds.credentials, settings.jwt_verification_keys())
    if p is None:
        raise HTTPException(401, "token invalid or expired")
    if p.client_version is not None:
        await _api_client_call(request, p)
    return p


async def _api_client_call(request: Request, p: Principal) -> None:
    """X-APICLIENT-1: a revoked client, or a token of a rotated-away secret, is refused; every
    other call is recorded before it is served."""
    version = p.client_version or 0
    if not await active_clients_of(request).is_active(p.user_id, p.practice_id, version):
        raise HTTPException(401, "this API client was revoked or its secret rotated")
    route = getattr(request.scope.get("route"), "path", request.url.path)
    raw = request.path_params.get("conversation_id")
    try:
        conversation = uuid.UUID(str(raw)) if raw is not None else None
    except ValueError:
        conversation = None
    async with request.app.state.runtime.sessionmaker() as session, session.begin():
        await record_api_call(session, p, request.method, route, conversation)


def admin_only(refusal: str) -> Callable[[Principal], Principal]:
    """A dependency: the caller is a practice admin, else 403 with `refusal` as the reason."""

    def check(p: Annotated[Principal, Depends(principal)]) -> Principal:
        if not p.is_admin:
            raise HTTPException(403, refusal)
        return p

    return check


def inbox_user(p: Annotated[Principal, Depends(principal)]) -> Principal:
    if not p.has_inbox:
        raise HTTPException(403, "your role has no Inbox access")
    return p
