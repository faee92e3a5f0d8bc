"""A remote session's runs on Aegra's wire: recorded-shape stream parts, a fake SDK.

Aegra 0.11 differs from `langgraph dev` where these tests look: a final `end` event
(`interrupted` after a cancel), run errors redacted to `execution failed` in the
stream, thread objects without `values`, `multitask_strategy` ignored, a crashed run
retried as a second attempt in the same stream, and (with Redis) a stream event lost
now and then. The client must behave as it does on `langgraph dev`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from types import SimpleNamespace
from typing import Any, cast

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk
from langgraph_sdk.schema import StreamPart

from client.decode import StreamDecoder
from client.errors import ThreadBusy
from client.events import (
    MessageFinished,
    MessageStarted,
    ReplyRetracted,
    RunEnded,
    RunStarted,
    StreamEvent,
    TextDelta,
)
from client.remote.client import ChatClient
from client.remote.resume import ResumePolicy
from client.remote.session import RemoteChatSession
from client.remote.stream import ActiveRun, RunStreams
from client.values import AssistantInfo, Reply

RUN, THREAD, INPUT = "run-1", "thread-1", "input-1"
META = {"langgraph_node": "assistant", "langgraph_checkpoint_ns": "assistant:task"}


class FakeSdk:
    """The few SDK calls a session makes, answered from canned data, and counted."""

    def __init__(
        self,
        *,
        final: list[dict[str, Any]] | None = None,
        run: dict[str, Any] | None = None,
        thread_status: str = "idle",
        stream: list[StreamPart] | None = None,
    ) -> None:
        self.calls: list[str] = []
        self.final = final or []
        self.stream_parts = stream or []
        self.run = run or {"status": "success"}
        self.thread_status = thread_status
        self.run_statuses: list[str] = []
        self.active_runs: list[str] = []
        self.runs = SimpleNamespace(
            get=self._get_run,
            stream=self._stream,
            cancel=self._cancel,
            list=self._list_runs,
            join=self._join,
        )
        self.threads = SimpleNamespace(get=self._get_thread, get_state=self._get_state)

    async def _get_run(self, thread_id: str, run_id: str) -> dict[str, Any]:
        self.calls.append("runs.get")
        if self.run_statuses:
            return {"status": self.run_statuses.pop(0)}
        return self.run

    async def _list_runs(self, thread_id: str, *, status: str, **_: Any) -> list[dict[str, Any]]:
        self.calls.append(f"runs.list {status}")
        return [{"run_id": "other", "status": s} for s in self.active_runs if s == status]

    async def _cancel(self, thread_id: str, run_id: str, **kwargs: Any) -> None:
        action = f" {kwargs['action']}" if "action" in kwargs else ""
        self.calls.append(f"runs.cancel{action}")

    async def _join(self, thread_id: str, run_id: str) -> dict[str, Any]:
        self.calls.append("runs.join")
        return {}

    async def _get_thread(self, thread_id: str) -> dict[str, Any]:
        self.calls.append("threads.get")
        return {"thread_id": thread_id, "status": self.thread_status}  # no `values`: Aegra

    async def _get_state(self, thread_id: str) -> dict[str, Any]:
        self.calls.append("threads.get_state")
        return {"values": {"messages": self.final}, "next": []}

    def _stream(self, *args: Any, **kwargs: Any) -> AsyncIterator[StreamPart]:
        self.calls.append("runs.stream")
        kwargs["on_run_created"]({"run_id": RUN, "thread_id": THREAD})
        return aiter_parts(self.stream_parts)


def fake_client(sdk: FakeSdk) -> ChatClient:
    client = SimpleNamespace(
        sdk=sdk,
        url="http://aegra",
        resume=ResumePolicy(attempts=0),
        context_schemas={},
        protocol="runs",
    )
    return cast(ChatClient, client)


async def aiter_parts(parts: Iterable[StreamPart]) -> AsyncIterator[StreamPart]:
    for part in parts:
        yield part


def aegra(parts: Iterable[tuple[str, Any]]) -> list[StreamPart]:
    """Number parts as Aegra does: `<run_id>_event_<n>`."""
    return [StreamPart(event, data, f"{RUN}_event_{n}") for n, (event, data) in enumerate(parts, 1)]


def chunk(message_id: str, text: str, **extra: Any) -> tuple[str, Any]:
    return ("messages", [AIMessageChunk(content=text, id=message_id, **extra).model_dump(), META])


def final_ai(message_id: str, text: str) -> dict[str, Any]:
    return AIMessage(content=text, id=message_id).model_dump()


def human() -> dict[str, Any]:
    return {"type": "human", "content": "count", "id": INPUT}


async def follow(sdk: FakeSdk, parts: list[StreamPart], **options: Any) -> Reply:
    streams = RunStreams(fake_client(sdk))
    run = ActiveRun(thread_id=THREAD, run_id=RUN)
    events = [e async for e in streams.follow(run, aiter_parts(parts), **options)]
    return Reply(tuple(events))


def reply_parts(*texts: str, message_id: str = "m1") -> list[tuple[str, Any]]:
    stop = {"response_metadata": {"finish_reason": "stop"}}
    return [
        ("metadata", {"run_id": RUN, "attempt": 1}),
        *(chunk(message_id, text) for text in texts[:-1]),
        chunk(message_id, texts[-1], **stop),
        ("end", {"status": "success"}),
    ]


async def test_a_complete_reply_costs_one_state_request_and_changes_nothing() -> None:
    texts = [f"{n} " for n in range(1, 13)]  # ids past `_event_9`
    sdk = FakeSdk(final=[human(), final_ai("m1", "".join(texts))])
    reply = await follow(sdk, aegra(reply_parts(*texts)), input_ids=[INPUT])
    assert reply.text == "".join(texts) and reply.status == "success"
    assert not [e for e in reply.events if isinstance(e, ReplyRetracted)]
    assert sdk.calls == ["threads.get_state"]


async def test_a_lost_token_is_corrected_from_the_final_state_before_the_end() -> None:
    parts = reply_parts("one ", "two ", "three")
    del parts[2]  # the engine lost "two "
    sdk = FakeSdk(final=[human(), final_ai("m1", "one two three")])
    reply = await follow(sdk, aegra(parts), input_ids=[INPUT])
    tail = reply.events[-5:]
    assert [type(e) for e in tail] == [
        ReplyRetracted,
        MessageStarted,
        TextDelta,
        MessageFinished,
        RunEnded,
    ]
    assert tail[0] == ReplyRetracted(RUN, ("m1",), "corrected")
    assert reply.text == "one two three"
    assert [m.text for m in reply.messages] == ["one two three"]


async def test_a_message_never_streamed_is_sent_whole_and_earlier_turns_are_not() -> None:
    earlier = final_ai("old", "an earlier turn")
    tool = {"type": "tool", "content": "6", "id": "t1", "tool_call_id": "c1", "name": "multiply"}
    sdk = FakeSdk(final=[earlier, human(), tool, final_ai("m1", "done")])
    reply = await follow(sdk, aegra(reply_parts("done")), input_ids=[INPUT])
    assert [m.id for m in reply.messages] == ["m1", "t1"]


async def test_values_mode_reconciles_with_its_last_state_and_no_request() -> None:
    final = {"messages": [human(), final_ai("m1", "a b")]}
    parts = reply_parts("a ", "b")
    parts.insert(-1, ("values", final))
    sdk = FakeSdk()
    reply = await follow(sdk, aegra(parts), input_ids=[INPUT])
    assert reply.text == "a b" and sdk.calls == []


async def test_no_reconciliation_after_an_error_or_without_message_modes() -> None:
    sdk = FakeSdk(final=[human(), final_ai("m1", "x")])
    await follow(sdk, aegra([("metadata", {"run_id": RUN}), ("end", {"status": "success"})]),
                 input_ids=[INPUT], reconcile=False)  # fmt: skip
    assert sdk.calls == []


async def test_an_own_cancel_ending_interrupted_is_cancelled() -> None:
    # Aegra's `end: interrupted` can come before the cancel request returns.
    sdk = FakeSdk()
    streams = RunStreams(fake_client(sdk))
    run = ActiveRun(thread_id=THREAD, run_id=RUN, cancel_requested=True)
    parts = aegra(
        [("metadata", {"run_id": RUN}), chunk("m1", "a"), ("end", {"status": "interrupted"})]
    )
    events = [e async for e in streams.follow(run, aiter_parts(parts))]
    assert events[-1] == RunEnded(RUN, "cancelled")
    assert "threads.get_state" not in sdk.calls


async def test_an_own_cancel_ends_once_the_server_has_stopped_the_run() -> None:
    # Aegra's `end` comes before it finalizes the run: the thread is busy meanwhile,
    # and the session's next message would be refused.
    sdk = FakeSdk()
    sdk.run_statuses = ["running", "running", "interrupted"]
    streams = RunStreams(fake_client(sdk))
    run = ActiveRun(thread_id=THREAD, run_id=RUN, cancel_requested=True)
    parts = aegra([("metadata", {"run_id": RUN}), ("end", {"status": "interrupted"})])
    events = [e async for e in streams.follow(run, aiter_parts(parts))]
    assert events[-1] == RunEnded(RUN, "cancelled")
    assert sdk.calls == ["runs.get"] * 3


@pytest.mark.parametrize(
    ("thread_status", "status"),
    [("idle", "cancelled"), ("busy", "cancelled"), ("interrupted", "interrupted")],
)
async def test_an_interrupted_end_is_a_cancel_unless_the_graph_interrupted(
    thread_status: str, status: str
) -> None:
    # Another client's cancel: `langgraph dev` says "cancelled" for it too.
    parts = aegra([("metadata", {"run_id": RUN}), ("end", {"status": "interrupted"})])
    reply = await follow(FakeSdk(thread_status=thread_status), parts)
    assert reply.status == status


REDACTED = ("error", {"error": "ValueError", "message": "ValueError: execution failed"})


async def test_a_redacted_error_gets_the_runs_own_message() -> None:
    sdk = FakeSdk(run={"status": "error", "error_message": "model 'x' needs OPENAI_API_KEY"})
    parts = aegra([("metadata", {"run_id": RUN}), REDACTED, ("end", {"status": "error"})])
    reply = await follow(sdk, parts)
    assert reply.error == "model 'x' needs OPENAI_API_KEY" and reply.status == "error"
    assert sdk.calls == ["runs.get"]


async def test_a_redacted_error_without_detail_says_where_it_is() -> None:
    sdk = FakeSdk(run={"status": "error", "error_message": None})
    parts = aegra([("metadata", {"run_id": RUN}), REDACTED, ("end", {"status": "error"})])
    reply = await follow(sdk, parts)
    assert reply.error == (
        "ValueError: execution failed (the server hid the details; they are in its log)"
    )


async def test_a_restarted_run_withdraws_the_partial_first_attempt() -> None:
    stop = {"response_metadata": {"finish_reason": "stop"}}
    parts = aegra(
        [
            ("metadata", {"run_id": RUN, "attempt": 1}),
            chunk("m1", "1 2 "),
            chunk("m1", "3"),
            ("metadata", {"run_id": RUN, "attempt": 1}),  # another instance retries
            chunk("m2", "1 2 3 4", **stop),
            chunk("m1", " 4"),  # a late part of the dead attempt: not shown either
            ("end", {"status": "success"}),
        ]
    )
    sdk = FakeSdk(final=[human(), final_ai("m2", "1 2 3 4")])
    reply = await follow(sdk, parts, input_ids=[INPUT])
    retracted = [e for e in reply.events if isinstance(e, ReplyRetracted)]
    assert retracted == [ReplyRetracted(RUN, ("m1",), "run_restarted")]
    assert reply.text == "1 2 3 4"
    assert [m.id for m in reply.messages] == ["m2"]


def session(sdk: FakeSdk, strategy: str = "reject") -> RemoteChatSession:
    assistant = AssistantInfo("a-1", "agent", "agent")
    return RemoteChatSession(
        fake_client(sdk),
        assistant,
        thread_id=THREAD,
        multitask_strategy=strategy,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("active", ["running", "pending"])
async def test_reject_refuses_a_busy_thread_before_creating_a_run(active: str) -> None:
    sdk = FakeSdk(thread_status="busy")
    sdk.active_runs = [active]
    with pytest.raises(ThreadBusy):
        [e async for e in session(sdk).send("hi")]
    assert "runs.stream" not in sdk.calls


async def test_a_busy_status_left_behind_by_an_ended_run_refuses_nothing() -> None:
    # The thread's status lags behind its runs' for a few milliseconds.
    sdk = FakeSdk(thread_status="busy", stream=aegra(reply_parts("ok")))
    events = [e async for e in session(sdk).send("hi")]
    assert isinstance(events[-1], RunEnded)
    assert sdk.calls[:4] == ["threads.get", "runs.list running", "runs.list pending", "runs.stream"]


@pytest.mark.parametrize(
    ("strategy", "making_way"),
    [
        ("enqueue", "runs.join"),
        ("interrupt", "runs.cancel interrupt"),
        ("rollback", "runs.cancel rollback"),
    ],
)
async def test_other_strategies_are_applied_by_the_session_before_its_run(
    strategy: str, making_way: str
) -> None:
    # Aegra ignores the strategy: left to it, both runs would execute at once.
    parts = aegra(reply_parts("ok"))
    sdk = FakeSdk(thread_status="busy", stream=parts, final=[final_ai("m1", "ok")])
    sdk.active_runs = ["running"]
    events: list[StreamEvent] = [e async for e in session(sdk, strategy).send("hi")]
    assert sdk.calls[:5] == [
        "threads.get",
        "runs.list running",
        "runs.list pending",
        making_way,
        "runs.stream",
    ]
    assert Reply(tuple(events)).text == "ok"


async def test_an_idle_thread_streams_with_one_status_request() -> None:
    sdk = FakeSdk(stream=aegra(reply_parts("ok")))
    events = [e async for e in session(sdk).send("hi")]
    assert isinstance(events[-1], RunEnded) and sdk.calls[:2] == ["threads.get", "runs.stream"]


async def test_a_thread_listing_counts_messages_from_state_only_where_missing() -> None:
    class Threads:
        def __init__(self) -> None:
            self.states: list[str] = []

        async def search(self, **_: Any) -> list[dict[str, Any]]:
            return [
                {"thread_id": "a", "status": "idle"},  # Aegra: no `values`
                {"thread_id": "b", "status": "idle", "values": {"messages": [human()]}},
            ]

        async def get_state(self, thread_id: str) -> dict[str, Any]:
            self.states.append(thread_id)
            return {"values": {"messages": [human(), final_ai("m", "x")]}}

    client = ChatClient("http://127.0.0.1:9")
    threads = Threads()
    client.sdk.threads = cast(Any, threads)
    client._assistants = []  # checked already: no request
    try:
        found = await client.threads()
    finally:
        await client.aclose()
    assert [(t.thread_id, t.message_count) for t in found] == [("a", 2), ("b", 1)]
    assert threads.states == ["a"]


def test_the_decoder_withdraws_only_unfinished_messages_at_a_second_metadata() -> None:
    stop = {"response_metadata": {"finish_reason": "tool_calls"}}
    decoder = StreamDecoder()
    events: list[StreamEvent] = []
    for part in [
        ("metadata", {"run_id": RUN, "attempt": 1}),
        chunk("m0", "", **stop),  # finished: the run's checkpoints may hold it
        chunk("m1", "half"),
        ("metadata", {"run_id": RUN, "attempt": 1}),
        chunk("m1", " more"),
    ]:
        events += decoder.feed(part)
    assert [e for e in events if isinstance(e, ReplyRetracted)] == [ReplyRetracted(RUN, ("m1",))]
    assert [e.message_id for e in events if isinstance(e, MessageFinished)] == ["m0"]
    assert "more" not in "".join(e.text for e in events if isinstance(e, TextDelta))


def test_a_first_metadata_withdraws_nothing() -> None:
    events = StreamDecoder().feed(("metadata", {"run_id": RUN, "attempt": 1}))
    assert [type(e) for e in events] == [RunStarted]
