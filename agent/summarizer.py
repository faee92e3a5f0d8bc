"""The graph side of memory: the route to the summarizer, and the summarizer node.

`Memory(default_prompt)` gives one graph its router and node, both with a sync and an
async body (token counting may read tiktoken's cache from disk, so the async bodies
count in a worker thread). The node reports its progress as custom stream events,
one `{"summarization": {...}}` object each (`stream_mode="custom"`):

- `{"status": "started", "trigger": "messages" | "tokens", "messages": <count>}`;
- `{"status": "done", "removed": <messages removed>, "kept": <messages kept>}`;
- `{"status": "failed", "error": "<type>: <message>"}` when the model call fails; then
  nothing is removed and the next finished turn tries again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import BaseMessage, RemoveMessage
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda
from langgraph.config import get_stream_writer
from langgraph.graph import END

from agent import memory, tokens, user
from agent.context import Context
from agent.memory import SUMMARIZE_NODE, Trigger
from agent.models import aload_chat_model, load_chat_model
from agent.nodes import NodeResult, dual_node
from agent.state import State

logger = logging.getLogger(__name__)

SUMMARY_FAILED = "summarization failed; keeping every message and the old summary"
PROGRESS_KEY = "summarization"
"""The key of every custom event the summarizer writes."""

SummaryRoute = Literal["summarize_conversation", "__end__"]
_NOT_DUE: SummaryRoute = "__end__"  # `END`, as a literal the return type can name
SUMMARY_ROUTES: list[str] = [SUMMARIZE_NODE, END]
"""Where `Memory.router` can go; passed as the path map so the drawing shows both edges."""


def _progress(**fields: Any) -> None:
    get_stream_writer()({PROGRESS_KEY: fields})


def _summarizer(model: BaseChatModel) -> Runnable[LanguageModelInput, BaseMessage]:
    # `nostream` keeps the summary's tokens out of `messages` streams: clients would
    # otherwise render it as an assistant reply.
    return model.with_config(tags=["nostream"])


@dataclass(frozen=True)
class Memory:
    """One graph's summarizing memory: when to summarize, and the summarizer node."""

    default_prompt: str = field(
        metadata={"description": "The graph's system prompt when the context sets none."}
    )

    def system_prompt(self, context: Context, config: RunnableConfig | None) -> str:
        """Return the system prompt: the context's or the default, naming the signed-in user."""
        return user.with_signed_in_user(context.prompt_for(self.default_prompt), config)

    def prompt(
        self, state: State, context: Context, config: RunnableConfig | None = None
    ) -> list[BaseMessage]:
        """Return the model input: system prompt, summary, messages."""
        system_prompt = self.system_prompt(context, config)
        return memory.with_summary(state["messages"], state.get("summary", ""), system_prompt)

    def _trigger(
        self, state: State, context: Context, model: Any, config: RunnableConfig | None
    ) -> Trigger | None:
        prompt = self.prompt(state, context, config)
        return memory.summary_trigger(
            state["messages"], context, lambda: tokens.count_tokens(model, context.model, prompt)
        )

    def route(self, state: State, config: RunnableConfig) -> SummaryRoute:
        """Route to the summarizer when the finished turn made a summary due."""
        context = memory.context_of()
        model = load_chat_model(context.model) if context.max_prompt_tokens else None
        return (
            "summarize_conversation" if self._trigger(state, context, model, config) else _NOT_DUE
        )

    async def aroute(self, state: State, config: RunnableConfig) -> SummaryRoute:
        """Route to the summarizer; the async twin of `route`."""
        context = memory.context_of()
        if not context.max_prompt_tokens:
            return (
                "summarize_conversation"
                if self._trigger(state, context, None, config)
                else _NOT_DUE
            )
        model = await aload_chat_model(context.model)
        trigger = await asyncio.to_thread(self._trigger, state, context, model, config)
        return "summarize_conversation" if trigger else _NOT_DUE

    @property
    def router(self) -> RunnableLambda[State, SummaryRoute]:
        """The conditional edge's path; pair it with `SUMMARY_ROUTES`."""
        return RunnableLambda(self.route, afunc=self.aroute, name="route_to_summary")

    def _cut(
        self,
        state: State,
        context: Context,
        model: Any,
        trigger: Trigger,
        summary: str,
        config: RunnableConfig | None,
    ) -> int:
        """Return where the kept tail starts, given what triggered and the new summary."""
        messages = state["messages"]
        if not context.max_prompt_tokens:
            return memory.cut_index(messages, context, trigger)
        sizes = tokens.message_sizes(model, context.model, messages)
        system_prompt = self.system_prompt(context, config)
        head = tokens.count_tokens(
            model, context.model, memory.with_summary([], summary, system_prompt)
        )
        return memory.cut_index(messages, context, trigger, sizes, head)

    def summarize(self, state: State, config: RunnableConfig) -> NodeResult:
        """Fold old messages into the summary and remove them, keeping the latest ones.

        If the model call fails nothing is removed and the summary stays as it was, so
        the conversation goes on and the next finished turn tries again.
        """
        context = memory.context_of()
        request = memory.summary_request(state["messages"], state.get("summary", ""))
        try:
            model = load_chat_model(context.model)
            trigger = _started(state, self._trigger(state, context, model, config))
            response = _summarizer(model).invoke(request, config)
        except Exception as error:
            return _failed(error)
        start = self._cut(state, context, model, trigger, response.text, config)
        return _done(state, response.text, start)

    async def asummarize(self, state: State, config: RunnableConfig) -> NodeResult:
        """Fold old messages into the summary; the async twin of `summarize`."""
        context = memory.context_of()
        request = memory.summary_request(state["messages"], state.get("summary", ""))
        # Counting runs in a worker thread; the progress events are written from the
        # event loop, where the stream's queue lives.
        counts = bool(context.max_prompt_tokens)
        try:
            model = await aload_chat_model(context.model)
            due = (
                await asyncio.to_thread(self._trigger, state, context, model, config)
                if counts
                else self._trigger(state, context, model, config)
            )
            trigger = _started(state, due)
            response = await _summarizer(model).ainvoke(request, config)
        except Exception as error:
            return _failed(error)
        summary = response.text
        if counts:
            start = await asyncio.to_thread(
                self._cut, state, context, model, trigger, summary, config
            )
        else:
            start = self._cut(state, context, model, trigger, summary, config)
        return _done(state, summary, start)

    @property
    def node(self) -> RunnableLambda[State, NodeResult]:
        """The summarizer node, named `SUMMARIZE_NODE`."""
        return dual_node(SUMMARIZE_NODE, self.summarize, self.asummarize)


def _started(state: State, due: Trigger | None) -> Trigger:
    # Called outside the router (a direct node call), nothing may be due: count it as N's.
    trigger: Trigger = due or "messages"
    _progress(status="started", trigger=trigger, messages=len(state["messages"]))
    return trigger


def _done(state: State, summary: str, start: int) -> NodeResult:
    messages = state["messages"]
    removed = [RemoveMessage(id=m.id) for m in messages[:start] if m.id]
    _progress(status="done", removed=len(removed), kept=len(messages) - start)
    return {"summary": summary, "messages": removed}


def _failed(error: Exception) -> NodeResult:
    logger.warning(SUMMARY_FAILED, exc_info=True)
    _progress(status="failed", error=f"{type(error).__name__}: {error}")
    return {}
