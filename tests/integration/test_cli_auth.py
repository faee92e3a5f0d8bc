"""`lgchat` and the client library against a real server with auth on.

Every refusal is one line on stderr with exit 3 (a refused token or action) or 2 (a
`--user` that is not the token's), never a traceback or a raw body; a valid token
chats as its user, who is greeted by name and sees only their own threads. Each test
has user ids of its own: the server is shared by the session. `alice` and `bob` are
the demo's.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from langgraph_sdk import get_sync_client

from client.cli.exit_codes import EXIT_AUTH, EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE
from client.remote.client import ChatClient
from client.remote.multiuser import MultiUserChat
from client.threads import conversation_thread_id
from devtools.process import ServerProcess
from security.tokens import mint_dev_token
from tests.support.servers import AUTH_SECRET, REPO_ROOT, mint_token

pytestmark = pytest.mark.server

LGCHAT = Path(sys.executable).with_name("lgchat")
HINT = (
    "; pass --token or set LANGGRAPH_AUTH_TOKEN (for development: `lgchat token --user ID`), "
    "or --api-key on LangGraph Platform"
)


def user_id(name: str) -> str:
    """Return a user id no other test (nor an earlier run on the server) has."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


def lgchat(
    url: str, *args: str, token: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run `lgchat --url URL [--token TOKEN] ARGS` with `env` over a clean environment."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "LANGGRAPH_"))}
    flags = ["--token", token] if token is not None else []
    return subprocess.run(
        [str(LGCHAT), "--url", url, *flags, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**environ, **env},
    )


def own_threads(url: str, user: str) -> list[str]:
    """Return the ids of the threads the server lists to `user`."""
    sdk = get_sync_client(url=url, headers={"Authorization": f"Bearer {mint_token(user)}"})
    return [str(thread["thread_id"]) for thread in sdk.threads.search(limit=100)]


def only_thread(url: str, user: str) -> str:
    """Return the id of `user`'s one thread."""
    (thread_id,) = own_threads(url, user)
    return thread_id


@pytest.fixture(scope="module")
def url(auth_server: ServerProcess) -> str:
    return auth_server.url


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (None, "refused the request: no bearer token: send `Authorization: Bearer <token>`"),
        ("garbage", "refused the token: the token is not a well-formed JWT"),
        (mint_token("expired", ttl=-60), "refused the token: the token has expired"),
        (
            mint_dev_token("a-wrong-secret-that-is-also-32-bytes-long", "forger"),
            "refused the token: the token's signature does not verify",
        ),
    ],
    ids=["none", "garbage", "expired", "wrong-signature"],
)
def test_a_refused_token_is_one_line_and_exit_3(url: str, token: str | None, reason: str) -> None:
    result = lgchat(url, "send", "--assistant", "chatbot", "hi", token=token)
    assert (result.returncode, result.stdout) == (EXIT_AUTH, "")
    assert result.stderr == f"lgchat: error: the server at {url} {reason}{HINT}\n"


def test_the_environments_token_is_used_and_greets_the_user_by_name(url: str) -> None:
    alice = user_id("alice")
    token = mint_token(alice, name="Alice")
    result = lgchat(url, "send", "--assistant", "chatbot", "hi", LANGGRAPH_AUTH_TOKEN=token)
    assert (result.returncode, result.stderr) == (EXIT_OK, "")
    # The user of the thread id is the token's, with no --user given.
    assert result.stdout.splitlines() == [
        "AI: Hello Alice! How can I assist you today?",
        "Finish Reason: stop",
        f"Thread: {only_thread(url, alice)}",
    ]


def test_a_user_other_than_the_tokens_is_a_usage_error(url: str) -> None:
    alice = user_id("alice")
    result = lgchat(url, "send", "--user", "someone-else", "hi", token=mint_token(alice))
    assert (result.returncode, result.stdout) == (EXIT_USAGE, "")
    assert result.stderr == (
        f"lgchat: error: --user someone-else does not match the token's user {alice}\n"
    )


def test_each_user_lists_only_their_own_threads(url: str) -> None:
    alice, bob = user_id("alice"), user_id("bob")
    alice_token, bob_token = mint_token(alice), mint_token(bob)
    assert lgchat(url, "send", "--assistant", "chatbot", "hi", token=alice_token).returncode == 0
    mine = lgchat(url, "threads", token=alice_token)
    assert [line.split()[0] for line in mine.stdout.splitlines()] == [only_thread(url, alice)]
    assert mine.stdout.rstrip().endswith(f"{alice}/default")
    theirs = lgchat(url, "threads", token=bob_token)
    assert (theirs.returncode, theirs.stdout, theirs.stderr) == (EXIT_OK, "no threads\n", "")


def test_another_users_thread_is_not_found_in_one_line(url: str) -> None:
    alice, bob = user_id("alice"), user_id("bob")
    assert (
        lgchat(url, "send", "--assistant", "chatbot", "hi", token=mint_token(bob)).returncode == 0
    )
    result = lgchat(url, "history", only_thread(url, bob), token=mint_token(alice))
    assert (result.returncode, result.stdout) == (EXIT_NOT_FOUND, "")
    assert result.stderr == (
        f"lgchat: error: no thread '{only_thread(url, bob)}' on this server "
        "(or it belongs to another user)\n"
    )


