"""Model loading: specs, OpenAI-compatible endpoints, and the offline default."""

from __future__ import annotations

import pytest
from langchain_openai import ChatOpenAI

from agent import models
from agent.context import Context, default_model
from agent.offline import OfflineChatModel


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "_loaded", {})
    for name in ["MODEL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MAX_RETRIES"]:
        monkeypatch.delenv(name, raising=False)


def test_default_is_offline_without_a_key_and_gpt4o_with_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert default_model() == "offline" == Context().model
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert default_model() == "openai:gpt-4o" == Context().model
    monkeypatch.setenv("MODEL", "openai:gpt-4o-mini")
    assert Context().model == "openai:gpt-4o-mini"
    assert Context(model="offline").model == "offline"


def test_offline_spec_gives_the_offline_model_once() -> None:
    model = models.load_chat_model("offline")
    assert isinstance(model, OfflineChatModel)
    assert models.load_chat_model("offline") is model


def test_openai_spec_honours_base_url_and_retry_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_MAX_RETRIES", "5")
    monkeypatch.setenv("OPENAI_TIMEOUT", "7.5")
    model = models.load_chat_model("openai:gpt-4o-mini")
    assert isinstance(model, ChatOpenAI)
    assert model.model_name == "gpt-4o-mini"
    assert model.temperature == 0
    assert model.openai_api_base == "http://127.0.0.1:9/v1"
    assert model.max_retries == 5
    assert model.request_timeout == 7.5
    assert model.stream_usage is True


async def test_async_load_returns_the_cached_model() -> None:
    model = await models.aload_chat_model("offline")
    assert await models.aload_chat_model("offline") is model is models.load_chat_model("offline")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("anthropic:claude", "unknown model 'anthropic:claude'"),
        ("openai:", "unknown model 'openai:'"),
        ("openai:gpt-4o", "needs OPENAI_API_KEY"),
    ],
)
def test_bad_specs_fail_with_one_clear_line(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        models.load_chat_model(spec)


def test_bad_number_in_env_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_TIMEOUT", "soon")
    with pytest.raises(ValueError, match=r"\$OPENAI_TIMEOUT must be a number"):
        models.load_chat_model("openai:gpt-4o")
