"""The conversation window: when the graphs summarize (N) and what they keep (K).

`ConversationWindow` is the tutorial's `ConversationManager`, built on the graphs' own
code rather than a copy of it: the settings are an `agent.context.Context` (so the same
validation applies) and the decisions are `agent.memory`'s (so they are tool-call safe).
Pass `run_context()` as a run's `context` and the graph summarizes by the same window.
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
    """Summarize once a finished turn leaves more than N messages; keep the last K."""

    context: Context = field(default_factory=Context)

    @classmethod
    def of(cls, summarize_after: int | None = None, keep_last: int | None = None) -> Self:
        """Return a window with these settings; the graphs' defaults for those not given.

        Raises:
            ValueError: The settings are impossible (`Context` explains which).
        """
        settings: dict[str, Any] = {"summarize_after": summarize_after, "keep_last": keep_last}
        return cls(Context(**{k: v for k, v in settings.items() if v is not None}))

    @property
    def summarize_after(self) -> int:
        """Return N."""
        return self.context.summarize_after

    @property
    def keep_last(self) -> int:
        """Return K."""
        return self.context.keep_last

    def should_summarize(self, messages: Sequence[BaseMessage]) -> bool:
        """Return True when the graphs would summarize these messages now."""
        return memory.needs_summary(messages, self.summarize_after)

    def kept(self, messages: Sequence[BaseMessage]) -> list[BaseMessage]:
        """Return the messages a summarization keeps (a tool call stays with its results)."""
        return list(messages[memory.keep_from(messages, self.keep_last) :])

    def to_remove(self, messages: Sequence[BaseMessage]) -> list[RemoveMessage]:
        """Return the `RemoveMessage`s a summarization writes."""
        return memory.messages_to_remove(messages, self.keep_last)

    def run_context(self) -> dict[str, int]:
        """Return the run context that makes a graph use this window."""
        return {"summarize_after": self.summarize_after, "keep_last": self.keep_last}
