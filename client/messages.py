"""LangChain messages as the client reads them: roles, server dicts, histories."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from langchain_core.messages import BaseMessage, messages_from_dict

ASSISTANT_ROLES = frozenset({"ai"})
"""Message roles that are the assistant speaking."""


def is_assistant_role(role: str) -> bool:
    """Return True when `role` names the assistant."""
    return role in ASSISTANT_ROLES


def state_messages(values: object) -> list[Mapping[str, Any]]:
    """Return the message dicts of a thread's `values` (none when it holds no messages).

    Args:
        values: A thread's or a state's `values` off the wire; anything but a dict
            with a `messages` list (None, for a thread object from Aegra) has none.
    """
    messages = values.get("messages") if isinstance(values, Mapping) else None
    if not isinstance(messages, list):
        return []
    return [m for m in messages if isinstance(m, Mapping)]


def message_from_dict(data: Mapping[str, Any]) -> BaseMessage:
    """Return the LangChain message for a message dict from the server."""
    return messages_from_dict([{"type": data.get("type", "ai"), "data": dict(data)}])[0]


def unique_messages(states: Iterable[Iterable[BaseMessage]]) -> list[BaseMessage]:
    """Return every message of a thread's states, oldest first, each once (by id).

    Args:
        states: Each checkpoint's messages, oldest checkpoint first. A message a later
            checkpoint still holds keeps its first position; one a summary removed
            stays where it was.
    """
    seen: dict[str, BaseMessage] = {}
    for messages in states:
        for message in messages:
            seen.setdefault(str(message.id), message)
    return list(seen.values())
