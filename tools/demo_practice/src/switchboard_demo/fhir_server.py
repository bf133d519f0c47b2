"""A small local FHIR R4 server: the demo practice's "EHR" for `make up`, and the server the
integration tests poll. Serves `GET {base}/{type}` searchset Bundles with `_lastUpdated=gt|ge`,
`_sort=_lastUpdated`, `_count` and `next` links; checks a bearer token when given one; can be
told to answer every request with an error status (`fail_status`), to play a broken server.

It also takes what Switchboard writes (X-FHIR-2): `POST {base}/Communication` creates one
(201, with `Location` and the resource), and honours a conditional create: with
`If-None-Exist: identifier=<system>|<value>`, one match is returned as it is (200, nothing
created), several are refused (412). Searches take `identifier=<system>|<value>` and
`subject=Patient/<id>` (or `<id>`), so a test or a person can read them back:
`GET {base}/Communication?subject=Patient/p-1`.

    python -m switchboard_demo.fhir_server --port 8090     # the demo practice
"""

from __future__ import annotations

import argparse
import contextlib
import json
import threading
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from switchboard_demo.practice import DEFAULT_SEED, generate_demo


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _updated(resource: Mapping[str, Any]) -> datetime | None:
    meta = resource.get("meta")
    return _instant(meta.get("lastUpdated")) if isinstance(meta, Mapping) else None


def search(
    resources: Sequence[Mapping[str, Any]], last_updated: str | None
) -> list[Mapping[str, Any]]:
    """Resources matching `_lastUpdated` (gt / ge / plain = ge), oldest first."""
    chosen = list(resources)
    if last_updated:
        op, value = ("ge", last_updated)
        if last_updated[:2] in ("gt", "ge", "lt", "le", "eq"):
            op, value = last_updated[:2], last_updated[2:]
        bound = _instant(value)
        if bound is not None:

            def keep(r: Mapping[str, Any]) -> bool:
                at = _updated(r)
                if at is None:
                    return True  # no meta: the server cannot tell, it returns it
                return {
                    "gt": at > bound,
                    "ge": at >= bound,
                    "lt": at < bound,
                    "le": at <= bound,
                    "eq": at == bound,
                }[op]

            chosen = [r for r in chosen if keep(r)]
    oldest = datetime.min.replace(tzinfo=UTC)
    return sorted(chosen, key=lambda r: (_updated(r) or oldest, str(r.get("id"))))


