"""Who a bearer token says its user is, read on the client side without verifying it.

The server verifies every token; the client only needs to know which user it acts as,
so that the user id in thread ids and metadata is the token's identity and a
mismatched user is caught before any request. Reading the claims needs no key:
PyJWT decodes them with signature checking off. A token that is not a JWT, or names no
user, has no identity here; it is still sent, and the server decides.
"""

from __future__ import annotations

from dataclasses import dataclass

from client.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class TokenIdentity:
    """The user a token names: its `sub` claim, and its `name` claim if any."""

    user_id: str
    name: str | None = None


def token_identity(token: str) -> TokenIdentity | None:
    """Return the identity `token` claims, or None for an opaque or user-less token.

    Nothing is verified (signature, expiry, audience): that is the server's job, and
    it answers a bad token with a 401 the client reports.
    """
    # Imported here: PyJWT loads `cryptography` (~70 ms), which `lgchat` without a
    # token never needs.
    import jwt

    from security.tokens import claimed_user

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return None
    user = claimed_user(claims)
    return TokenIdentity(user.identity, user.display_name) if user else None


def check_user(identity: TokenIdentity | None, user_id: str | None, *, label: str = "user") -> None:
    """Refuse a user id other than the token's, whose threads the server would never show.

    Args:
        identity: The token's identity; None (no token, or an opaque one) allows any user.
        user_id: The user id asked for; None allows.
        label: How the message names the user id (the CLI says `--user`).

    Raises:
        InvalidInput: `user_id` is not the token's user.
    """
    if identity is not None and user_id is not None and user_id != identity.user_id:
        raise InvalidInput(f"{label} {user_id} does not match the token's user {identity.user_id}")
