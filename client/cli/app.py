"""`lgchat`: chat with a LangGraph deployment from the terminal.

A thin layer over `client.remote.session` (requests), `client.cli.render` (output) and
`client.cli.demo`. Errors are one line on stderr and a documented exit code, never a
traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import dataclasses
import functools
import json
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from client.auth import check_user, token_identity
from client.cli.demo import DEMO_USER, run_demo
from client.cli.dev_token import add_token_command, cmd_token, dev_secret, mint
from client.cli.exit_codes import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_RUN_FAILED,
    describe,
    exit_code,
)
from client.cli.render import Renderer, make_renderer, transcript_lines
from client.cli.streaming import stream_reply
from client.errors import ChatClientError, InvalidInput
from client.events import RunStatus
from client.inputs import DEFAULT_STREAM_MODES, STREAM_MODES, parse_stream_modes, validate_message
from client.remote.client import DEFAULT_URL, ChatClient
from client.session import ChatSession
from client.threads import new_conversation_id

if TYPE_CHECKING:
    from client.local.runtime import LocalRuntime

EPILOG = """\
exit codes:
  0    success
  1    the run failed (the model or a node raised), or the server reported an error
  2    usage: bad arguments, a bad URL, an empty message, an unknown stream mode,
       context that does not fit the assistant's context schema
  3    no server at --url, not a LangGraph server, the connection dropped; or
       auth: the token or API key was refused (missing, malformed, expired, wrongly
       signed), or the server refused the token's user this action
  4    unknown assistant or thread
  5    the thread is busy with another run
  130  interrupted with Ctrl-C (the run was cancelled on the server)
  141  the reader of stdout went away (`lgchat send ... | head -1`); the run was
       cancelled on the server

environment:
  LGCHAT_DATA_DIR                       default for --data-dir (with --local)
  (with --local, the `env` of ./langgraph.json is loaded over the environment, as
  `langgraph dev` does)
  LANGGRAPH_URL                         default for --url
  LANGGRAPH_AUTH_TOKEN                  default for --token
  LANGGRAPH_API_KEY, LANGSMITH_API_KEY  default for --api-key
  AUTH_JWT_SECRET                       the server's HS256 secret, for `lgchat token`
                                        and `lgchat demo` (else read from ./.env);
                                        development only

examples:
  lgchat assistants
  lgchat send "Multiply 2 and 3"
  lgchat send --assistant chatbot --user lance "hi! I'm Lance"
  lgchat send --mode messages --mode values "Multiply 2 and 3"
  lgchat chat --assistant chatbot
  lgchat --local demo
  export LANGGRAPH_AUTH_TOKEN=$(lgchat token --user alice --name Alice)
  lgchat send --assistant chatbot hi      # as alice, on her own thread
  lgchat --local send --assistant chatbot --user lance "hi! I'm Lance"
