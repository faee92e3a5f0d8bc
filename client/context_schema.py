"""Check a run's context against the JSON schema its assistant publishes, before any request.

The server checks context only once the run executes, so a wrong type or a value out
of range used to surface as a failed run (and a thread made for nothing), or as a raw
Python message such as "'<' not supported between instances of 'str' and 'int'". The
assistant's `context_schema` (the same one LangGraph Studio draws its form from)
describes every field, so the client refuses bad context up front with one line.

Only the part of JSON Schema that context schemas use is checked: `type` (one or a
list), `anyOf`/`oneOf` of those, `enum`, `minimum`, `maximum`, `exclusiveMinimum`,
`exclusiveMaximum`, `pattern`, and unknown keys (refused unless the schema says
`additionalProperties: true`). A full validator (`jsonschema`) would be a new runtime
dependency for this subset.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from client.errors import InvalidInput

_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "null": "null",
    "array": "an array",
    "object": "an object",
}


def validate_context(
    context: Mapping[str, Any] | None, schema: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """Return the context as a new dict, or None for none.

    Args:
        context: The run context a caller gave.
        schema: The assistant's context JSON schema; None (none published) checks only
            that the context is an object.

    Raises:
        InvalidInput: The context is not an object, names a field the schema does not
            know, or a value does not fit its field.
    """
    if context is None:
        return None
    if not isinstance(context, Mapping):
        raise InvalidInput(f"the context must be a JSON object, not {_show(context)}")
    checked = dict(context)
    properties = schema.get("properties") if schema else None
    if not isinstance(properties, Mapping):
        return checked
    if schema is not None and schema.get("additionalProperties") is not True:
        for key in checked:
            if key not in properties:
                known = ", ".join(sorted(properties))
                raise InvalidInput(f"unknown context field {key!r}; known: {known}")
    for key, value in checked.items():
        field = properties.get(key)
        if isinstance(field, Mapping):
            problem = _problem(value, field)
            if problem is not None:
                raise InvalidInput(f"context field {key} must {problem}, not {_show(value)}")
    return checked


def _problem(value: object, field: Mapping[str, Any]) -> str | None:
    """Return what `value` must do to fit `field` ("be at least 1"), or None when it fits."""
    branches = field.get("anyOf") or field.get("oneOf")
    if isinstance(branches, list) and branches:
        found = [_problem(value, b) for b in branches if isinstance(b, Mapping)]
        if None in found:
            return None
        problems = [p for p in found if p]
        if all(p.startswith("be ") for p in problems):
            return "be " + " or ".join(p.removeprefix("be ") for p in problems)
        return " or ".join(problems)
    types = field.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        if not any(_is_type(value, name) for name in names):
            return "be " + " or ".join(_TYPE_NAMES.get(name, name) for name in names)
    enum = field.get("enum")
    if isinstance(enum, list) and value not in enum:
        return "be one of " + ", ".join(_show(choice) for choice in enum)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if (low := field.get("minimum")) is not None and value < low:
            return f"be at least {low}"
        if (high := field.get("maximum")) is not None and value > high:
            return f"be at most {high}"
        if (low := field.get("exclusiveMinimum")) is not None and value <= low:
            return f"be more than {low}"
        if (high := field.get("exclusiveMaximum")) is not None and value >= high:
            return f"be less than {high}"
    pattern = field.get("pattern")
    if isinstance(value, str) and isinstance(pattern, str) and not re.search(pattern, value):
        return f"match {pattern}"
    return None


def _is_type(value: object, name: str) -> bool:
    # JSON Schema's integer is a whole number, and neither number type takes a boolean.
    if name == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    kinds: dict[str, type | tuple[type, ...]] = {
        "string": str,
        "boolean": bool,
        "null": type(None),
        "array": (list, tuple),
        "object": Mapping,
    }
    kind = kinds.get(name)
    return True if kind is None else isinstance(value, kind)


def _show(value: object) -> str:
    """Return the value as the user wrote it: JSON, as `--context` takes it."""
    try:
        return json.dumps(value) if not isinstance(value, str) else repr(value)
    except (TypeError, ValueError):
        return repr(value)
