"""Run graphs in-process, with no server, behind the same session API as the client.

`LocalRuntime` plays `ChatClient`'s part: it owns a checkpointer and compiles the graph
builders it is given with it (it imports no graphs: the CLI's `--local` wiring passes
the project's). Its sessions are `client.local.session.LocalChatSession`s.

Threads outlive the process in SQLite (`langgraph-checkpoint-sqlite`) under the user
data directory: `$LGCHAT_DATA_DIR`, else `$XDG_DATA_HOME/lgchat`, else
`~/.local/share/lgchat`. `memory=True` keeps them in memory instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, Checkpoint, CheckpointTuple
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph, StateGraph

from client.errors import AssistantNotFound, InvalidInput, ThreadNotFound
from client.inputs import parse_stream_modes
from client.local.session import LocalChatSession
from client.messages import unique_messages
from client.threads import (
    CONVERSATION_ID_KEY,
    DEFAULT_CONVERSATION,
    GRAPH_ID_KEY,
    USER_ID_KEY,
    ThreadInfo,
    conversation_thread_id,
    parse_thread_id,
    session_key,
)
from client.values import AssistantInfo, ThreadSnapshot

__all__ = ["LocalChatSession", "LocalRuntime", "load_project_env", "thread_config"]

DATA_DIR_ENV = "LGCHAT_DATA_DIR"
DB_NAME = "threads.sqlite"
CONFIG_FILE = "langgraph.json"


def load_project_env(directory: Path | None = None) -> dict[str, str]:
    """Load the `env` of `langgraph.json` into `os.environ`, as `langgraph dev` does.

    The server reads `langgraph.json` from its working directory and sets its `env`
    (a dotenv file relative to the config, or a mapping) over the process environment,
    so a value in `.env` wins over an exported one. Doing the same makes `--local` run
    the model the server would.

    Args:
        directory: Where `langgraph.json` is; the working directory if None.

    Returns:
        The variables set (none without a `langgraph.json`).

    Raises:
        InvalidInput: `langgraph.json` is not readable JSON.
    """
    config_path = (directory or Path.cwd()) / CONFIG_FILE
    try:
        config = json.loads(config_path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise InvalidInput(f"cannot read {config_path}: {error}") from None
    env = config.get("env") if isinstance(config, dict) else None
    values: dict[str, str] = {}
    if isinstance(env, str):
        from dotenv import dotenv_values  # the parser langgraph dev uses

        env_file = config_path.parent / env
        if env_file.is_file():
            values = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
    elif isinstance(env, dict):
        values = {str(k): str(v) for k, v in env.items()}
    os.environ.update(values)
    return values


def default_data_dir() -> Path:
    """Return where local threads are kept: `$LGCHAT_DATA_DIR` or the XDG data dir."""
    if override := os.environ.get(DATA_DIR_ENV):
        return Path(override)
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "lgchat"


def thread_config(
    user_id: str,
    conversation_id: str = DEFAULT_CONVERSATION,
    *,
    graph_id: str | None = None,
    **configurable: Any,
) -> RunnableConfig:
    """Return the run config of a user's conversation, in the client's thread-id scheme.

    The thread id is the same uuid5 the remote client uses (`client.threads`), so one
    user conversation has one id in-process and on a server.

    Args:
        user_id: The user.
        conversation_id: Which of the user's conversations.
        graph_id: The graph the conversation is with, part of the id as on a server;
            None gives the id of the older scheme without the graph.
        **configurable: More `configurable` entries (e.g. `checkpoint_ns`).
    """
    thread_id = conversation_thread_id(user_id, conversation_id, graph_id)
    return {"configurable": {**configurable, "thread_id": thread_id}}


@contextlib.contextmanager
def _sigint_blocked() -> Iterator[None]:
    """Block SIGINT in this thread for the block, so threads started in it never take it.

    A Ctrl-C that lands on a helper thread does not wake the main thread (sleeping in
    the REPL's `input()`, say); one pressed meanwhile is delivered when the block ends.
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _thread_info(
    thread_id: str, checkpoint: Checkpoint, metadata: Mapping[str, Any] | None
) -> ThreadInfo:
    """Return what a thread listing shows about a local thread's latest checkpoint."""
    metadata = metadata or {}
    messages = checkpoint["channel_values"].get("messages") or []

    def text(key: str) -> str | None:
        value = metadata.get(key)
        return None if value is None else str(value)

    return ThreadInfo(
        thread_id=thread_id,
        status="idle",  # a local run ends with its process: nothing is left running
        updated_at=checkpoint["ts"],
        user_id=text(USER_ID_KEY),
        conversation_id=text(CONVERSATION_ID_KEY),
        graph_id=text(GRAPH_ID_KEY),
        message_count=len(messages),
    )


GraphBuilders = Mapping[str, StateGraph[Any, Any, Any, Any]]
"""Uncompiled graphs by graph name (the assistant names sessions use)."""


class LocalRuntime(contextlib.AsyncExitStack):
    """The graphs compiled in-process with one checkpointer; `ChatClient`'s local twin.

    Use it as an async context manager (or call `aclose`): the SQLite connection opens
    on first use and closes there. It is an `AsyncExitStack`, whose exit closes it.
    """

    def __init__(
        self,
        data_dir: Path | str | None = None,
        *,
        graphs: GraphBuilders,
        memory: bool = False,
        checkpointer: BaseCheckpointSaver[Any] | None = None,
    ) -> None:
        """Prepare the runtime; nothing is opened until a session needs it.

        Args:
            data_dir: Where the SQLite file lives; `default_data_dir()` if None.
            graphs: The graph builders to serve, by name; each is compiled with this
                runtime's checkpointer on first use.
            memory: Keep threads in memory only (they end with the process).
            checkpointer: Use this checkpointer instead (wins over both).
        """
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.memory = memory
        self.url = "in-process" if memory else str(self.data_dir / DB_NAME)
        self._checkpointer = checkpointer or (InMemorySaver() if memory else None)
        super().__init__()
        self.builders = dict(graphs)
        self._graphs: dict[str, CompiledStateGraph[Any, Any, Any, Any]] = {}

    async def checkpointer(self) -> BaseCheckpointSaver[Any]:
        """Return the checkpointer, opening the SQLite file on first use."""
        if self._checkpointer is None:
            from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

            self.data_dir.mkdir(parents=True, exist_ok=True)
            connection = AsyncSqliteSaver.from_conn_string(str(self.data_dir / DB_NAME))
            with _sigint_blocked():  # its worker thread inherits the mask
                saver = await self.enter_async_context(connection)
            self._checkpointer = saver
            return saver
        return self._checkpointer

    async def graph(self, name: str) -> CompiledStateGraph[Any, Any, Any, Any]:
        """Return graph `name` compiled with this runtime's checkpointer.

        Raises:
            AssistantNotFound: No graph has this name.
        """
        if name not in self._graphs:
            if name not in self.builders:
                raise AssistantNotFound(name, sorted(self.builders))
            saver = await self.checkpointer()
            self._graphs[name] = self.builders[name].compile(checkpointer=saver, name=name)
        return self._graphs[name]

    async def assistants(self) -> list[AssistantInfo]:
        """Return the local graphs as assistants (id = graph name)."""
        return [AssistantInfo(name, name, name) for name in self.builders]

    async def threads(self, user_id: str | None = None, *, limit: int = 20) -> list[ThreadInfo]:
        """Return the most recently updated local threads, only `user_id`'s if given.

        Raises:
            InvalidInput: `limit` is below 1.
        """
        if limit < 1:
            raise InvalidInput(f"the thread limit must be at least 1, got {limit}")
        saver = await self.checkpointer()
        found: dict[str, ThreadInfo] = {}
        # The SQLite saver lists checkpoints newest first, across threads, so the first
        # checkpoint met of a thread is its latest and the listing can stop at `limit`.
        metadata_filter = {USER_ID_KEY: user_id} if user_id is not None else None
        async for item in saver.alist(None, filter=metadata_filter):
            configurable = item.config["configurable"]
            thread_id = str(configurable["thread_id"])
            if configurable.get("checkpoint_ns") or thread_id in found:
                continue  # a subgraph's checkpoint, or an older one of a listed thread
            found[thread_id] = _thread_info(thread_id, item.checkpoint, item.metadata)
            if len(found) >= limit:
                break
        return sorted(found.values(), key=lambda t: t.updated_at or "", reverse=True)

    async def thread_state(self, thread_id: str) -> ThreadSnapshot:
        """Return a local thread's current messages and summary.

        Raises:
            ThreadNotFound: No checkpoint has this thread id.
        """
        latest = await self._latest(thread_id)
        values = latest.checkpoint["channel_values"]
        return ThreadSnapshot(
            str(latest.config["configurable"]["thread_id"]),
            list(values.get("messages") or []),
            str(values.get("summary") or ""),
        )

    async def history(self, thread_id: str) -> list[BaseMessage]:
        """Return every message a local thread ever held, oldest first.

        Raises:
            ThreadNotFound: No checkpoint has this thread id.
        """
        latest = await self._latest(thread_id)
        saver = await self.checkpointer()
        config: RunnableConfig = {
            "configurable": {
                "thread_id": latest.config["configurable"]["thread_id"],
                "checkpoint_ns": "",
            }
        }
        items = [item async for item in saver.alist(config)]
        return unique_messages(  # newest first, as on the server
            item.checkpoint["channel_values"].get("messages") or [] for item in reversed(items)
        )

    async def _latest(self, thread_id: str) -> CheckpointTuple:
        thread_id = parse_thread_id(thread_id)
        saver = await self.checkpointer()
        found = await saver.aget_tuple({"configurable": {"thread_id": thread_id}})
        if found is None:
            raise ThreadNotFound(thread_id, f"not in {self.url}")
        return found

    async def session(
        self,
        assistant: str = "agent",
        thread_id: str | None = None,
        user_id: str | None = None,
        conversation_id: str | None = None,
        *,
        stream_mode: str | Sequence[str] | None = None,
        stream_tokens: bool = True,
    ) -> LocalChatSession:
        """Open a local chat session; the arguments are `ChatClient.session`'s.

        Args:
            assistant: Graph name.
            thread_id: Resume this thread.
            user_id: Owner of the conversation (a deterministic thread per conversation).
            conversation_id: Which of the user's conversations (default "default").
            stream_mode: Stream modes for `send`; by default chosen by `stream_tokens`.
            stream_tokens: Stream tokens (True) or whole node updates only (False).

        Raises:
            AssistantNotFound: Unknown graph.
            ThreadNotFound: `thread_id` is not a UUID or has no checkpoint here.
            InvalidInput: A thread id and a user were both given.
        """
        key = session_key(thread_id, user_id, conversation_id, graph_id=assistant)
        graph = await self.graph(assistant)
        session = LocalChatSession(
            self, AssistantInfo(assistant, assistant, assistant), graph, key=key
        )
        session.stream_tokens = stream_tokens
        if stream_mode is not None:
            session.stream_mode = parse_stream_modes(stream_mode)
        if thread_id is not None:
            await session.switch_thread(thread_id)
        return session
