"""The composition root of `lgchat --local`: the one client module that imports `agent`.

`client.local` runs whatever graph builders it is given; this names the project's own,
the two graphs `langgraph.json` serves.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph.state import StateGraph


def project_graphs() -> dict[str, StateGraph[Any, Any, Any, Any]]:
    """Return the project's graph builders by graph id (`agent`, `chatbot`)."""
    from agent.agent import builder as agent_builder
    from agent.chatbot import builder as chatbot_builder

    return {"agent": agent_builder, "chatbot": chatbot_builder}
