"""`make web`'s pieces that need no dev server.

The page's HTTP server, the scripted model, the launcher's early refusals, and the
Makefile's Node.js check. The page server runs in-process on a temporary "built"
folder, so no Node.js is needed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

import devtools.web
from devtools.devserver import DevServerError
from devtools.fake_openai import (
    BadRequest,
    ChatRequest,
    FakeOpenAI,
    Reply,
    offline_responder,
    server_env,
)
from devtools.ports import LOOPBACK, bind_loopback
from devtools.web import (
    FAIL_PROMPT,
    NOT_BUILT,
    bind_page,
    main,
    one_line_error,
    scripted_responder,
    write_ready_file,
)
from devtools.web_page import ApiAccess, PageServer
from security.tokens import DEV_TOKEN_SECONDS
from tests.support.servers import REPO_ROOT, dev_server_env

SECRET = "a-web-page-test-secret-of-32-bytes-or-more"
API = "http://127.0.0.1:9"
INDEX = b"<!doctype html><title>stub page</title>"
OUTSIDE = b"OUTSIDE-THE-BUILT-FOLDER"
NODE_ERROR = (
    "error: make web needs Node.js 20+ and npm (https://nodejs.org); "
    "make demo and make test need only Python"
)

# -- the page server ---------------------------------------------------------------------


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A built page's folder, with a file beside it that must never be served."""
    folder = tmp_path / "dist"
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_bytes(INDEX)
    (folder / "assets" / "app-1a2b.js").write_text("console.log('app')")
    (folder / "assets" / "app-1a2b.css").write_text("body { margin: 0 }")
    (folder / "assets" / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (folder / "manifest.json").write_text('{"name": "chat"}')
    (tmp_path / "pyproject.toml").write_bytes(OUTSIDE)
    (tmp_path / "secret.txt").write_bytes(OUTSIDE)
    (folder / "assets" / "link.txt").symlink_to(tmp_path / "secret.txt")
    return folder


@contextlib.contextmanager
def serve(dist: Path, api: ApiAccess) -> Iterator[PageServer]:
    with PageServer(dist) as page:
        yield page.start(api)


@pytest.fixture
def page(dist: Path) -> Iterator[PageServer]:
    """The page server with dev tokens (HS256 with `SECRET`)."""
    with serve(dist, ApiAccess(API, "hs256", SECRET)) as running:
        yield running


def raw_get(page: PageServer, path: str, host: str | None = None) -> tuple[int, str, bytes]:
    """GET `path` exactly as written (httpx would resolve `..` segments first)."""
    connection = http.client.HTTPConnection(LOOPBACK, page.port, timeout=5)
    try:
        connection.putrequest("GET", path, skip_host=host is not None)
        if host is not None:
            connection.putheader("Host", host)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()
    finally:
        connection.close()


def test_the_root_is_index_html(page: PageServer) -> None:
    response = httpx.get(page.url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.content == INDEX


@pytest.mark.parametrize(
    ("path", "content_type", "body"),
    [
        ("/assets/app-1a2b.js", "text/javascript; charset=utf-8", b"console.log('app')"),
        ("/assets/app-1a2b.css", "text/css; charset=utf-8", b"body { margin: 0 }"),
        ("/assets/logo.svg", "image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
        ("/manifest.json", "application/json", b'{"name": "chat"}'),
        ("/index.html", "text/html; charset=utf-8", INDEX),
    ],
)
def test_files_are_served_with_their_content_type(
    page: PageServer, path: str, content_type: str, body: bytes
) -> None:
    response = httpx.get(page.url + path.lstrip("/"))
    assert (response.status_code, response.headers["content-type"]) == (200, content_type)
    assert response.content == body
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/threads/42", "/settings", "/assets/", "/assets"])
def test_other_paths_without_an_extension_get_the_page(page: PageServer, path: str) -> None:
    # The page routes itself; a folder is never listed.
    status, content_type, body = raw_get(page, path)
    assert (status, content_type, body) == (200, "text/html; charset=utf-8", INDEX)


def test_a_missing_file_is_404_not_the_page(page: PageServer) -> None:
    status, _, body = raw_get(page, "/assets/app-gone.js")
    assert (status, body) == (404, b"not found\n")


@pytest.mark.parametrize(
    "path",
    [
        "/../pyproject.toml",
        "/%2e%2e/pyproject.toml",
        "/%2e%2e%2fpyproject.toml",
        "/assets/../../secret.txt",
        "/assets/%2E%2E/%2E%2E/secret.txt",
        "/..%5csecret.txt",
        "/assets/link.txt",  # a symbolic link out of the folder
        "/%00/index.html",
    ],
)
def test_nothing_outside_the_folder_is_served(page: PageServer, path: str) -> None:
    status, _, body = raw_get(page, path)
    assert status == 404
    assert OUTSIDE not in body


def test_head_answers_without_a_body(page: PageServer) -> None:
    response = httpx.head(page.url)
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(INDEX))
    assert response.content == b""


def test_config_tells_the_page_where_the_api_is(page: PageServer) -> None:
    response = httpx.get(page.url + "config.json")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"apiUrl": API, "devTokens": True, "auth": "hs256"}


def test_dev_token_is_an_hs256_token_for_the_user(page: PageServer) -> None:
    before = int(time.time())
    response = httpx.post(page.url + "dev-token", json={"user": "alice", "name": "Alice"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "user", "expiresIn"}
    assert (body["user"], body["expiresIn"]) == ("alice", int(DEV_TOKEN_SECONDS))
    claims = jwt.decode(body["token"], SECRET, algorithms=["HS256"])
    assert (claims["sub"], claims["name"]) == ("alice", "Alice")
    assert claims["exp"] - claims["iat"] == body["expiresIn"]
    assert claims["iat"] >= before
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(body["token"], "another-secret-of-32-bytes-or-more!!", algorithms=["HS256"])


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"user": ""}', '"user" must be a non-empty string'),
        (b'{"user": "   "}', '"user" must be a non-empty string'),
        (b'{"user": 7}', '"user" must be a non-empty string'),
        (b"{}", '"user" must be a non-empty string'),
        (b'{"user": "al\\nice"}', '"user" must be at most 200 printable characters'),
        (b'{"user": "alice", "name": 3}', '"name" must be a printable string'),
        (b'["alice"]', 'the body is not a JSON object: send {"user": "<id>"}'),
        (b"user=alice", 'the body is not JSON: send {"user": "<id>"}'),
        (b"", 'the body is not a JSON object: send {"user": "<id>"}'),
    ],
)
def test_dev_token_refuses_a_bad_user_in_one_line(
    page: PageServer, body: bytes, error: str
) -> None:
    response = httpx.post(page.url + "dev-token", content=body)
    assert response.status_code == 400
    assert response.json() == {"error": error}
    assert "\n" not in response.text


