"""Sign-in through an OIDC issuer: RS256 tokens verified against the issuer's JWKS (served
here by a local HTTP server), mapped to a principal; local HS256 tokens keep working."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from switchboard.gateway.auth import Principal, issue_token, read_token
from switchboard.gateway.oidc import is_oidc_token, read_oidc_token
from switchboard.gateway.settings import GatewaySettings

ISSUER = "https://idp.example.test/realms/demo"


@pytest.fixture(scope="module")
def keys():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048), rsa.generate_private_key(
        public_exponent=65537, key_size=2048
    )


@pytest.fixture(scope="module")
def jwks_url(keys):
    good, _ = keys
    jwk = json.loads(RSAAlgorithm.to_jwk(good.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/jwks.json"
    server.shutdown()


def settings(jwks_url: str) -> GatewaySettings:
    return GatewaySettings(oidc_issuer=ISSUER, oidc_audience="switchboard", oidc_jwks_url=jwks_url)


def token(key, **claims) -> str:
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": "switchboard",
        "sub": "u-oidc",
        "iat": now,
        "exp": now + 300,
        "practice": "demo",
        "role": "staff",
        "policies": ["inbox.care_team", "not.a.policy"],
    }
    return jwt.encode({**base, **claims}, key, algorithm="RS256", headers={"kid": "k1"})


async def test_issuer_token_becomes_a_principal(keys, jwks_url):
    # covers T-2
    good, _ = keys
    s = settings(jwks_url)
    t = token(good)
    assert is_oidc_token(t, s)
    p = await read_oidc_token(t, s)
    assert p == Principal("u-oidc", "demo", "staff", frozenset({"inbox.care_team"}))


@pytest.mark.parametrize(
    "change",
    [
        {"iss": "https://evil.example.test"},
        {"aud": "someone-else"},
        {"exp": int(time.time()) - 10},
        {"role": "superuser"},
        {"practice": ""},
    ],
)
async def test_bad_issuer_tokens_are_refused(keys, jwks_url, change):
    good, _ = keys
    assert await read_oidc_token(token(good, **change), settings(jwks_url)) is None


async def test_a_key_the_issuer_does_not_publish_is_refused(keys, jwks_url):
    _, other = keys
    assert await read_oidc_token(token(other), settings(jwks_url)) is None


def test_local_tokens_still_work_beside_the_issuer(jwks_url):
    s = settings(jwks_url)
    p = Principal("u-1", "demo", "practice_admin", frozenset())
    local = issue_token(p, s.jwt_secret, 60)
    assert not is_oidc_token(local, s)
    assert read_token(local, s.jwt_secret) == p
    assert not is_oidc_token(local, GatewaySettings())
