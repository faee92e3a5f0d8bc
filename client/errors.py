"""Typed client errors, and the one place that maps transport and API errors onto them.

Every message is a single line fit to print as is, so callers never inspect status
codes or httpx types. What a command line makes of them (exit codes, hints naming its
flags) is `client.cli.exit_codes`'s business.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import httpx
from langgraph_sdk import errors as sdk_errors


def one_line(text: str) -> str:
    """Return `text` with every run of whitespace (newlines included) as one space."""
    return " ".join(text.split())


class ChatClientError(Exception):
    """Base class of every error the client raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))

    @property
    def message(self) -> str:
        """Return the one-line message."""
        return str(self)


class ServerUnreachable(ChatClientError):
    """Nothing answers at the server URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(f"no LangGraph server at {url}")


class ConnectionLost(ChatClientError):
    """The server stopped answering in the middle of a request or stream."""

    def __init__(self, url: str, detail: str) -> None:
        self.url = url
        super().__init__(f"lost the connection to {url}: {detail or 'no response'}")


class ConnectionsExhausted(ChatClientError):
    """Every connection the client may open is busy (its `max_connections` limit)."""

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(
            f"every allowed connection to {url} is busy: raise ChatClient(max_connections=...)"
        )


class StreamLost(ConnectionLost):
    """A run's stream dropped and rejoining it failed; the run may still be going.

    The message names the thread and the run and how to pick the stream up again.
    """

    def __init__(self, url: str, thread_id: str, run_id: str, detail: str) -> None:
        self.thread_id = thread_id
        self.run_id = run_id
        super().__init__(
            url,
            f"{detail or 'no response'}; run {run_id} on thread {thread_id} may still be "
            f"running: rejoin it with `lgchat join {thread_id} {run_id}`",
        )


class NotALangGraphServer(ChatClientError):
    """Something answers at the URL, but not the LangGraph API."""

    def __init__(self, url: str, detail: str) -> None:
        self.url = url
        super().__init__(
            f"{url} is not a LangGraph server (listing assistants failed: "
            f"{detail or 'unexpected answer'})"
        )


class BrokenStream(ChatClientError):
    """The server's event stream could not be parsed."""

    def __init__(self, url: str, detail: str) -> None:
        self.url = url
        super().__init__(f"the server at {url} sent a broken event stream: {detail}")


class ProtocolUnsupported(ChatClientError):
    """The server does not speak the streaming protocol asked for, or not over that transport."""

    def __init__(self, url: str, protocol: str, transport: str | None = None) -> None:
        self.url = url
        self.protocol = protocol
        self.transport = transport
        if transport is None:
            detail = f"does not speak the {protocol} streaming protocol; use the runs protocol"
        else:
            detail = f"does not serve the {protocol} protocol over {transport}; use sse"
        super().__init__(f"the server at {url} {detail}")


class AuthenticationFailed(ChatClientError):
    """The server does not accept who the request says it is from (HTTP 401).

    A missing, malformed, expired or wrongly signed token, or a refused API key. The
    message names the server and gives the server's own reason.
    """

    def __init__(self, url: str, detail: str, *, refused: str = "the request") -> None:
        """Describe the refusal.

        Args:
            url: The server URL.
            detail: The server's reason, one line.
            refused: What it refused: "the token", "the API key", or "the request"
                when the request carried neither.
        """
        self.url = url
        self.detail = detail
        super().__init__(f"the server at {url} refused {refused}: {detail}")


class PermissionDenied(ChatClientError):
    """The server knows the user and refuses what they asked for (HTTP 403)."""

    def __init__(self, url: str, detail: str) -> None:
        self.url = url
        self.detail = detail
        super().__init__(f"the server at {url} refused this action: {detail}")


class NotFound(ChatClientError):
    """Something the request named does not exist on the server."""


class AssistantNotFound(NotFound):
    """No assistant has this id or graph name."""

    def __init__(self, assistant: str, available: Sequence[str] = ()) -> None:
        self.assistant = assistant
        self.available = tuple(available)
        choices = ", ".join(self.available) if self.available else "none"
        super().__init__(f"no assistant {assistant!r} on this server; available: {choices}")


class ThreadNotFound(NotFound):
    """No thread has this id (or the id is not a UUID)."""

    def __init__(self, thread_id: str, reason: str = "") -> None:
        self.thread_id = thread_id
        super().__init__(
            f"no thread {thread_id!r} on this server{f' ({reason})' if reason else ''}"
        )


