"""Every service's internal HTTP API (`/internal/...`): its own listener, a token per caller.

No browser reaches these routes: the gateway authenticates staff and scopes each call to their
practice (T-1), ingest asks on a patient's behalf. They are served only by a second app on
`SWITCHBOARD_INTERNAL_HTTP_PORT` (never on the public port with the webhooks), and every request
there must carry `Authorization: Bearer <token>` where the token is one that
`SWITCHBOARD_INTERNAL_CALLERS` names for a caller. With no callers configured nobody gets in:
the secure default, nothing is generated (scripts/up.sh and the tests make real tokens).

`CALLERS` says which service calls which; scripts/up.sh and the tests configure exactly these
pairs (`dev_credentials`), the Kubernetes NetworkPolicy allows exactly these.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI
from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from switchboard.platform.logging import get_logger
from switchboard.platform.problems import install_problems

log = get_logger(__name__)

# callee -> the services that call its internal API (each with its own token).
CALLERS: dict[str, tuple[str, ...]] = {
    "router": ("gateway", "ingest"),
    "pm-sync": ("gateway", "ingest"),
    "ingest": ("gateway",),
    "notifier": ("gateway",),
}

# `SWITCHBOARD_INTERNAL_CALLERS`: caller name -> its token, or several while one is rotated.
CallerTokens = dict[str, SecretStr | list[SecretStr]]


def _tokens(value: SecretStr | list[SecretStr]) -> list[SecretStr]:
    return value if isinstance(value, list) else [value]


def authenticate(callers: Mapping[str, SecretStr | list[SecretStr]], header: str | None) -> str:
    """The caller whose token the `Authorization` header carries, or "" when none does.

    Every configured token is compared (in constant time, none skipped after a match), so the
    answer's timing says nothing about which token or how much of it was right."""
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return ""
    presented = given.strip().encode()
    found = ""
    for name, value in callers.items():
        for token in _tokens(value):
            expected = token.get_secret_value().encode()
            # An empty configured token would match nothing useful: never accept it.
            if hmac.compare_digest(presented, expected) and expected and not found:
                found = name
    return found


class InternalAuth:
    """ASGI middleware in front of a whole internal app: every request, whatever its route
    (one added later included), needs a caller's token; the caller's name goes on the request
    (`request.state.internal_caller`) and into every log line of the request (never the token)."""

    def __init__(self, app: ASGIApp, callers: Mapping[str, SecretStr | list[SecretStr]]) -> None:
        self.app = app
        self.callers = dict(callers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        header = next(
            (v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"authorization"),
            None,
        )
        caller = authenticate(self.callers, header)
        if not caller:
            reason = "no bearer token" if header is None else "unknown token"
            # The path only: a query string may hold a phone number or an email address.
            log.warning("internal_call_refused", path=scope.get("path", ""), reason=reason)
            if scope["type"] == "http":
                await _problem(send, reason)
            else:  # a websocket: refuse the handshake
                await send({"type": "websocket.close", "code": 1008})
            return
        scope.setdefault("state", {})["internal_caller"] = caller
        with structlog.contextvars.bound_contextvars(caller=caller):
            await self.app(scope, receive, send)


async def _problem(send: Send, reason: str) -> None:
    """401 as RFC 9457 problem details."""
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Unauthorized",
            "status": 401,
            "detail": f"internal API: a caller's bearer token is required ({reason})",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", b'Bearer realm="switchboard-internal"'),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def add_internal_api(
    public: FastAPI, callers: Mapping[str, SecretStr | list[SecretStr]], *routers: APIRouter
) -> FastAPI:
    """The service's internal app: `routers` behind `InternalAuth`, sharing `public`'s state
    (settings, runtime: the public app's lifespan opens them). `main_for` serves it on the
    internal port; tests reach it with `internal_app_of(app)`."""
    internal = FastAPI(title=f"{public.title} (internal)", docs_url=None, redoc_url=None)
    internal.state = public.state
    for router in routers:
        internal.include_router(router)
    install_problems(internal)  # the same RFC 9457 error bodies as the public API
    internal.add_middleware(InternalAuth, callers=callers)
    public.state.internal_app = internal
    return internal


def internal_app_of(app: FastAPI) -> FastAPI | None:
    found: FastAPI | None = getattr(app.state, "internal_app", None)
    return found


def bearer(token: SecretStr | None) -> dict[str, str]:
    """The header a caller sends with its `SWITCHBOARD_INTERNAL_TOKEN` (none when unset)."""
    return {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}


def dev_credentials(callees: Iterable[str] = CALLERS) -> dict[str, dict[str, str]]:
    """Fresh random tokens for a local run or a test: service -> its SWITCHBOARD_INTERNAL_*
    environment (the callers' own token; the callees' accepted callers), for `CALLERS`."""
    wanted = {c: CALLERS[c] for c in callees}
    every = sorted({caller for names in wanted.values() for caller in names})
    tokens = {caller: secrets.token_urlsafe(32) for caller in every}
    env: dict[str, dict[str, str]] = {}
    for caller, token in tokens.items():
        env.setdefault(caller, {})["SWITCHBOARD_INTERNAL_TOKEN"] = token
    for callee, callers in wanted.items():
        env.setdefault(callee, {})["SWITCHBOARD_INTERNAL_CALLERS"] = json.dumps(
            {c: tokens[c] for c in callers}, separators=(",", ":")
        )
    return env


def settings_update(env: Mapping[str, str]) -> dict[str, Any]:
    """`dev_credentials()[service]` as a settings update (`model_copy(update=...)`)."""
    update: dict[str, Any] = {}
    if "SWITCHBOARD_INTERNAL_TOKEN" in env:
        update["internal_token"] = SecretStr(env["SWITCHBOARD_INTERNAL_TOKEN"])
    if "SWITCHBOARD_INTERNAL_CALLERS" in env:
        loaded = json.loads(env["SWITCHBOARD_INTERNAL_CALLERS"])
        update["internal_callers"] = {k: SecretStr(v) for k, v in loaded.items()}
    return update


if __name__ == "__main__":
    # scripts/up.sh: `service VAR=value ...` lines, one per service, fresh tokens each run.
    for service, values in sorted(dev_credentials().items()):
        print(service, " ".join(f"{k}={v}" for k, v in values.items()))