@pytest.mark.parametrize(
    ("api", "reason"),
    [
        (ApiAccess(API, "jwks"), "the server's tokens come from an identity provider (JWKS)"),
        (ApiAccess(API, "off"), "the server has no HS256 secret to sign them with"),
    ],
)
def test_dev_token_is_404_without_a_secret(dist: Path, api: ApiAccess, reason: str) -> None:
    with serve(dist, api) as page:
        config = httpx.get(page.url + "config.json").json()
        assert config == {"apiUrl": API, "devTokens": False, "auth": api.auth}
        response = httpx.post(page.url + "dev-token", json={"user": "alice"})
        assert response.status_code == 404
        assert response.json() == {"error": f"development tokens are not available: {reason}"}


def test_other_posts_are_404(page: PageServer) -> None:
    response = httpx.post(page.url + "config.json", json={})
    assert (response.status_code, response.json()) == (404, {"error": "no POST /config.json here"})


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example"])
def test_a_foreign_host_name_is_refused(page: PageServer, host: str) -> None:
    # A site pointing its name at 127.0.0.1 (DNS rebinding) must not read a token.
    status, _, body = raw_get(page, "/config.json", host=host)
    assert status == 403
    assert json.loads(body) == {"error": "this server answers only on 127.0.0.1 and localhost"}
    for loopback in (f"localhost:{page.port}", f"127.0.0.1:{page.port}", "[::1]:5173"):
        assert raw_get(page, "/config.json", host=loopback)[0] == 200


# -- the scripted model ------------------------------------------------------------------


def chat(text: str) -> ChatRequest:
    return ChatRequest(
        body={"model": "gpt-4o", "messages": [{"role": "user", "content": text}]}, headers={}
    )


def test_the_scripted_model_answers_like_the_offline_one_at_its_pace() -> None:
    request = chat("What is 2 + 3?")
    reply = scripted_responder(0.5)(request)
    assert reply == dataclasses.replace(offline_responder(request), delay=0.5)
    assert (reply.delay, reply.fault) == (0.5, None)
    assert "5" in reply.text


@pytest.mark.parametrize("content", [FAIL_PROMPT, [{"type": "text", "text": FAIL_PROMPT}]])
def test_the_scripted_model_refuses_fail_please(content: object) -> None:
    request = ChatRequest(
        body={"model": "m", "messages": [{"role": "user", "content": content}]}, headers={}
    )
    reply = scripted_responder(0.02)(request)
    assert reply == Reply(fault=BadRequest("the scripted model refused this request"))
    assert scripted_responder(0.02)(chat("fail please, or not")).fault is None


