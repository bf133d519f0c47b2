"""One error body for every 4xx/5xx of an HTTP API: RFC 9457 problem details.

    {"type": "about:blank", "title": "Not Found", "status": 404,
     "detail": "no such conversation", "errors": [...]}        (application/problem+json)

`detail` stays the human-readable reason (the web pages show it); a validation failure also
lists `errors`, each naming the field (`loc`) and why, never echoing the value sent (it may
be patient data). `install_problems(app)` adds the exception handlers and publishes the
shape in the app's OpenAPI; routes declare the codes they answer with `problems(...)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from switchboard.platform.logging import get_logger

log = get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
# In a route's `responses=` entry: this error is not a Problem (documented as declared).
OWN_ERROR_FORMAT = "x-own-error-format"


class ProblemError(BaseModel):
    loc: list[str | int] = Field(description="where: 'body', 'query' or 'path', then names")
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[ProblemError] | None = None


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route or router: these status codes answer a Problem."""
    return {
        code: {"model": Problem, "description": HTTPStatus(code).phrase}
        for code in sorted(set(codes))
    }


# The usual sets, so a router declares them in a word (`responses=AUTHED | problems(404)`).
# signed in, allowed, valid: every API with a token (400: a body that is not even text)
AUTHED = problems(400, 401, 403, 422)
PEERS = problems(502, 503)  # a peer service failed or did not answer in time


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_JSON


def problem(
    status: int,
    detail: str,
    errors: Sequence[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> ProblemResponse:
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    body["detail"] = detail
    if errors is not None:
        body["errors"] = list(errors)
    return ProblemResponse(body, status_code=status, headers=headers)


def validation_errors(raw: Sequence[Any]) -> list[dict[str, Any]]:
    """pydantic's errors without `input`/`ctx` (they carry what was sent)."""
    out = []
    for e in raw:
        loc = [p if isinstance(p, int) else str(p) for p in e.get("loc", ())]
        out.append({"loc": loc, "msg": str(e.get("msg", "invalid")), "type": str(e.get("type"))})
    return out


def summary(errors: Sequence[dict[str, Any]]) -> str:
    """`body.username: Field required; query.q: ...` (names and reasons only)."""
    parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:5]]
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more if parts else "the request is not valid"


async def _http_exception(_request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return problem(exc.status_code, detail, headers=getattr(exc, "headers", None))


async def _validation(_request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(exc.errors())
    return problem(422, summary(errors), errors)


# Seconds a caller is asked to wait when the database is away (it is usually back in seconds).
DATABASE_RETRY_AFTER_S = 5


async def _database_away(_request: Request, exc: Exception) -> ProblemResponse:
    """The database unreachable (refused, restarting, pool exhausted): a 503 the caller can
    retry, not a 500. Other database errors stay 500s (a bug, not an outage)."""
    away = isinstance(exc, OperationalError | PoolTimeout) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )
    if not away:
        return await _unexpected(_request, exc)
    log.warning("database_unavailable", error=type(exc).__name__)
    return problem(
        503,
        "the database is unavailable, retry later",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )


async def _unexpected(_request: Request, exc: Exception) -> ProblemResponse:
    # The traceback is logged by the server; the caller learns nothing of the internals.
    return problem(500, "internal error")


def install_problems(app: FastAPI) -> None:
    """Every error of `app` as a Problem, and the OpenAPI saying so."""
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(DBAPIError, _database_away)
    app.add_exception_handler(PoolTimeout, _database_away)
    app.add_exception_handler(Exception, _unexpected)
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _problem_openapi(original())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _problem_openapi(spec: dict[str, Any]) -> dict[str, Any]:
    """Error responses as application/problem+json with the Problem schema (FastAPI writes
    them as application/json, and its own 422 as HTTPValidationError)."""
    ref = {"$ref": "#/components/schemas/Problem"}
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for op_path in spec.get("paths", {}).values():
        for op in op_path.values():
            if not isinstance(op, dict):
                continue
            for code, response in op.get("responses", {}).items():
                # A route answering another standard's errors (OAuth 2.0's) keeps its own.
                if response.pop(OWN_ERROR_FORMAT, False):
                    continue
                if code.isdigit() and int(code) >= 400:
                    response["content"] = {PROBLEM_JSON: {"schema": ref}}
                    response.setdefault("description", HTTPStatus(int(code)).phrase)
    for name, schema in _problem_schemas().items():
        schemas[name] = schema
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return spec


def _problem_schemas() -> dict[str, Any]:
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    return {"Problem": schema, **defs}
