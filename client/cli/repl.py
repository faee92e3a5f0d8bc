"""`lgchat chat`: the interactive loop, its slash commands, and Ctrl-C that never ends it.

`client.cli.app` parses the command line and hands the REPL its client and session.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import signal
import sys
from collections.abc import Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from client.approval import Decision
from client.cli.exit_codes import EXIT_OK, describe
from client.cli.render import make_renderer, transcript_lines
from client.cli.review import ask_decisions
from client.cli.streaming import stream_reply
from client.errors import ChatClientError, InvalidInput
from client.events import Interrupted, RunStatus
from client.inputs import parse_stream_modes
from client.session import ChatSession

if TYPE_CHECKING:
    from client.local.runtime import LocalRuntime
    from client.remote.client import ChatClient

REPL_HELP = """\
/new          start a new conversation (new thread)
/thread ID    continue thread ID
/history      show every turn of this thread, and its summary
/mode [M ...] show or set the stream modes (e.g. /mode messages-tuple updates)
/approve on   review every tool call before it runs (approve_tools); /approve off
/review       answer the tool calls this thread waits on
/quit         leave (Ctrl-D at the prompt does too)
Ctrl-C while a reply streams cancels that run on the server; at the prompt it clears
the line, as in a shell."""

REPL_QUIT = frozenset({"/quit", "/exit", "/q"})


class Repl:
    """The `lgchat chat` loop's commands; reading input stays with `run_chat`."""

    def __init__(self, session: ChatSession, args: argparse.Namespace, console: Console) -> None:
        """Chat through `session`, drawing on `console`."""
        self.session = session
        self.args = args
        self.console = console
        self.pending: Interrupted | None = None
        """The review the thread waits on, asked for at the prompt next."""

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
            status = await stream_reply(self.session, line, renderer, context=self.args.context)
            await self._after(status)
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
            await self._load_pending()  # a thread that waits for a review asks now
        elif command == "/history":
            await self.show_history()
        elif command == "/approve":
            if rest.strip() not in ("on", "off"):
                raise InvalidInput("usage: /approve on|off")
            on = rest.strip() == "on"
            self.args.context = {**(self.args.context or {}), "approve_tools": on}
            self.say(f"Tool calls {'wait for your review' if on else 'run without review'}.")
        elif command == "/review":
            await self._load_pending()
            if self.pending is None:
                self.say("Nothing waits for review on this thread.")
        elif command == "/mode":
            if rest.strip():
                self.session.stream_mode = parse_stream_modes(rest.split())
            self.say(f"Stream modes: {' '.join(self.session.stream_mode)}")
        else:
            raise InvalidInput(f"unknown command {command}; /help lists the commands")
        return True

    async def resume(self, decisions: list[Decision]) -> bool:
        """Answer the pending review and stream the rest of the run."""
        self.pending = None
        renderer = make_renderer(json_lines=self.args.json)
        events = self.session.resume(decisions)
        await self._after(await stream_reply(self.session, "", renderer, events=events))
        return True

    async def _after(self, status: RunStatus) -> None:
        """Note the review a run stopped at, so the prompt asks for it next."""
        if status == "interrupted":
            await self._load_pending()

    async def _load_pending(self) -> None:
        """Note the review the thread waits on, if any, so the prompt asks for it next."""
        state = await self.session.state()
        self.pending = state.interrupts[0] if state and state.interrupts else None
        if self.pending is not None and self.pending.error:
            self.say(f"Refused: {self.pending.error}", "bold red")

    def review_left(self) -> None:
        """Say what becomes of a review left unanswered (Ctrl-C at its prompt)."""
        self.pending = None
        self.say(
            "The calls still wait: /review answers them; a new message instead leaves "
            "them unrun (the model is told so)."
        )

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

    def read_line(self, prompt: str = "You: ", prefill: str = "") -> str:
        """Read a line at the prompt; Ctrl-C raises KeyboardInterrupt, Ctrl-D EOFError.

        Args:
            prompt: What to show.
            prefill: Text to start the line with, to edit (on a terminal with readline).
        """
        presses = self.presses
        # The prompt goes through input() itself: readline prints it once the terminal
        # is ready to read, so a key typed the moment "You: " shows (Ctrl-D) is never lost.
        try:
            self.reading = True  # in the try: `finally` must always clear it
            with _prefilled(prefill):
                line = input(prompt)
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


@contextlib.contextmanager
def _prefilled(text: str) -> Iterator[None]:
    """Start the next `input()` line with `text`, where readline is in use."""
    readline = sys.modules.get("readline")
    if not text or readline is None or not sys.stdin.isatty():
        yield
        return
    readline.set_startup_hook(lambda: readline.insert_text(text))
    try:
        yield
    finally:
        readline.set_startup_hook()


def block_sigint_in_this_thread() -> None:
    """Leave Ctrl-C to the main thread (a thread initializer).

    The kernel hands a process's SIGINT to any thread that does not block it. When a
    helper thread (DNS lookups, SQLite) gets it, the main thread sleeping in `input()`
    is not woken, so Ctrl-C at the prompt would do nothing until the next key.
    """
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def _review(repl: Repl, sigint: _ReplSigint, runner: asyncio.Runner) -> None:
    """Ask what to do with each pending call, then resume the run with the answers.

    A wrong answer is said and asked again; Ctrl-C leaves the review unanswered.
    """
    assert repl.pending is not None
    try:
        decisions = ask_decisions(repl.pending, sigint.read_line)
    except KeyboardInterrupt:
        repl.console.print()
        repl.review_left()
        return
    runner.run(sigint.command(repl.resume(decisions)))


def run_chat(
    args: argparse.Namespace,
    make_client: Callable[[], ChatClient | LocalRuntime],
    open_session: Callable[[ChatClient | LocalRuntime], Coroutine[Any, Any, ChatSession]],
) -> int:
    """Run the interactive chat until /quit or Ctrl-D at the prompt.

    Args:
        args: The parsed command line (`--json`, `--context`).
        make_client: Makes the client, inside the REPL's event loop.
        open_session: Opens the session to chat in, with that client.
    """
    console = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    if sys.stdin.isatty():
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (line editing and history for input())
    with asyncio.Runner() as runner:
        runner.get_loop().set_default_executor(
            concurrent.futures.ThreadPoolExecutor(initializer=block_sigint_in_this_thread)
        )
        client = make_client()
        sigint = _ReplSigint()
        previous = signal.getsignal(signal.SIGINT)
        try:
            repl = Repl(runner.run(open_session(client)), args, console)
            repl.banner()
            while True:
                # A Ctrl-C anywhere in here stays in the REPL: at the prompt it drops the
                # line being typed, as in Python's REPL and in shells, so a second press
                # right after a cancel cannot end the conversation. Ctrl-D leaves.
                try:
                    sigint.install()
                    if repl.pending is not None:
                        _review(repl, sigint, runner)
                        continue
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
