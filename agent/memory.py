"""Conversation memory shared by both graphs: summarize old messages, keep the latest.

The cut is tool-call safe: OpenAI rejects a history in which a `tool` message does not
follow the assistant message that requested it, or in which a requested tool call has
no result. So summarization only happens at the end of a turn, and the kept tail never
starts with a `ToolMessage`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.runnables import Runnable, RunnableConfig
from langgraph.graph import END
from langgraph.runtime import Runtime, get_runtime

from agent import prompts
from agent.context import Context
from agent.models import aload_chat_model, load_chat_model
from agent.nodes import dual_node
from agent.state import State

logger = logging.getLogger(__name__)

SUMMARIZE_NODE = "summarize_conversation"
SUMMARY_FAILED = "summarization failed; keeping every message and the old summary"


def context_of(runtime: Runtime[Context] | None = None) -> Context:
    """Return the run's context, or the defaults when the caller passed none."""
    return (runtime or get_runtime(Context)).context or Context()


def at_turn_boundary(messages: Sequence[BaseMessage]) -> bool:
    """Return True when the last message is an AI answer with no pending tool calls."""
    return bool(messages) and isinstance(messages[-1], AIMessage) and not messages[-1].tool_calls


def needs_summary(messages: Sequence[BaseMessage], summarize_after: int) -> bool:
    """Return True when a finished turn left more than `summarize_after` messages."""
    return len(messages) > summarize_after and at_turn_boundary(messages)


def keep_from(messages: Sequence[BaseMessage], keep_last: int) -> int:
    """Return the index where the kept tail starts.

    Normally `len(messages) - keep_last`, moved earlier while the tail would start
    with a `ToolMessage`, so an AI tool call always stays with its results.
    """
    start = max(len(messages) - keep_last, 0)
    while 0 < start < len(messages) and isinstance(messages[start], ToolMessage):
        start -= 1
    return start


def messages_to_remove(messages: Sequence[BaseMessage], keep_last: int) -> list[RemoveMessage]:
    """Return `RemoveMessage`s for everything before the kept tail."""
    return [RemoveMessage(id=m.id) for m in messages[: keep_from(messages, keep_last)] if m.id]


def with_summary(
    messages: Sequence[BaseMessage], summary: str, system_prompt: str
) -> list[BaseMessage]:
    """Return the model input: system prompt, then the summary as a system message."""
    head: list[BaseMessage] = [SystemMessage(content=system_prompt)] if system_prompt else []
    if summary:
        head.append(SystemMessage(content=prompts.SUMMARY_SYSTEM_PREFIX + summary))
    return [*head, *messages]


def summary_request(messages: Sequence[BaseMessage], summary: str) -> list[BaseMessage]:
    """Return the summarizer's input: the conversation plus a create-or-extend prompt."""
    if summary:
        instruction = prompts.EXTEND_SUMMARY_PROMPT.format(summary=summary)
    else:
        instruction = prompts.CREATE_SUMMARY_PROMPT
    return [*messages, HumanMessage(content=instruction)]


def route_to_summary(state: State, runtime: Runtime[Context]) -> str:
    """Route to the summarizer when the finished turn left too many messages."""
    if needs_summary(state["messages"], context_of(runtime).summarize_after):
        return SUMMARIZE_NODE
    return END


def _summarizer(model: BaseChatModel) -> Runnable[LanguageModelInput, BaseMessage]:
    # `nostream` keeps the summary's tokens out of `messages` streams: clients would
    # otherwise render it as an assistant reply.
    return model.with_config(tags=["nostream"])


def _summary_update(state: State, context: Context, response: BaseMessage) -> dict[str, object]:
    return {
        "summary": response.text,
        "messages": messages_to_remove(state["messages"], context.keep_last),
    }


def summarize_conversation(state: State, config: RunnableConfig) -> dict[str, object]:
    """Fold old messages into the summary and remove them, keeping the latest ones.

    If the model call fails nothing is removed and the summary stays as it was, so
    the conversation goes on and the next finished turn tries again.
    """
    context = context_of()
    request = summary_request(state["messages"], state.get("summary", ""))
    try:
        response = _summarizer(load_chat_model(context.model)).invoke(request, config)
    except Exception:
        logger.warning(SUMMARY_FAILED, exc_info=True)
        return {}
    return _summary_update(state, context, response)


async def asummarize_conversation(state: State, config: RunnableConfig) -> dict[str, object]:
    """Fold old messages into the summary; the async twin of `summarize_conversation`."""
    context = context_of()
    request = summary_request(state["messages"], state.get("summary", ""))
    try:
        model = await aload_chat_model(context.model)
        response = await _summarizer(model).ainvoke(request, config)
    except Exception:
        logger.warning(SUMMARY_FAILED, exc_info=True)
        return {}
    return _summary_update(state, context, response)


summarize_node = dual_node(SUMMARIZE_NODE, summarize_conversation, asummarize_conversation)
