"""GET /api/asyncapi.yaml: the AsyncAPI 3.0 document of Switchboard's topics (issue 16).

For any signed-in user, not the public: it names no practice's data, but it maps the
internal topics, which outsiders have no use for (subscribers are given it by the team that
grants their Kafka access; it is also committed as libs/events/asyncapi.yaml). Generated from
the event models this gateway runs (the same text as the committed file: a contract test
compares them), once, off the event loop.
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from switchboard.events.asyncapi import render
from switchboard.gateway.auth import Principal
from switchboard.gateway.auth_deps import principal
from switchboard.platform.problems import problems

router = APIRouter(prefix="/api", responses=problems(401))

YAML = "application/yaml"


@cache
def _document() -> bytes:
    return render().encode()


@router.get(
    "/asyncapi.yaml",
    response_class=Response,
    responses={200: {"content": {YAML: {}}, "description": "The AsyncAPI document."}},
)
async def asyncapi_document(_: Annotated[Principal, Depends(principal)]) -> Response:
    # About a second to build: in a thread, so live connections are not held up.
    return Response(await asyncio.to_thread(_document), media_type=YAML)
