"""`lgchat`'s exit codes, and the hints it adds to the library's one-line errors.

The library's errors say what went wrong; only the command line knows its own flags,
the `make` targets of this project and the shell's exit-code conventions.
"""

from __future__ import annotations

from client.errors import (
    AuthenticationFailed,
    BrokenStream,
    ChatClientError,
    ConnectionLost,
    InvalidInput,
    NotALangGraphServer,
    NotFound,
    PermissionDenied,
    ProtocolUnsupported,
    ServerUnreachable,
    ThreadBusy,
)

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
"""No server, not a LangGraph server, a lost connection, or refused credentials."""
EXIT_AUTH = EXIT_UNREACHABLE
"""A refused token or API key, or an action refused to the token's user."""
EXIT_NOT_FOUND = 4
EXIT_BUSY = 5
EXIT_NEEDS_DECISION = 6
"""The run stopped for a tool-call review; `lgchat resume` continues it."""
EXIT_INTERRUPTED = 130
"""128 + SIGINT, the shell's status for a command ended by Ctrl-C."""
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: what a shell reports for a writer whose reader left (`yes | head -1`)."""

EXIT_CODES: dict[type[ChatClientError], int] = {
    ServerUnreachable: EXIT_UNREACHABLE,
    ConnectionLost: EXIT_UNREACHABLE,  # StreamLost too
    NotALangGraphServer: EXIT_UNREACHABLE,
    BrokenStream: EXIT_UNREACHABLE,
    ProtocolUnsupported: EXIT_UNREACHABLE,
    AuthenticationFailed: EXIT_AUTH,
    PermissionDenied: EXIT_AUTH,
    NotFound: EXIT_NOT_FOUND,  # AssistantNotFound, ThreadNotFound
    ThreadBusy: EXIT_BUSY,
    InvalidInput: EXIT_USAGE,
}
"""Exit code by error class; a subclass takes its nearest listed base's. Any other
error (`RunFailed`, `ServerError`, `ConnectionsExhausted`) exits 1."""

HINTS: dict[type[ChatClientError], str] = {
    ServerUnreachable: " — start one with `make dev`",
    NotALangGraphServer: "; check --url",
    ProtocolUnsupported: " (lgchat: --protocol runs, or --transport sse)",
    # One hint for both kinds of credentials: LangGraph Platform answers a bad x-api-key
    # with a 401 or 403 too.
    AuthenticationFailed: "; pass --token or set LANGGRAPH_AUTH_TOKEN (for development: "
    "`lgchat token --user ID`), or --api-key on LangGraph Platform",
}
"""What to do about an error, in the command line's terms, appended to its message."""


def exit_code(error: ChatClientError) -> int:
    """Return the exit code that reports `error`."""
    for cls in type(error).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return EXIT_RUN_FAILED


def describe(error: ChatClientError) -> str:
    """Return the one line `lgchat` prints for `error`: its message and any hint."""
    hint = next((HINTS[cls] for cls in type(error).__mro__ if cls in HINTS), "")
    return f"{error}{hint}"
