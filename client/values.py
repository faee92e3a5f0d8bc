"""What sessions return: assistants, thread snapshots, and `Reply` (a whole streamed run)."""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping
from dataclasses import dataclass
from typing import Any, Self

from langchain_core.messages import BaseMessage
from langgraph_sdk.schema import Assistant, ThreadState

from client.approval import interrupted
from client.errors import InvalidInput, RunFailed
from client.events import (
    Interrupted,
    MessageFinished,
    MessageStarted,
    ReplyRetracted,
    RunEnded,
    RunError,
    RunStatus,
    StreamEvent,
    TextDelta,
    ToolCallProgress,
)
from client.messages import is_assistant_role, message_from_dict, state_messages


@dataclass(frozen=True, slots=True)
class AssistantInfo:
    """An assistant the server offers."""

    assistant_id: str
    graph_id: str
    name: str
    description: str | None = None

    @classmethod
    def from_assistant(cls, assistant: Assistant) -> AssistantInfo:
        """Build from the SDK's assistant dict."""
        return cls(
            assistant_id=str(assistant["assistant_id"]),
            graph_id=str(assistant["graph_id"]),
            name=str(assistant.get("name") or assistant["graph_id"]),
            description=assistant.get("description"),
        )

    def answers_to(self, name_or_id: str) -> bool:
        """Return True when `name_or_id` is this assistant's id, graph or name."""
        return name_or_id in (self.assistant_id, self.graph_id, self.name)


@dataclass(frozen=True, slots=True)
class ThreadSnapshot:
    """A thread's current state: the kept messages and the summary of removed ones."""

    thread_id: str
    messages: list[BaseMessage]
    summary: str = ""
    next_nodes: tuple[str, ...] = ()
    interrupts: tuple[Interrupted, ...] = ()
    """What the thread waits for: a graph's pending `interrupt()`s (see `ChatSession.resume`)."""

    @classmethod
    def from_state(cls, thread_id: str, state: ThreadState) -> ThreadSnapshot:
        """Build from the SDK's thread state."""
        values = state["values"] if isinstance(state["values"], dict) else {}
        return cls(
            thread_id=thread_id,
            messages=[message_from_dict(m) for m in state_messages(values)],
            summary=str(values.get("summary") or ""),
            next_nodes=tuple(state.get("next") or ()),
            interrupts=pending_interrupts(state),
        )


def pending_interrupts(state: Mapping[str, Any]) -> tuple[Interrupted, ...]:
    """Return a thread state's pending interrupts, from its tasks where it lists none.

    Args:
        state: The SDK's `ThreadState`, or LangGraph's `StateSnapshot._asdict()`.
    """
    raw = list(state.get("interrupts") or ())
    if not raw:
        for task in state.get("tasks") or ():
            task_interrupts = task.get("interrupts") if isinstance(task, Mapping) else None
            raw.extend(getattr(task, "interrupts", None) or task_interrupts or ())
    return tuple(interrupted(item) for item in raw)


@dataclass(frozen=True, slots=True)
class Reply:
    """Everything one run streamed, with the answers a caller usually wants."""

    events: tuple[StreamEvent, ...]

    @property
    def ended(self) -> RunEnded | None:
        """Return the stream's last `RunEnded` event, if it has one."""
        ends = [e for e in self.events if isinstance(e, RunEnded)]
        return ends[-1] if ends else None

    @property
    def status(self) -> RunStatus | None:
        """Return how the run ended, or None if the stream never said."""
        return self.ended.status if self.ended else None

    @property
    def run_id(self) -> str | None:
        """Return the run's id, if the stream named it."""
        return self.ended.run_id if self.ended else None

    @property
    def interrupt(self) -> Interrupted | None:
        """Return what the run stopped to ask (it ended `interrupted`), if it did."""
        found = [e for e in self.events if isinstance(e, Interrupted)]
        return found[-1] if found else None

    @property
    def error(self) -> str | None:
        """Return the run's error message, if it failed."""
        errors = [e.message for e in self.events if isinstance(e, RunError)]
        return errors[-1] if errors else None

    @property
    def roles(self) -> dict[str, str]:
        """Return each streamed message's role by message id."""
        return {e.message_id: e.role for e in self.events if isinstance(e, MessageStarted)}

    @property
    def text(self) -> str:
        """Return the assistant's streamed text, one line per message that had text.

        Withdrawn text (`ReplyRetracted`) is left out; a message sent again after its
        retraction counts from its new start.
        """
        texts: dict[str, str] = {}
        for event in self.events:
            if isinstance(event, TextDelta) and is_assistant_role(event.role):
                texts[event.message_id] = texts.get(event.message_id, "") + event.text
            elif isinstance(event, ReplyRetracted):
                for message_id in event.message_ids:
                    texts.pop(message_id, None)
        return "\n".join(text for text in texts.values() if text)

    @property
    def messages(self) -> list[BaseMessage]:
        """Return every finished message that was not withdrawn, in finishing order."""
        finished: dict[str, BaseMessage] = {}
        for event in self.events:
            if isinstance(event, MessageFinished):
                finished[event.message_id] = event.message
            elif isinstance(event, ReplyRetracted):
                for message_id in event.message_ids:
                    finished.pop(message_id, None)
        return list(finished.values())

    @property
    def finish_reason(self) -> str | None:
        """Return the finish reason of the last assistant message."""
        roles = self.roles
        reasons = [
            e.finish_reason
            for e in self.events
            if isinstance(e, MessageFinished) and is_assistant_role(roles.get(e.message_id, ""))
        ]
        return reasons[-1] if reasons else None

    @property
    def tool_call_args(self) -> list[dict[str, Any]]:
        """Return each reported state of the tool calls' arguments, in order."""
        return [dict(e.args) for e in self.events if isinstance(e, ToolCallProgress)]

    def raise_for_error(self) -> Self:
        """Return self, or raise what went wrong.

        Raises:
            RunFailed: The run reported an error.
            InvalidInput: The graph refused the decisions the run resumed it with (it
                asks again: the interrupt stays pending).
        """
        if self.error is not None or self.status == "error":
            raise RunFailed(self.error or "the run ended with an error")
        if self.interrupt is not None and self.interrupt.error:
            raise InvalidInput(self.interrupt.error)
        return self


async def collect_reply(events: AsyncIterable[StreamEvent]) -> Reply:
    """Return the whole streamed run of `events` as a `Reply`."""
    return Reply(tuple([event async for event in events]))
