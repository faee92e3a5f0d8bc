"""The server's auth modes on either engine: off, RS256 through a JWKS, and misconfigured.

With no setting auth is off and the log says so; with `AUTH_JWKS_URL` tokens are
verified against the keys a loopback JWKS publishes (`devtools.jwks`), and a retired key
stops verifying once the cache (1 s here) expires; a configuration that cannot be right
refuses every request instead of serving without isolation.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import Iterator

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from devtools.jwks import JwksServer, SigningKey
from devtools.process import ServerProcess
from security.tokens import token_claims
from tests.support.servers import OFFLINE_ENV, Engine, engine_server

pytestmark = pytest.mark.server

HI = {"input": {"messages": [{"role": "user", "content": "hi"}]}, "assistant_id": "chatbot"}


@pytest.fixture(scope="module")
def jwks() -> Iterator[JwksServer]:
    with JwksServer() as server:
        yield server


@pytest.fixture(scope="module")
def jwks_server(engine: Engine, jwks: JwksServer) -> Iterator[ServerProcess]:
    env = {**OFFLINE_ENV, "AUTH_JWKS_URL": jwks.url, "AUTH_JWKS_CACHE_SECONDS": "1"}
    with engine_server(engine, env) as server:
        yield server


def _get(url: str, path: str, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{url}{path}", json={}, headers=headers, timeout=30)


def _detail(response: httpx.Response) -> str:
    body = response.json()
    return str(body.get("detail") or body.get("message"))


def test_a_token_signed_by_the_published_key_is_accepted(
    jwks_server: ServerProcess, jwks: JwksServer
) -> None:
    token = jwks.mint("carol", name="Carol")
    headers = {"Authorization": f"Bearer {token}"}
    thread = httpx.post(f"{jwks_server.url}/threads", json={}, headers=headers).json()
    answer = httpx.post(
        f"{jwks_server.url}/threads/{thread['thread_id']}/runs/wait",
        json=HI,
        headers=headers,
        timeout=60,
    ).json()
    assert thread["metadata"]["owner"] == "carol"
    assert answer["messages"][-1]["content"] == "Hello Carol! How can I assist you today?"


def _public_pem(key: SigningKey) -> bytes:
    return key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _forged_hs256(claims: dict[str, object], key: bytes) -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = part(json.dumps(claims).encode())
    signature = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{part(signature)}"


@pytest.mark.parametrize("kind", ["hs256 with a secret", "hs256 with the public key"])
def test_an_hs256_token_is_refused_when_keys_come_from_a_jwks(
    kind: str, jwks_server: ServerProcess, jwks: JwksServer
) -> None:
    # Signing HS256 with the public key is the classic algorithm-confusion forgery;
    # PyJWT refuses to make one, so it is put together here.
    if kind.endswith("public key"):
        token = _forged_hs256(token_claims("carol"), _public_pem(jwks.key))
    else:
        token = jwt.encode(token_claims("carol"), b"x" * 32, algorithm="HS256")
    response = _get(jwks_server.url, "/assistants/search", token)
    assert response.status_code == 401
    assert _detail(response) == "tokens signed with 'HS256' are not accepted (only RS256)"


def test_a_token_signed_by_an_unpublished_key_is_refused(
    jwks_server: ServerProcess, jwks: JwksServer
) -> None:
    impostor = SigningKey(jwks.key.kid, SigningKey.generate().private_key)
    response = _get(jwks_server.url, "/assistants/search", jwks.mint("carol", key=impostor))
    assert response.status_code == 401
    assert _detail(response) == "the token's signature does not verify"


async def test_rotating_the_key_retires_the_old_keys_tokens(
    jwks_server: ServerProcess, jwks: JwksServer
) -> None:
    old_token = jwks.mint("carol")
    assert _get(jwks_server.url, "/assistants/search", old_token).status_code == 200
    old = jwks.rotate()
    await asyncio.sleep(1.5)  # AUTH_JWKS_CACHE_SECONDS=1
    refused = _get(jwks_server.url, "/assistants/search", old_token)
    assert refused.status_code == 401
    assert _detail(refused) == (
        f'no signing key for the token: Unable to find a signing key that matches: "{old.kid}"'
    )
    assert _get(jwks_server.url, "/assistants/search", jwks.mint("carol")).status_code == 200


def test_with_no_setting_auth_is_off_and_the_log_says_so(offline_server: ServerProcess) -> None:
    # Aegra loads the auth module at its first request, not at start.
    assert _get(offline_server.url, "/assistants/search", None).status_code == 200
    assert (
        "auth is OFF: every request is served as one anonymous user and threads are not "
        "isolated; set AUTH_JWT_SECRET or AUTH_JWKS_URL to turn it on"
    ) in offline_server.log_tail(10_000)


def test_a_misconfigured_server_refuses_every_request(engine: Engine) -> None:
    # Never served without isolation (Aegra, for one, serves anonymously when its auth
    # module fails to load, so the module itself must refuse).
    env = {**OFFLINE_ENV, "AUTH_JWT_SECRET": "too-short"}
    with engine_server(engine, env) as server:
        response = _get(server.url, "/assistants/search", None)
    assert response.status_code == 401
    assert _detail(response) == (
        "server auth is misconfigured: AUTH_JWT_SECRET must be at least 32 bytes"
    )
