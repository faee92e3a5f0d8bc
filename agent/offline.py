"""An embedded, deterministic chat model so the project runs with no key and no network.

`OfflineChatModel` is a real `BaseChatModel`: it streams word by word, streams tool
calls as JSON fragments (so clients see arguments grow `{}` -> `{'a': 2}` ->
`{'a': 2, 'b': 3}`), reports `finish_reason` and usage, and follows a small rule set:

- with tools bound, an arithmetic request ("Multiply 2 and 3", "7 * 8") becomes a tool
  call ("2 + 3 and 4 * 5" two parallel calls), and after the tool results it states
  the answer;
- it greets a user who introduces themself and can later tell them their name, from
  the messages or from the conversation summary;
- it answers the summarization prompt with a short summary that keeps those facts;
- "count to N" produces a reply of N words, for demos of long streams.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.chat_models import agenerate_from_stream, generate_from_stream
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolCall,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from agent import prompts

MODEL_NAME = "offline"
DELAY_ENV = "OFFLINE_MODEL_DELAY"
DEFAULT_DELAY = 0.02
MAX_COUNT = 5000

_NUMBER = r"-?\d+(?:\.\d+)?"
_SYMBOLIC = re.compile(rf"({_NUMBER})\s*([+*x\u00d7/\u00f7])\s*({_NUMBER})")
_OPERATION_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("divide", re.compile(r"\bdivid|\bover\b|\bquotient\b", re.I)),
    ("multiply", re.compile(r"\bmultipl|\btimes\b|\bproduct\b", re.I)),
    ("add", re.compile(r"\badd|\bplus\b|\bsum\b", re.I)),
)
_SYMBOL_OPERATIONS = {"+": "add", "*": "multiply", "x": "multiply", "\u00d7": "multiply"}
_SYMBOL_OPERATIONS |= {"/": "divide", "\u00f7": "divide"}
_GERUNDS = {"add": "adding", "multiply": "multiplying", "divide": "dividing"}
_INTRODUCTION = re.compile(r"\b(?:i'm|i am|my name is|call me)\s+([a-z][\w-]*)", re.I)
_NAME_QUESTION = re.compile(r"\b(?:what(?:'s| is) my name|who am i)\b", re.I)
_GREETING = re.compile(r"^\s*(?:hi|hello|hey)\b", re.I)
_COUNT = re.compile(r"\bcount to (\d+)\b", re.I)
_SUMMARY_NAME = re.compile(r"The user's name is ([\w-]+)\.")
_SIGNED_IN_NAME = re.compile(
    re.escape(prompts.SIGNED_IN_USER).replace(re.escape("{name}"), r"(.+?)") + "$"
)
_SUMMARY_TOPICS = re.compile(r"Recent requests: (.*)\.$")
_NOT_NAMES = frozenset({"a", "an", "the", "not", "here", "back", "fine", "good", "so", "just"})
_TOPICS_KEPT = 3


@dataclass(frozen=True)
class PlannedToolCall:
    """A tool call the offline model decided to make."""

    name: str
    args: dict[str, float]
    id: str


@dataclass(frozen=True)
class Plan:
    """What the offline model will say: text and/or tool calls."""

    text: str = ""
    tool_calls: tuple[PlannedToolCall, ...] = field(default_factory=tuple)

    @property
    def finish_reason(self) -> str:
        """Return OpenAI's finish reason for this reply."""
        return "tool_calls" if self.tool_calls else "stop"


def _number(token: str) -> float:
    value = float(token)
    return int(value) if value.is_integer() else value


def _format(value: Any) -> str:
    return str(_number(str(value))) if isinstance(value, int | float) else str(value)


