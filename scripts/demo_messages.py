"""Post a few signed SMS webhooks for the demo practice, the way the SMS provider would."""

from __future__ import annotations

import os
import sys

import httpx

from switchboard.ingest.twilio import signature

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


def main() -> None:
    port = int(os.environ.get("SB_PORT_BASE", "8000")) + 1
    base = f"http://127.0.0.1:{port}"
    token = os.environ.get("SWITCHBOARD_TWILIO_AUTH_TOKEN", "dev-twilio-auth-token")
    codes = [
        post_sms(base, "demo", token, f"SMdemo{i:04d}", sender, "+12125550000", body)
        for i, (sender, body) in enumerate(DEMO_SMS)
    ]
    if any(c != 200 for c in codes):
        sys.exit(f"demo messages: webhook answered {codes}")
    print(f"demo messages: posted {len(codes)} SMS")


if __name__ == "__main__":
    main()