class ThreadBusy(ChatClientError):
    """A run is still in progress on the thread.

    With the `reject` strategy a session checks the thread's status before it
    creates a run, since Aegra ignores `multitask_strategy`; two clients that send at
    the same moment can both pass that check there (see `RemoteChatSession`).
    """

    def __init__(self, thread_id: str | None) -> None:
        self.thread_id = thread_id
        where = f" ({thread_id})" if thread_id else ""
        super().__init__(
            f"this thread is busy{where}: a run is still in progress; wait for it or cancel it"
        )


class InvalidInput(ChatClientError):
    """The request is malformed: an empty message, bad context, a rejected payload."""


class NothingToResume(InvalidInput):
    """The thread waits for no decision: it was never interrupted, or already resumed.

    Nothing was sent; the thread is unchanged.
    """

    def __init__(self, thread_id: str | None, detail: str | None = None) -> None:
        self.thread_id = thread_id
        where = f" {thread_id}" if thread_id else ""
        super().__init__(
            detail or f"thread{where} is not waiting for a decision; nothing to resume"
        )


class ServerError(ChatClientError):
    """The server answered with an unexpected error status."""

    def __init__(self, status: int, detail: str) -> None:
        self.status = status
        super().__init__(f"server error {status}: {detail}")


class RunFailed(ChatClientError):
    """The run itself failed (the stream reported an error)."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"run failed: {detail}")


NOT_YOURS = "or it belongs to another user"
"""Why a thread may look absent to a signed-in user: the server hides other users' threads."""


def _status_detail(error: httpx.HTTPStatusError) -> str:
    # The SDK takes the reason from either engine's body: `langgraph dev`'s
    # {"detail": ...} or Aegra's {"error": ..., "message": ...} ("message" first).
    if isinstance(error, sdk_errors.APIError):
        return error.message
    return f"{error.response.status_code} {error.response.reason_phrase}"


def _credential(error: httpx.HTTPStatusError) -> str | None:
    """Return what the refused request said it was from: "the token", "the API key", None."""
    headers = error.request.headers
    if headers.get("authorization"):
        return "the token"
    if headers.get("x-api-key"):
        return "the API key"
    return None


def to_client_error(
    error: BaseException, *, url: str, thread_id: str | None = None
) -> ChatClientError | None:
    """Return the typed error for an SDK or httpx error, or None for anything else.

    Args:
        error: What the SDK or httpx raised.
        url: The server URL, for the message.
        thread_id: The thread the request was about, so a 404 or 409 can name it.
    """
    if isinstance(error, ChatClientError):
        return error
    # The SDK's connection errors subclass HTTPStatusError without a response, so
    # they are checked before any status code is read.
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | sdk_errors.APIConnectionError):
        return ServerUnreachable(url)
    if isinstance(error, httpx.PoolTimeout):
        return ConnectionsExhausted(url)
    if isinstance(error, httpx.TransportError):
        return ConnectionLost(url, str(error) or type(error).__name__)
    if not isinstance(error, httpx.HTTPStatusError):
        return None
    status, detail = error.response.status_code, one_line(_status_detail(error))
    credential = _credential(error)
    # Only a token names a user who may be refused an action; a 403 to a request with
    # no credentials, or only LangGraph Platform's deployment-wide API key, is about
    # the credentials themselves.
    if status == 401 or (status == 403 and credential != "the token"):
        return AuthenticationFailed(url, detail, refused=credential or "the request")
    if status == 403:
        return PermissionDenied(url, detail)
    if status == 404:
        lowered = detail.lower()
        about_assistant_only = "assistant" in lowered and "thread" not in lowered
        if thread_id is not None and not about_assistant_only:
            # With a token the server answers 404 for other users' threads too.
            return ThreadNotFound(thread_id, NOT_YOURS if credential == "the token" else "")
        return NotFound(detail)
    if status == 409:
        return ThreadBusy(thread_id)
    if status in (400, 422):
        return InvalidInput(detail)
    return ServerError(status, detail)


@contextlib.contextmanager
def translate_errors(*, url: str, thread_id: str | None = None) -> Iterator[None]:
    """Re-raise SDK and httpx errors raised inside the block as `ChatClientError`s.

    Args:
        url: The server URL, for the message.
        thread_id: The thread the block works on, if any.
    """
    try:
        yield
    except Exception as error:
        mapped = to_client_error(error, url=url, thread_id=thread_id)
        if mapped is None or mapped is error:
            raise
        raise mapped from error
