"""The sandbox's HTTP side: Twilio's Messages resource (the subset ingest's and notifier's
SMS senders and `switchboard.platform.sms_record` use), the signed status callbacks, the
admin API and the page. State lives in memory for the life of the process.

    POST /2010-04-01/Accounts/{sid}/Messages.json     send (Basic auth: account sid, token)
    GET  /2010-04-01/Accounts/{sid}/Messages.json     list, newest first (To, From, PageSize, Page)
    GET  /2010-04-01/Accounts/{sid}/Messages/{id}.json one message
    GET  /                                            the page (polls /_sandbox/sends)
    GET  /_sandbox/sends[?channel=&recipient=]        every send, newest first, and the
                                                      duplicates: {"sends", "duplicates"}
    DELETE /_sandbox/sends                            forget everything
    POST /_sandbox/sms/{id}/status  {"status", "error_code"?}  move a message on (calls back
                                                      each status passed; 409 if not allowed)
    GET|PUT /_sandbox/outcome  {"recipient"?, "status", "error_code"?}  how new messages end
                                                      (to that recipient, or by default)
    DELETE /_sandbox/outcome?recipient=               that recipient back to the default
    GET  /healthz

Logs carry sids, statuses and HTTP codes only: never a number, an address or a text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from tools.sandbox import carrier, record
from tools.sandbox.carrier import Message, NotAllowed, Outcome
from tools.sandbox.page import PAGE

log = logging.getLogger("sandbox")
ACCOUNT_SID = "AC" + "5a" * 16  # the local account (any AC... works when no token is set)


@dataclass
class Config:
    account_sid: str = ACCOUNT_SID
    auth_token: str | None = None  # None: any Basic credentials, callbacks unsigned
    step_s: float = 1.0  # queued -> sent -> the outcome, one step each
    callback_attempts: int = 5  # a callback answered 5xx (or not at all) is tried again


@dataclass
class Sandbox:
    config: Config
    client: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=10))
    messages: list[Message] = field(default_factory=list)
    mails: list[record.Mail] = field(default_factory=list)
    default: Outcome = field(default_factory=Outcome)
    outcomes: dict[str, Outcome] = field(default_factory=dict)  # by recipient
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def find(self, sid: str) -> Message | None:
        return next((m for m in self.messages if m.sid == sid), None)

    def accept(self, message: Message) -> None:
        self.messages.append(message)
        log.info("sms accepted sid=%s", message.sid)
        outcome = self.outcomes.get(message.to, self.default)
        task = asyncio.get_running_loop().create_task(self._progress(message, outcome))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def add_mail(self, mail: record.Mail) -> None:
        self.mails.append(mail)
        log.info("email accepted recipients=%d", len(mail.recipients))

    async def _progress(self, message: Message, outcome: Outcome) -> None:
        """The carrier on its own: sent after a step, then the outcome after another (unless
        someone moved the message on meanwhile)."""
        for expected, target in (("queued", "sent"), ("sent", outcome.status)):
            await asyncio.sleep(self.config.step_s)
            if message.status != expected or target == expected:
                return
            with contextlib.suppress(NotAllowed):
                await self.advance(message, target, outcome.code(), only_from=expected)

    async def advance(
        self,
        message: Message,
        target: str,
        error_code: str | None = None,
        only_from: str | None = None,
    ) -> list[dict[str, Any]]:
        """Moves `message` to `target` through the statuses between, calling each back in
        order; the callbacks' answers."""
        lock = self._locks.setdefault(message.sid, asyncio.Lock())
        async with lock:
            if only_from is not None and message.status != only_from:
                return []
            answers = []
            for status in carrier.path(message.status, target):
                message.move(status, datetime.now(UTC), error_code)
                log.info("sms status sid=%s status=%s", message.sid, status)
                answers.append(
                    {"status": status, "callback": await self._call_back(message, status)}
                )
            return answers

    async def _call_back(self, message: Message, status: str) -> int | None:
        url = message.status_callback
        if not url:
            return None
        form = carrier.callback_form(message, status)
        token = self.config.auth_token
        headers = carrier.signed_headers(token, url, form) if token else {}
        delay = 0.5
        for attempt in range(1, self.config.callback_attempts + 1):
            try:
                r = await self.client.post(url, data=form, headers=headers)
            except httpx.HTTPError as exc:
                log.warning(
                    "callback sid=%s status=%s error=%s", message.sid, status, type(exc).__name__
                )
            else:
                log.info("callback sid=%s status=%s answer=%d", message.sid, status, r.status_code)
                if r.status_code < 500:
                    return r.status_code
            if attempt < self.config.callback_attempts:
                await asyncio.sleep(delay)
                delay *= 2
        return None

    async def close(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        await self.client.aclose()


def _twilio_error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "status": status}, status)