def test_the_fake_serves_a_responders_fault() -> None:
    with FakeOpenAI(scripted_responder(0.0)) as fake:
        body = {"model": "gpt-4o", "messages": [{"role": "user", "content": FAIL_PROMPT}]}
        response = httpx.post(f"{fake.base_url}/chat/completions", json=body)
        assert response.status_code == 400
        assert response.json()["error"]["message"] == "the scripted model refused this request"
        body["messages"] = [{"role": "user", "content": "hello"}]
        assert httpx.post(f"{fake.base_url}/chat/completions", json=body).status_code == 200


def test_the_fake_openai_environment_lives_in_devtools() -> None:
    assert dev_server_env is server_env
    assert server_env("http://127.0.0.1:1/v1", model="openai:m") == {
        "OPENAI_BASE_URL": "http://127.0.0.1:1/v1",
        "OPENAI_API_KEY": "test",
        "MODEL": "openai:m",
        "OFFLINE_MODEL_DELAY": "0",
    }


# -- the launcher's refusals and helpers -------------------------------------------------


def test_an_unbuilt_page_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--dist", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"error: {NOT_BUILT}\n")
    assert err == (
        "error: the page is not built: run 'make web' (or 'cd web && npm ci && npm run build')\n"
    )


def test_a_taken_port_is_one_error_line(dist: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with bind_loopback() as taken:
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--dist", str(dist), "--port", str(port), "--scripted"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"error: port {port} is taken (Address already in use): choose another --port\n"


def test_a_preferred_port_that_is_taken_gives_way(
    dist: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with bind_loopback() as taken:
        taken.listen()
        port = taken.getsockname()[1]
        with bind_page(dist, port, prefer=True) as page:
            assert page.port != port
            with socket.create_connection((LOOPBACK, page.port), timeout=2):
                pass
    assert capsys.readouterr().err == (
        f"port {port} is taken; serving the page on {page.port} instead\n"
    )


def test_a_dev_server_that_fails_to_start_is_one_error_line(
    dist: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class FailingDevServer:
        def __init__(self, *args: object, **kwargs: object) -> None:
            self.env = kwargs["env"]

        def __enter__(self) -> None:
            raise DevServerError(
                "langgraph dev exited with code 3; log /gone/server.log ends with:\n"
                "Traceback (most recent call last):\nImportError: no module named 'agent'"
            )

        def __exit__(self, *exc_info: object) -> None:
            pass

    monkeypatch.setattr(devtools.web, "DevServer", FailingDevServer)
    assert main(["--dist", str(dist), "--scripted"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "error: langgraph dev exited with code 3: ImportError: no module named 'agent'\n"


def test_the_ready_file_is_written_whole(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ready.json"
    write_ready_file(path, {"pageUrl": "http://127.0.0.1:1/", "pid": 7})
    assert json.loads(path.read_text()) == {"pageUrl": "http://127.0.0.1:1/", "pid": 7}
    assert os.listdir(path.parent) == ["ready.json"]


def test_a_server_failure_is_one_line() -> None:
    message = "langgraph dev exited with code 1; log /tmp/x/server.log ends with:\na\nboom\n\n"
    assert one_line_error(message) == "langgraph dev exited with code 1: boom"
    assert one_line_error("port 1 is taken") == "port 1 is taken"


# -- the Makefile's Node.js check --------------------------------------------------------


def make(target: str, path: Path) -> subprocess.CompletedProcess[str]:
    """Run `make target` with PATH holding only `path` (make itself by full path)."""
    executable = shutil.which("make")
    assert executable is not None, "make is needed for these tests"
    return subprocess.run(
        [executable, "--no-print-directory", target],
        cwd=REPO_ROOT,
        env={"PATH": str(path), "HOME": str(path)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def fake_tools(folder: Path, version: str) -> Path:
    """Put a `node` that says it is `version`, and an `npm`, in `folder`."""
    folder.mkdir()
    for name, output in (("node", version), ("npm", "10.0.0")):
        tool = folder / name
        tool.write_text(f"#!/bin/sh\necho {output}\n")
        tool.chmod(0o755)
    return folder


@pytest.mark.parametrize("target", ["web", "test-web"])
def test_make_web_without_node_says_so_in_one_line(tmp_path: Path, target: str) -> None:
    result = make(target, tmp_path)
    assert result.returncode != 0
    # The one line, naming the target, then make's own note that the recipe failed.
    first, *rest = result.stderr.splitlines()
    assert first == NODE_ERROR.replace("make web", f"make {target}")
    assert [line for line in rest if "***" not in line] == []
    assert result.stdout == ""


def test_make_web_refuses_node_before_20(tmp_path: Path) -> None:
    result = make("web", fake_tools(tmp_path / "bin", "v18.19.0"))
    assert result.returncode != 0
    assert result.stderr.splitlines()[0] == "error: make web needs Node.js 20+, found v18.19.0"


def test_make_web_accepts_node_20(tmp_path: Path) -> None:
    result = make("web-node", fake_tools(tmp_path / "bin", "v20.11.1"))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
