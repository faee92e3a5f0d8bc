"""The run context: the JSON schema both graphs publish, and the checks a run makes."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import MemorySaver

from agent import agent as agent_module
from agent import chatbot as chatbot_module
from agent.context import Context

PUBLISHED_CONTEXT_SCHEMA: dict[str, Any] = {
    "title": "Context",
    "type": "object",
    "additionalProperties": False,
    "description": "Settings a caller may pass per run (`context=` in the SDK, or the Studio "
    "form).",
    "properties": {
        "model": {
            "title": "Model",
            "type": "string",
            "default": "",
            "pattern": "^(offline|openai:.+)?$",
            "description": "Chat model as 'openai:<model-name>' or 'offline'. Empty means "
            "$MODEL, else 'openai:gpt-4o' with OPENAI_API_KEY set, else 'offline'.",
        },
        "system_prompt": {
            "title": "System Prompt",
            "type": "string",
            "default": "",
            "description": "System prompt for the assistant. Empty means the graph's own default.",
        },
        "summarize_after": {
            "title": "Summarize After",
            "type": "integer",
            "default": 6,
            "minimum": 1,
            "description": "N: summarize once a finished turn leaves more than this many "
            "messages in the thread.",
        },
        "keep_last": {
            "title": "Keep Last",
            "type": "integer",
            "default": 2,
            "minimum": 0,
            "description": "K: how many of the latest messages a summary triggered by N keeps; "
            "at most summarize_after. The cut moves earlier when needed so a tool call is never "
            "split from its results.",
        },
        "max_prompt_tokens": {
            "title": "Max Prompt Tokens",
            "type": "integer",
            "default": 0,
            "minimum": 0,
            "description": "T: also summarize once a finished turn leaves a prompt (system "
            "prompt, summary and messages, counted with the model's own tokenizer) of more than "
            "this many tokens; the summary then keeps the newest messages that fit in 3/4 of T. "
            "0 turns the budget off.",
        },
    },
}
"""The context schema the `chatbot` graph publishes, exactly (Studio's form and `lgchat`
read it); the `agent` graph's adds one field (`AGENT_CONTEXT_SCHEMA`)."""


APPROVE_TOOLS_SCHEMA = {
    "title": "Approve Tools",
    "type": "boolean",
    "default": False,
    "description": "Ask a person to approve, edit or reject each tool call before it runs: "
    "the run stops with an interrupt until it is resumed with one decision per call.",
}
AGENT_CONTEXT_SCHEMA: dict[str, Any] = {
    **PUBLISHED_CONTEXT_SCHEMA,
    "title": "AgentContext",
    "description": "The `agent` graph's settings: the shared ones, and the review of tool calls.",
    "properties": {**PUBLISHED_CONTEXT_SCHEMA["properties"], "approve_tools": APPROVE_TOOLS_SCHEMA},
}
"""The `agent` graph's: the shared fields, then `approve_tools`."""
CONTEXT_SCHEMAS = {"chatbot": PUBLISHED_CONTEXT_SCHEMA, "agent": AGENT_CONTEXT_SCHEMA}
"""The context schema each graph publishes, by graph id."""


def test_graphs_publish_types_bounds_and_no_extra_keys() -> None:
    assert chatbot_module.graph.get_context_jsonschema() == PUBLISHED_CONTEXT_SCHEMA
    schema = agent_module.graph.get_context_jsonschema()
    assert schema == AGENT_CONTEXT_SCHEMA
    assert schema is not None and list(schema["properties"])[-1] == "approve_tools"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"summarize_after": "x"}, "summarize_after must be an integer, got 'x'"),
        ({"summarize_after": True}, "summarize_after must be an integer, got True"),
        ({"summarize_after": 6.0}, "summarize_after must be an integer, got 6.0"),
        ({"summarize_after": 0}, "summarize_after must be at least 1, got 0"),
        ({"keep_last": -1}, "keep_last must be at least 0, got -1"),
        ({"keep_last": 7}, "keep_last must be at most summarize_after (6), got 7"),
        ({"max_prompt_tokens": -5}, "max_prompt_tokens must be at least 0, got -5"),
        ({"max_prompt_tokens": "100"}, "max_prompt_tokens must be an integer, got '100'"),
        ({"model": 7}, "model must be a string, got 7"),
        ({"model": "gpt-4o"}, "model must be 'offline' or 'openai:<model-name>', got 'gpt-4o'"),
        ({"system_prompt": None}, "system_prompt must be a string, got None"),
    ],
)
def test_bad_values_fail_with_one_message_naming_the_field(
    settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        Context(**settings)
    assert str(caught.value) == message


def test_good_values_pass_and_empty_model_means_the_default() -> None:
    context = Context(summarize_after=3, keep_last=3, max_prompt_tokens=500, model="offline")
    assert (context.summarize_after, context.keep_last, context.max_prompt_tokens) == (3, 3, 500)
    assert Context(model="").model == "offline"  # tests run with no key and no $MODEL


def test_a_run_with_a_bad_context_fails_before_any_node() -> None:
    graph = chatbot_module.builder.compile(checkpointer=MemorySaver())
    config: RunnableConfig = {"configurable": {"thread_id": "bad-context"}}
    bad: Any = {"summarize_after": "x"}  # what a JSON caller can send
    with pytest.raises(ValueError, match=r"^summarize_after must be an integer, got 'x'$"):
        graph.invoke({"messages": [HumanMessage("hi")]}, config, context=bad)
    assert graph.get_state(config).values == {}
