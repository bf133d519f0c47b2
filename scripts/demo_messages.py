"""The demo practice's first day: the front desk watches the shared Unassigned inbox (set
through the routing admin API, as an admin would), then a few signed SMS webhooks arrive the
way the SMS provider would post them."""

from __future__ import annotations

import os
import sys

import httpx

from switchboard.ingest.adapters.twilio import signature

DEMO_SMS = [
    ("+12125550101", "Hi, I need a refill of my lisinopril please."),
    ("+12125550102", "Are my blood test results back yet?"),
    ("+17185550103", "Can I move my appointment on Thursday to next week?"),
    ("+17185550104", "I got a bill I don't understand."),
]


def post_sms(
    base: str, practice: str, token: str, sid: str, sender: str, line: str, body: str
) -> int:
    url = f"{base}/webhooks/twilio/sms/{practice}"
    params = {"MessageSid": sid, "From": sender, "To": line, "Body": body, "NumMedia": "0"}
    r = httpx.post(url, data=params, headers={"X-Twilio-Signature": signature(token, url, params)})
    return r.status_code


def watch_unassigned(gateway: str, staff_id: str) -> None:
    """Subscribe a staff member to the shared Unassigned inbox, as a practice admin."""
    login = httpx.post(
        f"{gateway}/api/auth/login",
        json={"username": "admin@demo", "password": "demo-admin"},
        timeout=30,  # argon2 takes seconds on a loaded machine (the fault harness's)
    )
    login.raise_for_status()
    r = httpx.put(
        f"{gateway}/api/admin/routing/subscriptions/{staff_id}",
        json={"reasons": [], "locations": [], "providers": [], "inboxes": ["unassigned"]},
        headers={"Authorization": f"Bearer {login.json()['token']}"},
        timeout=30,
    )
    if r.status_code not in (200, 202):
        sys.exit(f"demo: subscribing {staff_id} to Unassigned answered {r.status_code}")


def main() -> None:
    gateway_port = int(os.environ.get("SB_PORT_BASE", "8000"))
    watch_unassigned(f"http://127.0.0.1:{gateway_port}", "u-front-1")
    port = gateway_port + 1
    base = f"http://127.0.0.1:{port}"
    # The run's own token (scripts/up.sh exports $SB_RUN_HOME/secrets.env): no default.
    token = os.environ.get("SWITCHBOARD_TWILIO_AUTH_TOKEN")
    if not token:
        sys.exit("demo messages: SWITCHBOARD_TWILIO_AUTH_TOKEN is not set (run through make up)")
    codes = [
        post_sms(base, "demo", token, f"SMdemo{i:04d}", sender, "+12125550000", body)
        for i, (sender, body) in enumerate(DEMO_SMS)
    ]
    if any(c != 200 for c in codes):
        sys.exit(f"demo messages: webhook answered {codes}")
    print(f"demo messages: posted {len(codes)} SMS")


if __name__ == "__main__":
    main()
