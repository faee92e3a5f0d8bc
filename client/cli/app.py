"""`lgchat`: chat with a LangGraph deployment from the terminal.

A thin layer over `client.remote.session` (requests), `client.cli.render` (output) and
`client.cli.demo`. Errors are one line on stderr and a documented exit code, never a
traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import json
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from client.auth import check_user, token_identity
from client.cli.demo import DEMO_USER, run_demo
from client.cli.dev_token import cmd_token, dev_secret, mint
from client.cli.exit_codes import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_NEEDS_DECISION,
    EXIT_OK,
    EXIT_RUN_FAILED,
    EXIT_USAGE,
    describe,
    exit_code,
)
from client.cli.parser import build_parser
from client.cli.render import Renderer, make_renderer, transcript_lines
from client.cli.repl import run_chat
from client.cli.review import continue_commands, flag_decisions
from client.cli.streaming import stream_reply
from client.errors import ChatClientError, InvalidInput, NothingToResume
from client.events import RunStatus
from client.inputs import DEFAULT_STREAM_MODES, parse_stream_modes, validate_message
from client.remote.client import ChatClient
from client.session import ChatSession
from client.threads import new_conversation_id

if TYPE_CHECKING:
    from client.local.runtime import LocalRuntime


LOCAL_COMMANDS = frozenset({"chat", "send", "resume", "demo", "threads", "history"})


def _client(args: argparse.Namespace) -> ChatClient | LocalRuntime:
    if not args.local:
        # Silently ignoring them would, say, keep a "--memory" conversation on a server.
        for flag, given in (("--memory", args.memory), ("--data-dir", args.data_dir is not None)):
            if given:
                raise InvalidInput(f"{flag} works only with --local")
        return ChatClient(
            args.url,
            args.api_key,
            token=args.token,
            protocol=args.protocol,
            transport=args.transport,
        )
    for flag, value, default in (
        ("--protocol", args.protocol, "runs"),
        ("--transport", args.transport, "sse"),
    ):
        if value != default:
            raise InvalidInput(f"{flag} is about streaming from a server; --local runs in-process")
    if args.command not in LOCAL_COMMANDS:
        raise InvalidInput(f"--local works with {', '.join(sorted(LOCAL_COMMANDS))} only")
    # The graphs and the langgraph runtime: imported only when needed.
    from client.cli.graphs import project_graphs
    from client.local.runtime import LocalRuntime, load_project_env

    load_project_env()  # the same settings as `langgraph dev` in this directory
    return LocalRuntime(args.data_dir, memory=args.memory, graphs=project_graphs())


def _token_user(args: argparse.Namespace) -> None:
    """Default `--user` to the token's user, and refuse another one, before any request.

    Only `send` and `chat` default it (a listing is already the token user's alone),
    and not with `--thread`, which names the thread itself.
    """
    if args.command not in ("send", "chat", "threads") or not args.token or args.local:
        return
    identity = token_identity(args.token)
    if identity is None:
        return  # an opaque token: only the server knows whose it is
    check_user(identity, args.user, label="--user")
    if args.command != "threads" and args.user is None and not args.thread:
        args.user = identity.user_id


def _remote(args: argparse.Namespace) -> ChatClient:
    client = _client(args)
    assert isinstance(client, ChatClient)  # `_client` rejects --local for this command
    return client


async def _open_session(
    client: ChatClient | LocalRuntime, args: argparse.Namespace, *, new: bool = False
) -> ChatSession:
    modes = parse_stream_modes(args.mode) if args.mode else DEFAULT_STREAM_MODES
    if args.thread:
        if args.user or args.conversation:
            raise InvalidInput("--thread cannot be combined with --user or --conversation")
        return await client.session(args.assistant, thread_id=args.thread, stream_mode=modes)
    conversation = args.conversation
    if args.user and new and conversation is None:
        conversation = new_conversation_id()
    return await client.session(
        args.assistant, user_id=args.user, conversation_id=conversation, stream_mode=modes
    )


def _exit_code(status: RunStatus) -> int:
    if status == "error":
        return EXIT_RUN_FAILED
    if status == "cancelled":
        return EXIT_INTERRUPTED
    if status == "interrupted":
        return EXIT_NEEDS_DECISION
    return EXIT_OK


def _print_json(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, default=str, indent=2))


def _renderer_factory(args: argparse.Namespace) -> Callable[..., Renderer]:
    return functools.partial(make_renderer, json_lines=args.json)


async def cmd_assistants(args: argparse.Namespace) -> int:
    """List the assistants."""
    async with _remote(args) as client:
        assistants = await client.assistants()
    if args.json:
        _print_json([dataclasses.asdict(a) for a in assistants])
    for a in [] if args.json else assistants:
        print(f"{a.graph_id:<12} {a.assistant_id}  {a.description or ''}".rstrip())
    return EXIT_OK


async def cmd_threads(args: argparse.Namespace) -> int:
    """List recent threads."""
    if args.limit < 1:
        raise InvalidInput(f"--limit must be at least 1, got {args.limit}")
    async with _client(args) as client:
        threads = await client.threads(args.user, limit=args.limit)
    if args.json:
        _print_json([dataclasses.asdict(t) for t in threads])
        return EXIT_OK
    if not threads:
        print("no threads" + (f" for user {args.user!r}" if args.user else ""))
    for t in threads:
        owner = f"{t.user_id}/{t.conversation_id}" if t.user_id else "-"
        updated = (t.updated_at or "-")[:19]  # ISO 8601 to the second
        print(
            f"{t.thread_id}  {t.status:<11} {t.graph_id or '-':<8} {t.message_count:>3} msgs  "
            f"{updated}  {owner}"
        )
    return EXIT_OK


async def cmd_history(args: argparse.Namespace) -> int:
    """Print a thread's whole history and summary."""
    async with _client(args) as client:
        messages = await client.history(args.thread)
        state = await client.thread_state(args.thread)
    if args.json:
        _print_json(
            {
                "thread_id": state.thread_id,
                "messages": [m.model_dump(mode="json") for m in messages],
                "summary": state.summary,
            }
        )
        return EXIT_OK
    for line in transcript_lines(messages, state.summary) or ["(no messages yet)"]:
        print(line)
    return EXIT_OK


def _message_text(words: Sequence[str]) -> str:
    """Return the message: the words joined, or stdin for `-` or no words with a pipe."""
    if list(words) == ["-"] or (not words and not sys.stdin.isatty()):
        # One trailing newline is how `echo` ends a line, not part of the message.
        return sys.stdin.read().removesuffix("\n")
    if not words:
        raise InvalidInput("no message: give TEXT, or - to read it from stdin")
    return " ".join(words)


async def cmd_send(args: argparse.Namespace) -> int:
    """Send one message and stream the reply."""
    text = validate_message(_message_text(args.text))  # before any request
    async with _client(args) as client:
        session = await _open_session(client, args, new=args.new)
        renderer = make_renderer(json_lines=args.json)
        status = await stream_reply(session, text, renderer, context=args.context)
        return await _run_ended(args, session, renderer, status)


async def cmd_resume(args: argparse.Namespace) -> int:
    """Answer the tool calls a thread waits on, and stream the rest of its run."""
    modes = parse_stream_modes(args.mode) if args.mode else DEFAULT_STREAM_MODES
    async with _client(args) as client:
        graph = args.assistant
        if isinstance(client, ChatClient):
            graph = (await client.thread(args.thread)).graph_id or graph
        session = await client.session(graph, thread_id=args.thread, stream_mode=modes)
        state = await session.state()
        if state is None or not state.interrupts:
            raise NothingToResume(session.thread_id)
        decisions = flag_decisions(args.decisions, state.interrupts[0])
        renderer = make_renderer(json_lines=args.json)
        events = session.resume(decisions, context=args.context)
        status = await stream_reply(session, "", renderer, events=events)
        return await _run_ended(args, session, renderer, status)


async def _run_ended(
    args: argparse.Namespace, session: ChatSession, renderer: Renderer, status: RunStatus
) -> int:
    """Name the thread; for a run that waits for a review, say how to continue it.

    A decision the graph refused leaves the review pending: its reason is the error.
    """
    if not args.json:
        renderer.note(f"Thread: {session.thread_id}")
    if status != "interrupted":
        return _exit_code(status)
    state = await session.state()
    pending = state.interrupts[0] if state and state.interrupts else None
    if pending is not None and session.thread_id:
        if pending.error:
            print(f"lgchat: error: {pending.error}", file=sys.stderr)
        print("lgchat: the run waits for your review; continue with one of:", file=sys.stderr)
        for command in continue_commands(session.thread_id, pending, local=args.local):
            print(f"  {command}", file=sys.stderr)
        if pending.error:
            return EXIT_USAGE
    return EXIT_NEEDS_DECISION


async def cmd_join(args: argparse.Namespace) -> int:
    """Stream a run of a thread from its first event: how a lost stream is picked up."""
    async with _remote(args) as client:
        info = await client.thread(args.thread)
        session = await client.session(info.graph_id or "agent", thread_id=info.thread_id)
        renderer = make_renderer(json_lines=args.json)
        status = await stream_reply(session, "", renderer, events=session.join(args.run))
    return _exit_code(status)


async def cmd_demo(args: argparse.Namespace) -> int:
    """Walk through the tutorial's API section (or, with --local, its in-process one).

    Without --token, the server's secret (AUTH_JWT_SECRET, as `make demo` sets it) lets
    the demo mint its users' tokens itself.
    """
    secret = None if args.token or args.local else dev_secret()
    minter = functools.partial(mint, secret) if secret else None
    if minter is not None:
        args.token = minter(DEMO_USER, name=DEMO_USER.title())
    async with _client(args) as client:
        if isinstance(client, ChatClient):
            ok = await run_demo(client, _renderer_factory(args), mint=minter)
        else:
            from client.cli.local_demo import run_local_demo

            ok = await run_local_demo(client, _renderer_factory(args), json_lines=args.json)
    return EXIT_OK if ok else EXIT_RUN_FAILED


COMMANDS: dict[str, Callable[[argparse.Namespace], Coroutine[Any, Any, int]]] = {
    "assistants": cmd_assistants,
    "threads": cmd_threads,
    "history": cmd_history,
    "send": cmd_send,
    "resume": cmd_resume,
    "join": cmd_join,
    "demo": cmd_demo,
    "token": cmd_token,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run `lgchat`; return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        _token_user(args)
        if args.command == "chat":
            code = run_chat(args, lambda: _client(args), lambda client: _open_session(client, args))
        else:
            code = asyncio.run(COMMANDS[args.command](args))
        sys.stdout.flush()  # a reader that left is reported here, not at exit
        return code
    except ChatClientError as error:
        print(f"lgchat: error: {describe(error)}", file=sys.stderr)
        return exit_code(error)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _drop_stdout()
        return EXIT_BROKEN_PIPE


def _drop_stdout() -> None:
    """Point stdout at /dev/null, so the flush at exit does not fail a second time.

    This is what the Python documentation advises for SIGPIPE (`signal` module notes).
    """
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
