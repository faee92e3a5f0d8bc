"""Per-user isolation through langgraph-sdk, on either engine: the auth matrix.

Alice owns a thread, two runs and an assistant. For each endpoint family Bob, with a
valid token of his own, is refused (403, 404 or 409) or gets a result without Alice's
objects, and Alice's same call still succeeds. Then the tokens themselves: none,
garbage, expired, wrongly signed, `alg: none`, another algorithm and Studio's header are
each refused with one line saying why.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import jwt
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import APIStatusError

from devtools.process import ServerProcess
from security.tokens import token_claims
from tests.integration._helpers import LONG_COUNT
from tests.support.servers import AUTH_SECRET, mint_token

pytestmark = pytest.mark.server

ALICE, BOB = "alice", "bob"
HI: Any = {"messages": [{"role": "user", "content": "hi"}]}
REFUSED = (403, 404, 409)


def sdk(url: str, token: str | None = None, **headers: str) -> LangGraphClient:
    """Return an SDK client sending `token` as a bearer token."""
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return get_client(url=url, headers=headers or None)


@dataclass(frozen=True)
class AliceWorld:
    """What Alice owns when the matrix starts."""

    thread_id: str
    run_id: str
    assistant_id: str
    reply: str


ALICE_TOKEN = mint_token(ALICE, name="Alice")
BOB_TOKEN = mint_token(BOB)


@pytest.fixture(scope="module")
async def alice(auth_server: ServerProcess) -> AsyncIterator[LangGraphClient]:
    client = sdk(auth_server.url, ALICE_TOKEN)
    yield client
    await client.http.client.aclose()


@pytest.fixture(scope="module")
async def bob(auth_server: ServerProcess) -> AsyncIterator[LangGraphClient]:
    client = sdk(auth_server.url, BOB_TOKEN)
    yield client
    await client.http.client.aclose()


@pytest.fixture(scope="module")
async def world(alice: LangGraphClient) -> AliceWorld:
    assistant = await alice.assistants.create(graph_id="chatbot", name="alice's bot")
    thread = await alice.threads.create(metadata={"topic": "private"})
    run = await alice.runs.create(thread["thread_id"], "chatbot", input=HI)
    await alice.runs.join(thread["thread_id"], run["run_id"])
    state = await alice.threads.get_state(thread["thread_id"])
    reply = _values(state)["messages"][-1]["content"]
    return AliceWorld(thread["thread_id"], run["run_id"], assistant["assistant_id"], reply)


def _values(state: Any) -> dict[str, Any]:
    """Return a thread state's (or a run result's) values as a dict."""
    values = state.get("values", state) if isinstance(state, dict) else None
    assert isinstance(values, dict)
    return values


Call = Callable[[LangGraphClient, AliceWorld], Awaitable[Any]]


async def _collect(stream: AsyncIterator[Any]) -> list[Any]:
    return [part async for part in stream]


def _ids(items: Any, key: str) -> set[str]:
    return {str(item[key]) for item in items}


@dataclass(frozen=True)
class Case:
    """One endpoint family's call, and how a result can still hide Alice's objects."""

    call: Call
    hides: Callable[[Any, AliceWorld], bool] = lambda result, world: False


MATRIX: dict[str, Case] = {
    "assistants.get": Case(lambda c, w: c.assistants.get(w.assistant_id)),
    "assistants.search": Case(
        lambda c, w: c.assistants.search(limit=100),
        hides=lambda result, w: w.assistant_id not in _ids(result, "assistant_id"),
    ),
    "assistants.update": Case(lambda c, w: c.assistants.update(w.assistant_id, metadata={"x": 1})),
    "threads.create (Alice's id)": Case(
        lambda c, w: c.threads.create(thread_id=w.thread_id, if_exists="do_nothing")
    ),
    "threads.get": Case(lambda c, w: c.threads.get(w.thread_id)),
    "threads.search": Case(
        lambda c, w: c.threads.search(limit=100),
        hides=lambda result, w: w.thread_id not in _ids(result, "thread_id"),
    ),
    "threads.update": Case(lambda c, w: c.threads.update(w.thread_id, metadata={"x": "1"})),
    "threads.get_state": Case(lambda c, w: c.threads.get_state(w.thread_id)),
    "threads.update_state": Case(
        lambda c, w: c.threads.update_state(w.thread_id, {"summary": "overwritten"})
    ),
    "threads.get_history": Case(
        lambda c, w: c.threads.get_history(w.thread_id), hides=lambda result, w: result == []
    ),
    "threads.copy": Case(lambda c, w: c.threads.copy(w.thread_id)),
    "runs.create": Case(lambda c, w: c.runs.create(w.thread_id, "chatbot", input=HI)),
    "runs.stream": Case(lambda c, w: _collect(c.runs.stream(w.thread_id, "chatbot", input=HI))),
    "runs.wait": Case(lambda c, w: c.runs.wait(w.thread_id, "chatbot", input=HI)),
    "runs.join": Case(lambda c, w: c.runs.join(w.thread_id, w.run_id)),
    # The stream opens, then reports the refusal as its one event.
    "runs.join_stream": Case(
        lambda c, w: _collect(c.runs.join_stream(w.thread_id, w.run_id)),
        hides=lambda result, w: any(part.event == "error" for part in result),
    ),
    "runs.list": Case(lambda c, w: c.runs.list(w.thread_id), hides=lambda result, w: result == []),
    "runs.get": Case(lambda c, w: c.runs.get(w.thread_id, w.run_id)),
    "runs.cancel": Case(lambda c, w: c.runs.cancel(w.thread_id, w.run_id)),
    "threads.delete": Case(lambda c, w: c.threads.delete(w.thread_id)),
    "assistants.delete": Case(lambda c, w: c.assistants.delete(w.assistant_id)),
}
"""Destructive calls come last, so Bob's refused attempts run before Alice's own."""


async def _outcome(call: Awaitable[Any]) -> tuple[int | None, Any]:
    try:
        return None, await call
    except httpx.HTTPStatusError as error:  # `runs.wait` raises httpx's, not the SDK's
        return error.response.status_code, None


@pytest.mark.parametrize("family", list(MATRIX))
async def test_another_user_is_refused_or_sees_nothing(
    family: str, bob: LangGraphClient, alice: LangGraphClient, world: AliceWorld
) -> None:
    case = MATRIX[family]
    status, result = await _outcome(case.call(bob, world))
    assert status in REFUSED or (status is None and case.hides(result, world)), (status, result)
    # Nothing of Alice's changed: her thread, its one run and its state are as she left them.
    thread = await alice.threads.get(world.thread_id)
    assert (thread["metadata"] or {}).get("x") is None
    state = await alice.threads.get_state(world.thread_id)
    assert _values(state).get("summary", "") == ""
    assert [run["run_id"] for run in await alice.runs.list(world.thread_id)] == [world.run_id]
    assert ((await alice.assistants.get(world.assistant_id))["metadata"] or {}).get("x") is None


READ_ONLY = [
    family
    for family in MATRIX
    if family.split(".")[1].split()[0]
    in {"get", "search", "get_state", "get_history", "join", "join_stream", "list", "create"}
    and family not in {"runs.create"}
]


@pytest.mark.parametrize("family", READ_ONLY)
async def test_the_owner_still_reaches_her_objects(
    family: str, alice: LangGraphClient, world: AliceWorld
) -> None:
    status, result = await _outcome(MATRIX[family].call(alice, world))
    assert status is None
    assert not MATRIX[family].hides(result, world)


async def test_the_owner_streams_runs_on_her_thread(
    alice: LangGraphClient, world: AliceWorld
) -> None:
    parts = await _collect(alice.runs.stream(world.thread_id, "chatbot", input=HI))
    assert parts[0].event == "metadata"
    assert "error" not in [part.event for part in parts]


@pytest.mark.engines("dev")  # Aegra 0.11 has no copy endpoint (404 for everyone)
async def test_the_owner_copies_her_thread_and_owns_the_copy(
    alice: LangGraphClient, world: AliceWorld
) -> None:
    copy: Any = await alice.threads.copy(world.thread_id)  # type: ignore[func-returns-value]
    assert copy["metadata"]["owner"] == ALICE
    state = await alice.threads.get_state(copy["thread_id"])
    assert len(_values(state)["messages"]) >= 2
    await alice.threads.delete(copy["thread_id"])


V3_TRANSPORTS = [
    "sse",
    # Aegra 0.11 serves no v3 WebSocket: every handshake gets 403, auth on or off.
    pytest.param("websocket", marks=pytest.mark.engines("dev")),
]


def _headers(token: str) -> dict[str, str]:
    # The SDK's WebSocket handshake sends only the stream's own headers, not the
    # client's: without them the owner is refused too.
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("transport", V3_TRANSPORTS)
async def test_v3_another_user_cannot_start_a_run_on_the_thread(
    transport: Literal["sse", "websocket"], bob: LangGraphClient, world: AliceWorld
) -> None:
    stream = bob.threads.stream(
        world.thread_id, assistant_id="chatbot", transport=transport, headers=_headers(BOB_TOKEN)
    )
    async with stream as session:
        with pytest.raises((RuntimeError, httpx.HTTPStatusError)) as refused:
            await session.run.start(input=HI)
    assert "404" in str(refused.value)


async def _v3_events(
    client: LangGraphClient, token: str, thread_id: str, transport: Literal["sse", "websocket"]
) -> list[Any]:
    """Return the thread-stream events a watcher of `thread_id` gets within two seconds."""
    events: list[Any] = []
    stream = client.threads.stream(
        thread_id, assistant_id="chatbot", transport=transport, headers=_headers(token)
    )
    async with stream as session:

        async def watch() -> None:
            async for event in session.events:
                if event.get("type") == "event":
                    events.append(event)

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(watch(), 2)
    return events


async def _next_event(events: AsyncIterator[Any]) -> Any:
    """Return the next protocol event, past the WebSocket's command acknowledgements."""
    async for event in events:
        if event.get("type") == "event":
            return event
    raise AssertionError("the stream ended")


