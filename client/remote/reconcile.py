"""Make a finished run's streamed reply equal the thread's final state.

A server can lose a stream event: Aegra with its Redis broker missed one on
`join_stream` in 2 of 8 tries. The stream then ends `success` with a token, or a whole
message, missing, and nothing else says so. `StreamLedger` records what the stream
said about each message; `corrections` compares that with the thread's final state
and returns ordinary typed events that complete it, so renderers, `Reply` and `--json`
stay consistent:

- an assistant message whose final text differs from what was streamed (a token
  lost) is withdrawn (`ReplyRetracted`, reason "corrected") and sent again whole;
- a message the run added that never came at all is sent whole.

Only messages present in the final state are compared: a summarization may have
removed some of the run's messages from it, which is no loss.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from client.decode import tool_result_id
from client.events import (
    MessageFinished,
    MessageStarted,
    ReplyRetracted,
    StateValues,
    StreamEvent,
    TextDelta,
    ToolCallProgress,
)
from client.messages import is_assistant_role, message_from_dict


class StreamLedger:
    """What a run's stream said, per message: enough to check it against the thread."""

    def __init__(self) -> None:
        """Start with nothing streamed."""
        self.texts: dict[str, str] = {}
        self.seen: set[str] = set()
        self.final_values: Mapping[str, Any] | None = None
        """The root state of the last `values` event: the final state, when the run
        was streamed in `values` mode."""

    def record(self, event: StreamEvent) -> None:
        """Note one event the consumer is given."""
        if isinstance(event, TextDelta):
            self.texts[event.message_id] = self.texts.get(event.message_id, "") + event.text
        elif isinstance(event, MessageStarted):
            self.seen.add(event.message_id)
        elif isinstance(event, ReplyRetracted):
            for message_id in event.message_ids:
                self.texts.pop(message_id, None)
                self.seen.discard(message_id)
        elif isinstance(event, StateValues) and not event.namespace:
            self.final_values = event.values


def corrections(
    ledger: StreamLedger,
    run_id: str | None,
    final_messages: Iterable[Mapping[str, Any]],
    input_ids: Collection[str] | None,
) -> list[StreamEvent]:
    """Return the events that make the streamed reply equal the thread's final state.

    Args:
        ledger: What the run's stream said.
        run_id: The run, for `ReplyRetracted`.
        final_messages: The thread's messages after the run, as dicts off the wire.
        input_ids: The ids of the messages the run's input added; the messages after
            them are the run's. None (a joined run): only streamed messages are checked.
    """
    out: list[StreamEvent] = []
    after_input = input_ids is None
    for data in final_messages:
        message_id = data.get("id")
        if not isinstance(message_id, str):
            continue
        if input_ids is not None and message_id in input_ids:
            after_input = True
            continue
        message = message_from_dict(data)
        call_id = data.get("tool_call_id")
        if isinstance(call_id, str) and tool_result_id(call_id) in ledger.seen:
            continue  # streamed, from an update, before the state gave it its id
        if message_id not in ledger.seen:
            if after_input and input_ids is not None:
                out += _whole(message_id, message)
            continue
        if not is_assistant_role(message.type):
            continue
        streamed, final = ledger.texts.get(message_id, ""), message.text
        if final != streamed:
            # Withdrawn and sent again even when only a suffix is missing: the message
            # has finished, and a renderer continues no finished line.
            out.append(ReplyRetracted(run_id, (message_id,), "corrected"))
            out += _whole(message_id, message)
    return out


def _whole(message_id: str, message: BaseMessage) -> list[StreamEvent]:
    """Return the events of a message that arrives whole, as the decoder gives them."""
    out: list[StreamEvent] = [MessageStarted(message_id, message.type)]
    if message.text:
        out.append(TextDelta(message_id, message.text, role=message.type))
    if isinstance(message, AIMessage):
        for index, call in enumerate(message.tool_calls):
            out.append(ToolCallProgress(message_id, index, call["id"], call["name"], call["args"]))
    finish_reason = message.response_metadata.get("finish_reason")
    out.append(MessageFinished(message_id, message, finish_reason))
    return out
