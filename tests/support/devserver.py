"""Pytest fixtures for real-server tests: one fake OpenAI and one `langgraph dev` a session.

Registered from `tests/conftest.py` with `pytest_plugins`.
"""

from __future__ import annotations

from collections.abc import Iterator
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
