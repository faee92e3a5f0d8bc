"""The signed-in user inside the graphs: read from the run's config, told to the model."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import MemorySaver
from langgraph_sdk.auth.types import StudioUser

from agent import chatbot as chatbot_module
from agent.user import signed_in_name, with_signed_in_user


class ServerUser:
    """A user object as `langgraph dev` and Aegra put it in the config (attributes)."""

    def __init__(self, identity: str, display_name: str) -> None:
        self.identity = identity
        self.display_name = display_name


def _config(user: Any) -> RunnableConfig:
    return {"configurable": {"langgraph_auth_user": user}}


@pytest.mark.parametrize(
    ("user", "name"),
    [
        (ServerUser("alice", "Alice  Liddell"), "Alice Liddell"),
        ({"identity": "alice", "display_name": "Alice"}, "Alice"),
        (ServerUser("alice", "alice"), None),  # only the identity again: no name
        (StudioUser("langgraph-studio-user"), None),
        ({"identity": "alice"}, None),
        (None, None),
    ],
)
def test_the_display_name_comes_from_either_user_shape(user: Any, name: str | None) -> None:
    assert signed_in_name(_config(user)) == name


def test_no_config_means_no_name() -> None:
    assert signed_in_name(None) is None
    assert with_signed_in_user("Be brief.", None) == "Be brief."


def test_the_system_prompt_names_the_signed_in_user() -> None:
    assert with_signed_in_user("Be brief.", _config(ServerUser("a", "Alice"))) == (
        "Be brief. The signed-in user's name is Alice."
    )


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("hi", "Hello Alice! How can I assist you today?"),
        ("what is my name?", "Your name is Alice."),
    ],
)
def test_the_chatbot_greets_the_signed_in_user_by_name(text: str, reply: str) -> None:
    graph = chatbot_module.builder.compile(checkpointer=MemorySaver())
    config: RunnableConfig = {
        "configurable": {"thread_id": "t", "langgraph_auth_user": ServerUser("a", "Alice")}
    }
    result = graph.invoke({"messages": [HumanMessage(text)]}, config)
    assert result["messages"][-1].content == reply
