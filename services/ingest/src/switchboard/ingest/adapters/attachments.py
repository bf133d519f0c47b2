"""The attachment store: every file patients send (MMS media, email attachments, messenger
uploads) and the bodies that do not fit an event, behind one interface.

Keys are content addresses under the practice (`<practice>/<sha256[:2]>/<sha256>`), so the
same bytes stored twice (a retried webhook, a mail delivered twice) are one object, and a
ref names its practice: a caller can check it never crosses practices (T-1). Events carry
the ref `store:<key>`, never the bytes.

`FilesystemStore` is the local one; `S3Store` speaks the S3 REST API (SigV4) to any
S3-compatible server (AWS S3, MinIO, Ceph).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import os
import tempfile
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, urlsplit

import httpx

from switchboard.ingest.domain.attachment_refs import (
    REF_PREFIX,
    AttachmentNotFound,
    key_of,
)
from switchboard.ingest.settings import IngestSettings


class AttachmentStore(Protocol):
    async def put(self, practice_id: str, data: bytes, content_type: str) -> str:
        """Store the bytes; returns the ref (`store:<key>`)."""
        ...

    async def get(self, ref: str) -> bytes:
        """The bytes of a ref; AttachmentNotFound when there are none."""
        ...


def key_for(practice_id: str, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    return f"{practice_id}/{digest[:2]}/{digest}"


class FilesystemStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key

    async def put(self, practice_id: str, data: bytes, content_type: str) -> str:
        key = key_for(practice_id, data)
        path = self._path(key)
        if not path.exists():
            await asyncio.to_thread(_write_atomically, path, data)
        return REF_PREFIX + key

    async def get(self, ref: str) -> bytes:
        path = self._path(key_of(ref))
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise AttachmentNotFound(ref) from None


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- S3-compatible -----------------------------------------------------------------------


def sigv4_headers(
    *,
    method: str,
    url: str,
    region: str,
    service: str,
    access_key: str,
    secret_key: str,
    payload_hash: str,
    now: dt.datetime,
    headers: dict[str, str] | None = None,
) -> dict[str, str]:
    """AWS Signature Version 4 headers for one request (path-style URL, no query)."""
    parts = urlsplit(url)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    signed = {k.lower(): v.strip() for k, v in (headers or {}).items()}
    signed["host"] = parts.netloc
    signed["x-amz-date"] = amz_date
    names = sorted(signed)
    canonical = "\n".join(
        [
            method,
            quote(parts.path or "/", safe="/-_.~"),
            parts.query,
            "".join(f"{n}:{signed[n]}\n" for n in names),
            ";".join(names),
            payload_hash,
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = f"AWS4{secret_key}".encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    out = {n: signed[n] for n in names if n != "host"}
    out["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return out


class S3Store:
    """Objects in one bucket of an S3-compatible server, path-style URLs."""

    def __init__(
        self,
        endpoint_url: str,
        bucket: str,
        region: str,
        access_key: str,
        secret_key: str,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base = endpoint_url.rstrip("/")
        self.bucket = bucket
        self.region = region
        self.access_key = access_key
        self.secret_key = secret_key
        self.client = client or httpx.AsyncClient(timeout=30)

    def _url(self, key: str) -> str:
        return f"{self.base}/{self.bucket}/{key}"

    def _headers(self, method: str, url: str, payload_hash: str, extra: dict[str, str]) -> dict:
        return sigv4_headers(
            method=method,
            url=url,
            region=self.region,
            service="s3",
            access_key=self.access_key,
            secret_key=self.secret_key,
            payload_hash=payload_hash,
            now=dt.datetime.now(dt.UTC),
            headers={"x-amz-content-sha256": payload_hash, **extra},
        )

    async def put(self, practice_id: str, data: bytes, content_type: str) -> str:
        key = key_for(practice_id, data)
        url = self._url(key)
        digest = hashlib.sha256(data).hexdigest()
        headers = self._headers("PUT", url, digest, {"content-type": content_type})
        r = await self.client.put(url, content=data, headers=headers)
        r.raise_for_status()
        return REF_PREFIX + key

    async def get(self, ref: str) -> bytes:
        url = self._url(key_of(ref))
        empty = hashlib.sha256(b"").hexdigest()
        r = await self.client.get(url, headers=self._headers("GET", url, empty, {}))
        if r.status_code == 404:
            raise AttachmentNotFound(ref)
        r.raise_for_status()
        return r.content


def make_store(settings: IngestSettings) -> AttachmentStore:
    if settings.attachment_store == "s3":
        if not (
            settings.s3_endpoint_url and settings.s3_access_key_id and settings.s3_secret_access_key
        ):
            raise ValueError("the s3 attachment store needs an endpoint URL and credentials")
        return S3Store(
            settings.s3_endpoint_url,
            settings.s3_bucket,
            settings.s3_region,
            settings.s3_access_key_id,
            settings.s3_secret_access_key.get_secret_value(),
        )
    return FilesystemStore(settings.attachment_dir)
