"""Pytest fixtures for real-server tests: one fake OpenAI and one `langgraph dev` a session.

Registered from `tests/conftest.py` with `pytest_plugins`.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from client.devserver import DevServer
from tests.support.fake_openai import FakeOpenAI

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
    server = getattr(item, "funcargs", {}).get("dev_server")
    if report.failed and isinstance(server, DevServer):
        report.sections.append(("langgraph dev log (last 80 lines)", server.log_tail(80)))
    return report


@pytest.fixture(scope="session")
def dev_server_url(dev_server: DevServer) -> str:
    """Return the session server's URL (its default model is ChatOpenAI on the fake)."""
    return dev_server.url
