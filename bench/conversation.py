"""Benchmark 5, conversation cost: prompt tokens per turn under each summary trigger.

Three `chatbot` conversations of the same turns run concurrently on one server: the
message-count trigger (the graph's defaults, N=6 and K=2), the token-budget trigger
(`max_prompt_tokens`, with N out of reach) and no summarization. Prompt tokens are the
scripted server's deterministic count of each recorded request (words of every
message's content plus tool-call arguments); the graph counts its budget with the
model's own counter (for `ChatOpenAI` without tiktoken's cached BPE file, LangChain's
approximate count), so the two units differ and the budget's effect shows in the
server's count.

Run it alone with ``python -m bench conversation``; `make bench` runs it last.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench.common import mean
from bench.figures import save_figure
from bench.servers import ModelServer
from client.remote.client import ChatClient
from client.remote.session import RemoteChatSession

FLATNESS_TARGET = 1.5
"""Max/min prompt tokens over turns 10-60 that a trigger must stay under."""
SUMMARY_RATE_LIMIT = 0.32
"""Summary calls per turn of the message-count trigger when the target was set."""
BUDGET = 800
"""T of the token-budget side, in the graph's token count."""

SIDES: dict[str, tuple[str, dict[str, Any] | None]] = {
    "messages": ("message count (N=6, K=2)", None),  # the graph's defaults
    "tokens": (
        f"token budget (T={BUDGET})",
        {"summarize_after": 1000, "max_prompt_tokens": BUDGET},
    ),
    "off": ("off (N=1000)", {"summarize_after": 1000}),
}
"""Tag -> (label, run context) of each conversation."""

_WORDS = ("apple", "river", "violin", "copper", "meadow", "lantern", "harbor", "quartz")
_TAIL_FROM = 10


async def _new_session(chat: ChatClient) -> RemoteChatSession:
    thread = await chat.create_thread(graph_id="chatbot")
    return await chat.session("chatbot", thread_id=thread.thread_id)


async def _converse(
    session: RemoteChatSession, tag: str, turns: int, context: dict[str, Any] | None
) -> int:
    errors = 0
    for turn in range(1, turns + 1):
        text = f"[{tag}] turn {turn}: please remember that item {turn} is {_WORDS[turn % 8]}."
        try:
            reply = await session.reply(text, context=context)
            errors += reply.error is not None
        except Exception:
            errors += 1
    return errors


def _side(requests: list[dict[str, Any]], tag: str, errors: int) -> dict[str, Any]:
    ours = [r for r in requests if tag in r["tags"]]
    turns = [r["prompt_tokens"] for r in ours if r["kind"] == "turn"]
    summaries = [r["prompt_tokens"] for r in ours if r["kind"] == "summary"]
    tail = turns[min(_TAIL_FROM - 1, max(len(turns) - 1, 0)) :]
    return {
        "errors": errors,
        "turn_calls": len(turns),
        "per_turn": turns,
        "max": max(turns) if turns else 0,
        "mean": mean(turns),
        "tail_max_over_min": max(tail) / max(min(tail), 1) if tail else float("nan"),
        "summary_calls": len(summaries),
        "summaries_per_turn": len(summaries) / max(len(turns), 1),
        "summary_prompt_tokens": sum(summaries),
        "total_prompt_tokens": sum(turns) + sum(summaries),
    }


async def conversation(url: str, model: ModelServer, turns: int) -> dict[str, Any]:
    """Run the three conversations concurrently; return each side's numbers."""
    model.reset()
    async with ChatClient(url) as chat:
        sessions = [await _new_session(chat) for _ in SIDES]
        errors = await asyncio.gather(
            *(
                _converse(session, tag, turns, context)
                for session, (tag, (_, context)) in zip(sessions, SIDES.items(), strict=True)
            )
        )
    requests = model.requests()
    result: dict[str, Any] = {
        "turns": turns,
        "budget": BUDGET,
        "settings": {tag: context for tag, (_, context) in SIDES.items()},
    }
    for tag, error_count in zip(SIDES, errors, strict=True):
        result[tag] = _side(requests, tag, error_count)
    return result


