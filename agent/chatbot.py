"""The `chatbot` graph: a memory chatbot that summarizes long conversations.

START -> conversation -> (more than N messages or T tokens?) -> summarize_conversation -> END
"""

from __future__ import annotations

import logging

from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from agent import memory, prompts
from agent.context import Context, default_model
from agent.models import aload_chat_model, load_chat_model
from agent.nodes import NodeResult, dual_node
from agent.state import InputState, State
from agent.summarizer import SUMMARY_ROUTES, Memory

logger = logging.getLogger(__name__)


MEMORY = Memory(prompts.SYSTEM_PROMPT)


def _model_input(state: State, context: Context, config: RunnableConfig) -> list[BaseMessage]:
    return MEMORY.prompt(state, context, config)


def conversation(state: State, config: RunnableConfig) -> NodeResult:
    """Answer the latest message, with the summary of earlier turns as a system message."""
    context = memory.context_of()
    model = load_chat_model(context.model)
    # Passing `config` on keeps token streaming correct for callers on any runtime.
    return {"messages": [model.invoke(_model_input(state, context, config), config)]}


async def aconversation(state: State, config: RunnableConfig) -> NodeResult:
    """Answer the latest message; the async twin of `conversation`."""
    context = memory.context_of()
    model = await aload_chat_model(context.model)
    return {"messages": [await model.ainvoke(_model_input(state, context, config), config)]}


builder = StateGraph(State, input_schema=InputState, context_schema=Context)
builder.add_node("conversation", dual_node("conversation", conversation, aconversation))
builder.add_node(memory.SUMMARIZE_NODE, MEMORY.node)
builder.add_edge(START, "conversation")
# The path map names the router's targets: without it Studio draws no edge to them.
builder.add_conditional_edges("conversation", MEMORY.router, SUMMARY_ROUTES)
builder.add_edge(memory.SUMMARIZE_NODE, END)

graph = builder.compile(name="chatbot")
"""Served graph; the server adds its own checkpointer."""

logger.info("chatbot graph loaded; default model: %s", default_model())
