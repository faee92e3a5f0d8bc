"""Properties of `StreamDecoder` over every way a reply can be split into chunks.

A reply (some text, then tool calls) is cut into chunks at arbitrary points, text and
tool-call JSON alike. Fed as legacy `messages/partial` parts (each the whole message so
far, as the server builds them) or as `messages-tuple` chunks, it must decode to the
same events, end with the unsplit message, and report tool-call arguments that only
ever grow.
"""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, AIMessageChunk, ToolCall
from langchain_core.messages.ai import UsageMetadata

from client.events import MessageFinished, TextDelta, ToolCallProgress
from tests.unit.test_decode import decode, legacy_parts, of_type, tool_chunk, tuple_parts

MESSAGE_ID = "lc_run--reply"
USAGE = UsageMetadata(input_tokens=11, output_tokens=7, total_tokens=18)

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=6,
)
# Top-level strings come often: cut inside a `\u` escape, partial JSON drops them.
ARGS = st.dictionaries(
    st.text(min_size=1, max_size=4), st.text(max_size=8) | JSON_VALUES, max_size=4
)


@st.composite
def splits(draw: st.DrawFn, text: str) -> list[str]:
    """Return `text` cut at arbitrary points (empty pieces included), or at every one."""
    if draw(st.booleans()):
        return ["", *text]  # character by character, like many real model streams
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=8)))
    bounds = [0, *cuts, len(text)]
    return [text[start:end] for start, end in pairwise(bounds)]


@st.composite
def replies(draw: st.DrawFn) -> tuple[AIMessage, list[AIMessageChunk]]:
    """Return a reply and one way of streaming it as chunks."""
    text = draw(st.text(max_size=30))
    calls = [
        ToolCall(name=f"tool_{index}", args=draw(ARGS), id=f"call_{index}")
        for index in range(draw(st.integers(0, 2)))
    ]
    chunks = [AIMessageChunk(content=piece, id=MESSAGE_ID) for piece in draw(splits(text))]
    for index, call in enumerate(calls):
        raw = json.dumps(call["args"], ensure_ascii=draw(st.booleans()))
        first, *rest = draw(splits(raw))
        chunks.append(
            tool_chunk(MESSAGE_ID, first, index=index, name=call["name"], call_id=call["id"])
        )
        chunks += [tool_chunk(MESSAGE_ID, fragment, index=index) for fragment in rest]
    reason = "tool_calls" if calls else "stop"
    # Some providers put usage on the finishing chunk; OpenAI sends it in a later one.
    if draw(st.booleans()):
        chunks.append(
            AIMessageChunk(
                content="",
                id=MESSAGE_ID,
                response_metadata={"finish_reason": reason},
                usage_metadata=USAGE,
            )
        )
    else:
        chunks.append(
            AIMessageChunk(content="", id=MESSAGE_ID, response_metadata={"finish_reason": reason})
        )
        chunks.append(AIMessageChunk(content="", id=MESSAGE_ID, usage_metadata=USAGE))
    if draw(st.booleans()):
        chunks.append(AIMessageChunk(content="", id=MESSAGE_ID, chunk_position="last"))
    message = AIMessage(
        content=text,
        id=MESSAGE_ID,
        tool_calls=calls,
        response_metadata={"finish_reason": reason},
        usage_metadata=USAGE,
    )
    return message, chunks


def extends(new: dict[str, Any], old: dict[str, Any]) -> bool:
    """Return True if `new` keeps every key of `old`, all but the last one unchanged.

    Partial JSON completes a value only when the next one starts, so the last key's
    value may still grow (`2` -> `23`, `"he"` -> `"hello"`).
    """
    keys = list(old)
    return set(keys) <= set(new) and all(new[key] == old[key] for key in keys[:-1])


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(replies())
def test_legacy_partials_and_tuple_chunks_decode_alike(
    reply: tuple[AIMessage, list[AIMessageChunk]],
) -> None:
    message, chunks = reply

    legacy = decode(legacy_parts(chunks))
    tuple_mode = decode(tuple_parts(chunks))

    assert legacy == tuple_mode
    (finished,) = of_type(legacy, MessageFinished)
    assert finished.message == message
    assert finished.finish_reason == message.response_metadata["finish_reason"]
    assert finished.usage == USAGE
    assert "".join(e.text for e in of_type(legacy, TextDelta)) == message.content


@FAST
@given(replies())
def test_reported_args_only_ever_grow(reply: tuple[AIMessage, list[AIMessageChunk]]) -> None:
    message, chunks = reply

    progress = of_type(decode(tuple_parts(chunks)), ToolCallProgress)

    for call_index, call in enumerate(message.tool_calls):
        reported = [p.args for p in progress if p.index == call_index]
        assert reported, f"call {call_index} was never reported"
        assert reported[-1] == call["args"]
        assert all(a != b for a, b in pairwise(reported))
        assert all(extends(b, a) for a, b in pairwise(reported))
        assert {p.call_id for p in progress if p.index == call_index} == {call["id"]}
