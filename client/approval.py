"""Tool-call review on the client side: read an interrupt's requests, answer them.

A graph that stops for review (the `agent` graph with `approve_tools` on) interrupts
with LangChain's human-in-the-loop request shape:

    {"action_requests": [{"name", "args", "description"}],
     "review_configs": [{"action_name", "allowed_decisions"}]}

`interrupted` turns such a value (from a stream, a thread's state, or a v3
`input.requested` event) into the typed `Interrupted` event; `Approve`, `Edit` and
`Reject` are the answers, one per request, and `resume_value` is what goes back to
the graph: `{"decisions": [...]}`. The graph has the last word on a decision (it checks
edited arguments against the tool's schema) and asks again with an `error` when it
refuses one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from client.errors import InvalidInput
from client.events import DECISION_TYPES, ActionRequest, Interrupted, Namespace

__all__ = [
    "Approve",
    "Decision",
    "Edit",
    "Reject",
    "check_decisions",
    "interrupted",
    "resume_value",
]


@dataclass(frozen=True, slots=True)
class Approve:
    """Run the tool call as the model made it."""

    def to_json(self) -> dict[str, Any]:
        """Return the decision as the graph reads it."""
        return {"type": "approve"}


@dataclass(frozen=True, slots=True)
class Edit:
    """Run the tool call with other arguments (and, optionally, another tool)."""

    args: dict[str, Any] = field(metadata={"description": "The arguments to run it with."})
    name: str | None = field(
        default=None, metadata={"description": "Another tool to call; None keeps the call's."}
    )

    def to_json(self, original: str) -> dict[str, Any]:
        """Return the decision as the graph reads it; `original` is the call's tool."""
        return {"type": "edit", "edited_action": {"name": self.name or original, "args": self.args}}


@dataclass(frozen=True, slots=True)
class Reject:
    """Do not run the tool call; the model is told so, with `message` as the reason."""

    message: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the decision as the graph reads it."""
        return {"type": "reject", **({"message": self.message} if self.message else {})}


Decision = Approve | Edit | Reject
"""One answer to one reviewed tool call."""

_NAMES = {Approve: "approve", Edit: "edit", Reject: "reject"}


def interrupted(raw: Any, namespace: Namespace = ()) -> Interrupted:
    """Return the `Interrupted` event for one interrupt as a server or graph reports it.

    Args:
        raw: `{"id", "value"}` (stream modes and thread state), `{"interrupt_id",
            "payload"}` (a v3 `input.requested` event), or a LangGraph `Interrupt`.
        namespace: The subgraph the interrupt came from.
    """
    if not isinstance(raw, Mapping):
        raw = {"id": getattr(raw, "id", None), "value": getattr(raw, "value", raw)}
    interrupt_id = raw.get("id") or raw.get("interrupt_id")
    value = raw["value"] if "value" in raw else raw.get("payload")
    requests: tuple[ActionRequest, ...] = ()
    error = None
    if isinstance(value, Mapping) and isinstance(value.get("action_requests"), list):
        configs = value.get("review_configs")
        configs = configs if isinstance(configs, list) else []
        requests = tuple(
            _request(action, configs[index] if index < len(configs) else None)
            for index, action in enumerate(value["action_requests"])
            if isinstance(action, Mapping)
        )
        error = value.get("error") if isinstance(value.get("error"), str) else None
    return Interrupted(
        None if interrupt_id is None else str(interrupt_id), value, requests, error, namespace
    )


def _request(action: Mapping[str, Any], config: Any) -> ActionRequest:
    allowed = config.get("allowed_decisions") if isinstance(config, Mapping) else None
    args = action.get("args")
    description = action.get("description")
    return ActionRequest(
        name=str(action.get("name") or "?"),
        args=dict(args) if isinstance(args, Mapping) else {},
        description=description if isinstance(description, str) else None,
        allowed_decisions=tuple(str(d) for d in allowed)
        if isinstance(allowed, list)
        else DECISION_TYPES,
    )


def check_decisions(interrupt: Interrupted, decisions: Sequence[Decision]) -> None:
    """Check that `decisions` answer `interrupt`: one allowed decision per request.

    Raises:
        InvalidInput: The count is wrong, a decision is not one the request allows,
            or the interrupt is not a tool review.
    """
    if not interrupt.requests:
        raise InvalidInput("the pending interrupt is not a tool-call review")
    if len(decisions) != len(interrupt.requests):
        raise InvalidInput(
            f"{len(interrupt.requests)} tool call(s) wait for review; give one decision "
            f"each, in order ({len(decisions)} given)"
        )
    for number, (request, decision) in enumerate(
        zip(interrupt.requests, decisions, strict=True), start=1
    ):
        name = _NAMES[type(decision)]
        if name not in request.allowed_decisions:
            allowed = ", ".join(request.allowed_decisions)
            raise InvalidInput(
                f"decision {number} ({request.name}): {name} is not allowed (allowed: {allowed})"
            )


def resume_value(interrupt: Interrupted, decisions: Sequence[Decision]) -> dict[str, Any]:
    """Return the resume value that answers `interrupt` with `decisions`."""
    return {
        "decisions": [
            decision.to_json(request.name) if isinstance(decision, Edit) else decision.to_json()
            for request, decision in zip(interrupt.requests, decisions, strict=True)
        ]
    }
