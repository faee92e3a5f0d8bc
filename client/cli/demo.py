"""`lgchat demo`: the tutorial's "LangGraph API" walkthrough, against a running server.

1. List the assistants.
2. "Multiply 2 and 3" to `agent` in `values` mode, printing each new message.
3. The same in legacy `messages` mode: the tool call's arguments grow `{}` ->
   `{'a': 2}` -> `{'a': 2, 'b': 3}`, then the answer arrives token by token with its
   finish reason.
4. A `chatbot` conversation long enough to be summarized, then "what's my name?":
   the summary in the thread state, and memory that survives the cut.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from client.cli.render import Renderer
from client.cli.streaming import stream_reply
from client.remote.client import ChatClient
from client.session import ChatSession
from client.threads import new_conversation_id

RendererFactory = Callable[..., Renderer]
"""Makes a fresh renderer per run; accepts `show_input` and `show_run` keywords."""

ARITHMETIC_QUESTION = "Multiply 2 and 3"
DEMO_USER = "lance"
CHATBOT_TURNS: tuple[str, ...] = (
    "hi! I'm Lance",
    "count to 5",
    "what is 7 * 8?",
    "tell me about streaming in LangGraph",
    "what's my name?",
)
"""Four turns make eight messages, past the chatbot's six, so it summarizes; the last
turn asks for something only the summary still remembers."""


async def stream_run(
    session: ChatSession,
    text: str,
    make_renderer: RendererFactory,
    *,
    stream_mode: str | Sequence[str] | None = None,
    show_input: bool = False,
    show_run: bool = False,
) -> bool:
    """Stream one run through a fresh renderer; return whether it succeeded."""
    renderer = make_renderer(show_input=show_input, show_run=show_run)
    return await stream_reply(session, text, renderer, stream_mode=stream_mode) == "success"


async def run_demo(client: ChatClient, make_renderer: RendererFactory) -> bool:
    """Walk through the tutorial's API section; return whether every run succeeded.

    Args:
        client: Connected to a server that serves the `agent` and `chatbot` graphs.
        make_renderer: Makes the renderer for each run and for the notes in between.
    """
    assistants = await client.assistants()  # before any output: no server, no heading
    out = make_renderer()
    out.heading("Assistants (client.assistants.search())")
    for assistant in assistants:
        out.note(f"{assistant.graph_id}: {assistant.assistant_id} — {assistant.description or ''}")

    ok = True
    out.heading(f'agent, stream_mode="values": {ARITHMETIC_QUESTION}')
    out.note("Each new message of the state, as every step finishes:")
    values_session = await client.session("agent")
    ok &= await stream_run(
        values_session, ARITHMETIC_QUESTION, make_renderer, stream_mode="values", show_input=True
    )

    out.heading(f'agent, stream_mode="messages": {ARITHMETIC_QUESTION}')
    out.note("The tool call's arguments as the model writes them, then the answer token by token:")
    messages_session = await client.session("agent")
    ok &= await stream_run(
        messages_session, ARITHMETIC_QUESTION, make_renderer, stream_mode="messages", show_run=True
    )

    out.heading("chatbot: memory across turns, and summarization")
    chat = await client.session(
        "chatbot", user_id=DEMO_USER, conversation_id=f"demo-{new_conversation_id()[:8]}"
    )
    out.note(f"User {DEMO_USER!r}, thread {chat.thread_id}")
    *turns, question = CHATBOT_TURNS
    for turn in turns:
        out.note(f"You: {turn}")
        ok &= await stream_run(chat, turn, make_renderer)

    state = await chat.state()
    if state is not None:
        out.note(f"Thread state: {len(state.messages)} messages kept; summary: {state.summary!r}")
    out.note(f"You: {question}")
    ok &= await stream_run(chat, question, make_renderer)
    history = await chat.history()
    out.note(f"History: {len(history)} messages in all, including the summarized ones.")
    return ok
