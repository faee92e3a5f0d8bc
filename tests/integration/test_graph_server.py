"""What the served graphs publish and report, through langgraph-sdk, on either engine.

Studio draws a graph from `GET /assistants/{id}/graph`, builds its context form from
`GET /assistants/{id}/schemas`, and shows a run's failure from the stream's `error`
event; these tests read the same answers from the offline server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from devtools.process import ServerProcess
from tests.support.servers import Engine
from tests.unit.test_context import CONTEXT_SCHEMAS
from tests.unit.test_graphs import DRAWN_EDGES, reachable_from_start

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
async def sdk(offline_server_url: str) -> AsyncIterator[LangGraphClient]:
    client = get_client(url=offline_server_url)
    yield client
    await client.http.client.aclose()


async def _assistant_id(sdk: LangGraphClient, graph_id: str) -> str:
    assistants = await sdk.assistants.search(graph_id=graph_id)
    return str(assistants[0]["assistant_id"])


async def _stream(
    sdk: LangGraphClient, graph_id: str, text: str, mode: str, context: dict[str, Any]
) -> list[tuple[str, Any]]:
    thread = await sdk.threads.create()
    run_input: dict[str, Any] = {"messages": [{"role": "user", "content": text}]}
    parts = sdk.runs.stream(
        thread["thread_id"],
        graph_id,
        input=run_input,
        stream_mode=mode,  # type: ignore[arg-type]
        context=context,
    )
    return [(part.event, part.data) async for part in parts]


@pytest.mark.parametrize("graph_id", ["chatbot", "agent"])
async def test_server_draws_every_edge_and_marks_branches_conditional(
    sdk: LangGraphClient, graph_id: str
) -> None:
    drawing: Any = await sdk.assistants.get_graph(await _assistant_id(sdk, graph_id), xray=True)
    edges = {(e["source"], e["target"], bool(e.get("conditional"))) for e in drawing["edges"]}
    assert edges == DRAWN_EDGES[graph_id]
    assert reachable_from_start(edges) == {node["id"] for node in drawing["nodes"]}


@pytest.mark.parametrize("graph_id", ["chatbot", "agent"])
async def test_server_publishes_the_context_schema_with_its_bounds(
    sdk: LangGraphClient, graph_id: str
) -> None:
    schemas: Any = await sdk.assistants.get_schemas(await _assistant_id(sdk, graph_id))
    assert schemas["context_schema"] == CONTEXT_SCHEMAS[graph_id]


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"summarize_after": "x"}, "summarize_after must be an integer, got 'x'"),
        ({"keep_last": -1}, "keep_last must be at least 0, got -1"),
        ({"max_prompt_tokens": 2.5}, "max_prompt_tokens must be an integer, got 2.5"),
        ({"model": 7}, "model must be a string, got 7"),
    ],
)
async def test_bad_context_fails_the_run_with_one_message_naming_the_field(
    sdk: LangGraphClient,
    context: dict[str, Any],
    message: str,
    engine: Engine,
    offline_server: ServerProcess,
) -> None:
    events = await _stream(sdk, "chatbot", "hi", "values", context)
    errors = [data for event, data in events if event == "error"]
    if engine == "aegra":
        # Aegra redacts a run's error in the stream; the message is in its log.
        assert errors == [{"error": "ValueError", "message": "ValueError: execution failed"}]
        assert message in offline_server.log_text()
    else:
        assert errors == [{"error": "ValueError", "message": message}]


async def test_custom_mode_streams_the_summarizers_progress(sdk: LangGraphClient) -> None:
    context = {"summarize_after": 1, "keep_last": 0}
    events = await _stream(sdk, "chatbot", "hi! I'm Lance", "custom", context)
    custom = [data for event, data in events if event == "custom"]
    assert custom == [
        {"summarization": {"status": "started", "trigger": "messages", "messages": 2}},
        {"summarization": {"status": "done", "removed": 2, "kept": 0}},
    ]


async def test_token_budget_triggers_the_summarizer_on_the_server(sdk: LangGraphClient) -> None:
    # The offline model counts words: the prompt after this turn is the system prompt
    # (6), the question (3) and the answer (8), 17 tokens, over a budget of 10.
    context = {"summarize_after": 1000, "max_prompt_tokens": 10}
    events = await _stream(sdk, "chatbot", "hi! I'm Lance", "custom", context)
    custom = [data for event, data in events if event == "custom"]
    assert custom == [
        {"summarization": {"status": "started", "trigger": "tokens", "messages": 2}},
        {"summarization": {"status": "done", "removed": 2, "kept": 0}},
    ]