class FhirTestServer:
    """`with FhirTestServer({"Location": [...]}) as fhir:` ... `fhir.base_url`."""

    def __init__(
        self,
        resources: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
        *,
        token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        page_size: int | None = None,
    ) -> None:
        self.resources: dict[str, list[Mapping[str, Any]]] = {
            k: list(v) for k, v in (resources or {}).items()
        }
        self.token = token
        self.fail_status: int | None = None
        self.page_size = page_size  # overrides the client's _count when set
        self.requests: list[str] = []  # path and query of every request
        self.creates = 0  # POSTs that reached the create (conditional or not)
        self.post_status: int | None = None  # answer every POST with this status
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), self._handler())
        self._httpd.daemon_threads = True
        address = self._httpd.server_address
        self.host, self.port = str(address[0]), int(address[1])
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/fhir"

    def put(self, resource: Mapping[str, Any]) -> None:
        """Add or replace (by id) a resource."""
        with self._lock:
            items = self.resources.setdefault(str(resource.get("resourceType")), [])
            items[:] = [r for r in items if r.get("id") != resource.get("id")]
            items.append(resource)

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (the command line's way)."""
        try:
            self._httpd.serve_forever()
        finally:
            self._httpd.server_close()

    def start(self) -> FhirTestServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FhirTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def find(self, resource_type: str, query: Mapping[str, list[str]]) -> list[Mapping[str, Any]]:
        """Resources of a type matching `identifier` and `subject` (when given), oldest first."""
        with self._lock:
            found = search(self.resources.get(resource_type, ()), _one(query, "_lastUpdated"))
        ident, subject = _one(query, "identifier"), _one(query, "subject")
        if ident:
            found = [r for r in found if _has_identifier(r, ident)]
        if subject:
            wanted = subject if "/" in subject else f"Patient/{subject}"
            found = [r for r in found if (r.get("subject") or {}).get("reference") == wanted]
        return found

    def create(
        self, resource_type: str, resource: Mapping[str, Any], if_none_exist: str | None
    ) -> tuple[int, dict[str, Any]]:
        """A create, conditional when `if_none_exist` is a search: (status, resource)."""
        with self._lock:
            self.creates += 1
            if if_none_exist:
                matches = self._find_locked(resource_type, parse_qs(if_none_exist))
                if len(matches) > 1:
                    return 412, _outcome("several resources match If-None-Exist")
                if matches:
                    return 200, dict(matches[0])
            stored = dict(resource)
            stored["id"] = uuid.uuid4().hex[:16]
            stored["meta"] = {
                "versionId": "1",
                "lastUpdated": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            }
            self.resources.setdefault(resource_type, []).append(stored)
            return 201, stored

    def _find_locked(
        self, resource_type: str, query: Mapping[str, list[str]]
    ) -> list[Mapping[str, Any]]:
        ident = _one(query, "identifier")
        found = list(self.resources.get(resource_type, ()))
        return [r for r in found if ident and _has_identifier(r, ident)]

    def bundle(self, resource_type: str, query: Mapping[str, list[str]]) -> dict[str, Any]:
        found = self.find(resource_type, query)
        count = self.page_size or int(_one(query, "_count") or 50)
        offset = int(_one(query, "_offset") or 0)
        page = found[offset : offset + count]
        links = [{"relation": "self", "url": self._url(resource_type, query, offset)}]
        if offset + count < len(found):
            following = self._url(resource_type, query, offset + count)
            links.append({"relation": "next", "url": following})
        return {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(found),
            "link": links,
            "entry": [
                {
                    "fullUrl": f"{self.base_url}/{resource_type}/{r.get('id')}",
                    "resource": r,
                    "search": {"mode": "match"},
                }
                for r in page
            ],
        }

    def _url(self, resource_type: str, query: Mapping[str, list[str]], offset: int) -> str:
        params = {k: v[0] for k, v in query.items() if k != "_offset" and v}
        params["_offset"] = str(offset)
        return f"{self.base_url}/{resource_type}?{urlencode(params)}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return  # quiet: URLs may carry search values

            def _send(self, status: int, body: Mapping[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                server.requests.append(self.path)
                if server.fail_status is not None:
                    self._send(server.fail_status, _outcome("server unavailable"))
                    return
                if server.token is not None and (
                    self.headers.get("Authorization") != f"Bearer {server.token}"
                ):
                    self._send(401, _outcome("bearer token required"))
                    return
                segments = [s for s in parts.path.split("/") if s]
                if len(segments) != 2 or segments[0] != "fhir":
                    self._send(404, _outcome("unknown path"))
                    return
                self._send(200, server.bundle(segments[1], parse_qs(parts.query)))

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                server.requests.append(f"POST {parts.path}")
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status = server.fail_status or server.post_status
                if status is not None:
                    self._send(status, _outcome("server unavailable", "Communication"))
                    return
                if server.token is not None and (
                    self.headers.get("Authorization") != f"Bearer {server.token}"
                ):
                    self._send(401, _outcome("bearer token required"))
                    return
                segments = [s for s in parts.path.split("/") if s]
                if segments != ["fhir", "Communication"]:
                    self._send(404, _outcome("only Communication is created here"))
                    return
                try:
                    resource = json.loads(raw)
                except ValueError:
                    self._send(400, _outcome("body is not JSON"))
                    return
                if not isinstance(resource, dict) or resource.get("resourceType") != (
                    "Communication"
                ):
                    self._send(400, _outcome("not a Communication", "Communication"))
                    return
                if not resource.get("status"):
                    self._send(422, _outcome("status is required", "Communication.status"))
                    return
                code, body = server.create(
                    "Communication", resource, self.headers.get("If-None-Exist")
                )
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(data)))
                if code in (200, 201):
                    version = body["meta"]["versionId"]
                    self.send_header(
                        "Location",
                        f"{server.base_url}/Communication/{body['id']}/_history/{version}",
                    )
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _one(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _has_identifier(resource: Mapping[str, Any], token: str) -> bool:
    """FHIR token search on identifier: `system|value`, `|value` (no system) or `value`."""
    system, _, value = token.rpartition("|") if "|" in token else (None, "", token)
    for ident in resource.get("identifier") or ():
        if not isinstance(ident, Mapping) or ident.get("value") != value:
            continue
        if system is None or (ident.get("system") or "") == system:
            return True
    return False


def _outcome(text: str, expression: str | None = None) -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": "error", "code": "processing", "diagnostics": text}
    if expression:
        issue["expression"] = [expression]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the demo practice over FHIR R4.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--token", default=None)
    args = parser.parse_args(argv)
    demo = generate_demo(args.seed)
    types = ("Location", "Practitioner", "Patient", "CareTeam")
    resources = {t: demo.fhir_resources(t) for t in types}
    server = FhirTestServer(resources, token=args.token, host=args.host, port=args.port)
    print(f"demo FHIR server on {server.base_url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
