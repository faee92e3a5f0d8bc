"""Conversation memory shared by both graphs: when to summarize, and what to keep.

Two triggers, checked at the end of a turn: more than N (`summarize_after`) messages,
or a prompt of more than T (`max_prompt_tokens`) tokens. A summary triggered by N keeps
the last K (`keep_last`) messages; with a budget T the kept tail must also fit in 3/4
of T. The graph pieces that act on these decisions are in `agent.summarizer`.

The cut is tool-call safe: OpenAI rejects a history in which a `tool` message does not
follow the assistant message that requested it, or in which a requested tool call has
no result. So summarization only happens at the end of a turn, and the kept tail never
starts with a `ToolMessage`. A call can still be left without a result in the thread: a
user who sends a new message instead of reviewing a call (`approve_tools`) drops it. The
model is then told, in its prompt, that the call was not run (`answer_dropped_calls`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolCall,
    ToolMessage,
)
from langgraph.runtime import Runtime, get_runtime

from agent import prompts
from agent.context import BUDGET_KEEP_SHARE, Context

SUMMARIZE_NODE = "summarize_conversation"

Trigger = Literal["messages", "tokens"]
"""What made a summary due: the message count N or the token budget T."""


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


DROPPED_CALL = "Not run: the user sent a new message instead of reviewing this call."
"""The result the model sees for a tool call that was left without one."""


def answer_dropped_calls(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """Return `messages` with an error result after every tool call that has none.

    A call waiting for review is the thread's last message and is never part of a
    prompt; any other call without a result was dropped, and OpenAI refuses a prompt
    with it unanswered.
    """
    out: list[BaseMessage] = []
    unanswered: list[ToolCall] = []
    for message in messages:
        if isinstance(message, ToolMessage):
            unanswered = [c for c in unanswered if c["id"] != message.tool_call_id]
        else:
            out.extend(dropped_results(unanswered))
            unanswered = list(message.tool_calls) if isinstance(message, AIMessage) else []
        out.append(message)
    return out


def dropped_results(calls: Sequence[ToolCall]) -> list[ToolMessage]:
    """Return the error results that tell the model these calls were not run."""
    return [
        ToolMessage(
            content=DROPPED_CALL, tool_call_id=call["id"], name=call["name"], status="error"
        )
        for call in calls
    ]


def with_summary(
    messages: Sequence[BaseMessage], summary: str, system_prompt: str
) -> list[BaseMessage]:
    """Return the model input: system prompt, then the summary as a system message."""
    head: list[BaseMessage] = [SystemMessage(content=system_prompt)] if system_prompt else []
    if summary:
        head.append(SystemMessage(content=prompts.SUMMARY_SYSTEM_PREFIX + summary))
    return [*head, *answer_dropped_calls(messages)]


def summary_request(messages: Sequence[BaseMessage], summary: str) -> list[BaseMessage]:
    """Return the summarizer's input: the conversation plus a create-or-extend prompt."""
    if summary:
        instruction = prompts.EXTEND_SUMMARY_PROMPT.format(summary=summary)
    else:
        instruction = prompts.CREATE_SUMMARY_PROMPT
    return [*answer_dropped_calls(messages), HumanMessage(content=instruction)]


def summary_trigger(
    messages: Sequence[BaseMessage], context: Context, prompt_tokens: Callable[[], int]
) -> Trigger | None:
    """Return what makes a summary due after this turn, or None.

    Args:
        messages: The thread's messages.
        context: The run's settings (N and T).
        prompt_tokens: Counts the prompt the next turn starts from; called only when
            the budget decides.
    """
    if not at_turn_boundary(messages):
        return None
    if len(messages) > context.summarize_after:
        return "messages"
    if context.max_prompt_tokens and prompt_tokens() > context.max_prompt_tokens:
        return "tokens"
    return None


def keep_from_budget(messages: Sequence[BaseMessage], sizes: Sequence[int], room: int) -> int:
    """Return where the longest tail of at most `room` tokens starts.

    A tail that would start with `ToolMessage`s whose call does not fit gives them up
    too (the cut moves later), so the tail never exceeds `room`.

    Args:
        messages: The thread's messages.
        sizes: The tokens of each message.
        room: Tokens the kept tail may take.
    """
    start, used = len(messages), 0
    while start > 0 and used + sizes[start - 1] <= room:
        start -= 1
        used += sizes[start]
    while start < len(messages) and isinstance(messages[start], ToolMessage):
        start += 1
    return start


def budget_room(context: Context, head_tokens: int) -> int:
    """Return the tokens a token-budget cut may keep, after the system prompt and summary."""
    return int(context.max_prompt_tokens * BUDGET_KEEP_SHARE) - head_tokens


def cut_index(
    messages: Sequence[BaseMessage],
    context: Context,
    trigger: Trigger,
    sizes: Sequence[int] | None = None,
    head_tokens: int = 0,
) -> int:
    """Return where the kept tail starts after a summary: the later of the due cuts.

    Args:
        messages: The thread's messages, at the end of a turn.
        context: The run's settings.
        trigger: What made the summary due; N's cut applies only when it was N.
        sizes: The tokens of each message; needed when a budget is set.
        head_tokens: The tokens of the next prompt's system prompt and new summary.
    """
    start = keep_from(messages, context.keep_last) if trigger == "messages" else 0
    if context.max_prompt_tokens and sizes is not None:
        room = budget_room(context, head_tokens)
        start = max(start, keep_from_budget(messages, sizes, room))
    return start
