"""The OAuth 2.0 token endpoint for API clients (RFC 6749 4.4, client credentials grant;
ADR 0024): POST /api/oauth/token with `grant_type=client_credentials` and the client's id
and secret (form body or HTTP Basic). Answers a short-lived bearer token for the staff API,
or the RFC's error bodies (never problem+json: OAuth client libraries parse these).
Failed tries are limited per client id (sign_in_limit.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, Field

from switchboard.gateway import api_client_store
from switchboard.gateway.api_clients import (
    GRANT,
    OAuthError,
    invalid_client,
    parse_token_request,
    token_answer,
)
from switchboard.gateway.app_state import session_of, settings_of
from switchboard.gateway.auth import issue_client_token
from switchboard.gateway.sign_in_limit import limiter_of
from switchboard.platform.logging import get_logger
from switchboard.platform.problems import OWN_ERROR_FORMAT

log = get_logger(__name__)
router = APIRouter(prefix="/api/oauth", tags=["API clients"])


class TokenOut(BaseModel):
    """RFC 6749 5.1."""

    access_token: str
    token_type: str = Field(description="always Bearer")
    expires_in: int = Field(description="seconds the token is good for")
    scope: str


class OAuthErrorOut(BaseModel):
    """RFC 6749 5.2."""

    error: str = Field(
        description="invalid_request, invalid_client, unsupported_grant_type, invalid_scope, "
        "or slow_down (too many failed tries: see Retry-After)"
    )
    error_description: str


FORM: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": [GRANT]},
                        "client_id": {
                            "type": "string",
                            "description": "unless sent with HTTP Basic",
                        },
                        "client_secret": {
                            "type": "string",
                            "description": "unless sent with HTTP Basic",
                        },
                        "scope": {"type": "string", "enum": ["inbox.api"]},
                    },
                }
            }
        },
    },
}
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": OAuthErrorOut, "description": what, OWN_ERROR_FORMAT: True}
    for code, what in (
        (400, "invalid_request, unsupported_grant_type, invalid_scope"),
        (401, "invalid_client"),
        (429, "slow_down: too many failed tries (Retry-After)"),
    )
}
# client_secret_basic, documented (the header is parsed with the form: parse_token_request)
basic = HTTPBasic(
    scheme_name="clientSecretBasic",
    description="An API client's id and secret (or send them in the form body)",
    auto_error=False,
)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _refused(e: OAuthError) -> JSONResponse:
    return JSONResponse(e.body(), status_code=e.status, headers=e.headers())


@router.post("/token", response_model=TokenOut, responses=ERRORS, openapi_extra=FORM)
async def token(
    request: Request,
    _documented: Annotated[HTTPBasicCredentials | None, Security(basic)] = None,
) -> Response:
    """Exchange an API client's id and secret for a bearer token (client credentials
    grant, RFC 6749 4.4): `grant_type=client_credentials`, with `client_id` and
    `client_secret` in the form body or HTTP Basic. The token goes in
    `Authorization: Bearer` on the staff API; it ends early if the client is revoked or its
    secret rotated."""
    try:
        asked = parse_token_request(
            request.headers.get("content-type"),
            await request.body(),
            request.headers.get("authorization"),
        )
    except OAuthError as e:
        return _refused(e)
    limiter = limiter_of(request)
    key = f"client:{asked.client_id}"
    wait = await limiter.retry_after(key)
    if wait is not None:
        slow = OAuthError(429, "slow_down", "too many failed tries: wait", asked.basic, wait)
        return _refused(slow)
    async with session_of(request) as db, db.begin():
        row = await api_client_store.authenticate(db, asked.client_id, asked.client_secret)
    if row is None:
        await limiter.failed(key)
        log.info("api_token_refused", client_id=asked.client_id)
        return _refused(invalid_client(asked.basic))
    await limiter.succeeded(key)
    s = settings_of(request)
    access = issue_client_token(
        row.client_id, row.practice_id, row.secret_version, s.jwt_secret, s.api_token_ttl_s
    )
    return JSONResponse(token_answer(access, s.api_token_ttl_s), headers=NO_STORE)