"""

REPL_HELP = """\
/new          start a new conversation (new thread)
/thread ID    continue thread ID
/history      show every turn of this thread, and its summary
/mode [M ...] show or set the stream modes (e.g. /mode messages-tuple updates)
/quit         leave (Ctrl-D at the prompt does too)
Ctrl-C while a reply streams cancels that run on the server; at the prompt it clears
the line, as in a shell."""

REPL_QUIT = frozenset({"/quit", "/exit", "/q"})


def _add_connection_options(parser: argparse.ArgumentParser, *, in_subcommand: bool) -> None:
    # Accepted before and after the subcommand; a subcommand's copy only overrides the
    # value when given (SUPPRESS), so `lgchat --json send …` works too.
    def default(value: Any) -> Any:
        return argparse.SUPPRESS if in_subcommand else value

    parser.add_argument(
        "--url",
        default=default(os.environ.get("LANGGRAPH_URL") or DEFAULT_URL),
        help="LangGraph server URL (default: $LANGGRAPH_URL or %(default)s)"
        if not in_subcommand
        else argparse.SUPPRESS,
    )
    parser.add_argument(
        "--token",
        default=default(os.environ.get("LANGGRAPH_AUTH_TOKEN") or None),
        help="the user's bearer token, sent as Authorization: Bearer; its user is --user's "
        "default (default: $LANGGRAPH_AUTH_TOKEN; for development, `lgchat token` mints one)"
        if not in_subcommand
        else argparse.SUPPRESS,
    )
    parser.add_argument(
        "--api-key",
        default=default(os.environ.get("LANGGRAPH_API_KEY") or os.environ.get("LANGSMITH_API_KEY")),
        help="LangGraph Platform's deployment key, sent as x-api-key (default: "
        "$LANGGRAPH_API_KEY or $LANGSMITH_API_KEY)"
        if not in_subcommand
        else argparse.SUPPRESS,
    )
    flags = (
        ("--json", "print JSON (one event per line when streaming)"),
        (
            "--local",
            "run the graphs in-process, with no server (chat, send, demo, threads, history)",
        ),
        ("--memory", "with --local: keep threads in memory, not in the data directory"),
    )
    for flag, text in flags:
        parser.add_argument(
            flag,
            action="store_true",
            default=default(False),
            help=argparse.SUPPRESS if in_subcommand else text,
        )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=default(None),
        help=argparse.SUPPRESS
        if in_subcommand
        else "with --local: where threads are kept (default: $LGCHAT_DATA_DIR, else "
        "$XDG_DATA_HOME/lgchat or ~/.local/share/lgchat)",
    )


def _add_conversation_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--assistant", default="agent", help="graph name or assistant id")
    parser.add_argument(
        "--user",
        help="user id: each user's conversation has its own thread (default: the token's user)",
    )
    parser.add_argument("--conversation", help="conversation id of --user (default: 'default')")
    parser.add_argument(
        "--mode",
        action="append",
        metavar="MODE",
        help=f"stream mode, repeatable or comma-separated: {', '.join(STREAM_MODES)} "
        f"(default: {' '.join(DEFAULT_STREAM_MODES)})",
    )
    parser.add_argument(
        "--context",
        type=_json_object,
        metavar="JSON",
        help='run context as a JSON object, e.g. \'{"model": "offline", "summarize_after": 10}\'',
    )


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not JSON: {error}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Return the `lgchat` argument parser."""
    parser = argparse.ArgumentParser(
        prog="lgchat",
        description="Chat with a LangGraph deployment: stream replies token by token, "
        "list assistants and threads, replay a thread's history.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_connection_options(parser, in_subcommand=False)
    shared = argparse.ArgumentParser(add_help=False)
    _add_connection_options(shared, in_subcommand=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("assistants", parents=[shared], help="list the server's assistants")

    threads = commands.add_parser("threads", parents=[shared], help="list recent threads")
    threads.add_argument(
        "--user", help="only this user's threads (with a token, the server shows only its user's)"
    )
    threads.add_argument("--limit", type=int, default=20, help="at most this many")

    history = commands.add_parser(
        "history", parents=[shared], help="print every turn of a thread, and its summary"
    )
    history.add_argument("thread", metavar="THREAD", help="thread id")

    join = commands.add_parser(
        "join",
        parents=[shared],
        help="stream a run again from its first event (after a lost connection)",
    )
    join.add_argument("thread", metavar="THREAD", help="thread id")
    join.add_argument("run", metavar="RUN", help="run id")

    send = commands.add_parser("send", parents=[shared], help="send one message, stream the reply")
    _add_conversation_options(send)
    target = send.add_mutually_exclusive_group()
    target.add_argument("--thread", metavar="ID", help="continue this thread")
    target.add_argument(
        "--new", action="store_true", help="start a new conversation (the default without --user)"
    )
    send.add_argument(
        "text",
        nargs="*",
        metavar="TEXT",
        help="the message (words are joined); `-` or none with a pipe: read it from stdin",
    )

    chat = commands.add_parser("chat", parents=[shared], help="interactive chat")
    _add_conversation_options(chat)
    chat.add_argument("--thread", metavar="ID", help="continue this thread")

    commands.add_parser(
        "demo",
        parents=[shared],
        help="walk through the tutorial's API section (--local: its in-process section)",
    )
    add_token_command(commands)
    return parser


LOCAL_COMMANDS = frozenset({"chat", "send", "demo", "threads", "history"})


def _client(args: argparse.Namespace) -> ChatClient | LocalRuntime:
    if not args.local:
        # Silently ignoring them would, say, keep a "--memory" conversation on a server.
        for flag, given in (("--memory", args.memory), ("--data-dir", args.data_dir is not None)):
            if given:
                raise InvalidInput(f"{flag} works only with --local")
        return ChatClient(args.url, args.api_key, token=args.token)
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
        if not args.json:
            renderer.note(f"Thread: {session.thread_id}")
    return _exit_code(status)


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
    "join": cmd_join,
    "demo": cmd_demo,
    "token": cmd_token,
}


class Repl:
    """The `lgchat chat` loop's commands; reading input stays with `run_chat`."""

    def __init__(self, session: ChatSession, args: argparse.Namespace, console: Console) -> None:
        """Chat through `session`, drawing on `console`."""
        self.session = session
        self.args = args
        self.console = console

    def say(self, text: str, style: str = "dim") -> None:
        """Print a line about the session (not part of the conversation)."""
        self.console.print(Text(text, style=style), soft_wrap=True)

    def banner(self) -> None:
        """Say who we talk to and how to get help."""
        thread = self.session.thread_id or "a new thread (created on your first message)"
        self.say(f"Chatting with {self.session.assistant.graph_id} on {thread}.")
        self.say("Type a message, or /help for commands.")

    async def handle(self, line: str) -> bool:
        """Act on one input line; return False to leave the loop."""
        command, _, rest = line.strip().partition(" ")
        if not command.startswith("/"):
            renderer = make_renderer(json_lines=self.args.json)
            await stream_reply(self.session, line, renderer, context=self.args.context)
            return True
        if command in REPL_QUIT:
            return False
        if command == "/help":
            self.say(REPL_HELP, "")
        elif command == "/new":
            self.session.new_thread()
            self.say("New conversation; its thread is created with your next message.")
        elif command == "/thread":
            if not rest.strip():
                raise InvalidInput("usage: /thread ID")
            info = await self.session.switch_thread(rest.strip())
            self.say(f"Continuing thread {info.thread_id} ({info.message_count} messages).")
        elif command == "/history":
            await self.show_history()
        elif command == "/mode":
            if rest.strip():
                self.session.stream_mode = parse_stream_modes(rest.split())
            self.say(f"Stream modes: {' '.join(self.session.stream_mode)}")
        else:
            raise InvalidInput(f"unknown command {command}; /help lists the commands")
        return True

    async def show_history(self) -> None:
        """Print every turn of the thread and its summary."""
        messages = await self.session.history()
        state = await self.session.state()
        lines = transcript_lines(messages, state.summary if state else "")
        for line in lines or ["(no messages yet)"]:
            self.console.print(Text(line), soft_wrap=True)


def _check_signals() -> None:
    """Do nothing: Python runs pending signal handlers on entering a function."""


class _ReplSigint:
    """The REPL's own SIGINT handler: no Ctrl-C, whenever it comes, ends the REPL.

    Python's default handler raises KeyboardInterrupt wherever the main thread is: in
    an `except` clause of the loop it escapes the loop, and inside the event loop it
    leaves that loop broken (a stale stop makes the next command fail with "Event loop
    stopped before Future completed"). So a press raises only while `input()` waits
    (readline drops the line only for a handler that raises); during a command it
    cancels the command from within the loop, as asyncio.Runner's handler would.
    """

    def __init__(self) -> None:
        self.presses = 0
        self.reading = False
        self.task: asyncio.Task[Any] | None = None

    def __call__(self, signum: int, frame: object) -> None:
        self.presses += 1
        if self.reading:
            raise KeyboardInterrupt
        if self.task is not None:
            self.task.get_loop().call_soon_threadsafe(self.task.cancel)

    def install(self) -> None:
        """Put this handler in force (again: code run by a command may replace it)."""
        with contextlib.suppress(ValueError):  # not the main thread
            signal.signal(signal.SIGINT, self)

    async def command(self, command: Coroutine[Any, Any, bool]) -> bool:
        """Run a command, which Ctrl-C cancels (asyncio.CancelledError)."""
        self.task = asyncio.current_task()
        try:
            return await command
        finally:
            self.task = None

    def read_line(self) -> str:
        """Read a line at the prompt; Ctrl-C raises KeyboardInterrupt, Ctrl-D EOFError."""
        presses = self.presses
        # The prompt goes through input() itself: readline prints it once the terminal
        # is ready to read, so a key typed the moment "You: " shows (Ctrl-D) is never lost.
        try:
            self.reading = True  # in the try: `finally` must always clear it
            line = input("You: ")
        except EOFError:
            # Readline can end input() as if at end of file when Ctrl-C is pressed: let a
            # pending handler run, and take the EOF for Ctrl-C if a press came meanwhile.
            _check_signals()
            if self.presses != presses:
                raise KeyboardInterrupt from None
            raise
        finally:
            self.reading = False
        if not sys.stdin.isatty():
            print(line)  # Echo piped input, so the transcript reads like a conversation.
        return line


def block_sigint_in_this_thread() -> None:
    """Leave Ctrl-C to the main thread (a thread initializer).

    The kernel hands a process's SIGINT to any thread that does not block it. When a
    helper thread (DNS lookups, SQLite) gets it, the main thread sleeping in `input()`
    is not woken, so Ctrl-C at the prompt would do nothing until the next key.
    """
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def run_chat(args: argparse.Namespace) -> int:
    """Run the interactive chat until /quit or Ctrl-D at the prompt."""
    console = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    if sys.stdin.isatty():
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (line editing and history for input())
    with asyncio.Runner() as runner:
        runner.get_loop().set_default_executor(
            concurrent.futures.ThreadPoolExecutor(initializer=block_sigint_in_this_thread)
        )
        client = _client(args)
        sigint = _ReplSigint()
        previous = signal.getsignal(signal.SIGINT)
        try:
            repl = Repl(runner.run(_open_session(client, args)), args, console)
            repl.banner()
            while True:
                # A Ctrl-C anywhere in here stays in the REPL: at the prompt it drops the
                # line being typed, as in Python's REPL and in shells, so a second press
                # right after a cancel cannot end the conversation. Ctrl-D leaves.
                try:
                    sigint.install()
                    line = sigint.read_line()
                    if line.strip() and not runner.run(sigint.command(repl.handle(line))):
                        break
                except EOFError:
                    console.print()
                    break
                except ChatClientError as error:
                    err.print(Text(f"Error: {describe(error)}", style="bold red"), soft_wrap=True)
                except (KeyboardInterrupt, asyncio.CancelledError):
                    console.print()  # at the prompt, or a command stopped by Ctrl-C
        finally:
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signal.SIGINT, previous)
            runner.run(client.aclose())
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run `lgchat`; return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        _token_user(args)
        if args.command == "chat":
            code = run_chat(args)
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
