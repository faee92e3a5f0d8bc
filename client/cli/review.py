"""Tool-call review in `lgchat`: how a pending call is shown and how it is answered.

`lgchat send` ends at a review with `EXIT_NEEDS_DECISION` and prints the commands that
continue it (`continue_commands`); `lgchat resume` turns its flags into decisions
(`flag_decisions`); `lgchat chat` asks at the prompt (`ask_decisions`).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Sequence
from typing import Any

from client.approval import Approve, Decision, Edit, Reject
from client.errors import InvalidInput
from client.events import ActionRequest, Interrupted

DecisionFlag = tuple[str, Any]
"""One `lgchat resume` flag as parsed: ("approve", None), ("reject", reason or None),
or ("edit", args)."""


def call_text(request: ActionRequest) -> str:
    """Return a pending call as one line: `add {"a": 2, "b": 3}`."""
    return f"{request.name} {json.dumps(request.args, ensure_ascii=False)}"


def interrupt_lines(event: Interrupted) -> list[str]:
    """Return the transcript lines of an interrupt: each call that waits for review."""
    if not event.requests:
        value = json.dumps(event.value, ensure_ascii=False, default=str)
        return [f"Waiting for input: {value}"]
    return [f"Waiting for approval: {call_text(request)}" for request in event.requests]


def continue_commands(thread_id: str, event: Interrupted, *, local: bool) -> list[str]:
    """Return the `lgchat resume` commands that answer `event`, one per kind of answer."""
    prefix = f"lgchat {'--local ' if local else ''}resume {thread_id}"
    edits = " ".join(
        f"--edit {shlex.quote(json.dumps(request.args))}" for request in event.requests
    )
    return [f"{prefix} --approve", f'{prefix} --reject "reason"', f"{prefix} {edits}"]


def flag_decisions(flags: Sequence[DecisionFlag], event: Interrupted) -> list[Decision]:
    """Return the decisions `lgchat resume`'s flags give, one per pending call.

    One `--approve` or `--reject` answers every pending call; otherwise the flags
    answer the calls one each, in order.

    Raises:
        InvalidInput: No flag was given, or not one per call.
    """
    if not flags:
        raise InvalidInput("say what to do: --approve, --reject [REASON] or --edit JSON")
    decisions = [_decision(kind, value) for kind, value in flags]
    count = len(event.requests)
    if len(decisions) == 1 and count > 1 and not isinstance(decisions[0], Edit):
        return decisions * count
    return decisions


def _decision(kind: str, value: Any) -> Decision:
    if kind == "edit":
        return Edit(value)
    if kind == "reject":
        return Reject(value or None)
    return Approve()


Ask = Callable[[str, str], str]
"""Read one answer at a prompt: `ask(prompt, prefilled_text)`."""


def ask_decisions(event: Interrupted, ask: Ask) -> list[Decision]:
    """Ask at the prompt what to do with each pending call; return the decisions.

    Raises:
        InvalidInput: An answer is not approve, edit or reject, or edited arguments are
            not a JSON object.
    """
    decisions: list[Decision] = []
    for request in event.requests:
        answer = ask(f"{call_text(request)}: [a]pprove, [e]dit or [r]eject? ", "").strip()
        kind = {"a": "approve", "e": "edit", "r": "reject"}.get(answer.lower()[:1])
        if kind is None or kind not in request.allowed_decisions:
            allowed = ", ".join(request.allowed_decisions)
            raise InvalidInput(f"answer one of {allowed}, got {answer!r}; the call still waits")
        if kind == "edit":
            edited = ask("args (JSON): ", json.dumps(request.args, ensure_ascii=False))
            decisions.append(Edit(json_object(edited, "the edited args")))
        elif kind == "reject":
            decisions.append(Reject(ask("reason (optional): ", "").strip() or None))
        else:
            decisions.append(Approve())
    return decisions


def json_object(text: str, what: str | None = None) -> dict[str, Any]:
    """Return `text` parsed as a JSON object.

    Args:
        text: The JSON.
        what: What the text is, plural ("the edited args"), to lead the error message.

    Raises:
        InvalidInput: It is not JSON, or not an object.
    """
    lead = f"{what} " if what else ""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"{lead}{'are ' if what else ''}not JSON: {error}") from None
    if not isinstance(value, dict):
        raise InvalidInput(f"{lead}must be a JSON object, got {text.strip()!r}")
    return value
