"""The client side of per-user auth, without a LangGraph server.

Reading a token's identity, mapping the servers' 401/403/404/409 answers (both
engines' bodies) to typed one-line errors, exit codes, one connection pool for many
users, the token's user in sessions and `MultiUserChat`, and `lgchat token`. The
servers here are a closed port and a stub that records what it was sent.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import jwt
import pytest
from langgraph_sdk import errors as sdk_errors

from client.auth import TokenIdentity, check_user, token_identity
from client.cli.exit_codes import EXIT_AUTH, EXIT_USAGE, describe, exit_code
from client.errors import (
    AuthenticationFailed,
    InvalidInput,
    PermissionDenied,
    ThreadNotFound,
    to_client_error,
)
from client.remote.client import ChatClient
from client.remote.multiuser import MultiUserChat
from client.threads import ConversationKey
from devtools.ports import free_port
from devtools.stub_http import QuietHandler, serving
from security.tokens import mint_dev_token

SECRET = "unit-test-hs256-secret-of-at-least-32-bytes"
OTHER_SECRET = "another-unit-test-secret-of-at-least-32-bytes"
URL = "http://127.0.0.1:2024"
LGCHAT = Path(sys.executable).with_name("lgchat")
AUTH_HINT = (
    "; pass --token or set LANGGRAPH_AUTH_TOKEN (for development: `lgchat token --user ID`), "
    "or --api-key on LangGraph Platform"
)


def token(user_id: str, *, name: str | None = None, ttl: float = 3600) -> str:
    return mint_dev_token(SECRET, user_id, name=name, ttl=ttl)


# -- reading a token's identity ----------------------------------------------------------


def test_a_jwt_names_its_user_and_display_name() -> None:
    assert token_identity(token("alice", name="Alice")) == TokenIdentity("alice", "Alice")
    assert token_identity(token("bob")) == TokenIdentity("bob", None)


def test_the_identity_is_read_without_verifying_the_token() -> None:
    # Expiry and signature are the server's to judge: it answers with a 401 that says why.
    assert token_identity(token("alice", ttl=-60)) == TokenIdentity("alice", None)
    foreign = mint_dev_token(OTHER_SECRET, "carol", name="Carol")
    assert token_identity(foreign) == TokenIdentity("carol", "Carol")


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        "a.b.c",
        "",
        jwt.encode({"name": "No Sub"}, SECRET, algorithm="HS256"),
        jwt.encode({"sub": 42}, SECRET, algorithm="HS256"),
        jwt.encode({"sub": "  "}, SECRET, algorithm="HS256"),
    ],
    ids=["opaque", "not-base64", "empty", "no-sub", "numeric-sub", "blank-sub"],
)
def test_a_token_naming_no_user_has_no_identity(value: str) -> None:
    assert token_identity(value) is None


def test_a_blank_display_name_is_no_name() -> None:
    blank = jwt.encode({"sub": "alice", "name": " "}, SECRET, algorithm="HS256")
    assert token_identity(blank) == TokenIdentity("alice", None)


def test_a_user_other_than_the_tokens_is_refused_in_one_line() -> None:
    alice = TokenIdentity("alice")
    check_user(alice, "alice")
    check_user(alice, None)
    check_user(None, "bob")
    with pytest.raises(InvalidInput) as caught:
        check_user(alice, "bob")
    assert str(caught.value) == "user bob does not match the token's user alice"
    with pytest.raises(InvalidInput) as caught:
        check_user(alice, "bob", label="--user")
    assert str(caught.value) == "--user bob does not match the token's user alice"


# -- the servers' refusals as typed errors -----------------------------------------------

DEV_BODY = {"detail": "{reason}"}
AEGRA_BODY = {"error": "unauthorized", "message": "{reason}", "details": None}


def refusal(
    status: int, reason: str, body: dict[str, Any], **headers: str
) -> sdk_errors.APIStatusError:
    """Return the SDK's error for `status` with an engine's body, for a request with `headers`."""
    filled = {key: value.format(reason=reason) if value else value for key, value in body.items()}
    request = httpx.Request("POST", f"{URL}/threads/search", headers=headers)
    response = httpx.Response(status, json=filled, request=request)
    return sdk_errors._map_status_error(response, filled)


BODIES = pytest.mark.parametrize("body", [DEV_BODY, AEGRA_BODY], ids=["dev", "aegra"])
BEARER = {"Authorization": "Bearer x.y.z"}


@BODIES
@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (BEARER, f"the server at {URL} refused the token: the token has expired"),
        ({"x-api-key": "k"}, f"the server at {URL} refused the API key: the token has expired"),
        ({}, f"the server at {URL} refused the request: the token has expired"),
    ],
    ids=["token", "api-key", "nothing"],
)
def test_a_401_is_authentication_failed_with_the_servers_reason(
    body: dict[str, Any], headers: dict[str, str], message: str
) -> None:
    mapped = to_client_error(refusal(401, "the token has expired", body, **headers), url=URL)
    assert type(mapped) is AuthenticationFailed
    assert str(mapped) == message
    assert mapped.detail == "the token has expired"


@BODIES
def test_a_403_to_a_token_is_permission_denied(body: dict[str, Any]) -> None:
    reason = "the store namespace must start with your own user id"
    mapped = to_client_error(refusal(403, reason, body, **BEARER), url=URL)
    assert type(mapped) is PermissionDenied
    assert str(mapped) == f"the server at {URL} refused this action: {reason}"


@BODIES
@pytest.mark.parametrize("headers", [{"x-api-key": "k"}, {}], ids=["api-key", "nothing"])
def test_a_403_without_a_token_is_about_the_credentials(
    body: dict[str, Any], headers: dict[str, str]
) -> None:
    mapped = to_client_error(refusal(403, "Forbidden", body, **headers), url=URL)
    assert type(mapped) is AuthenticationFailed


@BODIES
def test_a_hidden_thread_is_not_found_and_says_it_may_be_another_users(
    body: dict[str, Any],
) -> None:
    thread = "6f1c1d52-0000-4000-8000-000000000001"
    reason = f"Thread with ID {thread} not found"
    mapped = to_client_error(refusal(404, reason, body, **BEARER), url=URL, thread_id=thread)
    assert type(mapped) is ThreadNotFound
    assert str(mapped) == f"no thread '{thread}' on this server (or it belongs to another user)"
    without_token = to_client_error(refusal(404, reason, body), url=URL, thread_id=thread)
    assert str(without_token) == f"no thread '{thread}' on this server"


def test_refusals_exit_3_and_name_both_kinds_of_credentials() -> None:
    refused = AuthenticationFailed(URL, "the token has expired", refused="the token")
    denied = PermissionDenied(URL, "no")
    assert exit_code(refused) == exit_code(denied) == EXIT_AUTH == 3
    assert describe(refused) == (
        f"the server at {URL} refused the token: the token has expired{AUTH_HINT}"
    )
    assert describe(denied) == f"the server at {URL} refused this action: no"


def test_with_a_token_a_conversations_thread_id_is_not_known_in_advance() -> None:
    # It is found by searching the user's own threads: a computable id could be taken.
    key = ConversationKey("mallory", "default", graph_id="chatbot")
    assert ChatClient(URL).known_thread_id(key) == key.thread_id
    assert ChatClient(URL, token=token("mallory")).known_thread_id(key) is None


# -- one pool, many users ------------------------------------------------------------------

ASSISTANTS = [{"assistant_id": "a-chatbot", "graph_id": "chatbot", "name": "chatbot"}]


class _Recorder(QuietHandler):
    """Answers every request with the assistants list; records each Authorization header.

    And the client's port with each, in `ports`: one port is one connection.
    """

    seen: ClassVar[list[str | None]] = []
    ports: ClassVar[list[int]] = []
    lock: ClassVar[threading.Lock] = threading.Lock()
    protocol_version = "HTTP/1.1"  # keep-alive, so a pool can reuse its connections

    def _answer(self) -> None:
        self.read_body()
        with self.lock:
            self.seen.append(self.headers.get("Authorization"))
            self.ports.append(self.client_address[1])
        self.answer_json(200, ASSISTANTS)

    do_GET = do_POST = _answer


@pytest.fixture
def recorder_url() -> Iterator[str]:
    _Recorder.seen.clear()
    _Recorder.ports.clear()
    with serving(_Recorder) as url:
        yield url


async def test_as_user_shares_the_pool_and_only_the_owner_closes_it(recorder_url: str) -> None:
    alice, bob = token("alice"), token("bob")
    parent = ChatClient(recorder_url, token=alice)
    child = parent.as_user(bob)
    assert child.identity == TokenIdentity("bob") and parent.identity == TokenIdentity("alice")
    assert child.connection is parent.connection
    pool = parent.connection.transport._pool  # type: ignore[attr-defined]
    await child.assistants()
    await child.aclose()  # leaves the pool, and its idle connection, open
    assert len(pool.connections) == 1
    await parent.assistants()
    assert _Recorder.seen == [f"Bearer {bob}", f"Bearer {alice}"]
    assert _Recorder.ports[0] == _Recorder.ports[1]  # one connection served both users
    await parent.aclose()
    assert pool.connections == []


async def test_a_conversation_without_a_user_is_the_token_users(recorder_url: str) -> None:
    async with ChatClient(recorder_url, token=token("alice")) as client:
        session = await client.session("chatbot", conversation_id="work")
        assert session.key == ConversationKey("alice", "work", graph_id="chatbot")
        mine = await client.session("chatbot", user_id="alice")
        assert mine.key == ConversationKey("alice", "default", graph_id="chatbot")
        bare = await client.session("chatbot")
        assert bare.key is None and bare.thread_id is None


async def test_a_user_other_than_the_tokens_fails_before_any_request() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    async with ChatClient(closed, token=token("alice")) as client:
        with pytest.raises(InvalidInput) as caught:
            await client.session("chatbot", user_id="bob")
        assert str(caught.value) == "user bob does not match the token's user alice"
        with pytest.raises(InvalidInput):
            await client.threads("bob")


async def test_multiuser_chat_gives_each_user_their_token_over_one_pool(
    recorder_url: str,
) -> None:
    tokens = {user: token(user) for user in ("u1", "u2", "u3")}
    async with ChatClient(recorder_url) as client:
        chat = MultiUserChat(client, assistant="chatbot", tokens=tokens)
        for user in tokens:
            session = await chat.session_for(user)
            assert session.key == ConversationKey(user, "default", graph_id="chatbot")
            assert session.client.token == tokens[user]
            assert session.client.connection is client.connection
        assert chat.client_for("u1") is chat.client_for("u1")
        with pytest.raises(InvalidInput) as caught:
            chat.client_for("stranger")
        assert str(caught.value) == "no token for user stranger"
        # A user without a token stops the whole batch before any run starts.
        seen = len(_Recorder.seen)
        with pytest.raises(InvalidInput):
            async for _ in chat.stream_many({"u1": "hi", "stranger": "hi"}):
                pass
        assert len(_Recorder.seen) == seen


async def test_multiuser_chat_refuses_a_token_given_for_another_user() -> None:
    async with ChatClient(URL) as client:
        with pytest.raises(InvalidInput) as caught:
            MultiUserChat(client, tokens={"alice": token("alice"), "bob": token("alice")})
    assert str(caught.value) == "user bob does not match the token's user alice"


# -- the command line, before any request --------------------------------------------------


def lgchat(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "LANGGRAPH_"))}
    return subprocess.run(
        [str(LGCHAT), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=cwd,
        env={**environ, **env},
    )


def test_a_user_other_than_the_tokens_is_a_usage_error() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    result = lgchat("--url", closed, "--token", token("alice"), "send", "--user", "bob", "hi")
    assert (result.returncode, result.stdout) == (EXIT_USAGE, "")
    assert result.stderr == "lgchat: error: --user bob does not match the token's user alice\n"
    # The environment's token counts as --token.
    result = lgchat(
        "--url", closed, "threads", "--user", "bob", LANGGRAPH_AUTH_TOKEN=token("alice")
    )
    assert result.stderr == "lgchat: error: --user bob does not match the token's user alice\n"


DEV_ONLY = (
    "lgchat: DEVELOPMENT ONLY: a token for user 'alice', valid {ttl} s, signed with "
    "AUTH_JWT_SECRET; anyone with the secret can sign in as any user: in production, "
    "tokens come from an identity provider\n"
)


def test_lgchat_token_prints_only_the_token_and_a_development_note(tmp_path: Path) -> None:
    result = lgchat(
        "token",
        "--user",
        "alice",
        "--name",
        "Alice",
        "--ttl",
        "600",
        cwd=tmp_path,
        AUTH_JWT_SECRET=SECRET,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == DEV_ONLY.format(ttl=600)
    printed = result.stdout.removesuffix("\n")
    assert "\n" not in printed
    claims = jwt.decode(printed, SECRET, algorithms=["HS256"])
    assert (claims["sub"], claims["name"], claims["exp"] - claims["iat"]) == ("alice", "Alice", 600)


def test_lgchat_token_reads_the_secret_from_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"MODEL=offline\nAUTH_JWT_SECRET={SECRET}\n")
    result = lgchat("token", "--user", "alice", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    claims = jwt.decode(result.stdout.strip(), SECRET, algorithms=["HS256"])
    assert claims["sub"] == "alice" and "name" not in claims
    assert claims["exp"] - claims["iat"] == 12 * 3600
    assert result.stderr == DEV_ONLY.format(ttl=12 * 3600)


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            ["--user", "alice"],
            {},
            "no AUTH_JWT_SECRET in the environment or in ./.env: a development token is "
            "signed with the server's secret",
        ),
        (
            ["--user", "alice"],
            {"AUTH_JWT_SECRET": "short"},
            "AUTH_JWT_SECRET must be at least 32 bytes",
        ),
        (["--user", " "], {"AUTH_JWT_SECRET": SECRET}, "the user id is empty"),
        (
            ["--user", "alice", "--ttl", "0"],
            {"AUTH_JWT_SECRET": SECRET},
            "the token's lifetime must be above 0 seconds, got 0",
        ),
    ],
    ids=["no-secret", "short-secret", "blank-user", "zero-ttl"],
)
def test_lgchat_token_refusals_are_one_line_and_exit_2(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    result = lgchat("token", *args, cwd=tmp_path, **env)
    assert (result.returncode, result.stdout) == (EXIT_USAGE, "")
    assert result.stderr == f"lgchat: error: {message}\n"


def test_help_lists_the_token_variables() -> None:
    result = lgchat("--help")
    assert "LANGGRAPH_AUTH_TOKEN                  default for --token" in result.stdout
    assert "AUTH_JWT_SECRET                       the server's HS256 secret" in result.stdout


def test_make_demo_turns_auth_on_and_make_chat_does_not() -> None:
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    recipes = {
        target: makefile.split(f"\n{target}:", 1)[1].split("\n\n", 1)[0]
        for target in ("demo", "chat")
    }
    assert "devtools.devserver run --dev-auth -- $(BIN)/lgchat demo" in recipes["demo"]
    assert "--dev-auth" not in recipes["chat"]