def parse_arithmetic(text: str) -> tuple[str, dict[str, float]] | None:
    """Return `(tool name, args)` for an arithmetic request, or None.

    Args:
        text: The user's message, e.g. "Multiply 2 and 3" or "what is 10 divided by 2".
    """
    if match := _SYMBOLIC.search(text):
        left, symbol, right = match.groups()
        return _SYMBOL_OPERATIONS[symbol], {"a": _number(left), "b": _number(right)}
    numbers = re.findall(_NUMBER, text)
    if len(numbers) < 2:
        return None
    for name, pattern in _OPERATION_WORDS:
        if pattern.search(text):
            return name, {"a": _number(numbers[0]), "b": _number(numbers[1])}
    return None


def parse_calculations(text: str) -> list[tuple[str, dict[str, float]]]:
    """Return every calculation a request asks for: one per symbolic expression.

    "2 + 3 and 4 * 5" asks for two, which become two parallel tool calls; any other
    arithmetic request asks for at most one (`parse_arithmetic`).
    """
    found = [
        (_SYMBOL_OPERATIONS[symbol], {"a": _number(left), "b": _number(right)})
        for left, symbol, right in _SYMBOLIC.findall(text)
    ]
    if len(found) > 1:
        return found
    single = parse_arithmetic(text)
    return [single] if single else []


def _apply(name: str, args: dict[str, float]) -> str:
    a, b = args["a"], args["b"]
    if name == "add":
        return _format(a + b)
    if name == "multiply":
        return _format(a * b)
    return f"undefined (cannot divide {_format(a)} by zero)" if b == 0 else _format(a / b)


def _describe(name: str, args: dict[str, Any]) -> str:
    a, b = _format(args.get("a")), _format(args.get("b"))
    joiner = "by" if name == "divide" else "and"
    return f"{_GERUNDS.get(name, name)} {a} {joiner} {b}"


def _call_id(messages: Sequence[BaseMessage], name: str, args: dict[str, float]) -> str:
    # Deterministic ids keep replays and recorded transcripts stable across runs.
    seed = json.dumps([len(messages), messages[-1].text, name, args], sort_keys=True)
    return "call_" + hashlib.sha256(seed.encode()).hexdigest()[:24]


def _introduced_name(text: str) -> str | None:
    match = _INTRODUCTION.search(text)
    if match and match.group(1).lower() not in _NOT_NAMES:
        return match.group(1).capitalize()
    return None


def _known_name(messages: Sequence[BaseMessage]) -> str | None:
    for message in reversed(messages):
        if isinstance(message, HumanMessage) and (name := _introduced_name(message.text)):
            return name
        if isinstance(message, SystemMessage) and (match := _SUMMARY_NAME.search(message.text)):
            return match.group(1)
    return None


def _signed_in_name(messages: Sequence[BaseMessage]) -> str | None:
    for message in messages:
        if isinstance(message, SystemMessage) and (match := _SIGNED_IN_NAME.search(message.text)):
            return match.group(1)
    return None


def _summarize(messages: Sequence[BaseMessage], previous: str) -> str:
    """Write a bounded summary that keeps the user's name and their latest requests."""
    name = _known_name(messages)
    if name is None and (match := _SUMMARY_NAME.search(previous)):
        name = match.group(1)
    topics: list[str] = []
    if match := _SUMMARY_TOPICS.search(previous):
        topics = match.group(1).split("; ")
    requests = [m.text.strip() for m in messages[:-1] if isinstance(m, HumanMessage)]
    topics += [" ".join(request.split()[:8]) for request in requests if request]
    parts = [f"The user's name is {name}."] if name else []
    if topics:
        parts.append(f"Recent requests: {'; '.join(topics[-_TOPICS_KEPT:])}.")
    return " ".join(parts) or "The user and the assistant exchanged greetings."


