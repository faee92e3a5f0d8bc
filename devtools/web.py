"""Serve the browser page with a `langgraph dev` behind it: `make web` and the browser tests.

    python -m devtools.web [--port P | --prefer-port P] [--dist web/dist]
                           [--engine dev|aegra] [--scripted] [--delay SECONDS]
                           [--ready-file FILE]

Starts `langgraph dev` (or, with ``--engine aegra``, one Aegra instance on a fresh
Postgres database, dropped on exit) on a free loopback port with auth on (the configured auth, else
a one-off ``AUTH_JWT_SECRET``), then serves the built page (`devtools.web_page`) on
``127.0.0.1:P`` with ``/config.json`` and, when the server verifies HS256 tokens, the
DEVELOPMENT ONLY ``POST /dev-token`` that signs a token for any user. The model is the
embedded offline one, paced as ``OFFLINE_MODEL_DELAY`` says.

``--scripted`` (the browser tests) runs a fake OpenAI instead, answering like the
offline model at ``--delay`` seconds a chunk, and refusing a turn whose text is
exactly ``fail please``, so a run error can be provoked from the page. It is
hermetic: the project's ``.env`` is not loaded and the auth is always a one-off secret.

The page URL is the only line on stdout; ``--ready-file`` also gets
``{"pageUrl", "apiUrl", "openaiUrl", "pid"}`` once everything answers (removed again
on exit). Ctrl-C, SIGTERM or SIGHUP stops everything and exits 0.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from devtools.aegra import AegraDeployment, aegra_executable
from devtools.devserver import DevServer, DevServerError, dev_auth_env, env_file_values
from devtools.fake_openai import (
    BadRequest,
    ChatRequest,
    FakeOpenAI,
    Reply,
    Responder,
    offline_responder,
    server_env,
)
from devtools.postgres import PostgresUnavailable
from devtools.process import ServerProcess, interrupt
from devtools.web_page import ApiAccess, PageServer
from security.settings import AuthSettings

PROJECT = Path(__file__).resolve().parents[1]
"""The project's folder: the one holding ``langgraph.json``."""
DEFAULT_DIST = PROJECT / "web" / "dist"
FAIL_PROMPT = "fail please"
"""The user text the scripted model refuses (HTTP 400), so the run errors."""
NOT_BUILT = "the page is not built: run 'make web' (or 'cd web && npm ci && npm run build')"


class LaunchError(Exception):
    """The launcher cannot start; the message is one line for ``error: ...``."""


def scripted_responder(delay: float) -> Responder:
    """Return a fake OpenAI responder: the offline model's answers, ``delay`` s a chunk.

    A request whose last user message is exactly :data:`FAIL_PROMPT` is refused with
    HTTP 400 instead.
    """

    def respond(request: ChatRequest) -> Reply:
        users = [m for m in request.messages if m.get("role") == "user"]
        content = users[-1].get("content") if users else None
        parts = content if isinstance(content, list) else [{"text": content}]
        texts = [p.get("text") for p in parts if isinstance(p, dict)]
        if "".join(t for t in texts if isinstance(t, str)).strip() == FAIL_PROMPT:
            return Reply(fault=BadRequest("the scripted model refused this request"))
        return dataclasses.replace(offline_responder(request), delay=delay)

    return respond


def server_auth(*, scripted: bool, env_file: Path) -> tuple[dict[str, str], AuthSettings]:
    """Return the auth environment the dev server gets, and the settings it will verify with.

    Args:
        scripted: Hermetic: always a one-off secret, whatever the environment says.
        env_file: The ``.env`` the server loads (when not scripted).

    Raises:
        LaunchError: The configured auth cannot be served.
    """
    if scripted:
        secret = secrets.token_urlsafe(32)
        blank = dict.fromkeys(("AUTH_JWKS_URL", "AUTH_JWT_ISSUER", "AUTH_JWT_AUDIENCE"), "")
        return {**blank, "AUTH_JWT_SECRET": secret}, AuthSettings(jwt_secret=secret)
    extra = dev_auth_env(env_file)
    # The server loads the .env over its environment.
    settings = AuthSettings.from_env({**os.environ, **extra, **env_file_values(env_file)})
    if settings.problem:
        raise LaunchError(f"the configured auth cannot be served: {settings.problem}")
    return extra, settings


def bind_page(dist: Path, port: int, *, prefer: bool) -> PageServer:
    """Bind the page's server on ``port`` (0: a free one).

    Args:
        dist: The built page's folder.
        port: The port.
        prefer: Take a free port instead of a taken one, and say so on stderr.

    Raises:
        LaunchError: The port is taken (and not ``prefer``).
    """
    try:
        return PageServer(dist, port=port)
    except OSError as error:
        if not prefer or port == 0:
            raise LaunchError(
                f"port {port} is taken ({error.strerror}): choose another --port"
            ) from None
    page = PageServer(dist)
    print(f"port {port} is taken; serving the page on {page.port} instead", file=sys.stderr)
    return page


