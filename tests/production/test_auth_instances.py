"""Per-user isolation across two Aegra instances sharing Postgres and Redis.

What one instance stamped and filters, the other enforces too: ownership lives in the
shared database, not in an instance's memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from devtools.aegra import AegraServer
from tests.integration._helpers import count_reply
from tests.support.servers import AUTH_SECRET, OFFLINE_ENV, aegra_servers, mint_token

pytestmark = [pytest.mark.server, pytest.mark.engines("aegra")]

COUNT: Any = {"messages": [{"role": "user", "content": "count to 300"}]}


@pytest.fixture(scope="module")
def instances() -> Iterator[tuple[AegraServer, AegraServer]]:
    env = {**OFFLINE_ENV, "OFFLINE_MODEL_DELAY": "0.005", "AUTH_JWT_SECRET": AUTH_SECRET}
    with aegra_servers(env, count=2) as (a, b):
        yield a, b


def _client(server: AegraServer, user: str) -> LangGraphClient:
    token = mint_token(user, name=user.capitalize())
    return get_client(url=server.url, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
async def clients(
    instances: tuple[AegraServer, AegraServer],
) -> AsyncIterator[dict[str, LangGraphClient]]:
    a, b = instances
    made = {
        "alice@a": _client(a, "alice"),
        "alice@b": _client(b, "alice"),
        "bob@b": _client(b, "bob"),
    }
    yield made
    for client in made.values():
        await client.http.client.aclose()


async def _status(call: object) -> int | None:
    try:
        await call  # type: ignore[misc]
    except httpx.HTTPStatusError as error:
        return error.response.status_code
    return None


async def test_a_run_started_on_one_instance_is_refused_to_another_user_on_the_other(
    clients: dict[str, LangGraphClient],
) -> None:
    alice_a, alice_b, bob_b = clients["alice@a"], clients["alice@b"], clients["bob@b"]
    thread_id = (await alice_a.threads.create())["thread_id"]
    run = await alice_a.runs.create(thread_id, "chatbot", input=COUNT)
    assert await _status(bob_b.runs.join(thread_id, run["run_id"])) == 404
    assert await _status(bob_b.runs.cancel(thread_id, run["run_id"])) == 404
    assert await _status(bob_b.threads.get_state(thread_id)) == 404
    assert thread_id not in {t["thread_id"] for t in await bob_b.threads.search(limit=100)}
    # Alice, on the other instance, joins her run and reads her reply there.
    await alice_b.runs.join(thread_id, run["run_id"])
    state = await alice_b.threads.get_state(thread_id)
    values: Any = state["values"]
    assert values["messages"][-1]["content"] == count_reply(300)
    assert (await alice_b.runs.get(thread_id, run["run_id"]))["status"] == "success"
