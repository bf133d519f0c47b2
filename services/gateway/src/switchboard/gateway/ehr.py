""" "Sync with EHR": a practice admin asks pm-sync to pull the practice's locations and
providers from its FHIR server now, so they can be chosen in routing settings.

    POST /api/admin/ehr-sync   -> {"practice_id", "locations", "providers", "invalid", "pages"}

403 for anyone but a practice admin (of their own practice: the practice comes from the
token, never from the request, T-1). 502 when pm-sync or the FHIR server failed, 504 when
pm-sync did not answer in time, each with the reason.
"""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, HTTPException, Request

from switchboard.gateway.api import principal
from switchboard.gateway.auth import Principal
from switchboard.gateway.settings import GatewaySettings
from switchboard.platform.logging import get_logger

log = get_logger(__name__)
router = APIRouter(prefix="/api/admin", tags=["admin"])


def practice_admin(p: Annotated[Principal, Depends(principal)]) -> Principal:
    if not p.is_admin:
        raise HTTPException(403, "only practice admins can sync with the EHR")
    return p


def _client(request: Request, settings: GatewaySettings) -> tuple[httpx.AsyncClient, bool]:
    """The app's shared client when it has one, else one for this request (to close)."""
    shared: httpx.AsyncClient | None = getattr(request.app.state, "pm_sync_client", None)
    if shared is not None:
        return shared, False
    return httpx.AsyncClient(timeout=settings.pm_sync_timeout_s), True


def _detail(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    detail = body.get("detail") if isinstance(body, dict) else None
    return f"HTTP {response.status_code}: {detail}" if detail else f"HTTP {response.status_code}"


@router.post("/ehr-sync")
async def ehr_sync(
    request: Request, admin: Annotated[Principal, Depends(practice_admin)]
) -> dict[str, Any]:
    settings: GatewaySettings = request.app.state.settings
    url = f"{settings.pm_sync_url.rstrip('/')}/internal/practices/{admin.practice_id}/sync"
    headers = {}
    if settings.pm_sync_token:
        headers["Authorization"] = f"Bearer {settings.pm_sync_token.get_secret_value()}"
    client, own = _client(request, settings)
    try:
        response = await client.post(url, headers=headers, timeout=settings.pm_sync_timeout_s)
    except httpx.TimeoutException:
        log.warning("ehr_sync_timeout", practice_id=admin.practice_id)
        raise HTTPException(
            504, f"pm-sync did not answer within {settings.pm_sync_timeout_s:g}s"
        ) from None
    except httpx.HTTPError as exc:
        log.warning("ehr_sync_unreachable", practice_id=admin.practice_id, error=type(exc).__name__)
        raise HTTPException(502, f"pm-sync unreachable ({type(exc).__name__})") from None
    finally:
        if own:
            await client.aclose()
    if response.status_code == 404:
        raise HTTPException(409, "this practice has no EHR (FHIR server) connected")
    if response.status_code != 200:
        log.warning("ehr_sync_failed", practice_id=admin.practice_id, status=response.status_code)
        raise HTTPException(502, f"sync failed: pm-sync answered {_detail(response)}")
    result: dict[str, Any] = response.json()
    log.info("ehr_sync", practice_id=admin.practice_id, user_id=admin.user_id)
    return result