def write_ready_file(path: Path, info: dict[str, Any]) -> None:
    """Write ``info`` as JSON to ``path`` atomically (a temporary file, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(info) + "\n")
    os.replace(temporary, path)


def wait_for_ready_file(proc: subprocess.Popen[Any], path: Path, timeout: float) -> dict[str, Any]:
    """Return what a launcher started as ``proc`` wrote to its ``--ready-file``, once it has.

    Raises:
        LaunchError: The launcher exited first, or ``timeout`` seconds passed.
    """
    deadline = time.monotonic() + timeout
    while not path.is_file():
        if proc.poll() is not None:
            raise LaunchError(f"the launcher exited with {proc.returncode} before it was ready")
        if time.monotonic() > deadline:
            raise LaunchError(f"the launcher was not ready after {timeout:g} s")
        time.sleep(0.1)
    ready: dict[str, Any] = json.loads(path.read_text())
    return ready


def one_line_error(message: str) -> str:
    """Return a server failure's message as one line: the reason and the log's last line.

    `ServerProcess.failure` names a log that is deleted with the server's workdir.
    """
    head, *tail = message.splitlines() or [""]
    reason = head.split("; log ", 1)[0]
    last = next((line.strip() for line in reversed(tail) if line.strip()), "")
    return f"{reason}: {last}" if last else reason


def start_engine(
    stack: contextlib.ExitStack, engine: str, env: dict[str, str], *, load_env_file: bool
) -> ServerProcess:
    """Start the deployment on ``engine``; ``stack`` stops it (and drops Aegra's database).

    Raises:
        LaunchError: Aegra's environment or Postgres is missing.
    """
    if engine == "dev":
        config = PROJECT / "langgraph.json"
        return stack.enter_context(DevServer(config, env=env, load_env_file=load_env_file))
    if not aegra_executable().exists():
        raise LaunchError("Aegra is not installed: run 'make install-aegra' (needs Python 3.12+)")
    try:
        deployment = stack.enter_context(AegraDeployment(env=env, redis=False, prefix="web"))
    except PostgresUnavailable as error:
        raise LaunchError(f"Aegra needs Postgres: {error}") from None
    return deployment.add()


def launch(args: argparse.Namespace) -> int:
    """Start the servers, announce them, and serve until a signal (see the module docstring).

    Raises:
        LaunchError: Something could not start.
    """
    dist: Path = args.dist
    if not (dist / "index.html").is_file():
        raise LaunchError(NOT_BUILT)
    env_file = PROJECT / ".env"
    load_env_file = env_file.is_file() and not args.scripted
    auth_env, auth = server_auth(scripted=args.scripted, env_file=env_file)
    secret = auth.jwt_secret if auth.mode == "hs256" else None
    with contextlib.ExitStack() as stack:
        page = bind_page(dist, args.port or args.prefer_port or 0, prefer=not args.port)
        stack.callback(page.server_close)
        openai_url: str | None = None
        if args.scripted:
            fake = stack.enter_context(FakeOpenAI(scripted_responder(args.delay)))
            openai_url = fake.base_url
            env = server_env(fake.base_url)
            model = (
                f"offline answers from a fake OpenAI at {openai_url}, {args.delay:g} s a "
                f"chunk; {FAIL_PROMPT!r} fails"
            )
        else:
            env = {"MODEL": "offline"}
            # The server loads the .env over its environment.
            configured = env_file_values(env_file).get("MODEL") if load_env_file else None
            model = f"{configured} (MODEL in .env)" if configured else "offline"
        dev = start_engine(stack, args.engine, {**env, **auth_env}, load_env_file=load_env_file)
        stack.enter_context(page.start(ApiAccess(dev.url, auth.mode, secret)))
        print(page.url, flush=True)
        print(f"{dev.name} is up at {dev.url} (model: {model}); Ctrl-C stops", file=sys.stderr)
        which = "a one-off" if "AUTH_JWT_SECRET" in auth_env else "the configured"
        print(
            f"DEVELOPMENT ONLY: POST {page.url}dev-token signs a token for any user with "
            f"{which} AUTH_JWT_SECRET"
            if secret
            else "auth is on with an identity provider's keys (JWKS): no development tokens",
            file=sys.stderr,
            flush=True,
        )
        if args.ready_file:
            stack.callback(args.ready_file.unlink, missing_ok=True)
            info = {"pageUrl": page.url, "apiUrl": dev.url, "openaiUrl": openai_url}
            write_ready_file(args.ready_file, {**info, "pid": os.getpid()})
        try:
            while dev.running:
                time.sleep(0.2)
        finally:
            # A second Ctrl-C must not cut the stop short.
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(signum, signal.SIG_IGN)
        raise LaunchError(dev.failure("exited unexpectedly"))


def main(argv: list[str] | None = None) -> int:
    """Run the launcher; see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m devtools.web", description=__doc__)
    ports = parser.add_mutually_exclusive_group()
    ports.add_argument("--port", type=int, help="the page's port; refused if taken")
    ports.add_argument("--prefer-port", type=int, help="the page's port, or a free one if taken")
    parser.add_argument("--dist", type=Path, default=DEFAULT_DIST, help="the built page's folder")
    parser.add_argument(
        "--engine", choices=("dev", "aegra"), default="dev", help="the server behind the page"
    )
    parser.add_argument("--scripted", action="store_true", help="a scripted fake OpenAI")
    parser.add_argument("--delay", type=float, default=0.02, help="--scripted: s per chunk")
    parser.add_argument("--ready-file", type=Path, help="write the URLs here once up (JSON)")
    args = parser.parse_args(argv)
    # SIGINT too: a process started in the background may have inherited it ignored.
    handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {signum: signal.signal(signum, interrupt) for signum in handled}
    try:
        return launch(args)
    except KeyboardInterrupt:
        return 0
    except (LaunchError, DevServerError) as error:
        print(f"error: {one_line_error(str(error))}", file=sys.stderr)
        return 1
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    sys.exit(main())
