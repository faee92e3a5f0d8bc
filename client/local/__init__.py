"""In-process mode: graphs run in this process and stream the same typed events.

Graphs are passed in (`LocalRuntime(graphs=...)`); nothing here imports `agent`.
Importing this package imports the langgraph runtime.

- `client.local.adapter`: in-process `astream`/`astream_events` output as typed events.
- `client.local.runtime`: `LocalRuntime`, threads in SQLite.
- `client.local.session`: `LocalChatSession`, one conversation on a `LocalRuntime`.
- `client.local.tokens`: token streams of one node, failures with the partial reply.
- `client.local.replay`: record a run's events and replay them.
"""

from client.local.runtime import LocalRuntime, thread_config
from client.local.session import LocalChatSession

__all__ = ["LocalChatSession", "LocalRuntime", "thread_config"]
