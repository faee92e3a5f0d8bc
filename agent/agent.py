"""The `agent` graph: a tool-calling arithmetic assistant with summarizing memory.

START -> assistant -> (tool calls?) -> tools -> assistant ...
      -> (more than N messages or T tokens?) -> summarize_conversation -> END

With `approve_tools` on, tool calls go to `review_tools` first, which interrupts the run
until a person approves, edits or rejects each call (`agent.approval`).
"""

from __future__ import annotations

import logging
from typing import Literal

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda
from langgraph.graph import END, START, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from agent import approval, memory, prompts
from agent.context import AgentContext, Context, default_model
from agent.models import aload_chat_model, load_chat_model
from agent.nodes import NodeResult, dual_node
from agent.state import InputState, State
from agent.summarizer import SUMMARY_ROUTES, Memory
from agent.tools import TOOLS, tool_error_message

logger = logging.getLogger(__name__)


def _with_tools(model: BaseChatModel) -> Runnable[LanguageModelInput, BaseMessage]:
    return model.bind_tools(TOOLS)


MEMORY = Memory(prompts.AGENT_SYSTEM_PROMPT)
AssistantRoute = Literal["tools", "review_tools", "summarize_conversation", "__end__"]


def _model_input(state: State, context: Context, config: RunnableConfig) -> list[BaseMessage]:
    return MEMORY.prompt(state, context, config)


def assistant(state: State, config: RunnableConfig) -> NodeResult:
    """Answer or call tools, with the summary of earlier turns as a system message."""
    context = memory.context_of()
    model = _with_tools(load_chat_model(context.model))
    # Passing `config` on keeps token streaming correct for callers on any runtime.
    return {"messages": [model.invoke(_model_input(state, context, config), config)]}


async def aassistant(state: State, config: RunnableConfig) -> NodeResult:
    """Answer or call tools; the async twin of `assistant`."""
    context = memory.context_of()
    model = _with_tools(await aload_chat_model(context.model))
    return {"messages": [await model.ainvoke(_model_input(state, context, config), config)]}


def _tools_route(state: State) -> AssistantRoute | None:
    """Return where requested tool calls go (review first, if asked), or None."""
    if tools_condition(dict(state)) != "tools":
        return None
    context = memory.context_of()
    return "review_tools" if getattr(context, "approve_tools", False) else "tools"


def route_assistant(state: State, config: RunnableConfig) -> AssistantRoute:
    """Run (or review) the requested tools, else summarize if the turn made one due."""
    return _tools_route(state) or MEMORY.route(state, config)


async def aroute_assistant(state: State, config: RunnableConfig) -> AssistantRoute:
    """Run (or review) the requested tools, else summarize; the async twin."""
    return _tools_route(state) or await MEMORY.aroute(state, config)


builder = StateGraph(State, input_schema=InputState, context_schema=AgentContext)
builder.add_node("assistant", dual_node("assistant", assistant, aassistant))
builder.add_node("tools", ToolNode(TOOLS, handle_tool_errors=tool_error_message))
builder.add_node(
    approval.REVIEW_NODE, approval.node, destinations=(approval.TOOLS_NODE, "assistant")
)
builder.add_node(memory.SUMMARIZE_NODE, MEMORY.node)
builder.add_edge(START, "assistant")
builder.add_conditional_edges(
    "assistant",
    RunnableLambda(route_assistant, afunc=aroute_assistant, name="route_assistant"),
    ["tools", approval.REVIEW_NODE, *SUMMARY_ROUTES],
)
builder.add_edge("tools", "assistant")
builder.add_edge(memory.SUMMARIZE_NODE, END)

graph = builder.compile(name="agent")
"""Served graph; the server adds its own checkpointer."""

logger.info("agent graph loaded; default model: %s", default_model())
