"""Human approval of tool calls: the `review_tools` node of the `agent` graph.

With `approve_tools` on, the graph stops before its tools and calls `interrupt()` with
the pending calls, in the shape of LangChain's `HumanInTheLoopMiddleware` (which
agent-chat-ui renders):

    {"action_requests": [{"name": "add", "args": {"a": 2, "b": 3}, "description": "..."}],
     "review_configs": [{"action_name": "add", "allowed_decisions": ["approve", "edit", "reject"]}]}

It resumes from `Command(resume={"decisions": [...]})`, one decision per call, in order:

- `{"type": "approve"}` runs the call as the model made it;
- `{"type": "edit", "edited_action": {"name": "add", "args": {"a": 2, "b": 4}}}` runs it
  with these arguments (the model's message is replaced by one with the edited calls,
  id `<id>-edited`, so the thread shows what ran);
- `{"type": "reject", "message": "why"}` runs nothing and answers the call with an error
  `ToolMessage` (the reason, or a default line), so the model learns why and every call
  keeps its result, as OpenAI requires.

A decision that does not fit (a wrong count, an unknown type, arguments the tool does not
accept) runs nothing: the node asks again, with the same requests and an `error` line
saying what was wrong, so the interrupt stays pending (LangGraph's validation pattern).

A new message instead of a decision drops the calls. The thread-centric protocol (v3)
resumes a thread that waits with the next input it is sent, so the resume value is then
`{"messages": [...]}`: each call is answered with an error result saying it was not run
(`memory.DROPPED_CALL`), and the message follows. (A run-centric run with new input does
not resume: the calls stay without results, and the prompt says the same about them;
see `memory.answer_dropped_calls`.)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NotRequired, TypedDict, cast

from langchain_core.messages import AIMessage, RemoveMessage, ToolCall, ToolMessage
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langgraph.types import Command, Send, interrupt
from pydantic import BaseModel, ValidationError

from agent import memory
from agent.state import State
from agent.tools import TOOLS

REVIEW_NODE = "review_tools"
TOOLS_NODE = "tools"
DESCRIPTION_PREFIX = "Tool execution requires approval"
DecisionType = Literal["approve", "edit", "reject"]
DECISION_TYPES: tuple[DecisionType, ...] = ("approve", "edit", "reject")

_TOOLS = {tool.name: tool for tool in TOOLS}


class ActionRequest(TypedDict):
    """One tool call to review."""

    name: str
    args: dict[str, Any]
    description: NotRequired[str]


class ReviewConfig(TypedDict):
    """The decisions a reviewer may make about one action."""

    action_name: str
    allowed_decisions: list[DecisionType]


class ReviewRequest(TypedDict):
    """The interrupt's value: the calls to review, and how (`HITLRequest`'s shape)."""

    action_requests: list[ActionRequest]
    review_configs: list[ReviewConfig]
    error: NotRequired[str]
    """Why the last answer was refused; absent the first time."""


class InvalidDecision(ValueError):
    """A resume value that is not one valid decision per pending call."""


def pending_calls(state: State) -> list[ToolCall]:
    """Return the tool calls of the thread's last message, which wait for review."""
    last = state["messages"][-1] if state["messages"] else None
    return list(last.tool_calls) if isinstance(last, AIMessage) else []


def review_request(calls: Sequence[ToolCall], error: str | None = None) -> ReviewRequest:
    """Return the interrupt value that asks a person to review `calls`."""
    request = ReviewRequest(
        action_requests=[
            ActionRequest(
                name=call["name"],
                args=call["args"],
                description=f"{DESCRIPTION_PREFIX}\n\nTool: {call['name']}\n"
                f"Args: {json.dumps(call['args'])}",
            )
            for call in calls
        ],
        review_configs=[
            ReviewConfig(action_name=call["name"], allowed_decisions=list(DECISION_TYPES))
            for call in calls
        ],
    )
    if error:
        request["error"] = error
    return request


def rejection_text(call: ToolCall) -> str:
    """Return what the model is told about a call the user rejected without a reason."""
    return f"User rejected the tool call for `{call['name']}` with id {call['id']}"


