"""The signed-in user a run is for, as the server's auth passes it to the graph.

With auth on, both engines put the authenticated user in the run's config under
`configurable.langgraph_auth_user`: `langgraph dev` as a user object, Aegra as its own
user model, in-process runs not at all. The graphs tell the model the user's display
name, so it can greet them by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.runnables import RunnableConfig

from agent import prompts

AUTH_USER_KEY = "langgraph_auth_user"


def signed_in_name(config: RunnableConfig | None) -> str | None:
    """Return the signed-in user's display name, or None without one.

    A display name that is only the identity again (what servers report when the
    token names nobody) is no name.
    """
    user: Any = ((config or {}).get("configurable") or {}).get(AUTH_USER_KEY)
    if user is None:
        return None
    if isinstance(user, Mapping):
        name, identity = user.get("display_name"), user.get("identity")
    else:
        name, identity = getattr(user, "display_name", None), getattr(user, "identity", None)
    if not isinstance(name, str) or not name.strip() or name == identity:
        return None
    return " ".join(name.split())


def with_signed_in_user(system_prompt: str, config: RunnableConfig | None) -> str:
    """Return `system_prompt`, telling the model the signed-in user's name if known."""
    name = signed_in_name(config)
    if name is None:
        return system_prompt
    return f"{system_prompt} {prompts.SIGNED_IN_USER.format(name=name)}".strip()
