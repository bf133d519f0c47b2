"""/healthz, /readyz and /metrics for every service.

- /healthz (liveness and startupProbe): the process serves and no consumer loop is stuck.
  Dependencies never fail it: restarting does not bring a database back.
- /readyz (readiness): every check passes. Checks named `optional` are reported but do not
  make the service unready (the gateway serves reads while Kafka is away).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

ReadinessCheck = Callable[[], Awaitable[bool]]
# Names of what is stuck (e.g. consumer loops that stopped polling); empty when alive.
LivenessCheck = Callable[[], list[str]]


class NotReady(Exception):
    """Raised by a readiness check to fail with a reason /readyz shows (no patient data)."""


def add_ops_routes(
    app: FastAPI,
    checks: dict[str, ReadinessCheck],
    *,
    optional: Collection[str] = (),
    liveness: LivenessCheck | None = None,
) -> None:
    # Kept on the app so wiring done later (main_for's schema check) can add to it.
    app.state.readiness_checks = checks

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        stuck = liveness() if liveness else []
        if stuck:
            return JSONResponse({"status": "stuck", "stuck": stuck}, status_code=503)
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        results: dict[str, bool] = {}
        reasons: dict[str, str] = {}

        async def run(name: str, check: ReadinessCheck) -> None:
            try:
                results[name] = await check()
            except NotReady as exc:
                results[name] = False
                reasons[name] = str(exc)[:300]
            except Exception:
                results[name] = False

        # Together: a check may wait a moment for a loop's retry (readiness.py).
        checks = dict(app.state.readiness_checks)
        await asyncio.gather(*(run(n, c) for n, c in checks.items()))
        results = {n: results[n] for n in checks}  # in the checks' order
        ok = all(passed for name, passed in results.items() if name not in optional)
        status = "degraded" if not ok else ("ready" if all(results.values()) else "partial")
        body: dict[str, object] = {"status": status, "checks": results}
        if reasons:
            body["reasons"] = reasons
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
