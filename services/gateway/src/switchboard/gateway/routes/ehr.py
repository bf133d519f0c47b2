""" "Sync with EHR": a practice admin asks pm-sync to pull the practice's locations and
providers from its FHIR server now, so they can be chosen in routing settings.

    POST /api/admin/ehr-sync   -> {"practice_id", "locations", "providers", "invalid", "pages"}

403 for anyone but a practice admin (of their own practice: the practice comes from the
token, never from the request, T-1). 502 when pm-sync or the FHIR server failed, 504 when
pm-sync did not answer in time, each with the reason.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request

from switchboard.events.internal.pm_sync import SyncCounts
from switchboard.gateway import clients
from switchboard.gateway.auth import Principal
from switchboard.gateway.auth_deps import admin_only
from switchboard.platform.logging import get_logger
from switchboard.platform.problems import AUTHED, PEERS, problems

log = get_logger(__name__)
router = APIRouter(prefix="/api/admin", tags=["admin"], responses=AUTHED | PEERS | problems(409))


practice_admin = admin_only("only practice admins can sync with the EHR")


@router.post("/ehr-sync")
async def ehr_sync(
    request: Request, admin: Annotated[Principal, Depends(practice_admin)]
) -> dict[str, Any]:
    response = await clients.of(request).call(
        "pm_sync", "POST", f"/internal/practices/{admin.practice_id}/sync"
    )
    if response.status_code == 404:
        raise HTTPException(409, "this practice has no EHR (FHIR server) connected")
    if response.status_code != 200:
        raise clients.of(request).failed("pm_sync", response)
    result = clients.of(request).parsed("pm_sync", SyncCounts, response.json())
    log.info("ehr_sync", practice_id=admin.practice_id, user_id=admin.user_id)
    return result.model_dump(mode="json")
