"""Problem details (RFC 9457) for every error, and the 422 for text PostgreSQL cannot store,
on a small app built as the gateway and ingest build theirs (install_edge)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, FastAPI, HTTPException
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from switchboard.platform.problems import PROBLEM_JSON, problems
from switchboard.platform.textguard import install_edge


class Body(BaseModel):
    name: str
    tags: list[str] = []


def app() -> FastAPI:
    a = FastAPI()
    install_edge(a, exempt=("/webhooks/",))
    r = APIRouter(responses=problems(401, 404))
    seen: list[object] = []

    @r.get("/items/{item}")
    async def item(item: str, q: str = "") -> dict[str, str]:
        if item == "missing":
            raise HTTPException(404, "no such item", headers={"X-Why": "gone"})
        return {"item": item, "q": q}

    @r.post("/items")
    async def create(body: Body) -> dict[str, str]:
        return {"name": body.name}

    @r.post("/webhooks/sms")
    async def sms(body: Body) -> dict[str, str]:
        seen.append(body.name)
        return {"ok": "yes"}

    @r.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    @r.get("/db/{how}")
    async def db(how: str) -> None:
        # What SQLAlchemy raises when PostgreSQL refuses connections, the pool is exhausted,
        # or a query is simply wrong (a bug: stays a 500).
        if how == "refused":
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        if how == "pool":
            raise PoolTimeout("QueuePool limit reached")
        raise ProgrammingError("SELECT nope", {}, Exception("syntax error"))

    a.include_router(r)
    a.state.seen = seen
    return a


@pytest.fixture
async def client():
    transport = httpx.ASGITransport(app=app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


@pytest.mark.parametrize("how", ["refused", "pool"])
async def test_the_database_away_is_a_503_to_retry_not_a_500(client, how):
    # The fault harness saw the patient messenger answer 500 while PostgreSQL restarted.
    r = await client.get(f"/db/{how}")
    assert r.status_code == 503
    assert r.headers["retry-after"] == "5"
    assert r.json()["detail"] == "the database is unavailable, retry later"


async def test_a_database_bug_stays_a_500(client):
    r = await client.get("/db/bug")
    assert r.status_code == 500 and "SELECT" not in r.text


async def test_http_errors_are_problem_details(client):
    r = await client.get("/items/missing")
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.headers["x-why"] == "gone"
    assert r.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "no such item",
    }
    r = await client.get("/no-such-route")
    assert r.status_code == 404 and r.json()["title"] == "Not Found"
    r = await client.get("/boom")
    assert r.status_code == 500 and r.json()["detail"] == "internal error"
    assert "secret" not in r.text


async def test_validation_errors_name_the_field_without_the_value(client):
    r = await client.post("/items", json={"tags": "Ada Lovelace"})
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM_JSON
    body = r.json()
    assert {tuple(e["loc"]) for e in body["errors"]} == {("body", "name"), ("body", "tags")}
    assert "body.name" in body["detail"]
    assert "Ada Lovelace" not in r.text  # pydantic's `input` is not echoed


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "loc"),
    [
        ("get", "/items/a%00b", {}, ["path"]),
        ("get", "/items/a", {"params": {"q": "x\x00y"}}, ["query", "q"]),
        ("post", "/items", {"json": {"name": "Ada\x00"}}, ["body", "name"]),
        (
            "post",
            "/items",
            {"content": b'{"name": "ok", "tags": ["ok", "\\ud800"]}'},
            ["body", "tags", 1],
        ),
        ("post", "/items", {"data": {"name": "Ada\x00"}}, ["body", "name"]),
    ],
)
async def test_unstorable_text_is_422_naming_the_field(client, method, url, kwargs, loc):
    if "content" in kwargs:
        kwargs["headers"] = {"content-type": "application/json"}
    r = await client.request(method.upper(), url, **kwargs)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["errors"] == [
        {"loc": loc, "msg": body["errors"][0]["msg"], "type": "unstorable_text"}
    ]
    assert ".".join(map(str, loc)) in body["detail"] and "NUL" in body["detail"]
    assert "Ada" not in r.text


async def test_a_clean_body_reaches_the_route_and_webhooks_are_exempt(client):
    r = await client.post("/items", json={"name": "Ada", "tags": ["é", "👋"]})
    assert r.status_code == 200 and r.json() == {"name": "Ada"}
    r = await client.post("/webhooks/sms", json={"name": "Ada\x00"})
    assert r.status_code == 200  # accepted: stored in the safe form by the database layer


def test_openapi_publishes_the_problem_shape():
    spec = app().openapi()
    responses = spec["paths"]["/items"]["post"]["responses"]
    assert set(responses) == {"200", "401", "404", "422"}
    for code in ("401", "404", "422"):
        assert responses[code]["content"] == {
            PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}
        }
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert set(schemas["Problem"]["required"]) == {"title", "status", "detail"}
