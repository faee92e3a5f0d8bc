"""Prompt token counting for the budget: the model's own counter, never a download."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.messages.utils import count_tokens_approximately
from langchain_openai import ChatOpenAI
from pydantic import SecretStr
from tiktoken import load as tiktoken_load

from agent import tokens
from agent.offline import OfflineChatModel

PROMPT = [SystemMessage("Be brief."), HumanMessage("hi! I'm Lance"), AIMessage("Hi Lance!")]


@pytest.fixture(autouse=True)
def fresh_decisions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Forget earlier fallbacks, and point tiktoken at an empty cache."""
    monkeypatch.setattr(tokens, "_approximate", set())
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))


def _no_download(*args: object, **kwargs: object) -> bytes:
    raise AssertionError("tiktoken tried to download its BPE file")


def test_openai_model_without_a_cached_bpe_file_is_counted_approximately(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(tiktoken_load, "read_file", _no_download)
    model = ChatOpenAI(model="gpt-4o", api_key=SecretStr("x"), base_url="http://127.0.0.1:9/v1")
    with caplog.at_level(logging.WARNING, logger="agent.tokens"):
        first = tokens.count_tokens(model, "openai:gpt-4o", PROMPT)
        second = tokens.count_tokens(model, "openai:gpt-4o", PROMPT[:1])
    assert first == count_tokens_approximately(PROMPT)
    assert second == count_tokens_approximately(PROMPT[:1])
    notices = [r.getMessage() for r in caplog.records]
    assert len(notices) == 1 and "counting prompt tokens approximately" in notices[0]


def test_tiktoken_is_ready_only_with_its_file_in_the_cache(tmp_path: Path) -> None:
    assert not tokens.tiktoken_ready("gpt-4o")
    url = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
    (tmp_path / hashlib.sha1(url.encode()).hexdigest()).write_bytes(b"")
    assert tokens.tiktoken_ready("gpt-4o")
    assert not tokens.tiktoken_ready("gpt-4")  # cl100k_base, not cached


def test_offline_model_counts_with_its_own_deterministic_counter() -> None:
    model = OfflineChatModel(delay=0)
    assert tokens.count_tokens(model, "offline", PROMPT) == 7
    assert tokens.message_sizes(model, "offline", PROMPT) == [2, 3, 2]


def test_anything_else_is_counted_approximately() -> None:
    assert tokens.count_tokens(object(), "openai:scripted", PROMPT) == count_tokens_approximately(
        PROMPT
    )
