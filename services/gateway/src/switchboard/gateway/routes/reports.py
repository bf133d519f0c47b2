"""Reports for practice admins (X-REPORT-1): response times, time to close, volume, the share
answered within the SLA and what is unanswered now, for a period and the one before it.

    GET /api/reports?first_day=YYYY-MM-DD&last_day=YYYY-MM-DD   JSON
    GET /api/reports.csv?...                                    the same as CSV
    GET /reports                                                the page (charts)
    GET /vendor/plotly.min.js                                   the charting library

The figures come from the reports read model (inbox-projection, ADR 0021) through
report_figures.py. Days are the practice's local days; without them, the last 7 days up to
today. Practice admins only (one check: admin_only); no patient data in any answer: ids,
times and counts.

The charting library is plotly.js as the `plotly` Python package installs it (its
package_data), served from there: never copied into this repository.
"""

from __future__ import annotations

import importlib.resources
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, Response

from switchboard.gateway import report_figures
from switchboard.gateway.app_state import session_of
from switchboard.gateway.auth import Principal
from switchboard.gateway.auth_deps import admin_only
from switchboard.gateway.readmodel import reports as readmodel
from switchboard.platform.problems import AUTHED, problems
from switchboard.rules.availability import zone

router = APIRouter(tags=["reports"], responses=AUTHED | problems(422))

REFUSAL = "reports are for practice admins"
MAX_DAYS = 366
WEB = importlib.resources.files("switchboard.gateway") / "web"
PAGE_HEADERS = {
    "content-security-policy": (
        # plotly.js sets the styles of what it draws from script (CSSOM) and adds a style
        # sheet: style-src needs 'unsafe-inline' on this page only; scripts stay 'self'.
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}

Day = Annotated[date | None, Query(description="a local day of the practice, YYYY-MM-DD")]


async def _report(
    request: Request, p: Principal, first_day: date | None, last_day: date | None
) -> dict[str, Any]:
    now = datetime.now(UTC)
    async with session_of(request) as session:
        targets = await readmodel.targets(session, p.practice_id)
        today = now.astimezone(zone(targets.timezone)).date()
        last = last_day or (today if first_day is None else first_day + timedelta(days=6))
        first = first_day or last - timedelta(days=6)
        if last < first:
            raise HTTPException(422, "last_day is before first_day")
        if (last - first).days + 1 > MAX_DAYS:
            raise HTTPException(422, f"a period is at most {MAX_DAYS} days")
        period = report_figures.period(first, last, targets.timezone)
        before = period.previous(targets.timezone)
        convs = await readmodel.conversations(session, p.practice_id, before.start, period.end)
        received = await readmodel.received(session, p.practice_id, before.start, period.end)
        waiting = await readmodel.waiting_since(session, p.practice_id)
    return report_figures.report(convs, received, waiting, targets, period, now)


@router.get("/api/reports")
async def reports(
    request: Request,
    p: Annotated[Principal, Depends(admin_only(REFUSAL))],
    first_day: Day = None,
    last_day: Day = None,
) -> dict[str, Any]:
    """The practice's reports for a period (whole local days) and the period before it."""
    return await _report(request, p, first_day, last_day)


@router.get("/api/reports.csv", response_class=Response)
async def reports_csv(
    request: Request,
    p: Annotated[Principal, Depends(admin_only(REFUSAL))],
    first_day: Day = None,
    last_day: Day = None,
) -> Response:
    """The same report as CSV (period, section, dimension, key, measure, value)."""
    r = await _report(request, p, first_day, last_day)
    days = r["current"]["period"]
    name = f"switchboard-report-{days['first_day']}-{days['last_day']}.csv"
    return Response(
        report_figures.to_csv(r),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


@router.get("/reports", include_in_schema=False)
async def reports_page() -> Response:
    return Response(
        (WEB / "reports.html").read_bytes(), media_type="text/html", headers=PAGE_HEADERS
    )


@router.get("/vendor/plotly.min.js", include_in_schema=False)
async def plotly_js() -> FileResponse:
    path = importlib.resources.files("plotly") / "package_data" / "plotly.min.js"
    return FileResponse(
        str(path),
        media_type="text/javascript",
        headers={"cache-control": "public, max-age=86400", "x-content-type-options": "nosniff"},
    )