def _answer_tool_results(messages: Sequence[BaseMessage]) -> str:
    results: list[ToolMessage] = []
    for message in reversed(messages):
        if not isinstance(message, ToolMessage):
            break
        results.insert(0, message)
    calls: dict[str | None, ToolCall] = {
        call["id"]: call
        for message in messages
        if isinstance(message, AIMessage)
        for call in message.tool_calls
    }
    sentences = []
    for result in results:
        call = calls.get(result.tool_call_id) or ToolCall(name="calculation", args={}, id=None)
        content = result.text
        if result.status == "error" or content.startswith("Error"):
            reason = content.removeprefix("Error:").strip()
            sentences.append(
                f"I couldn't finish {_describe(call['name'], call['args'])}: {reason}."
            )
        else:
            sentences.append(
                f"The result of {_describe(call['name'], call['args'])} is {_format(content)}."
            )
    return " ".join(sentences)


def _summary_previous(prompt: str) -> str | None:
    """Return the previous summary if `prompt` is a summarization prompt, else None."""
    if prompt.startswith(prompts.CREATE_SUMMARY_PROMPT):
        return ""
    head, _, tail = prompts.EXTEND_SUMMARY_PROMPT.partition("{summary}")
    if prompt.startswith(head) and prompt.endswith(tail):
        return prompt[len(head) : len(prompt) - len(tail)]
    return None


def plan_reply(messages: Sequence[BaseMessage], tool_names: Sequence[str] = ()) -> Plan:
    """Decide the offline model's reply to a conversation.

    Args:
        messages: The conversation, system messages included.
        tool_names: Names of the tools bound to the model.
    """
    if not messages:
        return Plan("Hello! How can I assist you today?")
    last = messages[-1]
    if isinstance(last, ToolMessage):
        return Plan(_answer_tool_results(messages))
    prompt = last.text.strip()
    if (previous := _summary_previous(prompt)) is not None:
        return Plan(_summarize(messages, previous))
    if calculations := parse_calculations(prompt):
        if all(operation in tool_names for operation, _ in calculations):
            calls = tuple(
                PlannedToolCall(operation, args, _call_id(messages, operation, args))
                for operation, args in calculations
            )
            return Plan(tool_calls=calls)
        return Plan(
            " ".join(
                f"The result of {_describe(operation, args)} is {_apply(operation, args)}."
                for operation, args in calculations
            )
        )
    if match := _COUNT.search(prompt):
        count = min(int(match.group(1)), MAX_COUNT)
        return Plan(" ".join(str(n) for n in range(1, count + 1)))
    if _NAME_QUESTION.search(prompt):
        if known := _known_name(messages) or _signed_in_name(messages):
            return Plan(f"Your name is {known}.")
        return Plan("I don't know your name yet. Tell me with \"I'm <name>\".")
    if name := _introduced_name(prompt):
        return Plan(f"Hi {name}! How can I assist you today?")
    if _GREETING.search(prompt):
        signed_in = _signed_in_name(messages)
        return Plan(f"Hello{f' {signed_in}' if signed_in else ''}! How can I assist you today?")
    return Plan(
        f'You said: "{" ".join(prompt.split()[:30])}". I am the offline demo model: I can '
        "greet you, remember your name, count to a number, and do arithmetic with tools."
    )


def split_text(text: str) -> list[str]:
    """Split text into word-sized stream chunks, keeping the whitespace.

    Each chunk is a word with the whitespace that precedes it, like real
    token streams (``"Hello there"`` becomes ``["Hello", " there"]``).

    Args:
        text: The full reply text.

    Returns:
        Chunks whose concatenation is exactly `text`.
    """
    return re.findall(r"\s*\S+|\s+", text)


def split_arguments(arguments: str) -> list[str]:
    """Split a JSON arguments string so partial-JSON parsing sees it grow.

    The string is cut before every top-level comma and before the closing
    bracket of the outer value: ``'{"a": 2, "b": 3}'`` becomes
    ``['{"a": 2', ', "b": 3', '}']``. Strings that are not JSON containers
    come back as a single fragment.

    Args:
        arguments: A raw JSON string (it need not be valid JSON).

    Returns:
        Fragments whose concatenation is exactly ``arguments``.
    """
    cuts: list[int] = []
    depth = 0
    in_string = escaped = False
    for position, char in enumerate(arguments):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:
                cuts.append(position)
        elif char == "," and depth == 1:
            cuts.append(position)
    bounds = [0, *cuts, len(arguments)]
    return [arguments[start:end] for start, end in pairwise(bounds) if end > start]


