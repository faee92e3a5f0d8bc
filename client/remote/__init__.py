"""The remote client: `ChatClient` and its sessions over langgraph-sdk (HTTP).

- `client.remote.client`: `ChatClient`, the connection pool and read-only questions.
- `client.remote.connection`: the pool, and each user's HTTP client over it.
- `client.remote.thread_reads`: listing counts and whole histories (many requests).
- `client.remote.session`: `RemoteChatSession`, one conversation and its thread.
- `client.remote.stream`: the stream/rejoin/cancel state machine of a session's runs.
- `client.remote.resume`: how a dropped stream is rejoined without gaps or repeats.
- `client.remote.run_errors`: a failed run's cause, named.
- `client.remote.multiuser`: `MultiUserChat`, many users over one client.
"""

from client.remote.client import DEFAULT_URL, ChatClient
from client.remote.multiuser import MultiUserChat
from client.remote.resume import ResumePolicy
from client.remote.session import RemoteChatSession

__all__ = ["DEFAULT_URL", "ChatClient", "MultiUserChat", "RemoteChatSession", "ResumePolicy"]