@pytest.mark.parametrize("transport", V3_TRANSPORTS)
async def test_v3_another_user_sees_no_event_of_a_running_thread(
    transport: Literal["sse", "websocket"], alice: LangGraphClient, bob: LangGraphClient
) -> None:
    thread_id = (await alice.threads.create())["thread_id"]
    count: Any = {"messages": [{"role": "user", "content": f"count to {LONG_COUNT}"}]}
    stream = alice.threads.stream(
        thread_id, assistant_id="chatbot", transport=transport, headers=_headers(ALICE_TOKEN)
    )
    async with stream as mine:
        await mine.run.start(input=count)
        events = aiter(mine.events)
        assert (await _next_event(events))["method"] == "lifecycle"
        try:
            assert await _v3_events(bob, BOB_TOKEN, thread_id, transport) == []
            # Meanwhile the owner's stream went on.
            assert (await _next_event(events))["params"]["namespace"] == []
        finally:
            for run in await alice.runs.list(thread_id):
                await alice.runs.cancel(thread_id, run["run_id"], wait=True)


async def test_the_signed_in_user_is_greeted_by_display_name(world: AliceWorld) -> None:
    assert world.reply == "Hello Alice! How can I assist you today?"


async def test_a_user_without_a_display_name_gets_the_plain_greeting(
    bob: LangGraphClient,
) -> None:
    thread = await bob.threads.create()
    result = await bob.runs.wait(thread["thread_id"], "chatbot", input=HI)
    assert _values(result)["messages"][-1]["content"] == "Hello! How can I assist you today?"


