"""How the server verifies tokens, read from its environment.

Auth is off unless a secret or a JWKS URL is set, so local development needs no setup;
the server log then says so on start. A configuration that cannot be right (both set,
or a short secret) is reported and refuses every request rather than serving without
isolation.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

AuthMode = Literal["off", "hs256", "jwks"]

MIN_SECRET_LENGTH = 32
"""RFC 7518 asks for an HS256 key of at least 256 bits; PyJWT warns below 32 bytes."""


@dataclass(frozen=True, kw_only=True)
class AuthSettings:
    """Token verification settings; `from_env` reads them from `AUTH_*` variables."""

    jwt_secret: str = field(
        default="",
        metadata={"env": "AUTH_JWT_SECRET", "description": "Shared HS256 secret (self-hosting)."},
    )
    jwks_url: str = field(
        default="",
        metadata={
            "env": "AUTH_JWKS_URL",
            "description": "JWKS URL of an OIDC provider whose RS256 tokens are accepted.",
        },
    )
    issuer: str = field(
        default="",
        metadata={"env": "AUTH_JWT_ISSUER", "description": "Required `iss` claim, if set."},
    )
    audience: str = field(
        default="",
        metadata={"env": "AUTH_JWT_AUDIENCE", "description": "Required `aud` claim, if set."},
    )
    jwks_cache_seconds: float = field(
        default=300.0,
        metadata={
            "env": "AUTH_JWKS_CACHE_SECONDS",
            "description": "How long fetched keys are trusted; a key removed from the JWKS "
            "(rotation) keeps verifying tokens for at most this long.",
        },
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AuthSettings:
        """Read the settings from `env` (the process environment by default)."""
        env = os.environ if env is None else env
        cache = env.get("AUTH_JWKS_CACHE_SECONDS", "").strip()
        return cls(
            jwt_secret=env.get("AUTH_JWT_SECRET", ""),
            jwks_url=env.get("AUTH_JWKS_URL", "").strip(),
            issuer=env.get("AUTH_JWT_ISSUER", "").strip(),
            audience=env.get("AUTH_JWT_AUDIENCE", "").strip(),
            jwks_cache_seconds=_positive(cache) if cache else cls.jwks_cache_seconds,
        )

    @property
    def mode(self) -> AuthMode:
        """Return how tokens are verified: not at all, with the secret, or by JWKS."""
        if self.jwks_url:
            return "jwks"
        return "hs256" if self.jwt_secret else "off"

    @property
    def problem(self) -> str | None:
        """Return why these settings cannot be served, or None if they can."""
        if self.jwt_secret and self.jwks_url:
            return "set AUTH_JWT_SECRET or AUTH_JWKS_URL, not both"
        if self.jwt_secret and len(self.jwt_secret.encode()) < MIN_SECRET_LENGTH:
            return f"AUTH_JWT_SECRET must be at least {MIN_SECRET_LENGTH} bytes"
        if self.jwks_cache_seconds != self.jwks_cache_seconds or self.jwks_cache_seconds <= 0:
            return "AUTH_JWKS_CACHE_SECONDS must be a number above 0"
        return None

    def describe(self) -> str:
        """Return the one line the server logs about its auth on start."""
        if self.problem:
            return f"auth is MISCONFIGURED, every request is refused: {self.problem}"
        if self.mode == "off":
            return (
                "auth is OFF: every request is served as one anonymous user and threads are "
                "not isolated; set AUTH_JWT_SECRET or AUTH_JWKS_URL to turn it on"
            )
        if self.mode == "hs256":
            return "auth is on: bearer tokens are HS256 JWTs signed with AUTH_JWT_SECRET"
        return f"auth is on: bearer tokens are RS256 JWTs signed by a key from {self.jwks_url}"


def _positive(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")  # reported by `problem`
