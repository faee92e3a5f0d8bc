"""Bad input and bad servers: one clear line and an exit code, or a typed error; never a traceback.

The CLI runs in-process (`client.cli.app.main`), so each case costs no process start. Input
is checked before any request, so none of these cases reaches a run or touches a thread.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from client.cli import app as cli
from client.cli.exit_codes import EXIT_NOT_FOUND, EXIT_UNREACHABLE, EXIT_USAGE
from client.errors import BrokenStream, InvalidInput, NotALangGraphServer
from client.inputs import MAX_MESSAGE_CHARS, validate_message
from client.remote.client import ChatClient
from devtools.fake_openai import FakeOpenAI
from devtools.ports import LOOPBACK, bind_loopback, bound_port, free_port

pytestmark = pytest.mark.server


def lgchat(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> tuple[int, str]:
    """Run `lgchat --url URL ARGS` in-process; return the exit code and stderr."""
    code = cli.main(["--url", url, *args])
    return code, capsys.readouterr().err


def assert_one_line(stderr: str, *fragments: str) -> None:
    assert stderr.count("\n") == 1 and stderr.startswith("lgchat: error: "), stderr
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in stderr, stderr


@pytest.fixture(scope="module")
def broken_sse_url() -> Iterator[str]:
    """A server that lists an assistant and makes threads, then streams broken SSE."""

    async def assistants(request: Request) -> Response:
        return JSONResponse([{"assistant_id": str(uuid.uuid4()), "graph_id": "agent"}])

    async def threads(request: Request) -> Response:
        return JSONResponse({"thread_id": str(uuid.uuid4()), "metadata": {}, "status": "idle"})

    async def stream(request: Request) -> Response:
        body = b"event: metadata\r\ndata: {this is not json\r\n\r\n"
        return Response(body, media_type="text/event-stream")

    app = Starlette(
        routes=[
            Route("/assistants/search", assistants, methods=["POST"]),
            Route("/threads", threads, methods=["POST"]),
            Route("/threads/{thread_id}/runs/stream", stream, methods=["POST"]),
        ]
    )
    sock = bind_loopback(0)
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.01)
    yield f"http://{LOOPBACK}:{bound_port(sock)}"
    server.should_exit = True
    thread.join(5)
    sock.close()


def test_bad_messages_are_refused_before_any_request(
    capsys: pytest.CaptureFixture[str], offline_server_url: str
) -> None:
    for text in ("", "   \n\t"):
        code, err = lgchat(capsys, offline_server_url, "send", text)
        assert code == EXIT_USAGE
        assert_one_line(err, "the message is empty")
    code, err = lgchat(capsys, offline_server_url, "send", "x" * 1_048_576)
    assert code == EXIT_USAGE
    assert_one_line(err, "1,048,576 characters", f"{MAX_MESSAGE_CHARS:,}")
    # The library's typed errors, for input the CLI cannot produce.
    for content in (42, ["hi"], {"text": "hi"}, None):
        with pytest.raises(InvalidInput, match="must be text"):
            validate_message(content)


def test_unknown_assistant_and_thread(
    capsys: pytest.CaptureFixture[str], offline_server_url: str
) -> None:
    code, err = lgchat(capsys, offline_server_url, "send", "--assistant", "nope", "hi")
    assert code == EXIT_NOT_FOUND
    assert_one_line(err, "no assistant 'nope'", "available: agent, chatbot")
    for thread in ("not-a-uuid", "6f1c1d52-0000-4000-8000-000000000001"):
        code, err = lgchat(capsys, offline_server_url, "send", "--thread", thread, "hi")
        assert code == EXIT_NOT_FOUND
        assert_one_line(err, f"no thread {thread!r}")


def test_no_server_and_servers_that_are_not_langgraph(
    capsys: pytest.CaptureFixture[str],
    fake_openai_server: FakeOpenAI,
    broken_sse_url: str,
) -> None:
    down = f"http://{LOOPBACK}:{free_port()}"
    code, err = lgchat(capsys, down, "send", "hi")
    assert code == EXIT_UNREACHABLE
    assert_one_line(err, f"no LangGraph server at {down}")

    not_langgraph = f"http://{LOOPBACK}:{fake_openai_server.port}"
    code, err = lgchat(capsys, not_langgraph, "send", "hi")
    assert code == EXIT_UNREACHABLE
    assert_one_line(err, f"{not_langgraph} is not a LangGraph server")

    code, err = lgchat(capsys, broken_sse_url, "send", "hi")
    assert code == EXIT_UNREACHABLE
    assert_one_line(err, "sent a broken event stream")


async def test_the_library_raises_typed_errors_for_bad_servers(
    fake_openai_server: FakeOpenAI, broken_sse_url: str
) -> None:
    async with ChatClient(f"http://{LOOPBACK}:{fake_openai_server.port}") as client:
        with pytest.raises(NotALangGraphServer):
            await client.session("agent")
    async with ChatClient(broken_sse_url) as client:
        session = await client.session("agent")
        with pytest.raises(BrokenStream):
            await session.reply("hi")
        assert not session.is_streaming  # and the session takes the next message


def test_lgchat_join_renders_a_run_again_and_names_an_unknown_one(
    capsys: pytest.CaptureFixture[str], offline_server_url: str
) -> None:
    assert cli.main(["--url", offline_server_url, "--json", "send", "count to 3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    started = json.loads(lines[0])
    assert started["kind"] == "run_started"
    thread, run = started["thread_id"], started["run_id"]

    assert cli.main(["--url", offline_server_url, "join", thread, run]) == 0
    captured = capsys.readouterr()
    assert "AI: 1 2 3" in captured.out and captured.err == ""

    for unknown in ("6f1c1d52-0000-4000-8000-000000000001", "not-a-run"):
        code, err = lgchat(capsys, offline_server_url, "join", thread, unknown)
        assert code == EXIT_NOT_FOUND
        assert_one_line(err, f"no run {unknown!r} on thread {thread}")
