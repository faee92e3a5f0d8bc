"""`python -m client`: the `lgchat` command line."""

from __future__ import annotations

import sys

from client.cli.entry import main

if __name__ == "__main__":
    sys.exit(main())
