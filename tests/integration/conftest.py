"""Fixtures of the suites that cut connections: a fault proxy before the server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.fake_openai import FakeOpenAI
from devtools.process import ServerProcess
from tests.support.proxy import FaultProxy


@pytest.fixture(scope="module")
def proxy(dev_server: ServerProcess) -> Iterator[FaultProxy]:
    """Forward to the session's server (on the scripted model), with faults on demand."""
    with FaultProxy(dev_server.port) as running:
        yield running


@pytest.fixture
def proxied_fake(fake_openai_server: FakeOpenAI, proxy: FaultProxy) -> Iterator[FakeOpenAI]:
    """Return the scripted model, reset, with no cut planned before or after the test."""
    fake_openai_server.reset()
    proxy.clear()
    yield fake_openai_server
    proxy.clear()
