"""The deployment's `langgraph_sdk.Auth`: who is calling, and what they may touch.

`langgraph.json` registers `auth` under `auth.path`, and both engines load it:
`langgraph dev` (and LangGraph Platform) and Aegra. They call `authenticate`
differently (the former passes `headers` as a dict of bytes by keyword, Aegra one
positional dict of lowercase strings), so it takes one `headers` mapping of either.

Every thread, run, assistant and cron a user creates is stamped with an `owner`
metadata field, and every read, search, update, delete, stream, join and cancel is
filtered by it: another user's objects answer 404, as if they did not exist. The
graphs' own assistants (`created_by: system`) are shared. The store is namespaced by
user: its first namespace element must be the caller's identity.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, cast

from langgraph_sdk import Auth

from security.settings import AuthSettings
from security.tokens import InvalidToken, TokenVerifier

logger = logging.getLogger(__name__)

OWNER_KEY = "owner"
"""Metadata field naming the identity that created a resource."""

ANONYMOUS = "anonymous"
"""Everyone's identity while auth is off."""

_STAMPED_ACTIONS = frozenset({"create", "update", "create_run"})
"""Actions whose payload carries the resource's metadata, where the owner is (re)set."""

SETTINGS = AuthSettings.from_env()
_PROBLEM = SETTINGS.problem
"""Why the settings cannot be served, worked out once: every request is refused with it."""
_VERIFIER = TokenVerifier(SETTINGS) if SETTINGS.mode != "off" and not _PROBLEM else None

if _PROBLEM:
    logger.error(SETTINGS.describe())
elif _VERIFIER is None:
    logger.warning(SETTINGS.describe())
else:
    logger.info(SETTINGS.describe())

auth = Auth()


@auth.authenticate
async def authenticate(headers: Mapping[Any, Any]) -> Auth.types.MinimalUserDict:
    """Return the user the request's `Authorization: Bearer` token speaks for.

    Raises:
        Auth.exceptions.HTTPException: 401 with one line saying what is wrong with the
            token, or that the server's own auth settings are unusable.
    """
    if _VERIFIER is None:
        if _PROBLEM:
            # 401, not 500: only 401 and 403 carry their detail to the caller on every engine.
            raise _unauthorized(f"server auth is misconfigured: {_PROBLEM}")
        return {"identity": ANONYMOUS, "is_authenticated": False}
    token = _bearer_token(headers)
    try:
        user = await _VERIFIER.verify(token)
    except InvalidToken as error:
        raise _unauthorized(str(error)) from None
    found: Auth.types.MinimalUserDict = {"identity": user.identity, "permissions": []}
    if user.display_name:
        found["display_name"] = user.display_name
    return found


def _bearer_token(headers: Mapping[Any, Any]) -> str:
    value = headers.get(b"authorization", headers.get("authorization"))
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not value:
        raise _unauthorized("no bearer token: send `Authorization: Bearer <token>`")
    scheme, _, token = str(value).strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("the Authorization header is not `Bearer <token>`")
    return token.strip()


def _unauthorized(detail: str) -> Auth.exceptions.HTTPException:
    return Auth.exceptions.HTTPException(
        401, detail, headers={"WWW-Authenticate": 'Bearer realm="langgraph"'}
    )


@auth.on
async def owner_only(ctx: Auth.types.AuthContext, value: Any) -> Auth.types.FilterType | None:
    """Stamp the caller as owner of what they create or change; filter the rest by it."""
    if _VERIFIER is None:
        return None
    identity = ctx.user.identity
    if ctx.action in _STAMPED_ACTIONS and isinstance(value, dict):
        # Overwritten, never trusted: a caller must not create or re-own something in
        # another user's name. In place, since the server keeps using the dict it
        # passed (a replaced one would be ignored).
        metadata = value.get("metadata")
        if isinstance(metadata, dict):
            metadata[OWNER_KEY] = identity
        else:
            value["metadata"] = {OWNER_KEY: identity}
    if ctx.resource == "assistants" and ctx.action in ("read", "search"):
        # Both engines filter on `$or`, though the SDK's FilterType does not list it.
        return cast(
            Auth.types.FilterType, {"$or": [{OWNER_KEY: identity}, {"created_by": "system"}]}
        )
    return {OWNER_KEY: identity}


@auth.on.store()
async def own_namespace(ctx: Auth.types.AuthContext, value: Any) -> None:
    """Refuse store access outside the caller's own namespace (`(identity, ...)`)."""
    if _VERIFIER is None:
        return
    namespace = tuple(value.get("namespace") or ()) if isinstance(value, dict) else ()
    if not namespace or namespace[0] != ctx.user.identity:
        raise Auth.exceptions.HTTPException(
            403, "the store namespace must start with your own user id"
        )
