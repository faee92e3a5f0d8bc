"""A loopback OIDC stand-in: RSA signing keys published as a JWKS, and tokens signed by them.

Tests point a server's `AUTH_JWKS_URL` at `JwksServer.url`, mint RS256 tokens with
`mint`, and `rotate` the key to check that tokens of a retired key stop verifying.
Keys are generated at start (no key material is stored), and the server listens on
127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from devtools.stub_http import QuietHandler, serving
from security.tokens import RS256, token_claims

JWKS_PATH = "/.well-known/jwks.json"


@dataclass(frozen=True)
class SigningKey:
    """One RSA key pair and the `kid` it is published under."""

    kid: str
    private_key: rsa.RSAPrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        """Return a fresh 2048-bit key with a random kid."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(uuid.uuid4().hex[:16], key)

    def public_jwk(self) -> dict[str, Any]:
        """Return the public half as a JWK."""
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": RS256}


class JwksServer:
    """Serves the current signing key at `url` until the `with` block ends."""

    def __init__(self) -> None:
        """Generate the first key; nothing listens until the `with` block."""
        self.key = SigningKey.generate()
        self.fetches = 0
        """JWKS requests answered so far."""
        self._stack = contextlib.ExitStack()
        self._base_url: str | None = None

    @property
    def url(self) -> str:
        """The JWKS URL."""
        if self._base_url is None:
            raise RuntimeError("the JWKS server is not running")
        return f"{self._base_url}{JWKS_PATH}"

    def jwks(self) -> dict[str, Any]:
        """Return the published key set: the current key only."""
        return {"keys": [self.key.public_jwk()]}

    def rotate(self) -> SigningKey:
        """Replace the key (the old one is no longer published); return the old one."""
        old, self.key = self.key, SigningKey.generate()
        return old

    def mint(
        self,
        user_id: str,
        *,
        name: str | None = None,
        ttl: float = 3600,
        key: SigningKey | None = None,
    ) -> str:
        """Return an RS256 token for `user_id`, signed with `key` (the current one by default)."""
        key = key or self.key
        claims = token_claims(user_id, name=name, ttl=ttl)
        return jwt.encode(claims, key.private_key, algorithm=RS256, headers={"kid": key.kid})

    def __enter__(self) -> Self:
        """Start serving on a free loopback port."""
        owner = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                if self.path != JWKS_PATH:
                    self.answer_json(404, {"detail": "not found"})
                    return
                owner.fetches += 1
                self.answer_json(200, owner.jwks())

        self._base_url = self._stack.enter_context(serving(Handler))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop serving."""
        self._stack.close()
        self._base_url = None
