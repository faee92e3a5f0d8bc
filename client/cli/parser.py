"""`lgchat`'s command line: its commands, options, defaults from the environment, help.

`client.cli.app` runs what this parses.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from client.cli.dev_token import add_token_command
from client.cli.review import json_object
from client.errors import InvalidInput
from client.inputs import DEFAULT_STREAM_MODES, STREAM_MODES
from client.remote.client import DEFAULT_URL

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
  6    the run stopped for a tool-call review (`approve_tools`); the commands that
       continue it are printed on stderr: `lgchat resume THREAD --approve`,
       `--reject "reason"` or `--edit '{"a": 2, "b": 4}'`
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
  lgchat send --context '{"approve_tools": true}' "Multiply 2 and 3"   # exits 6
  lgchat resume THREAD --edit '{"a": 2, "b": 4}'
  lgchat send --assistant chatbot --user lance "hi! I'm Lance"
  lgchat send --mode messages --mode values "Multiply 2 and 3"
  lgchat chat --assistant chatbot
  lgchat --local demo
  export LANGGRAPH_AUTH_TOKEN=$(lgchat token --user alice --name Alice)
  lgchat send --assistant chatbot hi      # as alice, on her own thread
  lgchat --local send --assistant chatbot --user lance "hi! I'm Lance"
"""


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
    parser.add_argument(
        "--protocol",
        default=default("runs"),
        help="how runs stream: runs (run-centric stream modes) or v3 (the thread-centric "
        "protocol, resumed by sequence number) (default: %(default)s)"
        if not in_subcommand
        else argparse.SUPPRESS,
    )
    parser.add_argument(
        "--transport",
        default=default("sse"),
        help="what carries --protocol v3: sse or websocket (default: %(default)s)"
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
        return json_object(text)
    except InvalidInput as error:
        raise argparse.ArgumentTypeError(str(error)) from None


class _DecisionFlag(argparse.Action):
    """Append `(kind, value)` to `decisions`, keeping the order the flags came in."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        kind = (option_string or "--approve").removeprefix("--")
        flags = list(getattr(namespace, self.dest, None) or [])
        flags.append((kind, values))
        setattr(namespace, self.dest, flags)


def _add_resume_command(commands: Any, shared: argparse.ArgumentParser) -> None:
    resume = commands.add_parser(
        "resume",
        parents=[shared],
        help="answer a tool-call review (approve, edit or reject) and stream the rest of the run",
        description="Answer the tool calls a thread waits on, one decision per call in "
        "order; a single --approve or --reject answers them all.",
    )
    resume.add_argument("thread", metavar="THREAD", help="thread id")
    decisions: dict[str, Any] = {"dest": "decisions", "action": _DecisionFlag, "default": []}
    resume.add_argument("--approve", nargs=0, help="run the call as the model made it", **decisions)
    resume.add_argument(
        "--reject",
        nargs="?",
        metavar="REASON",
        help="do not run the call; the model is told why (REASON, optional)",
        **decisions,
    )
    resume.add_argument(
        "--edit",
        type=_json_object,
        metavar="JSON",
        help='run the call with these arguments, e.g. \'{"a": 2, "b": 4}\'',
        **decisions,
    )
    resume.add_argument(
        "--assistant",
        default="agent",
        help="graph of the thread, with --local (a server knows the thread's own)",
    )
    resume.add_argument(
        "--mode", action="append", metavar="MODE", help="stream mode, as for `send`"
    )
    resume.add_argument(
        "--context",
        type=_json_object,
        metavar="JSON",
        help="run context (default: the interrupted run's, so later calls are reviewed too)",
    )


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

    _add_resume_command(commands, shared)

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
