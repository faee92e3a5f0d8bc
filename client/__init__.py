"""Async client for streaming chat against a LangGraph deployment.

The public API, re-exported from the modules that define it (as `langgraph_sdk`
re-exports its client). Names are imported on first use, so `import client` stays
light: the `lgchat` entry point imports this package before it can catch Ctrl-C, and
nothing here imports the graphs (`agent`), the langgraph runtime or `rich`.
In-process mode is `client.local`; the CLI is `client.cli`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from client.approval import Approve, Decision, Edit, Reject
    from client.auth import TokenIdentity, token_identity
    from client.decode import StreamDecoder
    from client.errors import (
        AssistantNotFound,
        AuthenticationFailed,
        BrokenStream,
        ChatClientError,
        ConnectionLost,
        ConnectionsExhausted,
        InvalidInput,
        NotALangGraphServer,
        NotFound,
        NothingToResume,
        PermissionDenied,
        ProtocolUnsupported,
        RunFailed,
        ServerError,
        ServerUnreachable,
        StreamLost,
        ThreadBusy,
        ThreadNotFound,
    )
    from client.events import (
        ActionRequest,
        CustomEvent,
        Interrupted,
        MessageFinished,
        MessageStarted,
        NodeUpdate,
        ReplyRetracted,
        RunEnded,
        RunError,
        RunStarted,
        StateValues,
        StreamEvent,
        StreamResumed,
        TextDelta,
        ToolCallProgress,
    )
    from client.remote.client import DEFAULT_URL, ChatClient
    from client.remote.multiuser import MultiUserChat
    from client.remote.resume import ResumePolicy
    from client.remote.session import RemoteChatSession
    from client.session import ChatSession
    from client.threads import ThreadInfo, conversation_thread_id
    from client.values import AssistantInfo, Reply, ThreadSnapshot

_EXPORTS: dict[str, str] = {
    **dict.fromkeys(["Approve", "Decision", "Edit", "Reject"], "client.approval"),
    **dict.fromkeys(["TokenIdentity", "token_identity"], "client.auth"),
    **dict.fromkeys(["StreamDecoder"], "client.decode"),
    **dict.fromkeys(
        [
            "AssistantNotFound",
            "AuthenticationFailed",
            "BrokenStream",
            "ChatClientError",
            "ConnectionLost",
            "ConnectionsExhausted",
            "InvalidInput",
            "NotALangGraphServer",
            "NotFound",
            "NothingToResume",
            "PermissionDenied",
            "ProtocolUnsupported",
            "RunFailed",
            "ServerError",
            "ServerUnreachable",
            "StreamLost",
            "ThreadBusy",
            "ThreadNotFound",
        ],
        "client.errors",
    ),
    **dict.fromkeys(
        [
            "ActionRequest",
            "CustomEvent",
            "Interrupted",
            "MessageFinished",
            "MessageStarted",
            "NodeUpdate",
            "ReplyRetracted",
            "RunEnded",
            "RunError",
            "RunStarted",
            "StateValues",
            "StreamEvent",
            "StreamResumed",
            "TextDelta",
            "ToolCallProgress",
        ],
        "client.events",
    ),
    **dict.fromkeys(["DEFAULT_URL", "ChatClient"], "client.remote.client"),
    "MultiUserChat": "client.remote.multiuser",
    "ResumePolicy": "client.remote.resume",
    "RemoteChatSession": "client.remote.session",
    "ChatSession": "client.session",
    **dict.fromkeys(["ThreadInfo", "conversation_thread_id"], "client.threads"),
    **dict.fromkeys(["AssistantInfo", "Reply", "ThreadSnapshot"], "client.values"),
}

__all__ = [
    "DEFAULT_URL",
    "ActionRequest",
    "Approve",
    "AssistantInfo",
    "AssistantNotFound",
    "AuthenticationFailed",
    "BrokenStream",
    "ChatClient",
    "ChatClientError",
    "ChatSession",
    "ConnectionLost",
    "ConnectionsExhausted",
    "CustomEvent",
    "Decision",
    "Edit",
    "Interrupted",
    "InvalidInput",
    "MessageFinished",
    "MessageStarted",
    "MultiUserChat",
    "NodeUpdate",
    "NotALangGraphServer",
    "NotFound",
    "NothingToResume",
    "PermissionDenied",
    "ProtocolUnsupported",
    "Reject",
    "RemoteChatSession",
    "Reply",
    "ReplyRetracted",
    "ResumePolicy",
    "RunEnded",
    "RunError",
    "RunFailed",
    "RunStarted",
    "ServerError",
    "ServerUnreachable",
    "StateValues",
    "StreamDecoder",
    "StreamEvent",
    "StreamLost",
    "StreamResumed",
    "TextDelta",
    "ThreadBusy",
    "ThreadInfo",
    "ThreadNotFound",
    "ThreadSnapshot",
    "TokenIdentity",
    "ToolCallProgress",
    "conversation_thread_id",
    "token_identity",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'client' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