async def test_a_run_cannot_be_joined_or_cancelled_by_another_user(
    alice: LangGraphClient, bob: LangGraphClient
) -> None:
    thread = await alice.threads.create()
    count: Any = {"messages": [{"role": "user", "content": f"count to {LONG_COUNT}"}]}
    run = await alice.runs.create(thread["thread_id"], "chatbot", input=count)
    bobs = await bob.threads.create()
    await _until_running(alice, thread["thread_id"], run["run_id"])
    attempts = {
        "join": bob.runs.join(thread["thread_id"], run["run_id"]),
        "cancel": bob.runs.cancel(thread["thread_id"], run["run_id"]),
        "cancel, wait": bob.runs.cancel(thread["thread_id"], run["run_id"], wait=True),
        "get through his own thread": bob.runs.get(bobs["thread_id"], run["run_id"]),
        "cancel through his own thread": bob.runs.cancel(bobs["thread_id"], run["run_id"]),
    }
    for name, attempt in attempts.items():
        status, _ = await _outcome(attempt)
        assert status in REFUSED, name
    assert (await alice.runs.get(thread["thread_id"], run["run_id"]))["status"] == "running"
    await alice.runs.cancel(thread["thread_id"], run["run_id"], wait=True)
    assert (await alice.runs.get(thread["thread_id"], run["run_id"]))["status"] in (
        "interrupted",
        "error",
    )


async def _until_running(client: LangGraphClient, thread_id: str, run_id: str) -> None:
    for _ in range(100):
        if (await client.runs.get(thread_id, run_id))["status"] == "running":
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the run never started")


async def test_a_forged_owner_is_overwritten(alice: LangGraphClient, bob: LangGraphClient) -> None:
    thread = await alice.threads.create(metadata={"owner": BOB})
    assert (thread["metadata"] or {})["owner"] == ALICE
    updated = await alice.threads.update(thread["thread_id"], metadata={"owner": BOB})
    assert (updated["metadata"] or {})["owner"] == ALICE
    assert thread["thread_id"] not in _ids(await bob.threads.search(limit=100), "thread_id")


