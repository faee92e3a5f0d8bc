"""Chat model loading: `openai:<name>` for any OpenAI-compatible endpoint, or `offline`."""

from __future__ import annotations

import asyncio
import logging
import os

from langchain_core.language_models import BaseChatModel

from agent.offline import OfflineChatModel

logger = logging.getLogger(__name__)

_loaded: dict[str, BaseChatModel] = {}


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    try:
        return float(raw) if raw else default
    except ValueError as error:
        raise ValueError(f"${name} must be a number, got {raw!r}") from error


def _build(spec: str) -> BaseChatModel:
    provider, _, name = spec.partition(":")
    if spec == "offline":
        return OfflineChatModel()
    if provider == "openai" and name:
        from langchain_openai import ChatOpenAI

        base_url = os.environ.get("OPENAI_BASE_URL") or None
        api_key = os.environ.get("OPENAI_API_KEY")
        if not api_key and not base_url:
            raise ValueError(f"model {spec!r} needs OPENAI_API_KEY (or OPENAI_BASE_URL)")
        return ChatOpenAI(
            model=name,
            temperature=0,
            base_url=base_url,
            # Local OpenAI-compatible servers (vLLM, Ollama, LM Studio) take any key.
            api_key=api_key or "not-needed",  # type: ignore[arg-type]
            max_retries=int(_env_number("OPENAI_MAX_RETRIES", 2)),
            timeout=_env_number("OPENAI_TIMEOUT", 60.0),
            stream_usage=True,
        )
    raise ValueError(f"unknown model {spec!r}: use 'openai:<model-name>' or 'offline'")


def load_chat_model(spec: str) -> BaseChatModel:
    """Return the chat model for `spec`, built once per process.

    Args:
        spec: `openai:<model-name>` (honours `OPENAI_BASE_URL`, `OPENAI_MAX_RETRIES`,
            `OPENAI_TIMEOUT`) or `offline`.

    Raises:
        ValueError: The spec names no known provider or lacks credentials.
    """
    model = _loaded.get(spec)
    if model is None:
        model = _loaded.setdefault(spec, _build(spec))
        logger.info("chat model in use: %s", spec)
    return model


async def aload_chat_model(spec: str) -> BaseChatModel:
    """Return the chat model for `spec` without blocking the event loop.

    Building an OpenAI client loads TLS certificates from disk, which `langgraph dev`
    reports as blocking I/O, so a first load runs in a worker thread.
    """
    if (model := _loaded.get(spec)) is not None:
        return model
    return await asyncio.to_thread(load_chat_model, spec)
