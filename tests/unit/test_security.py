"""The auth module without a server: settings, token verification, and the handlers.

The handlers are called the way each engine calls them: `langgraph dev` passes
`headers` as a dict of bytes by keyword, Aegra one positional dict of lowercase strings.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import jwt
import pytest
from langgraph_sdk import Auth

from devtools.jwks import JwksServer
from security import handlers
from security.settings import AuthSettings
from security.tokens import InvalidToken, TokenUser, TokenVerifier, mint_dev_token, token_claims

SECRET = "unit-test-secret-that-is-32-bytes-long"


def test_settings_default_to_off() -> None:
    settings = AuthSettings.from_env({})
    assert (settings.mode, settings.problem) == ("off", None)


@pytest.mark.parametrize(
    ("env", "mode", "problem"),
    [
        ({"AUTH_JWT_SECRET": SECRET}, "hs256", None),
        ({"AUTH_JWKS_URL": "http://127.0.0.1:1/jwks"}, "jwks", None),
        (
            {"AUTH_JWT_SECRET": SECRET, "AUTH_JWKS_URL": "http://127.0.0.1:1/jwks"},
            "jwks",
            "set AUTH_JWT_SECRET or AUTH_JWKS_URL, not both",
        ),
        ({"AUTH_JWT_SECRET": "short"}, "hs256", "AUTH_JWT_SECRET must be at least 32 bytes"),
        (
            {"AUTH_JWKS_URL": "http://127.0.0.1:1/jwks", "AUTH_JWKS_CACHE_SECONDS": "soon"},
            "jwks",
            "AUTH_JWKS_CACHE_SECONDS must be a number above 0",
        ),
    ],
)
def test_settings_name_their_mode_and_any_problem(
    env: dict[str, str], mode: str, problem: str | None
) -> None:
    settings = AuthSettings.from_env(env)
    assert (settings.mode, settings.problem) == (mode, problem)


def test_the_start_line_says_plainly_what_auth_does() -> None:
    assert AuthSettings().describe().startswith("auth is OFF: every request is served as one")
    assert AuthSettings(jwt_secret=SECRET).describe() == (
        "auth is on: bearer tokens are HS256 JWTs signed with AUTH_JWT_SECRET"
    )
    assert AuthSettings(jwt_secret="x").describe() == (
        "auth is MISCONFIGURED, every request is refused: AUTH_JWT_SECRET must be at least 32 bytes"
    )


async def test_a_dev_token_verifies_to_its_user() -> None:
    verifier = TokenVerifier(AuthSettings(jwt_secret=SECRET))
    assert await verifier.verify(mint_dev_token(SECRET, "alice", name="Alice")) == TokenUser(
        "alice", "Alice"
    )
    assert await verifier.verify(mint_dev_token(SECRET, "bob")) == TokenUser("bob", None)


def test_a_dev_token_needs_a_user() -> None:
    with pytest.raises(ValueError, match="non-empty user id"):
        mint_dev_token(SECRET, "  ")


@pytest.mark.parametrize(
    ("settings", "claims", "message"),
    [
        (
            AuthSettings(jwt_secret=SECRET, issuer="https://id.example"),
            token_claims("alice"),
            "the token has no 'iss' claim",
        ),
        (
            AuthSettings(jwt_secret=SECRET, audience="lgchat"),
            {**token_claims("alice"), "aud": "another-app"},
            "the token is not for this server: Audience doesn't match",
        ),
        (AuthSettings(jwt_secret=SECRET), {**token_claims("alice"), "sub": " "}, None),
    ],
)
async def test_issuer_audience_and_subject_are_checked(
    settings: AuthSettings, claims: dict[str, Any], message: str | None
) -> None:
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    with pytest.raises(InvalidToken) as refused:
        await TokenVerifier(settings).verify(token)
    assert str(refused.value) == (message or "the token's 'sub' claim is not a user id")


async def test_an_unreachable_jwks_is_a_refusal_not_a_crash() -> None:
    with JwksServer() as jwks:
        token = jwks.mint("carol")
        url = jwks.url
    verifier = TokenVerifier(AuthSettings(jwks_url=url))
    with pytest.raises(InvalidToken, match=r"^no signing key for the token: Fail to fetch"):
        await verifier.verify(token)


@pytest.fixture
def auth_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """Return the handlers module as loaded by a server with `SECRET` set."""
    monkeypatch.setenv("AUTH_JWT_SECRET", SECRET)
    yield importlib.reload(handlers)
    monkeypatch.delenv("AUTH_JWT_SECRET")
    importlib.reload(handlers)


async def test_authenticate_reads_both_engines_header_shapes(auth_on: ModuleType) -> None:
    token = mint_dev_token(SECRET, "alice", name="Alice")
    expected = {"identity": "alice", "permissions": [], "display_name": "Alice"}
    assert await auth_on.authenticate(headers={b"authorization": f"Bearer {token}".encode()}) == (
        expected
    )
    assert await auth_on.authenticate({"authorization": f"bearer {token}"}) == expected


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        (None, "no bearer token: send `Authorization: Bearer <token>`"),
        ("Basic YWxpY2U6cHc=", "the Authorization header is not `Bearer <token>`"),
        ("Bearer ", "the Authorization header is not `Bearer <token>`"),
    ],
)
async def test_authenticate_refuses_a_missing_or_foreign_scheme(
    auth_on: ModuleType, header: str | None, detail: str
) -> None:
    headers = {"authorization": header} if header is not None else {}
    with pytest.raises(Auth.exceptions.HTTPException) as refused:
        await auth_on.authenticate(headers)
    assert (refused.value.status_code, refused.value.detail) == (401, detail)


async def test_with_auth_off_everyone_is_anonymous_and_nothing_is_filtered() -> None:
    assert await handlers.authenticate({}) == {"identity": "anonymous", "is_authenticated": False}
    value: dict[str, Any] = {"metadata": {}}
    assert await handlers.owner_only(_ctx("threads", "create"), value) is None
    assert value == {"metadata": {}}


def _ctx(resource: str, action: str, identity: str = "alice") -> Auth.types.AuthContext:
    user: Any = Auth.types.StudioUser(identity)  # any user; only `identity` is read
    return Auth.types.AuthContext(
        user=user,
        permissions=[],
        resource=resource,  # type: ignore[arg-type]
        action=action,  # type: ignore[arg-type]
    )


async def test_the_owner_is_stamped_in_place_over_a_forged_one(auth_on: ModuleType) -> None:
    # The server keeps using the metadata dict it passed: replacing it stamped nothing.
    metadata = {"owner": "bob", "topic": "x"}
    value = {"thread_id": None, "metadata": metadata}
    assert await auth_on.owner_only(_ctx("threads", "create"), value) == {"owner": "alice"}
    assert value["metadata"] is metadata
    assert metadata == {"owner": "alice", "topic": "x"}
    bare: dict[str, Any] = {"metadata": None}
    await auth_on.owner_only(_ctx("threads", "update"), bare)
    assert bare == {"metadata": {"owner": "alice"}}


async def test_the_graphs_assistants_stay_readable_by_everyone(auth_on: ModuleType) -> None:
    shared = {"$or": [{"owner": "alice"}, {"created_by": "system"}]}
    assert await auth_on.owner_only(_ctx("assistants", "search"), {}) == shared
    assert await auth_on.owner_only(_ctx("assistants", "update"), {}) == {"owner": "alice"}


async def test_the_store_is_namespaced_by_user(auth_on: ModuleType) -> None:
    await auth_on.own_namespace(_ctx("store", "put"), {"namespace": ("alice", "notes")})
    for namespace in [("bob", "notes"), ()]:
        with pytest.raises(Auth.exceptions.HTTPException) as refused:
            await auth_on.own_namespace(_ctx("store", "put"), {"namespace": namespace})
        assert refused.value.status_code == 403
