"""Shared pytest configuration: offline defaults, and no silently skipped tests."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.support.servers"]

# Unit tests run the offline model without its demo pacing, and never reach OpenAI.
os.environ["OFFLINE_MODEL_DELAY"] = "0"
os.environ.pop("OPENAI_API_KEY", None)
os.environ.pop("MODEL", None)
os.environ["LANGGRAPH_CLI_NO_ANALYTICS"] = "1"
os.environ["LANGSMITH_TRACING"] = "false"
# Servers run with auth off unless a test turns it on: a developer's own settings must
# not leak into them (nor a token into the client).
for _name in ("AUTH_JWT_SECRET", "AUTH_JWKS_URL", "AUTH_JWT_ISSUER", "AUTH_JWT_AUDIENCE"):
    os.environ.pop(_name, None)
os.environ.pop("LANGGRAPH_AUTH_TOKEN", None)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when any test was skipped: a skipped test is not a passing test."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if reporter:
            reporter.write_line(f"FAILED: {skipped} test(s) skipped; skips are not allowed")