def target_rows(conv: dict[str, Any]) -> list[list[str]]:
    """Return the target table's rows: flatness and summary rate of each trigger."""
    rows: list[list[str]] = []
    for tag in ("messages", "tokens"):
        side, label = conv[tag], SIDES[tag][0]
        flat, rate = side["tail_max_over_min"], side["summaries_per_turn"]
        rows.append(
            [
                f"{label}: max/min prompt tokens over turns 10-60 <= {FLATNESS_TARGET}",
                f"{flat:.2f}",
                "met" if flat <= FLATNESS_TARGET else "MISSED",
                f"{flat - FLATNESS_TARGET:+.2f}",
            ]
        )
        rows.append(
            [
                f"{label}: summary calls per turn <= {SUMMARY_RATE_LIMIT}",
                f"{rate:.2f}",
                "met" if rate <= SUMMARY_RATE_LIMIT else "MISSED",
                f"{rate - SUMMARY_RATE_LIMIT:+.2f}",
            ]
        )
    return rows


def plot(conv: dict[str, Any], out: Path) -> str:
    """Draw prompt tokens per turn of every side into ``conversation.png``."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for tag, (label, _) in SIDES.items():
        per_turn = conv[tag]["per_turn"]
        ax.plot(range(1, len(per_turn) + 1), per_turn, marker=".", label=label)
    ax.set_xlabel("turn")
    ax.set_ylabel("prompt tokens sent to the model")
    ax.set_title("Conversation cost per turn")
    ax.legend()
    ax.grid(alpha=0.3)
    return save_figure(fig, out / "conversation.png")


def _cycle(conv: dict[str, Any]) -> str:
    off, total_off = conv["off"]["per_turn"], max(conv["off"]["total_prompt_tokens"], 1)
    parts = []
    for tag in ("messages", "tokens"):
        side = conv[tag]
        tail = side["per_turn"][_TAIL_FROM - 1 :] or side["per_turn"]
        parts.append(
            f"with the {SIDES[tag][0]} the prompt stays between {min(tail)} and {max(tail)} "
            f"tokens from turn {_TAIL_FROM} on, for {side['summary_calls']} summary calls "
            f"({side['summaries_per_turn']:.2f} per turn), and all prompt tokens, the "
            f"summaries' included, are {side['total_prompt_tokens'] / total_off:.0%} of "
            "those without summarization"
        )
    return (
        f"Without summarization the prompt grows from {off[0]} to {off[-1]} tokens; "
        + "; ".join(parts)
        + ". The message trigger's sawtooth spans K=2 to N=6 kept messages; the budget "
        "keeps the newest messages that fit in 3/4 of T, so its prompt swings between "
        "about 3/4 of T and T and it keeps more of the conversation verbatim."
    )


def section(conv: dict[str, Any], table: Any) -> list[str]:
    """Return the report's markdown lines for this benchmark.

    Args:
        conv: The benchmark's results.
        table: `bench.tables.table` (header, rows, digits) -> markdown.
    """
    header = [
        "summarization",
        "turn calls",
        "errors",
        "max tokens/turn",
        "mean tokens/turn",
        "max/min turns 10-60",
        "summary calls",
        "per turn",
        "summary prompt tokens",
        "total prompt tokens",
    ]
    rows = [
        [
            SIDES[tag][0],
            conv[tag]["turn_calls"],
            conv[tag]["errors"],
            conv[tag]["max"],
            conv[tag]["mean"],
            conv[tag]["tail_max_over_min"],
            conv[tag]["summary_calls"],
            conv[tag]["summaries_per_turn"],
            conv[tag]["summary_prompt_tokens"],
            conv[tag]["total_prompt_tokens"],
        ]
        for tag in SIDES
    ]
    return [
        "## 5. Conversation cost",
        "",
        f"Three `chatbot` conversations of {conv['turns']} turns, run concurrently, one per "
        "summary trigger: message count (graph defaults N=6, K=2), token budget (context "
        f"`max_prompt_tokens={conv['budget']}`, `summarize_after=1000`) and none (context "
        "`summarize_after=1000`). Prompt tokens are the scripted server's deterministic "
        "count (words of every message's content plus tool-call arguments) of each "
        "recorded request; a turn's request is the conversation node's call, a summary "
        "request is the summarizer's (its last message is the summary prompt). The graph "
        "counts T with the model's own counter: `ChatOpenAI` here, which falls back to "
        "LangChain's approximate count (about 4 characters a token) when tiktoken's BPE "
        "file is not cached, as on a machine with no network; not the server's words.",
        "",
        table(header, rows, digits=2),
        "",
        _cycle(conv),
        "",
    ]
