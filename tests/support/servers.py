"""Pytest fixtures for real-server tests, on either engine: one fake OpenAI and the servers.

Registered from `tests/conftest.py` with `pytest_plugins`. `--engine dev` (the default,
`make test`) serves the project with `langgraph dev`; `--engine aegra` (`make
test-prod`) with Aegra over Postgres and Redis, each server on a database of its own,
created for the test session and dropped after it. Tests that only make sense on one
engine say so with `@pytest.mark.engines("dev")` (and why, in a comment); on the other
engine they are deselected, never skipped, and the run's header counts them.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Generator, Iterator, Mapping
from pathlib import Path
from typing import Literal, cast

import pytest

from devtools.aegra import SMALL_POOLS, AegraDeployment, AegraServer
from devtools.devserver import DevServer
from devtools.fake_openai import FakeOpenAI, server_env
from devtools.process import ServerProcess
from security.tokens import mint_dev_token

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = REPO_ROOT / "langgraph.json"

Engine = Literal["dev", "aegra"]
ENGINES: tuple[Engine, ...] = ("dev", "aegra")


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--engine``."""
    parser.addoption(
        "--engine",
        choices=ENGINES,
        default="dev",
        help="the server real-server tests run against: langgraph dev, or Aegra on Postgres",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``engines`` marker."""
    config.addinivalue_line(
        "markers", "engines(*names): the test runs only on these engines (dev, aegra)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the tests marked for the other engine only, and say how many."""
    engine = config.getoption("--engine")
    kept: list[pytest.Item] = []
    other: list[pytest.Item] = []
    for item in items:
        marker = item.get_closest_marker("engines")
        (kept if marker is None or engine in marker.args else other).append(item)
    if other:
        config.hook.pytest_deselected(items=other)
        items[:] = kept


def pytest_report_header(config: pytest.Config) -> str:
    """Name the engine in the run's header."""
    return f"engine: {config.getoption('--engine')}"


@pytest.fixture(scope="session")
def engine(request: pytest.FixtureRequest) -> Engine:
    """Return the engine this run's real-server tests use."""
    return cast(Engine, request.config.getoption("--engine"))


@contextlib.contextmanager
def engine_server(engine: Engine, env: Mapping[str, str]) -> Iterator[ServerProcess]:
    """Serve the project on ``engine`` with ``env``; stop it (and drop its database) after.

    On Aegra, see `aegra_servers`.
    """
    if engine == "dev":
        with DevServer(CONFIG, env=env) as server:
            yield server
        return
    with aegra_servers(env) as (aegra,):
        yield aegra


@contextlib.contextmanager
def aegra_servers(env: Mapping[str, str], count: int = 1) -> Iterator[list[AegraServer]]:
    """Run ``count`` Aegra instances of one fresh `AegraDeployment`; drop it after.

    The connection pools are small (`SMALL_POOLS`), so a session's servers stay within
    Postgres's 100 clients.
    """
    with AegraDeployment(env={**SMALL_POOLS, **env}) as deployment:
        yield [deployment.add() for _ in range(count)]


dev_server_env = server_env
"""The environment that points the served graphs at a fake OpenAI (`server_env`)."""


@pytest.fixture(scope="session")
def fake_openai_server() -> Iterator[FakeOpenAI]:
    """Run one fake OpenAI server for the session (``reset()`` it per test)."""
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="session")
def dev_server(fake_openai_server: FakeOpenAI, engine: Engine) -> Iterator[ServerProcess]:
    """Run one server for the session on the run's engine, using the fake OpenAI server."""
    with engine_server(engine, dev_server_env(fake_openai_server.base_url)) as server:
        yield server


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the server's log tail to the report of a failed test that used one."""
    report = yield
    if report.failed:
        for name, value in getattr(item, "funcargs", {}).items():
            for label, server in _servers_in(name, value).items():
                report.sections.append((f"{label} log (last 30 lines)", server.log_tail(30)))
    return report


def _servers_in(name: str, value: object) -> dict[str, ServerProcess]:
    """Return the servers a fixture value is or holds (a dataclass of servers: a cluster)."""
    if isinstance(value, ServerProcess):
        return {name: value}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f"{name}.{field.name}": member
            for field in dataclasses.fields(value)
            if isinstance(member := getattr(value, field.name), ServerProcess)
        }
    return {}


SLOW_ENOUGH_TO_CANCEL = "0.002"
"""OFFLINE_MODEL_DELAY of the offline server: short replies still take milliseconds, and
"count to 5000" streams for ten seconds, so a cancel always lands mid-reply. With no
delay the model writes its whole reply before the first tokens reach the client, so a
cancel would only ever stop a backlog."""

OFFLINE_ENV = {"MODEL": "offline", "OPENAI_API_KEY": "", "OFFLINE_MODEL_DELAY": "0"}
"""The environment of a server whose default model is the offline one, unpaced."""


@pytest.fixture(scope="session")
def offline_server(engine: Engine) -> Iterator[ServerProcess]:
    """Run a second server for the session whose default model is the offline one."""
    env = {**OFFLINE_ENV, "OFFLINE_MODEL_DELAY": SLOW_ENOUGH_TO_CANCEL}
    with engine_server(engine, env) as server:
        yield server


@pytest.fixture(scope="session")
def offline_server_url(offline_server: ServerProcess) -> str:
    """Return the offline server's URL."""
    return offline_server.url


AUTH_SECRET = "test-only-hs256-secret-of-at-least-32-bytes"
"""The HS256 secret of `auth_server`; tests mint tokens with it (`mint_token`)."""


def mint_token(user_id: str, *, name: str | None = None, ttl: float = 3600) -> str:
    """Return a token `auth_server` accepts for `user_id`."""
    return mint_dev_token(AUTH_SECRET, user_id, name=name, ttl=ttl)


@pytest.fixture(scope="session")
def auth_server(engine: Engine) -> Iterator[ServerProcess]:
    """Run a server for the session with auth on (HS256, `AUTH_SECRET`), offline model.

    Paced like `offline_server`, so "count to 5000" is still running when another user
    tries to join or cancel it.
    """
    env = {
        **OFFLINE_ENV,
        "OFFLINE_MODEL_DELAY": SLOW_ENOUGH_TO_CANCEL,
        "AUTH_JWT_SECRET": AUTH_SECRET,
    }
    with engine_server(engine, env) as server:
        yield server