def apply_decisions(
    calls: Sequence[ToolCall], resume: Any
) -> tuple[list[ToolCall], list[ToolCall], list[ToolMessage]]:
    """Apply a reviewer's answer to the pending calls.

    Args:
        calls: The calls under review, in order.
        resume: The resume value: `{"decisions": [...]}`, one decision per call.

    Returns:
        Every call as it now stands (edited ones with their new arguments), the calls
        to run, and the `ToolMessage`s that answer the rejected ones.

    Raises:
        InvalidDecision: The answer is not one valid decision per call.
    """
    decisions = resume.get("decisions") if isinstance(resume, Mapping) else None
    if not isinstance(decisions, list):
        raise InvalidDecision('the answer must be {"decisions": [...]}, one decision per call')
    if len(decisions) != len(calls):
        raise InvalidDecision(
            f"{len(calls)} tool call(s) wait for review, but {len(decisions)} decision(s) came"
        )
    revised: list[ToolCall] = []
    to_run: list[ToolCall] = []
    rejected: list[ToolMessage] = []
    for number, (call, decision) in enumerate(zip(calls, decisions, strict=True), start=1):
        kind = decision.get("type") if isinstance(decision, Mapping) else None
        where = f"decision {number} ({call['name']})"
        if kind == "approve":
            revised.append(call)
            to_run.append(call)
        elif kind == "edit":
            edited = _edited_call(call, decision.get("edited_action"), where)
            revised.append(edited)
            to_run.append(edited)
        elif kind == "reject":
            message = decision.get("message")
            if message is not None and not isinstance(message, str):
                raise InvalidDecision(f"{where}: a reject's message must be a string")
            revised.append(call)
            rejected.append(
                ToolMessage(
                    content=message or rejection_text(call),
                    name=call["name"],
                    tool_call_id=call["id"],
                    status="error",
                )
            )
        else:
            raise InvalidDecision(
                f"{where}: the type must be one of {', '.join(DECISION_TYPES)}, got {kind!r}"
            )
    return revised, to_run, rejected


def _edited_call(call: ToolCall, action: Any, where: str) -> ToolCall:
    """Return `call` with the edited action's arguments, checked by the tool's schema."""
    args = action.get("args") if isinstance(action, Mapping) else None
    if not isinstance(args, dict):
        raise InvalidDecision(f'{where}: an edit needs "edited_action": {{"args": {{...}}}}')
    name = action.get("name") or call["name"]
    tool = _TOOLS.get(name)
    if tool is None:
        raise InvalidDecision(f"{where}: there is no tool {name!r}")
    try:
        cast(type[BaseModel], tool.get_input_schema()).model_validate(args)
    except ValidationError as error:
        problem = error.errors()[0]
        field = ".".join(str(part) for part in problem["loc"]) or "args"
        raise InvalidDecision(f"{where}: {field}: {problem['msg']}") from None
    return ToolCall(name=name, args=args, id=call["id"], type="tool_call")


def review_tools(state: State, config: RunnableConfig) -> Command[Any]:
    """Ask a person to approve, edit or reject the pending tool calls, then act on it."""
    calls = pending_calls(state)
    error: str | None = None
    while True:
        # Each `interrupt()` of a node gets its own resume value, in order: a refused
        # answer is followed by a fresh question, and the node re-runs to here.
        answer = interrupt(review_request(calls, error))
        if isinstance(answer, Mapping) and "messages" in answer and "decisions" not in answer:
            sent = answer["messages"]
            new = list(sent) if isinstance(sent, list) else [sent]
            dropped = memory.dropped_results(calls)
            return Command(update={"messages": [*dropped, *new]}, goto="assistant")
        try:
            revised, to_run, rejected = apply_decisions(calls, answer)
            break
        except InvalidDecision as problem:
            error = str(problem)
    last = state["messages"][-1]
    assert isinstance(last, AIMessage)  # `pending_calls` found calls on it
    messages: list[Any] = rejected
    if revised != calls:
        # The edited message replaces the model's under a new id: streams report a
        # message whose id they have seen as nothing new, so the calls that ran would
        # not be shown, or be shown after their results.
        edited = _with_calls(last, revised).model_copy(update={"id": f"{last.id}-edited"})
        messages = [RemoveMessage(id=str(last.id)), edited, *rejected]
    goto: list[Send] | str = [
        Send(TOOLS_NODE, {"__type": "tool_call_with_context", "tool_call": call, "state": state})
        for call in to_run
    ] or "assistant"
    return Command(update={"messages": messages}, goto=goto)


def _with_calls(message: AIMessage, calls: list[ToolCall]) -> AIMessage:
    """Return `message` calling `calls`, in its content blocks too (v3 runs keep them)."""
    by_id = {call["id"]: call for call in calls}
    content = message.content
    if isinstance(content, list):
        content = [
            {**block, "name": by_id[block["id"]]["name"], "args": by_id[block["id"]]["args"]}
            if isinstance(block, dict)
            and block.get("type") == "tool_call"
            and block.get("id") in by_id
            else block
            for block in content
        ]
    return message.model_copy(update={"tool_calls": calls, "content": content})


async def areview_tools(state: State, config: RunnableConfig) -> Command[Any]:
    """Ask for a review; the async twin of `review_tools` (it does no I/O)."""
    return review_tools(state, config)


node = RunnableLambda(review_tools, afunc=areview_tools, name=REVIEW_NODE)
"""The review node; add it with `destinations=(TOOLS_NODE, "assistant")`."""
