"""/healthz, /readyz and /metrics for every service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

ReadinessCheck = Callable[[], Awaitable[bool]]


class NotReady(Exception):
    """Raised by a readiness check to fail with a reason /readyz shows (no patient data)."""


def add_ops_routes(app: FastAPI, checks: dict[str, ReadinessCheck]) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        # Liveness: the process answers. Dependencies belong to /readyz.
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        results: dict[str, bool] = {}
        reasons: dict[str, str] = {}
        for name, check in checks.items():
            try:
                results[name] = await check()
            except NotReady as exc:
                results[name] = False
                reasons[name] = str(exc)[:300]
            except Exception:
                results[name] = False
        ok = all(results.values())
        body: dict[str, object] = {"status": "ready" if ok else "degraded", "checks": results}
        if reasons:
            body["reasons"] = reasons
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
