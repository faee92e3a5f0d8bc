"""`make serve`'s check that configured auth is in force, against stand-in servers.

Aegra serves everyone anonymously when its auth module fails to load, so `make serve`
asks each instance something with no token and stops unless it is refused. The real
instances are checked in tests/production/test_serve.py.
"""

from __future__ import annotations

from pathlib import Path

from devtools.ports import free_port
from devtools.serve import unguarded
from devtools.stub_http import QuietHandler, serving

LOG = Path("/var/log/aegra.log")


class _Open(QuietHandler):
    status = 200

    def do_POST(self) -> None:
        self.read_body()
        self.answer_json(self.status, [])


class _Guarded(_Open):
    status = 401


def test_a_server_that_refuses_a_request_with_no_token_is_guarded() -> None:
    with serving(_Guarded) as url:
        assert unguarded(url, LOG) is None


def test_a_server_that_answers_a_request_with_no_token_is_named() -> None:
    with serving(_Open) as url:
        assert unguarded(url, LOG) == (
            f"{url} answered a request with no token (HTTP 200): auth is configured but not "
            f"in force, so its auth module did not load; see {LOG}"
        )


def test_a_server_that_does_not_answer_is_named() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    problem = unguarded(url, LOG)
    assert problem is not None
    assert problem.startswith(f"{url} did not answer a request with no token: ")
