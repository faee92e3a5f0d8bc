"""Run context checked on the client against the JSON schema the assistant publishes."""

from __future__ import annotations

from typing import Any

import pytest

from client.context_schema import validate_context
from client.errors import InvalidInput

SCHEMA: dict[str, Any] = {
    "additionalProperties": False,
    "properties": {
        "model": {"default": "", "pattern": "^(offline|openai:.+)?$", "type": "string"},
        "summarize_after": {"default": 6, "minimum": 1, "type": "integer"},
        "keep_last": {"default": 2, "minimum": 0, "maximum": 50, "type": "integer"},
        "temperature": {"anyOf": [{"type": "number"}, {"type": "null"}], "default": None},
        "stream": {"type": "boolean"},
    },
    "title": "Context",
    "type": "object",
}


def test_valid_context_passes_through_as_a_new_dict() -> None:
    context = {"model": "offline", "summarize_after": 10, "temperature": 0.5, "stream": True}
    assert validate_context(context, SCHEMA) == context
    assert validate_context({"temperature": None, "keep_last": 0}, SCHEMA) == {
        "temperature": None,
        "keep_last": 0,
    }
    assert validate_context(None, SCHEMA) is None
    assert validate_context({"anything": 1}, None) == {"anything": 1}  # no schema published


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"summarize_after": "x"}, "context field summarize_after must be an integer, not 'x'"),
        ({"summarize_after": 2.5}, "context field summarize_after must be an integer, not 2.5"),
        ({"summarize_after": True}, "context field summarize_after must be an integer, not true"),
        ({"summarize_after": 0}, "context field summarize_after must be at least 1, not 0"),
        ({"keep_last": 51}, "context field keep_last must be at most 50, not 51"),
        ({"model": 3}, "context field model must be a string, not 3"),
        (
            {"model": "gpt-4o"},
            "context field model must match ^(offline|openai:.+)?$, not 'gpt-4o'",
        ),
        ({"temperature": "hot"}, "context field temperature must be a number or null, not 'hot'"),
        (
            {"nope": 1, "model": "offline"},
            "unknown context field 'nope'; known: keep_last, model, stream, summarize_after, "
            "temperature",
        ),
    ],
)
def test_invalid_context_is_one_line(context: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_context(context, SCHEMA)
    assert str(caught.value) == message


def test_context_must_be_an_object() -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_context(["model"], SCHEMA)  # type: ignore[arg-type]
    assert str(caught.value) == 'the context must be a JSON object, not ["model"]'
