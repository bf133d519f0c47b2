"""The gateway publishes the lines and templates endpoints the staff pages code against."""

from switchboard.gateway.app import build_app
from switchboard.gateway.settings import GatewaySettings


def test_lines_and_templates_endpoints_are_published():
    paths = build_app(GatewaySettings()).openapi()["paths"]
    for path, method in [
        ("/api/lines", "get"),
        ("/api/admin/lines/{channel}/{address}/label", "put"),
        ("/api/templates", "get"),
        ("/api/admin/templates/{template_id}", "put"),
        ("/api/admin/templates/{template_id}", "delete"),
    ]:
        assert method in paths.get(path, {}), f"{method.upper()} {path} not published"
