"""The patient page: the web messenger (`/patient/{practice}`) and a secure email's link
(`/patient/{practice}/secure/{message_id}?t=...`), one page over the patient API
(patient_api.py). Plain HTML, CSS and a native ES module from `web/`, as they are in the
source tree: no build step, no third-party script (docs/adr/0004). The page sets data only as
text; the Content-Security-Policy allows no inline script and no style from elsewhere.
The page's words come from one catalogue (domain/page_text.py), one language at a time
(`/patient-assets/text/<lang>`, X-LANG-1)."""

from __future__ import annotations

import uuid
from functools import cache
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, Response

from switchboard.ingest.domain.language import supported
from switchboard.ingest.domain.page_text import page_text

router = APIRouter(include_in_schema=False)
WEB = Path(__file__).parent / "web"
Practice = Annotated[str, PathParam(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "x-frame-options": "DENY",
}
ASSETS = {
    "patient.js": "text/javascript",
    "patient_office.js": "text/javascript",
    "patient_text.js": "text/javascript",
    "patient.css": "text/css",
}


@cache
def _read(name: str) -> bytes:
    return (WEB / name).read_bytes()


def _page() -> HTMLResponse:
    return HTMLResponse(_read("patient.html"), headers=HEADERS)


@router.get("/patient/{practice}")
async def messenger_page(practice: Practice) -> HTMLResponse:
    return _page()


@router.get("/patient/{practice}/secure/{message_id}")
async def secure_page(practice: Practice, message_id: uuid.UUID) -> HTMLResponse:
    return _page()


@router.get("/patient-assets/text/{language}")
async def text(language: str) -> JSONResponse:
    """The page's words in one language (X-LANG-1); 404 for a language it does not speak."""
    known = supported(language)
    if known is None or known != language:
        raise HTTPException(404, "no such language")
    headers = HEADERS | {"cache-control": "no-cache"}
    return JSONResponse(page_text(known), headers=headers)


@router.get("/patient-assets/{name}")
async def asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise HTTPException(404, "no such file")
    # Assets change only with a release; revalidate so a new release is picked up.
    headers = HEADERS | {"cache-control": "no-cache"}
    return Response(_read(name), media_type=f"{media_type}; charset=utf-8", headers=headers)
