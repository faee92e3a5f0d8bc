"""Record a typed event stream and replay it later, so a front end runs without a model.

`Recording.record` passes a stream through while keeping every event with its time;
`replay` yields them again with a fixed delay or the original pacing. `dump`/`load`
keep a recording as JSON lines (the `--json` wire form), so it can be checked in as a
fixture and replayed in another process.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from client.events import StreamEvent, to_json
from client.messages import message_from_dict

_CLASSES: dict[str, type[Any]] = {
    cls.__dataclass_fields__["kind"].default: cls for cls in get_args(StreamEvent)
}


def event_from_json(data: Mapping[str, Any]) -> StreamEvent:
    """Return the event for its `to_json` form.

    Messages come back as LangChain messages; those nested in `StateValues` and
    `NodeUpdate` payloads stay dicts.

    Raises:
        ValueError: `data` is not an event's JSON form.
    """
    cls = _CLASSES.get(str(data.get("kind")))
    if cls is None:
        raise ValueError(f"not a stream event: {dict(data)!r}")
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if f.name == "message":
            value = message_from_dict(value)
        elif f.name in ("namespace", "message_ids"):
            value = tuple(value)
        fields[f.name] = value
    event: StreamEvent = cls(**fields)
    return event


@dataclass
class Recording:
    """Events of one stream, each with its offset in seconds from the first."""

    events: list[tuple[float, StreamEvent]] = field(default_factory=list)

    async def record(self, events: AsyncIterable[StreamEvent]) -> AsyncIterator[StreamEvent]:
        """Yield `events` unchanged, recording each (replacing any earlier recording)."""
        self.events = []
        start = time.monotonic()
        async for event in events:
            self.events.append((time.monotonic() - start, event))
            yield event

    async def replay(self, delay: float | None = None) -> AsyncIterator[StreamEvent]:
        """Yield the recorded events again.

        Args:
            delay: Seconds before each event; None keeps the recorded pacing.
        """
        start = time.monotonic()
        for offset, event in self.events:
            wait = delay if delay is not None else offset - (time.monotonic() - start)
            if wait > 0:
                await asyncio.sleep(wait)
            yield event

    def dump(self, path: Path) -> None:
        """Write the recording as JSON lines: `{"at": seconds, "event": {...}}`."""
        with path.open("w", encoding="utf-8") as out:
            for offset, event in self.events:
                out.write(json.dumps({"at": round(offset, 6), "event": to_json(event)}) + "\n")

    @classmethod
    def load(cls, path: Path) -> Recording:
        """Read a recording written by `dump`."""
        events: list[tuple[float, StreamEvent]] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                events.append((float(item["at"]), event_from_json(item["event"])))
        return cls(events)