async def test_the_graphs_assistants_are_shared(
    alice: LangGraphClient, bob: LangGraphClient, world: AliceWorld
) -> None:
    def graphs(assistants: Any) -> list[str]:
        return sorted(
            a["graph_id"] for a in assistants if a["metadata"].get("created_by") == "system"
        )

    assert graphs(await alice.assistants.search(limit=100)) == ["agent", "chatbot"]
    assert graphs(await bob.assistants.search(limit=100)) == ["agent", "chatbot"]


async def test_the_store_is_namespaced_by_user(
    alice: LangGraphClient, bob: LangGraphClient
) -> None:
    await alice.store.put_item([ALICE, "notes"], "n1", {"text": "mine"})
    item = await alice.store.get_item([ALICE, "notes"], "n1")
    assert item is not None and item["value"] == {"text": "mine"}
    for attempt in (
        bob.store.get_item([ALICE, "notes"], "n1"),
        bob.store.put_item([ALICE, "notes"], "n2", {"text": "planted"}),
        bob.store.search_items([ALICE]),
    ):
        status, _ = await _outcome(attempt)
        assert status == 403


def _token(kind: str) -> str | None:
    claims = token_claims(ALICE)
    match kind:
        case "none" | "Studio's header, no token":
            return None
        case "garbage":
            return "not-a-jwt"
        case "expired":
            return jwt.encode(token_claims(ALICE, ttl=60, now=0), AUTH_SECRET, algorithm="HS256")
        case "wrong signature":
            return jwt.encode(claims, "another-secret-of-at-least-32-bytes!!", algorithm="HS256")
        case "alg none":
            return jwt.encode(claims, None, algorithm="none")  # type: ignore[arg-type]
        case "another algorithm":
            return jwt.encode(
                claims, AUTH_SECRET + "-and-64-bytes-for-hs512" * 2, algorithm="HS512"
            )
        case "no sub":
            return jwt.encode({"exp": claims["exp"]}, AUTH_SECRET, algorithm="HS256")
    raise AssertionError(kind)


REFUSED_TOKENS = {
    "none": "no bearer token: send `Authorization: Bearer <token>`",
    "garbage": "the token is not a well-formed JWT",
    "expired": "the token has expired",
    "wrong signature": "the token's signature does not verify",
    "alg none": "tokens signed with 'none' are not accepted (only HS256)",
    "another algorithm": "tokens signed with 'HS512' are not accepted (only HS256)",
    "no sub": "the token has no 'sub' claim",
    # `disable_studio_auth` is on: without it `langgraph dev` lets any request with this
    # header through as Studio's user, token or not.
    "Studio's header, no token": "no bearer token: send `Authorization: Bearer <token>`",
}


def _detail(error: APIStatusError) -> str:
    body = error.response.json()
    return str(body.get("detail") or body.get("message"))


@pytest.mark.parametrize("kind", list(REFUSED_TOKENS))
async def test_a_bad_token_is_refused_with_one_line_saying_why(
    kind: str, auth_server: ServerProcess
) -> None:
    studio = {"x-auth-scheme": "langsmith"} if kind.startswith("Studio") else {}
    client = sdk(auth_server.url, _token(kind), **studio)
    try:
        with pytest.raises(APIStatusError) as refused:
            await client.assistants.search()
    finally:
        await client.http.client.aclose()
    assert refused.value.response.status_code == 401
    assert _detail(refused.value) == REFUSED_TOKENS[kind]


async def test_twenty_users_chat_concurrently_with_no_crossed_replies(
    auth_server: ServerProcess,
) -> None:
    users = {f"user{n:02d}": f"Person{n:02d}" for n in range(20)}
    turns = ["hi", "what is my name?", "count to 3"]

    async def chat(user: str, name: str) -> list[str]:
        client = sdk(auth_server.url, mint_token(user, name=name))
        try:
            thread = await client.threads.create()
            replies = []
            for text in turns:
                message: Any = {"messages": [{"role": "user", "content": text}]}
                result = await client.runs.wait(thread["thread_id"], "chatbot", input=message)
                replies.append(_values(result)["messages"][-1]["content"])
            listed = _ids(await client.threads.search(limit=100), "thread_id")
            assert thread["thread_id"] in listed
            return replies
        finally:
            await client.http.client.aclose()

    results = await asyncio.gather(*(chat(user, name) for user, name in users.items()))
    for (user, name), replies in zip(users.items(), results, strict=True):
        assert replies == [
            f"Hello {name}! How can I assist you today?",
            f"Your name is {name}.",
            "1 2 3",
        ], user
