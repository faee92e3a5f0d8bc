"""The HTTP server of `make web`: the built browser page, its config, and dev tokens.

`PageServer` serves, on ``127.0.0.1`` only:

- ``GET /config.json``: where the page finds the API and how it signs in,
  ``{"apiUrl": ..., "devTokens": true|false, "auth": "hs256"|"jwks"|"off"}``;
- ``POST /dev-token`` with ``{"user": "alice"}`` (and an optional ``"name"``):
  ``{"token": <HS256 JWT>, "user": "alice", "expiresIn": <seconds>}``, signed with the
  server's ``AUTH_JWT_SECRET``. DEVELOPMENT ONLY: it hands a token for *any* user to
  whoever asks, like ``lgchat token``; a real deployment takes its tokens from an
  identity provider;
- every other ``GET`` from the built page's folder (``web/dist``): a file when one
  matches, else ``index.html`` for a path without a file extension (the page routes
  itself), else 404. Nothing outside the folder is ever served, and no folder is listed.

Requests whose ``Host`` is not a loopback name are refused, so a web page on another
site cannot read a token through a DNS name it points at 127.0.0.1.
"""

from __future__ import annotations

import json
import mimetypes
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

from devtools.ports import LOOPBACK
from devtools.stub_http import QuietHandler
from security.settings import AuthMode
from security.tokens import DEV_TOKEN_SECONDS, mint_dev_token

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".map": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".ico": "image/x-icon",
    ".png": "image/png",
    ".woff2": "font/woff2",
    ".webmanifest": "application/manifest+json",
}
"""Content types that must not depend on the machine's ``/etc/mime.types``."""

LOOPBACK_HOSTS = frozenset({LOOPBACK, "localhost", "::1"})
"""The host names a request's ``Host`` header may give (any port)."""
MAX_USER_LENGTH = 200
_MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class ApiAccess:
    """Where the page finds the API, and how it signs in.

    Attributes:
        url: The LangGraph API's base URL.
        auth: How the server verifies tokens.
        secret: The server's HS256 secret, to mint development tokens with; ``None``
            makes ``/dev-token`` answer 404.
    """

    url: str
    auth: AuthMode
    secret: str | None = None

    @property
    def dev_tokens(self) -> bool:
        """Whether ``POST /dev-token`` mints tokens."""
        return self.auth == "hs256" and bool(self.secret)

    def config(self) -> dict[str, Any]:
        """Return the body of ``GET /config.json``."""
        return {"apiUrl": self.url, "devTokens": self.dev_tokens, "auth": self.auth}


class BadUser(ValueError):
    """A ``/dev-token`` request names no usable user; the message says why, in one line."""


def requested_user(body: bytes) -> tuple[str, str | None]:
    """Return the user id and display name a ``/dev-token`` request body asks for.

    Raises:
        BadUser: The body is not a JSON object with a non-empty, printable ``user``
            string (and, if present, a string ``name``).
    """
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        raise BadUser('the body is not JSON: send {"user": "<id>"}') from None
    if not isinstance(payload, dict):
        raise BadUser('the body is not a JSON object: send {"user": "<id>"}')
    user, name = payload.get("user"), payload.get("name")
    if not isinstance(user, str) or not user.strip():
        raise BadUser('"user" must be a non-empty string')
    if len(user) > MAX_USER_LENGTH or not user.isprintable():
        raise BadUser(f'"user" must be at most {MAX_USER_LENGTH} printable characters')
    if name is not None and (not isinstance(name, str) or not name.isprintable()):
        raise BadUser('"name" must be a printable string')
    return user, name or None


