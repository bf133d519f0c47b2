"""The HTTP edge refuses text PostgreSQL cannot store (NUL, lone surrogates): 422 naming the
field, never echoing the value. One ASGI middleware for every route of an app, so no route
reaches the database (a 500) or stores a silently changed value the caller did not see.

Provider webhooks are exempt (`exempt` path prefixes): a provider cannot correct what a
patient sent, so those are accepted and stored in the safe form (pgtext.pg_safe).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from switchboard.platform.pgtext import Loc, is_unsafe, unstorable
from switchboard.platform.problems import problem

WHY = "contains a character that cannot be stored (NUL or an unpaired surrogate)"
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def request_unstorable(path: str, query: bytes, content_type: str, body: bytes | None) -> list[Loc]:
    """Where a request's path, query parameters and JSON or form body hold unstorable text."""
    found: list[Loc] = []
    if is_unsafe(path):
        found.append(("path",))
    # parse_qsl decodes as Starlette does (UTF-8, invalid bytes replaced), so NUL is what
    # can come through here; a key that is itself unsafe is not named.
    for k, v in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if is_unsafe(k) or is_unsafe(v):
            found.append(("query",) if is_unsafe(k) else ("query", k))
    if body:
        if "json" in content_type:
            try:
                doc = json.loads(body)
            except ValueError:
                return found  # not JSON: the route's own validation answers
            found.extend(unstorable(doc, ("body",)))
        elif "application/x-www-form-urlencoded" in content_type:
            for k, v in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
                if is_unsafe(k) or is_unsafe(v):
                    found.append(("body",) if is_unsafe(k) else ("body", k))
    return found


class UnstorableTextGuard:
    def __init__(self, app: ASGIApp, exempt: Sequence[str] = ()) -> None:
        self.app = app
        self.exempt = tuple(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        body: bytes | None = None
        inspect = scope["method"] in _BODY_METHODS and (
            "json" in content_type or "x-www-form-urlencoded" in content_type
        )
        if inspect:
            body, receive = await _buffered(receive)
        found = request_unstorable(
            scope["path"], scope.get("query_string", b""), content_type, body
        )
        if not found:
            await self.app(scope, receive, send)
            return
        errors: list[dict[str, Any]] = [
            {"loc": list(loc), "msg": WHY, "type": "unstorable_text"} for loc in found
        ]
        names = ", ".join(".".join(str(p) for p in loc) for loc in found[:5])
        response = problem(422, f"{names}: {WHY}", errors)
        await response(scope, receive, send)


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body, and a `receive` that hands it to the app again."""
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), _replay([message], receive)
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    return body, _replay([{"type": "http.request", "body": body, "more_body": False}], receive)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def install_edge(app: Any, exempt: Sequence[str] = ()) -> None:
    """A public HTTP API's edge: problem-details errors and the unstorable-text guard."""
    from switchboard.platform.problems import install_problems

    install_problems(app)
    app.add_middleware(UnstorableTextGuard, exempt=exempt)