def test_a_conversation_id_another_user_computed_does_not_lock_its_owner_out(url: str) -> None:
    # Without auth a conversation's thread id is a uuid5 anyone can compute; with auth
    # the client finds the user's own thread by search instead, so creating that id
    # first takes nothing from bob.
    mallory, bob = user_id("mallory"), user_id("bob")
    squatted = conversation_thread_id(bob, "default", "chatbot")
    sdk = get_sync_client(url=url, headers={"Authorization": f"Bearer {mint_token(mallory)}"})
    sdk.threads.create(thread_id=squatted)
    for turn, reply in [("hi", "Hello Bob!"), ("what is my name?", "Your name is Bob.")]:
        result = lgchat(
            url, "send", "--assistant", "chatbot", turn, token=mint_token(bob, name="Bob")
        )
        assert result.returncode == EXIT_OK, result.stderr
        assert result.stdout.splitlines()[0].startswith(f"AI: {reply}")
    (thread,) = own_threads(url, bob)
    assert thread != squatted
    assert (sdk.threads.get(squatted)["metadata"] or {})["owner"] == mallory


def test_lgchat_token_mints_a_token_the_server_accepts(url: str, tmp_path: Path) -> None:
    carol = user_id("carol")
    minted = subprocess.run(
        [str(LGCHAT), "token", "--user", carol, "--name", "Carol"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "AUTH_JWT_SECRET": AUTH_SECRET},
    )
    assert minted.returncode == 0, minted.stderr
    assert minted.stderr == (
        f"lgchat: DEVELOPMENT ONLY: a token for user {carol!r}, valid 43200 s, signed with "
        "AUTH_JWT_SECRET; anyone with the secret can sign in as any user: in production, "
        "tokens come from an identity provider\n"
    )
    token = minted.stdout.removesuffix("\n")
    result = lgchat(url, "send", "--assistant", "chatbot", "hi", LANGGRAPH_AUTH_TOKEN=token)
    assert result.returncode == EXIT_OK, result.stderr
    assert result.stdout.splitlines()[0] == "AI: Hello Carol! How can I assist you today?"


async def test_multiuser_chat_runs_each_user_with_their_own_token(url: str) -> None:
    names = {user_id(name.lower()): name for name in ("Ann", "Ben", "Cid")}
    tokens = {user: mint_token(user, name=name) for user, name in names.items()}
    async with ChatClient(url) as client:
        chat = MultiUserChat(client, assistant="chatbot", tokens=tokens)
        replies = await chat.reply_all(dict.fromkeys(names, "hi"))
        assert {user: reply.text for user, reply in replies.items()} == {
            user: f"Hello {name}! How can I assist you today?" for user, name in names.items()
        }
        for user in names:
            session = await chat.session_for(user)
            listed = await chat.client_for(user).threads()
            assert [(t.thread_id, t.user_id) for t in listed] == [(session.thread_id, user)]


# -- the demo's two users ----------------------------------------------------------------

TWO_USERS_HEADING = "=== Two users side by side, each with their own token ==="


def two_user_lines(alice: str, bob: str, listed: str) -> list[str]:
    return [
        TWO_USERS_HEADING,
        'alice and bob say "hi" to chatbot at once (MultiUserChat, a token each):',
        f"alice on thread {alice}: Hello Alice! How can I assist you today?",
        f"bob on thread {bob}: Hello Bob! How can I assist you today?",
        f"alice lists her threads: {listed}",
        f"alice asks for bob's thread: no thread '{bob}' on this server "
        "(or it belongs to another user)",
    ]


def demo_threads(section: list[str]) -> tuple[str, str]:
    """Return the threads the demo's section says alice and bob are on."""
    alice, bob = (re.search(r"on thread (\S+):", line) for line in section[2:4])
    assert alice is not None and bob is not None, section
    return alice.group(1), bob.group(1)


def test_the_demo_mints_its_tokens_and_shows_two_users_apart(url: str) -> None:
    result = lgchat(url, "demo", AUTH_JWT_SECRET=AUTH_SECRET)
    assert (result.returncode, result.stderr) == (EXIT_OK, "")
    lines = result.stdout.splitlines()
    assert "User 'lance', thread" in "\n".join(lines)  # the earlier sections ran as lance
    section = lines[lines.index(TWO_USERS_HEADING) :]
    alice, bob = demo_threads(section)
    assert alice in own_threads(url, "alice") and bob in own_threads(url, "bob")
    # The session's server is shared: other tests may have made alice threads of their own.
    listed = section[4].removeprefix("alice lists her threads: ").split(", ")
    assert alice in listed and bob not in listed
    assert set(own_threads(url, "alice")) >= set(listed)
    assert section == two_user_lines(alice, bob, ", ".join(listed))


@pytest.mark.engines("dev")  # `devtools.devserver run` serves with langgraph dev only
def test_devserver_dev_auth_runs_the_demo_with_two_users() -> None:
    # What `make demo` runs: a one-off secret for the server and the demo, on a fresh
    # server, so alice's listing is exactly her one thread.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "devtools.devserver",
            "run",
            "--dev-auth",
            "--",
            str(LGCHAT),
            "demo",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=REPO_ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "LANGGRAPH_"))},
    )
    assert result.returncode == EXIT_OK, result.stderr
    assert re.fullmatch(
        r"langgraph dev is up at http://127\.0\.0\.1:\d+ \(model: offline\)\n"
        r"auth is on with a one-off AUTH_JWT_SECRET, shared with the command "
        r"\(development only\)\n",
        result.stderr,
    ), result.stderr
    lines = result.stdout.splitlines()
    section = lines[lines.index(TWO_USERS_HEADING) :]
    alice, bob = demo_threads(section)
    assert section == two_user_lines(alice, bob, alice)
