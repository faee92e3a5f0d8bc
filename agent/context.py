"""Run-time configuration for both graphs, shown as a form in LangGraph Studio."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields

from agent import prompts


def default_model() -> str:
    """Return the model spec used when none is configured.

    `MODEL` wins when set; otherwise OpenAI's `gpt-4o` when an API key is present,
    else the embedded offline model so that everything runs with no network.
    """
    if spec := os.environ.get("MODEL"):
        return spec
    return "openai:gpt-4o" if os.environ.get("OPENAI_API_KEY") else "offline"


@dataclass(kw_only=True)
class Context:
    """Settings a caller may pass per run (`context=` in the SDK, or the Studio form)."""

    model: str = field(
        default="",
        metadata={
            "description": "Chat model as 'openai:<model-name>' or 'offline'. Empty means "
            "$MODEL, else 'openai:gpt-4o' with OPENAI_API_KEY set, else 'offline'."
        },
    )
    system_prompt: str = field(
        default="",
        metadata={
            "description": "System prompt for the assistant. Empty means the graph's own default."
        },
    )
    summarize_after: int = field(
        default=6,
        metadata={
            "description": "Summarize the conversation once the thread holds more than this "
            "many messages (checked at the end of each turn)."
        },
    )
    keep_last: int = field(
        default=2,
        metadata={
            "description": "How many of the latest messages survive a summarization. The cut "
            "moves earlier when needed so a tool call is never split from its results."
        },
    )

    def __post_init__(self) -> None:
        """Fill empty fields from the environment and reject impossible windows."""
        if not self.model:
            self.model = default_model()
        if self.summarize_after < 1:
            raise ValueError(f"summarize_after must be at least 1, got {self.summarize_after}")
        if not 0 <= self.keep_last <= self.summarize_after:
            raise ValueError(
                f"keep_last must be between 0 and summarize_after ({self.summarize_after}), "
                f"got {self.keep_last}"
            )

    def prompt_for(self, default: str = prompts.SYSTEM_PROMPT) -> str:
        """Return the configured system prompt, or `default` when none is set."""
        return self.system_prompt or default


FIELD_NAMES = frozenset(f.name for f in fields(Context))
