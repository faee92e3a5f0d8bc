"""Run-time configuration for both graphs, shown as a form in LangGraph Studio.

The bounds are declared once, as `annotated_types` metadata on each field: pydantic
publishes them in the context JSON schema (`minimum`, `pattern`, and
`additionalProperties: false`), which Studio's form and `lgchat` check before a run, and
`Context.__post_init__` enforces the same bounds inside the graph, so a caller that skips
those checks gets one clear run error naming the field.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Annotated, Any, ClassVar, get_args, get_type_hints

from annotated_types import Ge
from pydantic import ConfigDict, StringConstraints

from agent import prompts

MODEL_PATTERN = r"^(offline|openai:.+)?$"
"""Empty (the default model), `offline`, or `openai:<model-name>`."""

_PATTERN_MEANINGS = {MODEL_PATTERN: "'offline' or 'openai:<model-name>'"}

BUDGET_KEEP_SHARE = 0.75
"""Share of `max_prompt_tokens` a token-triggered summary may keep (see `keep_from_budget`).

The prompt then swings between about 3/4 of the budget and the budget, a max/min of 4/3,
and the summary runs once the conversation has grown by a quarter of the budget.
"""


def default_model(env: Mapping[str, str] | None = None) -> str:
    """Return the model spec used when none is configured.

    `MODEL` wins when set; otherwise OpenAI's `gpt-4o` when an API key is present,
    else the embedded offline model so that everything runs with no network.

    Args:
        env: The environment to read; the process's by default (launchers pass the
            environment a server will see).
    """
    env = os.environ if env is None else env
    if spec := env.get("MODEL"):
        return spec
    return "openai:gpt-4o" if env.get("OPENAI_API_KEY") else "offline"


@dataclass(kw_only=True)
class Context:
    """Settings a caller may pass per run (`context=` in the SDK, or the Studio form)."""

    # Publishes `additionalProperties: false`: the server drops unknown keys silently,
    # so clients can only warn about them if the schema says they are not allowed.
    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    model: Annotated[str, StringConstraints(pattern=MODEL_PATTERN)] = field(
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
    summarize_after: Annotated[int, Ge(1)] = field(
        default=6,
        metadata={
            "description": "N: summarize once a finished turn leaves more than this many "
            "messages in the thread."
        },
    )
    keep_last: Annotated[int, Ge(0)] = field(
        default=2,
        metadata={
            "description": "K: how many of the latest messages a summary triggered by N keeps; "
            "at most summarize_after. The cut moves earlier when needed so a tool call is never "
            "split from its results."
        },
    )
    max_prompt_tokens: Annotated[int, Ge(0)] = field(
        default=0,
        metadata={
            "description": "T: also summarize once a finished turn leaves a prompt (system "
            "prompt, summary and messages, counted with the model's own tokenizer) of more than "
            "this many tokens; the summary then keeps the newest messages that fit in 3/4 of T. "
            "0 turns the budget off."
        },
    )

    def __post_init__(self) -> None:
        """Reject values outside the published schema, then fill an empty model."""
        hints = _field_hints(type(self))
        for name, value in ((f.name, getattr(self, f.name)) for f in fields(self)):
            check_field(name, value, hints[name])
        if self.keep_last > self.summarize_after:
            raise ValueError(
                f"keep_last must be at most summarize_after ({self.summarize_after}), "
                f"got {self.keep_last}"
            )
        if not self.model:
            self.model = default_model()

    def prompt_for(self, default: str = prompts.SYSTEM_PROMPT) -> str:
        """Return the configured system prompt, or `default` when none is set."""
        return self.system_prompt or default


@dataclass(kw_only=True)
class AgentContext(Context):
    """The `agent` graph's settings: the shared ones, and the review of tool calls."""

    approve_tools: bool = field(
        default=False,
        metadata={
            "description": "Ask a person to approve, edit or reject each tool call before "
            "it runs: the run stops with an interrupt until it is resumed with one "
            "decision per call."
        },
    )


_HINTS: dict[type[Context], dict[str, Any]] = {}


def _field_hints(cls: type[Context]) -> dict[str, Any]:
    # Kept per class: resolving the annotations takes ~80 µs, and every run makes a context.
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls, include_extras=True)
    return _HINTS[cls]


def check_field(name: str, value: Any, hint: Any) -> None:
    """Raise `ValueError` naming `name` unless `value` fits its type and bounds.

    Args:
        name: A context field.
        value: The value a caller passed for it.
        hint: The field's annotation, with its bounds (`Annotated` metadata).
    """
    kind, *constraints = get_args(hint) or (hint,)
    # `bool` is an `int` to Python, but `true` is no integer to JSON schema.
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if kind is bool and not isinstance(value, bool):
        raise ValueError(f"{name} must be a boolean, got {value!r}")
    if kind is str and not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {value!r}")
    for constraint in constraints:
        if isinstance(constraint, Ge) and value < constraint.ge:
            raise ValueError(f"{name} must be at least {constraint.ge}, got {value!r}")
        pattern = getattr(constraint, "pattern", None)
        if isinstance(pattern, str) and not re.fullmatch(pattern, value):
            meaning = _PATTERN_MEANINGS.get(pattern, f"match {pattern}")
            raise ValueError(f"{name} must be {meaning}, got {value!r}")
