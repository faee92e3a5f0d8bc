"""The `agent` graph: a tool-calling arithmetic assistant with summarizing memory.

START -> assistant -> (tool calls?) -> tools -> assistant ...
      -> (more than N messages or T tokens?) -> summarize_conversation -> END
"""

from __future__ import annotations

import logging
from typing import Literal

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda
from langgraph.graph import END, START, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from agent import memory, prompts
from agent.context import Context, default_model
from agent.models import aload_chat_model, load_chat_model
from agent.nodes import NodeResult, dual_node
from agent.state import InputState, State
from agent.summarizer import SUMMARY_ROUTES, Memory
from agent.tools import TOOLS, tool_error_message

logger = logging.getLogger(__name__)


def _with_tools(model: BaseChatModel) -> Runnable[LanguageModelInput, BaseMessage]:
    return model.bind_tools(TOOLS)


MEMORY = Memory(prompts.AGENT_SYSTEM_PROMPT)
AssistantRoute = Literal["tools", "summarize_conversation", "__end__"]


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


def route_assistant(state: State, config: RunnableConfig) -> AssistantRoute:
    """Run the requested tools, else summarize if the finished turn made one due."""
    if tools_condition(dict(state)) == "tools":
        return "tools"
    return MEMORY.route(state, config)


async def aroute_assistant(state: State, config: RunnableConfig) -> AssistantRoute:
    """Run the requested tools, else summarize; the async twin of `route_assistant`."""
    if tools_condition(dict(state)) == "tools":
        return "tools"
    return await MEMORY.aroute(state, config)


builder = StateGraph(State, input_schema=InputState, context_schema=Context)
builder.add_node("assistant", dual_node("assistant", assistant, aassistant))
builder.add_node("tools", ToolNode(TOOLS, handle_tool_errors=tool_error_message))
builder.add_node(memory.SUMMARIZE_NODE, MEMORY.node)
builder.add_edge(START, "assistant")
builder.add_conditional_edges(
    "assistant",
    RunnableLambda(route_assistant, afunc=aroute_assistant, name="route_assistant"),
    ["tools", *SUMMARY_ROUTES],
)
builder.add_edge("tools", "assistant")
builder.add_edge(memory.SUMMARIZE_NODE, END)

graph = builder.compile(name="agent")
"""Served graph; the server adds its own checkpointer."""

logger.info("agent graph loaded; default model: %s", default_model())
