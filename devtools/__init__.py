"""Dev-only tooling shared by tests and bench: dev server launcher, ports, scripted OpenAI.

Shipped with the project so `python -m devtools.devserver` works from any directory,
but its servers need the `dev` extra (langgraph-cli, Starlette, uvicorn); a missing one
is named with the command that installs it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

DEV_EXTRA_HINT = "pip install -e '.[dev]' (or `make install`)"


@contextlib.contextmanager
def require_dev_extra(what: str) -> Iterator[None]:
    """Re-raise an `ImportError` in the block with the name of the extra that fixes it.

    Args:
        what: The module or command that needs the extra, for the message.
    """
    try:
        yield
    except ImportError as error:
        raise ImportError(
            f"{what} needs {error.name or 'a package'} from the `dev` extra: {DEV_EXTRA_HINT}"
        ) from error
