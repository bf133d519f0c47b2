"""`python -m tools.sandbox`: the carrier and mail sandbox as one process (scripts/up.sh runs
it under the run's supervisord). The auth token comes from SANDBOX_AUTH_TOKEN (the run's
SWITCHBOARD_TWILIO_AUTH_TOKEN, so ingest's signature check accepts the callbacks), never from
the command line (it would show in `ps`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os

import uvicorn

from tools.sandbox import mail
from tools.sandbox.app import ACCOUNT_SID, Config, Sandbox, build


async def run(args: argparse.Namespace) -> None:
    config = Config(
        account_sid=args.account_sid,
        auth_token=os.environ.get("SANDBOX_AUTH_TOKEN") or None,
        step_s=args.step_s,
    )
    sandbox = Sandbox(config)
    smtp = await mail.serve(sandbox.add_mail, args.host, args.smtp_port)
    server = uvicorn.Server(
        uvicorn.Config(
            build(sandbox),
            host=args.host,
            port=args.http_port,
            access_log=False,  # request lines carry numbers (the list's ?To=): not logged
            log_level="warning",
        )
    )
    print(
        json.dumps(
            {
                "page": f"http://{args.host}:{args.http_port}/",
                "sms_api": f"http://{args.host}:{args.http_port}",
                "smtp": f"{args.host}:{args.smtp_port}",
                "sends": f"http://{args.host}:{args.http_port}/_sandbox/sends",
            }
        ),
        flush=True,
    )
    try:
        await server.serve()
    finally:
        smtp.close()


def main() -> None:
    env = os.environ.get
    p = argparse.ArgumentParser(prog="python -m tools.sandbox", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--http-port", type=int, default=int(env("SB_SANDBOX_PORT", "8095")))
    p.add_argument("--smtp-port", type=int, default=int(env("SB_SANDBOX_SMTP_PORT", "8096")))
    p.add_argument("--account-sid", default=env("SANDBOX_ACCOUNT_SID", ACCOUNT_SID))
    p.add_argument("--step-s", type=float, default=float(env("SANDBOX_STEP_S", "1.0")))
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines: ours say enough
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
