"""The inbox as a user drives it on the system `make up` starts: an SMS arrives, staff find
it, close it, meet a stale version, cannot answer it unrecognized, and see it in search."""

from __future__ import annotations

import uuid

import httpx
import pytest
from system_support import stranger_number
from test_first_message import post_sms, wait_for

pytestmark = pytest.mark.e2e


def test_sms_is_found_closed_and_protected_by_its_version(system):
    # covers I-VIEW-4, I-STATUS-1, I-UNREC-1, I-SEARCH-1, T-3, X-UNREPLY-1
    admin = system.login("admin@demo", "demo-admin")
    sender = stranger_number("718")
    assert (
        post_sms(system, f"SM{uuid.uuid4().hex}", sender, "Is my prescription ready?").status_code
        == 200
    )

    def listed():
        r = httpx.get(f"{system.gateway}/api/search", params={"phone": sender}, headers=admin)
        r.raise_for_status()
        return next(iter(r.json()["items"]), None)

    cid = wait_for(listed)["conversation_id"]

    def routed():  # in the views once the router's decision is applied
        r = httpx.get(
            f"{system.gateway}/api/inboxes/all/unrecognized", headers=admin, params={"limit": 200}
        )
        return next((c for c in r.json()["items"] if c["conversation_id"] == cid), None)

    conv = wait_for(routed)
    assert conv["status"] == "open" and conv["unrecognized"] is True
    views = httpx.get(f"{system.gateway}/api/inboxes", headers=admin).json()
    assert {"my/assigned", "all/unrecognized", "shared/unassigned"} <= {v["path"] for v in views}
    version = httpx.get(f"{system.gateway}/api/conversations/{cid}", headers=admin).json()[
        "version"
    ]

    reply = httpx.post(
        f"{system.gateway}/api/conversations/{cid}/reply", headers=admin, json={"body": "Yes"}
    )
    # not allowed to answer an unrecognized sender here (X-UNREPLY-1 is off by default)
    assert reply.status_code == 403 and "link" in reply.json()["detail"]

    close = httpx.post(
        f"{system.gateway}/api/conversations/{cid}/status",
        headers=admin,
        json={"status": "closed", "expected_version": version},
    )
    assert close.status_code == 200, close.text
    assert close.json()["conversation"]["status"] == "closed"
    stale = httpx.post(
        f"{system.gateway}/api/conversations/{cid}/status",
        headers=admin,
        json={"status": "open", "expected_version": version},
    )
    assert stale.status_code == 409
    detail = httpx.get(f"{system.gateway}/api/conversations/{cid}", headers=admin).json()
    assert detail["status"] == "closed" and detail["answerable"] is False