class PageServer(ThreadingHTTPServer):
    """The page's HTTP server on ``127.0.0.1``; it binds at once and serves after :meth:`start`.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    daemon_threads = True

    def __init__(self, dist: Path, *, port: int = 0) -> None:
        """Bind ``127.0.0.1:port`` (a free port for 0); nothing is answered before :meth:`start`.

        Args:
            dist: The built page's folder (``index.html`` and its assets).
            port: The port to bind.

        Raises:
            OSError: The port is taken.
        """
        super().__init__((LOOPBACK, port), PageHandler)
        self.dist = dist.resolve()
        self.api: ApiAccess | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port."""
        port: int = self.server_address[1]
        return port

    @property
    def url(self) -> str:
        """The page's URL, ``http://127.0.0.1:<port>/``."""
        return f"http://{LOOPBACK}:{self.port}/"

    def start(self, api: ApiAccess) -> Self:
        """Serve in a background thread, with ``api`` in ``/config.json``."""
        self.api = api
        self._thread = threading.Thread(
            target=self.serve_forever, args=(0.05,), name="page", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; idempotent."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self.shutdown()
            thread.join(timeout=5)
        self.server_close()

    def __enter__(self) -> Self:
        """Return the (bound) server."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop the server."""
        self.stop()

    def static_file(self, url_path: str) -> Path | None:
        """Return the file under :attr:`dist` a URL path names, or None.

        A path with a ``..`` segment, a backslash or a NUL (after percent-decoding), or
        one that resolves outside the folder (a symbolic link), names nothing.
        """
        parts = urllib.parse.unquote(url_path).split("/")
        if any(part == ".." or "\\" in part or "\0" in part for part in parts):
            return None
        candidate = self.dist.joinpath(*[part for part in parts if part not in ("", ".")])
        if candidate == self.dist:
            candidate = self.dist / "index.html"
        try:
            resolved = candidate.resolve()
        except (OSError, RuntimeError):
            return None
        return resolved if resolved.is_relative_to(self.dist) and resolved.is_file() else None


class PageHandler(QuietHandler):
    """Answers the page's requests (see the module docstring)."""

    server: PageServer

    def do_GET(self) -> None:
        """Answer ``/config.json`` or a static file."""
        self._get(head=False)

    def do_HEAD(self) -> None:
        """Answer like GET, without the body."""
        self._get(head=True)

    def do_POST(self) -> None:
        """Mint a development token at ``/dev-token``."""
        if int(self.headers.get("Content-Length") or 0) > _MAX_BODY:
            self._error(413, "the body is too large")
            return
        body = self.read_body()
        if not self._from_loopback():
            return
        path = urllib.parse.urlsplit(self.path).path
        if path != "/dev-token":
            self._error(404, f"no POST {path} here")
            return
        api = self.server.api
        if api is None or not api.dev_tokens or not api.secret:
            reason = (
                "the server's tokens come from an identity provider (JWKS)"
                if api is not None and api.auth == "jwks"
                else "the server has no HS256 secret to sign them with"
            )
            self._error(404, f"development tokens are not available: {reason}")
            return
        try:
            user, name = requested_user(body)
        except BadUser as error:
            self._error(400, str(error))
            return
        token = mint_dev_token(api.secret, user, name=name, ttl=DEV_TOKEN_SECONDS)
        self._json(200, {"token": token, "user": user, "expiresIn": int(DEV_TOKEN_SECONDS)})

    def _get(self, *, head: bool) -> None:
        if not self._from_loopback():
            return
        path = urllib.parse.urlsplit(self.path).path
        if path == "/config.json":
            if self.server.api is None:
                self._error(503, "the API is not up yet")
            else:
                self._json(200, self.server.api.config(), head=head)
            return
        found = self.server.static_file(path)
        if found is None and not Path(urllib.parse.unquote(path)).suffix:
            found = self.server.static_file("/index.html")
        if found is None:
            text = "text/plain; charset=utf-8"
            self.answer(404, b"not found\n", text, headers=_headers("no-store"), head=head)
            return
        content_type = CONTENT_TYPES.get(found.suffix.lower()) or (
            mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        )
        self.answer(200, found.read_bytes(), content_type, headers=_headers("no-cache"), head=head)

    def _from_loopback(self) -> bool:
        """Refuse (403) a request whose ``Host`` is not a loopback name."""
        host = self.headers.get("Host")
        if host is None or urllib.parse.urlsplit(f"//{host}").hostname in LOOPBACK_HOSTS:
            return True
        self._error(403, f"this server answers only on {LOOPBACK} and localhost")
        return False

    def _json(self, status: int, payload: Any, *, head: bool = False) -> None:
        self.answer_json(status, payload, headers=_headers("no-store"), head=head)

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": " ".join(message.split())})


def _headers(cache: str) -> dict[str, str]:
    """Return the headers every answer of the page's server carries."""
    return {"Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
