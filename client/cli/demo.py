"""`lgchat demo`: the tutorial's "LangGraph API" walkthrough, against a running server.

1. List the assistants.
2. "Multiply 2 and 3" to `agent` in `values` mode, printing each new message.
3. The same in legacy `messages` mode: the tool call's arguments grow `{}` ->
   `{'a': 2}` -> `{'a': 2, 'b': 3}`, then the answer arrives token by token with its
   finish reason.
4. Tool review: "2 + 3 and 4 * 5" with `approve_tools` on stops before the two tool
   calls; the first is approved, the second edited to `{"a": 4, "b": 6}`, and the run
   goes on with those.
5. A `chatbot` conversation long enough to be summarized, then "what's my name?":
   the summary in the thread state, and memory that survives the cut.
6. Two users side by side, each with their own token: alice and bob say "hi" at
   once and are greeted by name, alice's listing holds only her thread, and bob's
   thread is refused to her. The demo mints their tokens with the server's secret
   (`make demo` makes a one-off one); without it, it says how to turn auth on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from client.approval import Approve, Decision, Edit
from client.cli.render import Renderer
from client.cli.streaming import stream_reply
from client.errors import ChatClientError
from client.remote.client import ChatClient
from client.remote.multiuser import MultiUserChat
from client.session import ChatSession
from client.threads import new_conversation_id

RendererFactory = Callable[..., Renderer]
"""Makes a fresh renderer per run; accepts `show_input` and `show_run` keywords."""


class Minter(Protocol):
    """Mints a development token for a user (`client.cli.dev_token.mint` with a secret)."""

    def __call__(self, user_id: str, *, name: str | None = None) -> str:
        """Return a token for `user_id` with display name `name`."""
        ...


ARITHMETIC_QUESTION = "Multiply 2 and 3"
DEMO_USER = "lance"
"""The user of the chatbot section (and, with auth on, of every section but the last)."""
SIDE_BY_SIDE: dict[str, str] = {"alice": "Alice", "bob": "Bob"}
"""The last section's users, by user id, with their display names."""
GREETING = "hi"
REVIEW_QUESTION = "2 + 3 and 4 * 5"
REVIEW_DECISIONS: tuple[Decision, ...] = (Approve(), Edit({"a": 4, "b": 6}))
"""Approve the first call, run the second with other arguments."""
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


async def review_step(session: ChatSession, make_renderer: RendererFactory) -> bool:
    """Stop before two tool calls, approve one and edit the other; return whether it ran."""
    out = make_renderer()
    out.heading("agent with approve_tools: approve one tool call, edit the other")
    out.note(f"You: {REVIEW_QUESTION}")
    context = {"approve_tools": True}
    status = await stream_reply(session, REVIEW_QUESTION, make_renderer(), context=context)
    if status != "interrupted":
        return False
    out.note('session.resume([Approve(), Edit({"a": 4, "b": 6})]):')
    events = session.resume(list(REVIEW_DECISIONS))
    return await stream_reply(session, "", make_renderer(), events=events) == "success"


async def run_demo(
    client: ChatClient, make_renderer: RendererFactory, *, mint: Minter | None = None
) -> bool:
    """Walk through the tutorial's API section; return whether every run succeeded.

    Args:
        client: Connected to a server that serves the `agent` and `chatbot` graphs;
            with auth on, with a token.
        make_renderer: Makes the renderer for each run and for the notes in between.
        mint: Mints the last section's tokens; None shows that section only as a note.
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

    ok &= await review_step(await client.session("agent"), make_renderer)

    out.heading("chatbot: memory across turns, and summarization")
    user = client.identity.user_id if client.identity else DEMO_USER
    chat = await client.session(
        "chatbot", user_id=user, conversation_id=f"demo-{new_conversation_id()[:8]}"
    )
    *turns, question = CHATBOT_TURNS
    for number, turn in enumerate(turns):
        out.note(f"You: {turn}")
        ok &= await stream_run(chat, turn, make_renderer)
        if number == 0:  # with auth on, the thread exists from the first message on
            out.note(f"User {user!r}, thread {chat.thread_id}")

    state = await chat.state()
    if state is not None:
        out.note(f"Thread state: {len(state.messages)} messages kept; summary: {state.summary!r}")
    out.note(f"You: {question}")
    ok &= await stream_run(chat, question, make_renderer)
    history = await chat.history()
    out.note(f"History: {len(history)} messages in all, including the summarized ones.")
    return await side_by_side(client, out, mint) and ok


async def side_by_side(client: ChatClient, out: Renderer, mint: Minter | None) -> bool:
    """Show two users at once, each seeing only their own thread; return whether it ran.

    Nothing here fails the demo on a server with auth off: it says so instead.
    """
    out.heading("Two users side by side, each with their own token")
    if mint is None:
        if client.token is None:  # every request so far went through without one
            out.note(
                "Auth is off on this server: every user sees every thread. `make demo` turns "
                "it on with a one-off AUTH_JWT_SECRET; or start the server with "
                "AUTH_JWT_SECRET set and run the demo with the same one."
            )
        else:
            out.note(
                "Set AUTH_JWT_SECRET (the server's) for the demo to mint alice's and bob's tokens."
            )
        return True
    tokens = {user: mint(user, name=name) for user, name in SIDE_BY_SIDE.items()}
    chat = MultiUserChat(client, assistant="chatbot", tokens=tokens)
    out.note(f'alice and bob say "{GREETING}" to chatbot at once (MultiUserChat, a token each):')
    replies = await chat.reply_all(dict.fromkeys(tokens, GREETING))
    threads: dict[str, str] = {}
    for user, reply in replies.items():
        session = await chat.session_for(user)
        threads[user] = session.thread_id or ""
        answer = reply.text if reply.status == "success" else f"(failed: {reply.error})"
        out.note(f"{user} on thread {threads[user]}: {answer}")
    alice, bob_thread = chat.client_for("alice"), threads["bob"]
    listed = await alice.threads()
    try:
        await alice.thread(bob_thread)
    except ChatClientError as error:
        out.note(f"alice lists her threads: {', '.join(t.thread_id for t in listed) or 'none'}")
        out.note(f"alice asks for bob's thread: {error}")
    else:
        out.note(
            "Auth is off on this server: alice can read bob's thread. Start it with "
            "AUTH_JWT_SECRET set to the demo's."
        )
    return all(reply.status == "success" for reply in replies.values())
