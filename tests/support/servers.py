"""Pytest fixtures for real-server tests: one fake OpenAI and one `langgraph dev` a session.

Registered from `tests/conftest.py` with `pytest_plugins`.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from devtools.devserver import DevServer
from devtools.fake_openai import FakeOpenAI

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = REPO_ROOT / "langgraph.json"


def dev_server_env(openai_base_url: str, *, model: str = "openai:gpt-4o") -> dict[str, str]:
    """Return the environment that points the served graphs at a fake OpenAI.

    Args:
        openai_base_url: :attr:`FakeOpenAI.base_url`.
        model: The ``MODEL`` spec the graphs load.
    """
    return {
        "OPENAI_BASE_URL": openai_base_url,
        "OPENAI_API_KEY": "test",
        "MODEL": model,
        "OFFLINE_MODEL_DELAY": "0",
    }


@pytest.fixture(scope="session")
def fake_openai_server() -> Iterator[FakeOpenAI]:
    """Run one fake OpenAI server for the session (``reset()`` it per test)."""
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="session")
def dev_server(fake_openai_server: FakeOpenAI) -> Iterator[DevServer]:
    """Run one ``langgraph dev`` for the session, using the fake OpenAI server."""
    with DevServer(CONFIG, env=dev_server_env(fake_openai_server.base_url)) as server:
        yield server


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the dev server's log tail to the report of a failed test that used it."""
    report = yield
    if report.failed:
        for name, value in getattr(item, "funcargs", {}).items():
            if isinstance(value, DevServer):
                report.sections.append((f"{name} log (last 30 lines)", value.log_tail(30)))
    return report


SLOW_ENOUGH_TO_CANCEL = "0.002"
"""OFFLINE_MODEL_DELAY of the offline server: short replies still take milliseconds, and
"count to 5000" streams for ten seconds, so a cancel always lands mid-reply. With no
delay the model writes its whole reply before the first tokens reach the client, so a
cancel would only ever stop a backlog."""


@pytest.fixture(scope="session")
def offline_server() -> Iterator[DevServer]:
    """Run a second `langgraph dev` for the session whose default model is the offline one."""
    env = {"MODEL": "offline", "OPENAI_API_KEY": "", "OFFLINE_MODEL_DELAY": SLOW_ENOUGH_TO_CANCEL}
    with DevServer(CONFIG, env=env) as server:
        yield server


@pytest.fixture(scope="session")
def offline_server_url(offline_server: DevServer) -> str:
    """Return the offline server's URL."""
    return offline_server.url
