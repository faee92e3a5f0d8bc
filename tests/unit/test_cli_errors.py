"""CLI error handling: one line on stderr, a documented exit code, never a traceback.

The CLI runs as a real subprocess; the only servers here are a closed port and a tiny
stub that answers every request with one HTTP status.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import errors as sdk_errors

from client.cli.exit_codes import EXIT_BUSY, EXIT_NOT_FOUND, EXIT_UNREACHABLE, EXIT_USAGE, exit_code
from client.errors import (
    AssistantNotFound,
    AuthenticationFailed,
    ConnectionLost,
    ConnectionsExhausted,
    InvalidInput,
    NotFound,
    ServerError,
    ServerUnreachable,
    ThreadBusy,
    ThreadNotFound,
    to_client_error,
    translate_errors,
)
from devtools.ports import free_port
from devtools.stub_http import QuietHandler, serving

LGCHAT = Path(sys.executable).with_name("lgchat")
SOME_THREAD = "6f1c1d52-0000-4000-8000-000000000001"


def lgchat(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LGCHAT), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("lgchat: error: ")
    assert text in result.stderr
    assert result.stdout == ""


@pytest.fixture(scope="module")
def closed_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.mark.parametrize(
    "command",
    [
        ["assistants"],
        ["threads", "--user", "alice"],
        ["history", SOME_THREAD],
        ["send", "hi"],
        ["chat"],
        ["demo"],
    ],
    ids=lambda command: command[0],
)
def test_no_server_is_one_line_and_exit_3(closed_url: str, command: list[str]) -> None:
    started = time.monotonic()
    result = lgchat("--url", closed_url, *command)
    assert_one_line_error(
        result, EXIT_UNREACHABLE, f"no LangGraph server at {closed_url} — start one with `make dev`"
    )
    # The SDK's own pool retries five times with backoff (7.5 s); ours fails fast.
    assert time.monotonic() - started < 6


def test_empty_message_fails_before_any_request(closed_url: str) -> None:
    result = lgchat("--url", closed_url, "send", "   ")
    assert_one_line_error(result, EXIT_USAGE, "the message is empty")


def test_malformed_thread_id_fails_before_any_request(closed_url: str) -> None:
    result = lgchat("--url", closed_url, "send", "--thread", "alice:chat-1", "hi")
    assert_one_line_error(result, EXIT_NOT_FOUND, "no thread 'alice:chat-1'")


def test_unknown_stream_mode_is_a_usage_error(closed_url: str) -> None:
    result = lgchat("--url", closed_url, "send", "--mode", "tokens", "hi")
    assert_one_line_error(result, EXIT_USAGE, "unknown stream mode 'tokens'")


def test_unknown_protocol_or_transport_is_a_usage_error(closed_url: str) -> None:
    result = lgchat("--url", closed_url, "send", "--protocol", "v4", "hi")
    assert_one_line_error(result, EXIT_USAGE, "unknown streaming protocol 'v4'; choose runs or v3")
    result = lgchat("--url", closed_url, "--protocol", "v3", "--transport", "grpc", "send", "hi")
    assert_one_line_error(result, EXIT_USAGE, "unknown transport 'grpc'; choose sse or websocket")


def test_the_protocol_is_refused_in_process(tmp_path: Path) -> None:
    result = lgchat("--local", "--data-dir", str(tmp_path), "--protocol", "v3", "send", "hi")
    assert_one_line_error(result, EXIT_USAGE, "--protocol is about streaming from a server")


def test_no_server_is_one_line_over_v3_too(closed_url: str) -> None:
    for transport in ("sse", "websocket"):
        result = lgchat(
            "--url", closed_url, "--protocol", "v3", "--transport", transport, "send", "hi"
        )
        assert_one_line_error(result, EXIT_UNREACHABLE, f"no LangGraph server at {closed_url}")


class _RunsOnly(QuietHandler):
    """A LangGraph API from before the thread-centric protocol: no `/commands` route."""

    def _answer(self) -> None:
        self.read_body()
        thread = {"thread_id": SOME_THREAD, "status": "idle", "metadata": {}, "values": {}}
        if self.path == "/assistants/search":
            self.answer_json(200, [{"assistant_id": "a1", "graph_id": "agent", "name": "agent"}])
        elif self.path.endswith("/schemas"):
            self.answer_json(200, {"context_schema": None})
        elif self.path in ("/threads", f"/threads/{SOME_THREAD}"):
            self.answer_json(200, thread)
        else:
            self.answer_json(404, {"detail": "Not Found"})

    do_GET = do_POST = _answer


def test_a_server_without_v3_says_so_in_one_line() -> None:
    with serving(_RunsOnly) as url:
        result = lgchat("--url", url, "--protocol", "v3", "send", "hi")
    assert_one_line_error(
        result,
        EXIT_UNREACHABLE,
        f"the server at {url} does not speak the v3 streaming protocol; use the runs protocol "
        "(lgchat: --protocol runs, or --transport sse)",
    )


class _Refuse(QuietHandler):
    status = 401

    def _answer(self) -> None:
        self.answer_json(self.status, {"detail": "Invalid API key"})

    do_GET = do_POST = _answer


@pytest.fixture(scope="module")
def refusing_url() -> Iterator[str]:
    with serving(_Refuse) as url:
        yield url


def test_refused_api_key_is_one_line_and_exit_3(refusing_url: str) -> None:
    result = lgchat("--url", refusing_url, "--api-key", "wrong", "assistants")
    assert_one_line_error(
        result,
        EXIT_UNREACHABLE,
        f"the server at {refusing_url} refused the API key: Invalid API key; pass --token",
    )


def test_help_documents_the_exit_codes() -> None:
    result = lgchat("--help")
    assert result.returncode == 0
    for line in ("0    success", "2    usage", "3    no server", "4    unknown assistant"):
        assert line in result.stdout


def test_json_flag_is_accepted_after_the_subcommand(closed_url: str) -> None:
    result = lgchat("assistants", "--url", closed_url, "--json")
    assert_one_line_error(result, EXIT_UNREACHABLE, closed_url)


# -- the mapping itself ------------------------------------------------------------

URL = "http://127.0.0.1:2024"


def _status_error(status: int, detail: str) -> sdk_errors.APIStatusError:
    request = httpx.Request("POST", f"{URL}/threads/x/runs/stream")
    response = httpx.Response(status, json={"detail": detail}, request=request)
    return sdk_errors._map_status_error(response, {"detail": detail})


@pytest.mark.parametrize(
    ("error", "thread_id", "expected", "message"),
    [
        (_status_error(401, "bad key"), None, AuthenticationFailed, "refused the request: bad key"),
        (_status_error(403, "forbidden"), None, AuthenticationFailed, "request: forbidden"),
        (_status_error(404, "Thread or assistant not found."), "t-1", ThreadNotFound, "'t-1'"),
        (_status_error(404, "Assistant x not found"), "t-1", NotFound, "Assistant x not found"),
        (_status_error(409, "already running"), "t-1", ThreadBusy, "this thread is busy (t-1)"),
        (_status_error(422, "Invalid:\n- a\n- b"), None, InvalidInput, "Invalid: - a - b"),
        (_status_error(500, "boom"), None, ServerError, "server error 500: boom"),
        (httpx.ConnectError("refused"), None, ServerUnreachable, "no LangGraph server at"),
        (httpx.ReadError("reset by peer"), None, ConnectionLost, "lost the connection"),
        (httpx.PoolTimeout("pool"), None, ConnectionsExhausted, "max_connections"),
    ],
)
def test_errors_map_to_typed_one_line_errors(
    error: Exception, thread_id: str | None, expected: type[Exception], message: str
) -> None:
    mapped = to_client_error(error, url=URL, thread_id=thread_id)
    assert type(mapped) is expected
    assert message in str(mapped)
    assert "\n" not in str(mapped)


def test_exit_codes_by_error_type() -> None:
    assert exit_code(ServerUnreachable(URL)) == EXIT_UNREACHABLE
    assert exit_code(AssistantNotFound("x", ["agent"])) == EXIT_NOT_FOUND
    assert str(AssistantNotFound("x", ["agent", "chatbot"])) == (
        "no assistant 'x' on this server; available: agent, chatbot"
    )
    assert exit_code(ThreadBusy(None)) == EXIT_BUSY
    assert exit_code(InvalidInput("empty")) == EXIT_USAGE


def test_translate_errors_keeps_the_cause_and_ignores_other_errors() -> None:
    with pytest.raises(ServerUnreachable) as caught, translate_errors(url=URL):
        raise httpx.ConnectError("refused")
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    with pytest.raises(KeyError), translate_errors(url=URL):
        raise KeyError("a bug stays a bug")


async def test_client_pool_has_no_connection_cap_by_default() -> None:
    # Each streaming session holds a connection for its whole run; httpx's default cap
    # of 100 would fail the 101st concurrent user with a pool timeout.
    from client.remote.client import ChatClient

    async with ChatClient(URL) as unlimited, ChatClient(URL, max_connections=7) as capped:
        assert unlimited.sdk.http.client._transport._pool._max_connections == sys.maxsize  # type: ignore[attr-defined]
        assert capped.sdk.http.client._transport._pool._max_connections == 7  # type: ignore[attr-defined]
