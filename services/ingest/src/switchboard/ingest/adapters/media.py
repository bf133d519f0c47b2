"""An MMS's media, fetched from the SMS provider (with its account credentials), streamed
and cut off past the attachment size limit."""

from __future__ import annotations

import httpx

from switchboard.ingest.domain.errors import TooLarge, Unavailable
from switchboard.ingest.settings import IngestSettings


async def fetch_media(client: httpx.AsyncClient, s: IngestSettings, url: str) -> bytes:
    auth = None
    if s.sms_account_sid and s.sms_auth_token:
        auth = (s.sms_account_sid, s.sms_auth_token.get_secret_value())
    limit = s.max_attachment_bytes
    try:
        async with client.stream(
            "GET", url, auth=auth, timeout=s.media_fetch_timeout_s, follow_redirects=True
        ) as r:
            if r.status_code != 200:
                raise Unavailable(f"media could not be fetched: HTTP {r.status_code}")
            declared = r.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise TooLarge(f"an attachment is over {limit} bytes")
            chunks, size = [], 0
            async for chunk in r.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"an attachment is over {limit} bytes")
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise Unavailable(f"media could not be fetched: {type(exc).__name__}") from None
    return b"".join(chunks)
