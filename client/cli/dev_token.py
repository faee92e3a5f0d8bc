"""`lgchat token`: mint a development token for a user from the server's local secret.

DEVELOPMENT ONLY. A server with `AUTH_JWT_SECRET` accepts any HS256 token signed with
that secret, so whoever holds the secret can sign in as any user. A real deployment
takes its tokens from an identity provider (`AUTH_JWKS_URL`) and never hands the
secret to clients. The token alone goes to stdout, so that

    export LANGGRAPH_AUTH_TOKEN=$(lgchat token --user alice)

works; a line on stderr says what it is.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from client.errors import InvalidInput
from security.settings import AuthSettings

SECRET_VARIABLE = "AUTH_JWT_SECRET"

DEV_ONLY_NOTE = (
    "lgchat: DEVELOPMENT ONLY: a token for user {user!r}, valid {ttl} s, signed with "
    f"{SECRET_VARIABLE}; anyone with the secret can sign in as any user: in production, "
    "tokens come from an identity provider"
)
"""The line `lgchat token` writes on stderr."""


def dev_secret(
    environ: Mapping[str, str] | None = None, env_file: Path = Path(".env")
) -> str | None:
    """Return the server's HS256 secret: from the environment, else from `env_file`.

    `langgraph dev` loads the project's `.env`, so a secret kept there is the one the
    server uses.
    """
    environ = os.environ if environ is None else environ
    if secret := environ.get(SECRET_VARIABLE):
        return secret
    if not env_file.is_file():
        return None
    from dotenv import dotenv_values

    return dotenv_values(env_file).get(SECRET_VARIABLE) or None


def mint(secret: str, user_id: str, *, name: str | None = None, ttl: float | None = None) -> str:
    """Return a development token for `user_id` signed with `secret`.

    Args:
        secret: The server's `AUTH_JWT_SECRET`.
        user_id: The token's user (`sub`).
        name: Their display name (`name`), if any.
        ttl: Lifetime in seconds; `security.tokens.DEV_TOKEN_SECONDS` by default.

    Raises:
        InvalidInput: The user id is empty, the lifetime is not positive, or the
            secret is one the server would refuse to run with.
    """
    # Imported here: PyJWT loads `cryptography`, which other commands never need.
    from security.tokens import DEV_TOKEN_SECONDS, mint_dev_token

    ttl = DEV_TOKEN_SECONDS if ttl is None else ttl
    if not user_id.strip():
        raise InvalidInput("the user id is empty")
    if ttl <= 0:
        raise InvalidInput(f"the token's lifetime must be above 0 seconds, got {ttl:g}")
    if problem := AuthSettings(jwt_secret=secret).problem:
        raise InvalidInput(problem)
    return mint_dev_token(secret, user_id, name=name, ttl=ttl)


def add_token_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `lgchat token` to the subcommands."""
    token = commands.add_parser(
        "token",
        help="DEVELOPMENT ONLY: print a token for a user, signed with AUTH_JWT_SECRET",
        description="Print a bearer token for --user, signed with the server's "
        "AUTH_JWT_SECRET (from the environment, else ./.env). DEVELOPMENT ONLY: anyone "
        "with the secret can mint a token for any user; in production, tokens come "
        "from an identity provider. Use: export LANGGRAPH_AUTH_TOKEN=$(lgchat token "
        "--user alice)",
    )
    token.add_argument("--user", required=True, metavar="ID", help="the user id (`sub` claim)")
    token.add_argument("--name", help="display name (`name` claim); the chatbot greets by it")
    token.add_argument(
        "--ttl", type=int, metavar="SECONDS", help="lifetime in seconds (default: 12 hours)"
    )


async def cmd_token(args: argparse.Namespace) -> int:
    """Print a development token on stdout, and on stderr what it is.

    Raises:
        InvalidInput: No secret, or arguments `mint` refuses.
    """
    secret = dev_secret()
    if secret is None:
        raise InvalidInput(
            f"no {SECRET_VARIABLE} in the environment or in ./.env: a development token "
            "is signed with the server's secret"
        )
    from security.tokens import DEV_TOKEN_SECONDS  # see `mint`

    ttl = int(DEV_TOKEN_SECONDS) if args.ttl is None else args.ttl
    token = mint(secret, args.user, name=args.name, ttl=ttl)
    print(DEV_ONLY_NOTE.format(user=args.user, ttl=ttl), file=sys.stderr)
    print(token)
    return 0
