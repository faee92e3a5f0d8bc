"""Graph state: the message list plus a running summary of what was cut from it."""

from __future__ import annotations

from langgraph.graph import MessagesState


class InputState(MessagesState):
    """What a caller sends: just `messages`."""


class State(MessagesState):
    """The thread's state: the kept messages and the summary of the removed ones."""

    summary: str
