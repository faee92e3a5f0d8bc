"""`lgchat --local demo`: the tutorial's in-process section, offline, with no server.

1. `chatbot` with `stream_mode="updates"`: "hi! I'm Lance", one update per node.
2. The same with `stream_mode="values"`: the whole state after each step.
3. Every event `astream_events` v2 yields, as the tutorial lists them.
4. Token streaming with `astream_events` v2 filtered to the `conversation` node, each
   token printed with a `|` after it, as the tutorial shows it.
5. A conversation long enough to summarize, every node's tokens with a `[node]` header
   when the node changes, then "what's my name?" answered from the summary.
6. Tool review in-process, as `lgchat demo` shows it on a server (`review_step`).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.pregel import Pregel

from client.cli.demo import RendererFactory, review_step, stream_run
from client.local.runtime import LocalRuntime, thread_config
from client.local.tokens import (
    StreamFailed,
    Token,
    TokenStream,
    stream_tokens,
    with_node_headers,
)
from client.threads import new_conversation_id

DEMO_USER = "lance"
GREETING = "hi! I'm Lance"
TOKENS_QUESTION = "Tell me about the 49ers NFL team"
SUMMARY_TURNS: tuple[str, ...] = ("count to 5", "what is 7 * 8?", "tell me about streaming")
NAME_QUESTION = "what's my name?"


async def run_local_demo(
    runtime: LocalRuntime, make_renderer: RendererFactory, *, json_lines: bool = False
) -> bool:
    """Walk through the tutorial's local section; return whether every run succeeded.

    Args:
        runtime: The in-process graphs and their checkpointer.
        make_renderer: Makes the renderer for each run and for the notes in between.
        json_lines: Write the raw token sections as JSON lines (`{"kind": "token", ...}`)
            instead of text, like the renderers' `--json` output.
    """
    out = make_renderer()
    ok = True
    for mode in ("updates", "values"):
        out.heading(f'chatbot, graph.astream(..., stream_mode="{mode}"): {GREETING}')
        session = await runtime.session("chatbot", user_id=DEMO_USER, conversation_id=_fresh())
        ok &= await stream_run(session, GREETING, make_renderer, stream_mode=mode, show_input=True)

    graph = await runtime.graph("chatbot")
    out.heading(f"chatbot, astream_events(version='v2'): every event of {TOKENS_QUESTION!r}")
    for line in await _event_lines(graph, thread_config(DEMO_USER, _fresh(), graph_id="chatbot")):
        out.note(line)

    out.heading(f"chatbot, astream_events(version='v2'), node 'conversation': {TOKENS_QUESTION}")
    config = thread_config(DEMO_USER, _fresh(), graph_id="chatbot")
    tokens = stream_tokens(graph, _user(TOKENS_QUESTION), config, node="conversation")
    try:
        async for token in tokens:
            _emit(token, token.text + "|", json_lines)
        _emit(None, "\n", json_lines)
        out.note(f"Full message (on_chat_model_end): {tokens.messages[-1].text}")
    except StreamFailed as failure:
        _emit(None, "\n", json_lines)
        out.error(failure.message)
        ok = False

    out.heading("chatbot: every node's tokens, a [node] header when the node changes")
    config = thread_config(DEMO_USER, _fresh(), graph_id="chatbot")
    for turn in (GREETING, *SUMMARY_TURNS, NAME_QUESTION):
        out.note(f"You: {turn}")
        try:
            await _show_tokens(stream_tokens(graph, _user(turn), config), json_lines)
        except StreamFailed as failure:
            _emit(None, "\n", json_lines)
            out.error(failure.message)
            ok = False
    state = await graph.aget_state(config)
    kept = len(state.values.get("messages", []))
    out.note(f"Thread state: {kept} messages kept; summary: {state.values.get('summary')!r}")
    agent = await runtime.session("agent", user_id=DEMO_USER, conversation_id=_fresh())
    ok &= await review_step(agent, make_renderer)
    out.close()
    return ok


async def _event_lines(graph: Pregel[Any, Any, Any, Any], config: RunnableConfig) -> list[str]:
    """Return the tutorial's `Node: … Type: … Name: …` lines, repeats counted not listed."""
    lines: list[str] = []
    repeats = 0
    async for event in graph.astream_events(_user(TOKENS_QUESTION), config, version="v2"):
        node = event["metadata"].get("langgraph_node", "")
        line = f"Node: {node}. Type: {event['event']}. Name: {event['name']}"
        if lines and lines[-1] == line:
            repeats += 1
            continue
        if repeats:
            lines[-1] += f" (x{repeats + 1})"
        lines.append(line)
        repeats = 0
    if repeats:
        lines[-1] += f" (x{repeats + 1})"
    return lines


def _fresh() -> str:
    return f"local-demo-{new_conversation_id()[:8]}"


def _user(text: str) -> dict[str, list[dict[str, str]]]:
    return {"messages": [{"role": "user", "content": text}]}


async def _show_tokens(tokens: TokenStream, json_lines: bool) -> None:
    """Show every node's tokens with `[node]` headers, or each token as a JSON line."""
    if json_lines:
        async for token in tokens:
            _emit(token, token.text, json_lines)
        return
    async for text in with_node_headers(tokens):
        _emit(None, text, json_lines)
    _emit(None, "\n", json_lines)


def _emit(token: Token | None, text: str, json_lines: bool) -> None:
    """Write raw token output: text flushed at once, or a token as one JSON line."""
    if not json_lines:
        sys.stdout.write(text)
        sys.stdout.flush()
    elif isinstance(token, Token):
        line = {"kind": "token", **dataclasses.asdict(token)}
        print(json.dumps(line, ensure_ascii=False), flush=True)
