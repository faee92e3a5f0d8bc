"""The `lgchat` console script: Ctrl-C exits 130 quietly, even while Python imports.

`client.cli.app` imports langgraph-sdk, rich and httpx, which takes about a second and a
half; a Ctrl-C in that time would otherwise end in a `KeyboardInterrupt` traceback.
This module imports nothing heavy itself, so it is in charge before that starts.
"""

from __future__ import annotations

import signal
import sys

EXIT_INTERRUPTED = 130
"""128 + SIGINT, the shell's status for a command ended by Ctrl-C (as `client.cli.exit_codes`)."""


def main() -> int:
    """Run `lgchat`; return the exit code, 130 on Ctrl-C at any moment."""
    try:
        from client.cli.app import main as cli_main

        code = cli_main()
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    # The command is over: a Ctrl-C while the interpreter shuts down would otherwise
    # kill the process by signal, or print a traceback from an exit handler.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return code


if __name__ == "__main__":
    sys.exit(main())