def _account(request: Request, sandbox: Sandbox) -> str | JSONResponse:
    account = request.path_params["account"]
    cfg = sandbox.config
    if not carrier.authorized(request.headers.get("authorization"), account, cfg.auth_token):
        return _twilio_error(401, 20003, "Authenticate")
    if cfg.auth_token is not None and account != cfg.account_sid:
        return _twilio_error(404, 20404, "The requested resource was not found")
    return str(account)


def build(sandbox: Sandbox) -> Starlette:
    async def messages(request: Request) -> Response:
        account = _account(request, sandbox)
        if isinstance(account, JSONResponse):
            return account
        if request.method == "GET":
            query = {k: v for k, v in request.query_params.items()}
            mine = [m for m in sandbox.messages if m.account_sid == account]
            try:
                return JSONResponse(carrier.page(mine, request.url.path, query))
            except ValueError:
                return _twilio_error(400, 20001, "PageSize and Page must be numbers")
        form = parse_qs((await request.body()).decode(), keep_blank_values=True)
        try:
            message = carrier.create(account, form, datetime.now(UTC))
        except carrier.BadRequest as exc:
            return _twilio_error(400, 21604, str(exc))
        sandbox.accept(message)
        return JSONResponse(message.resource(), 201)

    async def one_message(request: Request) -> Response:
        account = _account(request, sandbox)
        if isinstance(account, JSONResponse):
            return account
        m = sandbox.find(request.path_params["sid"])
        if m is None or m.account_sid != account:
            return _twilio_error(404, 20404, "The requested resource was not found")
        return JSONResponse(m.resource())

    async def sends(request: Request) -> Response:
        if request.method == "DELETE":
            sandbox.messages.clear()
            sandbox.mails.clear()
            return Response(status_code=204)
        rows = record.rows(sandbox.messages, sandbox.mails)
        q = request.query_params
        rows = [
            r
            for r in rows
            if q.get("channel", r["channel"]) == r["channel"]
            and q.get("recipient", r["recipient"]) == r["recipient"]
        ]
        return JSONResponse({"sends": rows, "duplicates": record.duplicates(rows)})

    async def sms_status(request: Request) -> Response:
        m = sandbox.find(request.path_params["sid"])
        if m is None:
            return JSONResponse({"detail": "no such message"}, 404)
        body = await _json(request)
        try:
            code = body.get("error_code")
            if code is not None:
                Outcome("undelivered", str(code))  # checks the code's form
            answers = await sandbox.advance(m, str(body.get("status", "")), code and str(code))
        except NotAllowed as exc:
            return JSONResponse({"detail": str(exc)}, 409)
        return JSONResponse({"message": record.sms_row(m), "callbacks": answers})

    async def outcome(request: Request) -> Response:
        if request.method == "PUT":
            body = await _json(request)
            try:
                chosen = Outcome(str(body.get("status", "")), body.get("error_code"))
            except NotAllowed as exc:
                return JSONResponse({"detail": str(exc)}, 422)
            if body.get("recipient"):
                sandbox.outcomes[str(body["recipient"])] = chosen
            else:
                sandbox.default = chosen
        elif request.method == "DELETE":
            sandbox.outcomes.pop(request.query_params.get("recipient", ""), None)
        return JSONResponse(
            {
                "default": vars(sandbox.default),
                "by_recipient": {k: vars(v) for k, v in sandbox.outcomes.items()},
            }
        )

    async def page(request: Request) -> Response:
        return HTMLResponse(PAGE)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await sandbox.close()

    prefix = f"/{carrier.API_VERSION}/Accounts/{{account}}"
    return Starlette(
        routes=[
            Route(f"{prefix}/Messages.json", messages, methods=["GET", "POST"]),
            Route(f"{prefix}/Messages/{{sid}}.json", one_message, methods=["GET"]),
            Route("/_sandbox/sends", sends, methods=["GET", "DELETE"]),
            Route("/_sandbox/sms/{sid}/status", sms_status, methods=["POST"]),
            Route("/_sandbox/outcome", outcome, methods=["GET", "PUT", "DELETE"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/", page, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
