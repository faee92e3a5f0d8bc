"""The conversation window: when the graphs summarize (N, T) and what they keep (K).

`ConversationWindow` is the tutorial's `ConversationManager`, built on the graphs' own
code rather than a copy of it: the settings are an `agent.context.Context` (so the same
validation applies) and the decisions are `agent.memory`'s (so they are tool-call safe).
Pass `run_context()` as a run's `context` and the graph summarizes by the same window.

The token budget T (`max_prompt_tokens`) is part of the window too, but a window has
no model: the graphs count the whole next prompt (system prompt, summary, messages)
with the model's own counter, so `should_summarize` takes that count from the caller
(`agent.tokens.count_tokens` gives it) and `kept` applies N's cut only; the budget's
cut needs every message's size, which only the summarizer node has.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Self

from langchain_core.messages import BaseMessage, RemoveMessage

from agent import memory
from agent.context import Context


@dataclass(frozen=True)
class ConversationWindow:
    """Summarize after a turn that leaves over N messages (or over T tokens); keep K."""

    context: Context = field(default_factory=Context)

    @classmethod
    def of(
        cls,
        summarize_after: int | None = None,
        keep_last: int | None = None,
        max_prompt_tokens: int | None = None,
    ) -> Self:
        """Return a window with these settings; the graphs' defaults for those not given.

        Raises:
            ValueError: The settings are impossible (`Context` explains which).
        """
        settings: dict[str, Any] = {
            "summarize_after": summarize_after,
            "keep_last": keep_last,
            "max_prompt_tokens": max_prompt_tokens,
        }
        return cls(Context(**{k: v for k, v in settings.items() if v is not None}))

    @property
    def summarize_after(self) -> int:
        """Return N."""
        return self.context.summarize_after

    @property
    def keep_last(self) -> int:
        """Return K."""
        return self.context.keep_last

    @property
    def max_prompt_tokens(self) -> int:
        """Return T (0: no token budget)."""
        return self.context.max_prompt_tokens

    def should_summarize(
        self, messages: Sequence[BaseMessage], prompt_tokens: int | None = None
    ) -> bool:
        """Return True when the graphs would summarize these messages now.

        Args:
            messages: The thread's messages.
            prompt_tokens: The next prompt's tokens, as the model counts them; the
                budget T is checked only when it is given.
        """
        if prompt_tokens is None:
            return memory.needs_summary(messages, self.summarize_after)
        due = memory.summary_trigger(messages, self.context, lambda: prompt_tokens)
        return due is not None

    def kept(self, messages: Sequence[BaseMessage]) -> list[BaseMessage]:
        """Return the messages a summarization keeps (a tool call stays with its results)."""
        return list(messages[memory.keep_from(messages, self.keep_last) :])

    def to_remove(self, messages: Sequence[BaseMessage]) -> list[RemoveMessage]:
        """Return the `RemoveMessage`s a summarization writes."""
        return memory.messages_to_remove(messages, self.keep_last)

    def run_context(self) -> dict[str, int]:
        """Return the run context that makes a graph use this window."""
        context = {"summarize_after": self.summarize_after, "keep_last": self.keep_last}
        if self.max_prompt_tokens:
            context["max_prompt_tokens"] = self.max_prompt_tokens
        return context
