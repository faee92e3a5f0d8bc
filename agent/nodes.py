"""Graph nodes that run under both `graph.stream` and `graph.astream`.

LangGraph runs a plain `async def` node only through the async API, and would run a
plain `def` node in a thread pool under the async API. A `RunnableLambda` with both
bodies gives each API its native path: `langgraph dev` (async) never blocks its event
loop, and the tutorial's synchronous `graph.stream(...)` still works in-process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from langchain_core.runnables import RunnableConfig, RunnableLambda

from agent.state import State

NodeResult = dict[str, object]


def dual_node(
    name: str,
    func: Callable[[State, RunnableConfig], NodeResult],
    afunc: Callable[[State, RunnableConfig], Awaitable[NodeResult]],
) -> RunnableLambda[State, NodeResult]:
    """Return a node named `name` with a sync and an async body.

    Both bodies take `(state, config)`; the run's context comes from
    `agent.memory.context_of()`.
    """
    return RunnableLambda(func, afunc=afunc, name=name)
