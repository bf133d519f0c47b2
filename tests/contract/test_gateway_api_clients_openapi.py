"""API clients are documented in the gateway's OpenAPI (issue 16, ADR 0024): the token route
with its form body and RFC 6749 answers, a client credentials security scheme on the staff
routes, and the admin routes."""

from switchboard.gateway.app import build_app
from switchboard.gateway.settings import GatewaySettings


def test_token_route_and_client_credentials_scheme_are_published():
    # covers X-APICLIENT-1
    spec = build_app(GatewaySettings()).openapi()
    token = spec["paths"]["/api/oauth/token"]["post"]
    form = token["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert form["properties"]["grant_type"]["enum"] == ["client_credentials"]
    assert {"client_id", "client_secret", "scope"} <= set(form["properties"])
    schemas = spec["components"]["schemas"]
    assert token["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/TokenOut"
    )
    for code in ("400", "401", "429"):
        content = token["responses"][code]["content"]
        assert list(content) == ["application/json"], f"{code}: RFC 6749 bodies, not problems"
        assert content["application/json"]["schema"]["$ref"].endswith("/OAuthErrorOut")
    assert {"error", "error_description"} <= set(schemas["OAuthErrorOut"]["properties"])

    scheme = spec["components"]["securitySchemes"]["apiClient"]
    assert scheme["type"] == "oauth2"
    assert scheme["flows"]["clientCredentials"]["tokenUrl"] == "/api/oauth/token"
    assert "inbox.api" in scheme["flows"]["clientCredentials"]["scopes"]
    inbox = spec["paths"]["/api/inboxes/{group}/{view}"]["get"]["security"]
    assert {"apiClient": []} in inbox and {"HTTPBearer": []} in inbox

    admin = spec["paths"]
    assert {"get", "post"} <= set(admin["/api/admin/api-clients"])
    assert "post" in admin["/api/admin/api-clients/{client_id}/rotate-secret"]
    assert "delete" in admin["/api/admin/api-clients/{client_id}"]
    created = schemas["ApiClientSecret"]["properties"]
    assert {"client", "client_secret", "token_url"} <= set(created)
    assert "client_secret" not in schemas["ApiClientOut"]["properties"]  # lists never show it