def _count_words(messages: Sequence[BaseMessage]) -> int:
    return sum(len(m.text.split()) for m in messages)


class OfflineChatModel(BaseChatModel):
    """A deterministic chat model with a per-chunk delay, for running with no network."""

    delay: float = Field(
        default_factory=lambda: float(os.environ.get(DELAY_ENV, DEFAULT_DELAY)),
        description="Seconds to wait before each streamed chunk ($OFFLINE_MODEL_DELAY).",
    )
    model_name: str = MODEL_NAME

    @property
    def _llm_type(self) -> str:
        return "offline"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    def get_num_tokens(self, text: str) -> int:
        """Return the tokens of `text`: its whitespace-separated words."""
        return len(text.split())

    def get_num_tokens_from_messages(
        self,
        messages: list[BaseMessage],
        tools: Sequence[Any] | None = None,
    ) -> int:
        """Return the prompt tokens of `messages`, as the model's usage reports them.

        Deterministic and offline (the base class would load a GPT-2 tokenizer): the
        words of every message's text, summed, so the count of a prompt is the sum of
        the counts of its messages.
        """
        return _count_words(messages)

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (LangChain tools, functions or OpenAI tool dicts) to the model."""
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _chunks(
        self, messages: list[BaseMessage], tools: Sequence[dict[str, Any]] | None
    ) -> Iterator[ChatGenerationChunk]:
        names = [tool["function"]["name"] for tool in tools or ()]
        plan = plan_reply(messages, names)
        count = 0
        for token in split_text(plan.text):
            count += 1
            yield ChatGenerationChunk(message=AIMessageChunk(content=token))
        for index, call in enumerate(plan.tool_calls):
            # The header chunk carries no arguments, so clients first see `{}`.
            fragments = ["", *split_arguments(json.dumps(call.args))]
            for position, fragment in enumerate(fragments):
                count += 1
                head = {"name": call.name, "id": call.id} if position == 0 else {}
                chunk = {"name": None, "id": None, **head, "args": fragment, "index": index}
                message = AIMessageChunk(content="", tool_call_chunks=[chunk])  # type: ignore[list-item]
                yield ChatGenerationChunk(message=message)
        input_tokens = _count_words(messages)
        last = AIMessageChunk(
            content="",
            response_metadata={"finish_reason": plan.finish_reason, "model_name": self.model_name},
            usage_metadata={
                "input_tokens": input_tokens,
                "output_tokens": count,
                "total_tokens": input_tokens + count,
            },
            chunk_position="last",
        )
        yield ChatGenerationChunk(
            message=last, generation_info={"finish_reason": plan.finish_reason}
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in self._chunks(messages, kwargs.get("tools")):
            if self.delay:
                time.sleep(self.delay)
            if run_manager:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._chunks(messages, kwargs.get("tools")):
            if self.delay:
                await asyncio.sleep(self.delay)
            if run_manager:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return _finalize(generate_from_stream(self._stream(messages, stop, None, **kwargs)))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        stream = self._astream(messages, stop, None, **kwargs)
        return _finalize(await agenerate_from_stream(stream))


def _finalize(result: ChatResult) -> ChatResult:
    """Turn the merged chunk into a plain `AIMessage`, as a non-streaming API returns."""
    generation = result.generations[0]
    chunk = generation.message
    message = AIMessage(
        content=chunk.content,
        tool_calls=getattr(chunk, "tool_calls", []),
        response_metadata=chunk.response_metadata,
        usage_metadata=getattr(chunk, "usage_metadata", None),
        id=chunk.id,
    )
    return ChatResult(
        generations=[ChatGeneration(message=message, generation_info=generation.generation_info)]
    )
