"""Prompt token counts for the token budget, with no download at run time.

`ChatOpenAI.get_num_tokens_from_messages` needs tiktoken's BPE file, which tiktoken
fetches from the internet the first time and caches on disk. Offline that fetch fails
(or, behind a black-holed network, hangs), so it is never attempted here: the model's
own counter is used only when the file is already cached (or the encoding is loaded),
and otherwise LangChain's `count_tokens_approximately` counts instead, with one logged
notice per model. The offline model counts its own tokens deterministically.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.messages.utils import count_tokens_approximately

from agent.offline import OfflineChatModel

logger = logging.getLogger(__name__)

_BPE_URL = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
_approximate: set[str] = set()
"""Model specs whose counter needs a download; they are counted approximately."""


def _tiktoken_cache_dir() -> Path | None:
    # The same lookup as `tiktoken.load.read_file_cached`; an empty value disables the cache.
    for variable in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if variable in os.environ:
            value = os.environ[variable]
            return Path(value) if value else None
    return Path(tempfile.gettempdir()) / "data-gym-cache"


def tiktoken_ready(model_name: str) -> bool:
    """Return True when tiktoken can encode for `model_name` without a download.

    Args:
        model_name: An OpenAI model name; unknown names get the encoding
            `ChatOpenAI._get_encoding_model` picks for them.
    """
    import tiktoken
    from tiktoken import registry

    try:
        encoding = tiktoken.encoding_name_for_model(model_name)
    except KeyError:
        newer = model_name.lower().startswith(("gpt-4o", "gpt-4.1", "gpt-5", "gpt-6"))
        encoding = "o200k_base" if newer else "cl100k_base"
    if encoding in registry.ENCODINGS:
        return True
    cache = _tiktoken_cache_dir()
    url = _BPE_URL.format(name=encoding)
    return cache is not None and (cache / hashlib.sha1(url.encode()).hexdigest()).is_file()


def _own_counter_usable(model: Any, spec: str) -> bool:
    if isinstance(model, OfflineChatModel):
        return True
    if spec in _approximate:
        return False
    name = getattr(model, "tiktoken_model_name", None) or getattr(model, "model_name", None)
    if isinstance(name, str) and tiktoken_ready(name):
        return True
    _approximate.add(spec)
    logger.warning(
        "model %r: its token counter would download tiktoken's BPE file, which is not "
        "cached; counting prompt tokens approximately (set TIKTOKEN_CACHE_DIR to a cache)",
        spec,
    )
    return False


def count_tokens(model: Any, spec: str, messages: Sequence[BaseMessage]) -> int:
    """Return the prompt tokens of `messages` by `model`'s own counter when it is offline-safe.

    Args:
        model: The run's chat model (anything else is counted approximately).
        spec: Its spec, for the notice and to remember the decision.
        messages: The prompt.
    """
    if _own_counter_usable(model, spec):
        try:
            return int(model.get_num_tokens_from_messages(list(messages)))
        except Exception:
            _approximate.add(spec)
            logger.warning("model %r: token counter failed; counting approximately", spec)
    return count_tokens_approximately(messages)


def message_sizes(model: Any, spec: str, messages: Sequence[BaseMessage]) -> list[int]:
    """Return the tokens of each message on its own, as `count_tokens` counts them."""
    return [count_tokens(model, spec, [message]) for message in messages]
