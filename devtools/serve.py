"""`make serve` and `make serve-ha`: the project on Aegra over local Postgres (and Redis).

    python -m devtools.serve [--instances N] [--port P]

One instance keeps everything in Postgres: threads, runs and checkpoints survive a crash
of the server. Two or more share one database through Redis (`REDIS_BROKER_ENABLED`):
any instance can join or cancel any run, and a run whose instance died is finished by
another once its lease expires. The database comes from `DATABASE_URL` or `POSTGRES_*`
(default: `lgchat` on the local server, created if missing); Redis from `REDIS_URL`
(default: the local one). The project's `.env` is read under the environment: the
process environment wins, as it does for Aegra itself.

Each instance logs to its own file under `~/.local/state/lgchat-aegra/`; the URLs and
the log paths are printed on stderr. Ctrl-C (or SIGTERM) stops every instance's process
group; a missing prerequisite is one line and exit code 1.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

from agent.context import default_model
from devtools.aegra import (
    LOCAL_REDIS,
    PROJECT_DIR,
    SMALL_POOLS,
    AegraServer,
    RedisBroker,
    aegra_executable,
)
from devtools.devserver import chat_command, default_state_dir, env_file_values, port_is_free
from devtools.ports import free_port
from devtools.postgres import Database, PostgresUnavailable
from devtools.process import ServerProcessError, interrupt
from security.settings import AuthSettings

DEFAULT_PORT = 2026
"""Aegra's own default port."""


class MissingPrerequisite(Exception):
    """Something `make serve` needs is not there; the message says what, in one line."""


def redis_answers(url: str, timeout: float = 2.0) -> bool:
    """Return whether a Redis server answers ``PING`` at ``url``."""
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or 6379), timeout=timeout
        ) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


def _environment(project: Path) -> dict[str, str]:
    """Return the project's `.env` under the process environment (Aegra's precedence)."""
    return {**env_file_values(project / ".env"), **os.environ}


def _check(
    instances: int, env: dict[str, str], *, create: bool = True
) -> tuple[Database, RedisBroker | None]:
    """Return the database (created when missing, if ``create``) and the broker.

    Raises:
        MissingPrerequisite: Aegra, Postgres or (for several instances) Redis is missing,
            or the auth settings cannot be served.
    """
    if (auth := AuthSettings.from_env(env)).problem:
        raise MissingPrerequisite(auth.describe())
    if not aegra_executable().exists():
        raise MissingPrerequisite(
            f"{aegra_executable()} is missing: run `make serve` (it builds .venv-aegra "
            "with Python 3.12+)"
        )
    database = Database.from_env(env, default_name="lgchat")
    try:
        database.ensure() if create else database.exists()
    except PostgresUnavailable as error:
        raise MissingPrerequisite(
            f"Aegra needs Postgres: {error} (start it, or set DATABASE_URL)"
        ) from None
    if instances == 1:
        return database, None
    redis = RedisBroker(url=env.get("REDIS_URL", LOCAL_REDIS), prefix="lgchat")
    if not redis_answers(redis.url):
        raise MissingPrerequisite(
            f"two Aegra instances need Redis: nothing answers at {redis.url} (start it, or set "
            "REDIS_URL)"
        )
    return database, redis


def unguarded(url: str, log: Path) -> str | None:
    """Return why the server at `url` serves without auth although it is configured.

    Aegra serves every request as one anonymous user when its auth module fails to
    load (it only logs the error, in `log`), so a request with no token must be refused.
    None when it is.
    """
    request = urllib.request.Request(
        f"{url}/assistants/search",
        data=b"{}",
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError as error:
        return f"{url} did not answer a request with no token: {error}"
    if status == 401:
        return None
    return (
        f"{url} answered a request with no token (HTTP {status}): auth is configured but "
        f"not in force, so its auth module did not load; see {log}"
    )


def serve(instances: int, port: int) -> int:
    """Start ``instances`` Aegra servers on consecutive ports; stop them on Ctrl-C."""
    env = _environment(PROJECT_DIR)
    try:
        database, redis = _check(instances, env)
    except MissingPrerequisite as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if instances > 1:
        # Aegra's default pools would let two busy instances exhaust Postgres's 100 clients.
        env = {**SMALL_POOLS, **env}
    auth = AuthSettings.from_env(env)
    state = default_state_dir(PROJECT_DIR, tool="lgchat-aegra")
    model = default_model(env)
    # SIGINT too: a background job of a script (a CI run, `make serve &`) inherits it
    # ignored, and Python then never raises KeyboardInterrupt.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)
    with ExitStack() as stack:
        try:
            servers: list[AegraServer] = []
            for index in range(instances):
                wanted = port + index
                chosen = wanted if port_is_free(wanted) else free_port()
                server = AegraServer(
                    database=database,
                    redis=redis,
                    env=env,
                    port=chosen,
                    workdir=state / f"instance-{index + 1}",
                )
                # One at a time: the first one migrates the database.
                servers.append(stack.enter_context(server))
                print(f"Aegra is up at {server.url}  (log: {server.log_path})", file=sys.stderr)
                if auth.mode != "off" and (problem := unguarded(server.url, server.log_path)):
                    print(f"error: {problem}", file=sys.stderr)
                    return 1
            broker = f", Redis {redis.url}" if redis else ""
            print(
                f"database {database.display}{broker}; model: {model}\n"
                # Aegra loads the auth module at its first request, so say it now.
                f"{auth.describe()}\n"
                f"chat with it: {chat_command(servers[0].url, '.venv/bin/lgchat', auth)}\n"
                "Ctrl-C stops it.",
                file=sys.stderr,
                flush=True,
            )
            while all(server.running for server in servers):
                time.sleep(0.5)
            dead = next(server for server in servers if not server.running)
            print(f"error: the Aegra at {dead.url} exited; see {dead.log_path}", file=sys.stderr)
            return 1
        except ServerProcessError as error:
            print(f"error: {str(error).splitlines()[0]}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("stopping", file=sys.stderr)
            return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and serve (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m devtools.serve", description=__doc__)
    parser.add_argument("--instances", type=int, default=1, help="Aegra instances (2+ use Redis)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="the first one's port")
    parser.add_argument(
        "--check", action="store_true", help="only check the prerequisites (exit 1 if missing)"
    )
    args = parser.parse_args(argv)
    if args.instances < 1:
        parser.error("--instances must be at least 1")
    if args.check:
        try:
            _check(args.instances, _environment(PROJECT_DIR), create=False)
        except MissingPrerequisite as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        return 0
    return serve(args.instances, args.port)


if __name__ == "__main__":
    sys.exit(main())
