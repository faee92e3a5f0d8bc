"""Bearer tokens: verify them with PyJWT, and mint development tokens.

A token is a JWT whose `sub` claim is the user's identity and whose optional `name`
claim (the OIDC standard one) is their display name. HS256 tokens are checked against
the shared secret; RS256 tokens against the signing key their `kid` names in a JWKS.
Each failure becomes an `InvalidToken` with one line fit to send back in a 401.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from security.settings import AuthSettings

HS256 = "HS256"
RS256 = "RS256"
DEV_TOKEN_SECONDS = 12 * 3600
"""Lifetime of a development token: a working day."""


class InvalidToken(Exception):
    """A bearer token was refused; the message says why, in one line."""


@dataclass(frozen=True, slots=True)
class TokenUser:
    """Who a verified token speaks for."""

    identity: str
    display_name: str | None = None


def token_claims(
    user_id: str,
    *,
    name: str | None = None,
    ttl: float = DEV_TOKEN_SECONDS,
    now: float | None = None,
) -> dict[str, Any]:
    """Return the claims of a token for `user_id`, valid for `ttl` seconds from `now`."""
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {"sub": user_id, "iat": issued, "exp": issued + int(ttl)}
    if name:
        claims["name"] = name
    return claims


def mint_dev_token(
    secret: str, user_id: str, *, name: str | None = None, ttl: float = DEV_TOKEN_SECONDS
) -> str:
    """Return an HS256 token for `user_id` signed with `secret`. For development only.

    Whoever holds the secret can mint a token for any user: a real deployment gets its
    tokens from an identity provider (see `AuthSettings.jwks_url`).
    """
    if not user_id.strip():
        raise ValueError("a token needs a non-empty user id")
    return jwt.encode(token_claims(user_id, name=name, ttl=ttl), secret, algorithm=HS256)


class TokenVerifier:
    """Verifies bearer tokens as `AuthSettings` say (the settings must have a mode)."""

    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings
        self._jwks = (
            jwt.PyJWKClient(settings.jwks_url, lifespan=settings.jwks_cache_seconds, timeout=5)
            if settings.mode == "jwks"
            else None
        )

    @property
    def algorithm(self) -> str:
        """Return the one signing algorithm accepted."""
        return RS256 if self._jwks is not None else HS256

    async def verify(self, token: str) -> TokenUser:
        """Return the user a token speaks for.

        Raises:
            InvalidToken: The token is malformed, expired, wrongly signed, signed with
                another algorithm (`none` included), or lacks a claim.
        """
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
            if algorithm != self.algorithm:
                raise InvalidToken(
                    f"tokens signed with {algorithm!r} are not accepted (only {self.algorithm})"
                )
            key = await self._key(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=[self.algorithm],
                issuer=self.settings.issuer or None,
                audience=self.settings.audience or None,
                options={
                    "require": ["exp", "sub"],
                    "verify_aud": bool(self.settings.audience),
                },
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("the token's signature does not verify") from None
        except jwt.MissingRequiredClaimError as error:
            raise InvalidToken(f"the token has no {error.claim!r} claim") from None
        except (jwt.InvalidIssuerError, jwt.InvalidAudienceError) as error:
            raise InvalidToken(f"the token is not for this server: {error}") from None
        except jwt.PyJWKClientError as error:
            raise InvalidToken(f"no signing key for the token: {error}") from None
        except jwt.DecodeError:
            raise InvalidToken("the token is not a well-formed JWT") from None
        except jwt.InvalidTokenError as error:
            raise InvalidToken(f"the token is invalid: {error}") from None
        return _user(claims)

    async def _key(self, token: str) -> Any:
        if self._jwks is None:
            return self.settings.jwt_secret
        # PyJWKClient fetches with urllib, which blocks: keep it off the event loop.
        signing_key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
        return signing_key.key


def claimed_user(claims: Mapping[str, Any]) -> TokenUser | None:
    """Return the user a token's claims name (`sub`, and `name` if any), or None.

    The one reading of the claims: the server applies it to verified tokens, the
    client (`client.auth`) to its own token, unverified, to know whom it acts for.
    """
    identity, name = claims.get("sub"), claims.get("name")
    if not isinstance(identity, str) or not identity.strip():
        return None
    return TokenUser(identity, name if isinstance(name, str) and name.strip() else None)


def _user(claims: Mapping[str, Any]) -> TokenUser:
    user = claimed_user(claims)
    if user is None:
        raise InvalidToken("the token's 'sub' claim is not a user id")
    return user
