"""The gateway publishes its API as OpenAPI (/openapi.json, /docs): the inbox reads and staff
actions are in it, with their parameters."""

from switchboard.gateway.app import build_app
from switchboard.gateway.settings import GatewaySettings


def test_inbox_endpoints_are_published():
    spec = build_app(GatewaySettings()).openapi()
    paths = spec["paths"]
    for path, method in [
        ("/api/inboxes", "get"),
        ("/api/inboxes/{group}/{view}", "get"),
        ("/api/inboxes/{group}/{view}/as-of", "get"),
        ("/api/search", "get"),
        ("/api/conversations/{conversation_id}", "get"),
        ("/api/conversations/{conversation_id}/panel", "get"),
        ("/api/conversations/{conversation_id}/link-candidates", "get"),
        ("/api/conversations/{conversation_id}/assign", "post"),
        ("/api/conversations/{conversation_id}/status", "post"),
        ("/api/conversations/{conversation_id}/link", "post"),
        ("/api/conversations/{conversation_id}/reply", "post"),
        ("/api/admin/staff/{staff_id}/addresses", "put"),
        ("/api/notify/practice-settings", "get"),
        ("/api/notify/practice-settings", "put"),
    ]:
        assert method in paths.get(path, {}), f"{method.upper()} {path} not published"
    page = {p["name"] for p in paths["/api/inboxes/{group}/{view}"]["get"]["parameters"]}
    assert {"cursor", "limit", "sort", "status", "channel", "reason", "location"} <= page
    assert "unassigned_only" in page
    reply = spec["components"]["schemas"]["Reply"]["properties"]
    assert {"body", "keep_open", "secure", "attachments", "expected_version"} <= set(reply)
