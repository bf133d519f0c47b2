"""The staff web UI: HTML pages and ES modules served as they are, with no build step
(docs/adr/0004). Every page gets a strict Content-Security-Policy: scripts only from here,
so patient text the pages show can never run (they also only ever set it as text)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

WEB = Path(__file__).parent.parent / "web"
HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}

pages = APIRouter(include_in_schema=False)


@pages.get("/")
async def inbox_page() -> FileResponse:
    return FileResponse(WEB / "index.html", headers=HEADERS)


@pages.get("/admin")
async def admin_page() -> FileResponse:
    return FileResponse(WEB / "admin.html", headers=HEADERS)


@pages.get("/favicon.ico")
async def favicon() -> FileResponse:
    """The icon browsers ask for on every page (a 404 each time without it)."""
    return FileResponse(WEB / "static" / "favicon.svg", media_type="image/svg+xml", headers=HEADERS)


def mount(app: FastAPI) -> None:
    app.include_router(pages)
    app.mount("/ui", StaticFiles(directory=WEB / "static"), name="ui")
