"""Self-tests: ``DevServer`` runs a real ``langgraph dev`` outside the project directory."""

from __future__ import annotations

import json
import os
import re
import textwrap
from pathlib import Path

import httpx
import pytest

from devtools.devserver import (
    DevServer,
    DevServerError,
    _default_model,
    chat_lines,
    default_state_dir,
    dev_auth_env,
    main,
    portable_config,
    source_dirs,
)
from security.settings import AuthSettings
from tests.support.servers import REPO_ROOT

GRAPH = textwrap.dedent(
    """
    import os
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph


    class State(TypedDict, total=False):
        n: int
        probe: str


    def step(state: State) -> State:
        return {"n": state.get("n", 0) + 1, "probe": os.environ.get("PROBE", "unset")}


    builder = StateGraph(State)
    builder.add_node("step", step)
    builder.add_edge(START, "step")
    builder.add_edge("step", END)
    graph = builder.compile()
    """
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway project using both graph syntaxes, a dependency and an env file."""
    root = tmp_path_factory.mktemp("project")
    (root / "files").mkdir()
    (root / "files" / "tiny.py").write_text(GRAPH)
    (root / "tinypkg").mkdir()
    (root / "tinypkg" / "__init__.py").write_text("")
    (root / "tinypkg" / "mod.py").write_text(GRAPH)
    # A developer's .env must not override the test's environment.
    (root / ".env").write_text("PROBE=from-dotenv\n")
    config = {
        "dependencies": ["."],
        "graphs": {
            "by_path": "./files/tiny.py:graph",
            "by_module": {"path": "tinypkg.mod:graph", "description": "module syntax"},
        },
        "env": ".env",
    }
    (root / "langgraph.json").write_text(json.dumps(config))
    return root


def test_portable_config_makes_paths_absolute(project: Path) -> None:
    config = portable_config(project / "langgraph.json")

    assert config["dependencies"] == [str(project)]
    assert config["graphs"]["by_path"] == f"{project}/files/tiny.py:graph"
    assert config["graphs"]["by_module"]["path"] == "tinypkg.mod:graph"
    assert "env" not in config
    kept = portable_config(project / "langgraph.json", load_env_file=True)
    assert kept["env"] == str(project / ".env")


def test_dev_server_lifecycle(project: Path) -> None:
    before = sorted(p.name for p in project.iterdir())
    repo_state_existed = (REPO_ROOT / ".langgraph_api").exists()
    server = DevServer(project / "langgraph.json", env={"PROBE": "from-test"})
    try:
        server.start()
        assert server.startup_seconds is not None
        print(f"langgraph dev started in {server.startup_seconds:.2f}s")
        with httpx.Client(base_url=server.url, timeout=30) as client:
            assert client.get("/ok").status_code == 200
            found = client.post("/assistants/search", json={}).json()
            assert {a["graph_id"] for a in found} == {"by_path", "by_module"}
            thread = client.post("/threads", json={}).json()["thread_id"]
            for graph_id in ("by_path", "by_module"):
                run = {"assistant_id": graph_id, "input": {"n": 1}}
                result = client.post(f"/threads/{thread}/runs/wait", json=run).json()
                assert result == {"n": 2, "probe": "from-test"}
        pgid = server.pid
        assert pgid is not None and os.getpgid(pgid) == pgid

        server.restart()  # Graceful stop flushes state; the thread must survive.
        with httpx.Client(base_url=server.url, timeout=30) as client:
            assert client.get(f"/threads/{thread}").json()["values"] == {
                "n": 2,
                "probe": "from-test",
            }

        server.stop()
        server.stop()  # Idempotent.
        with pytest.raises(ProcessLookupError):
            os.killpg(pgid, 0)
        assert not server.running
        assert any(server.state_dir.iterdir())
        assert server.state_dir.parent != project
        assert "\x1b[" not in server.log_text()
        assert "Shutting down background workers" in server.log_text()
    finally:
        server.cleanup()
    assert sorted(p.name for p in project.iterdir()) == before
    assert (REPO_ROOT / ".langgraph_api").exists() == repo_state_existed
    assert not server.workdir.exists()


def test_startup_failure_reports_log_tail(tmp_path: Path) -> None:
    (tmp_path / "langgraph.json").write_text(
        json.dumps({"dependencies": ["."], "graphs": {"missing": "./nowhere.py:graph"}})
    )

    with (
        pytest.raises(DevServerError, match=r"nowhere\.py") as caught,
        DevServer(tmp_path / "langgraph.json", startup_timeout=30),
    ):
        pass

    assert "exited with code" in str(caught.value)


def test_hot_reload_watches_the_folders_holding_the_code(tmp_path: Path) -> None:
    for folder in ("pkg", "files", "docs"):
        (tmp_path / folder).mkdir()
    config = {
        "graphs": {"a": "pkg.mod:graph", "b": {"path": "./files/x.py:graph"}},
        "auth": {"path": "./pkg/auth.py:auth"},
    }
    (tmp_path / "langgraph.json").write_text(json.dumps(config))
    assert source_dirs(tmp_path / "langgraph.json") == [tmp_path / "files", tmp_path / "pkg"]

    (tmp_path / "langgraph.json").write_text(json.dumps({"graphs": {"a": "./g.py:graph"}}))
    assert source_dirs(tmp_path / "langgraph.json") == [tmp_path]

    assert source_dirs(REPO_ROOT / "langgraph.json") == [
        REPO_ROOT / "agent",
        REPO_ROOT / "security",
    ]


def test_make_dev_keeps_its_state_outside_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    state = default_state_dir(REPO_ROOT)
    assert state.parent == tmp_path / "state" / "langgraph-dev"
    assert re.fullmatch(rf"{re.escape(REPO_ROOT.name)}-[0-9a-f]{{8}}", state.name)

    inside = REPO_ROOT / "agent" / "state"
    config = str(REPO_ROOT / "langgraph.json")
    assert main(["dev", "--config", config, "--state-dir", str(inside)]) == 2
    assert (
        capsys.readouterr().err == f"error: the state folder {inside} is inside a watched folder\n"
    )
    assert not inside.exists()


def test_run_names_the_model_the_server_will_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("MODEL", raising=False)
    env_file = tmp_path / ".env"
    assert _default_model(env_file) == "offline"
    # The server loads .env over the process environment; so does the message.
    env_file.write_text("OPENAI_API_KEY=sk-test\n")
    assert _default_model(env_file) == "openai:gpt-4o (OPENAI_API_KEY is set)"
    monkeypatch.setenv("MODEL", "openai:gpt-4o-mini")
    env_file.write_text("MODEL=offline\n")
    assert _default_model(env_file) == "offline"


def test_dev_auth_makes_a_one_off_secret_only_when_auth_is_not_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AUTH_JWT_SECRET", "AUTH_JWKS_URL"):
        monkeypatch.delenv(name, raising=False)
    env_file = tmp_path / ".env"
    first, second = dev_auth_env(env_file), dev_auth_env(env_file)
    assert list(first) == ["AUTH_JWT_SECRET"]
    assert len(first["AUTH_JWT_SECRET"]) >= 32  # what the server asks of a secret
    assert first != second  # one-off
    # A secret or a JWKS URL of the developer's, in .env or the environment, is kept.
    env_file.write_text("AUTH_JWKS_URL=https://issuer.example/jwks.json\n")
    assert dev_auth_env(env_file) == {}
    env_file.write_text("")
    monkeypatch.setenv("AUTH_JWT_SECRET", "the-developers-own-secret-of-32-bytes")
    assert dev_auth_env(env_file) == {}


def test_make_dev_says_how_to_chat_with_the_token_auth_needs() -> None:
    url, lgchat = "http://127.0.0.1:2024", ".venv/bin/lgchat"
    assert chat_lines(url, lgchat, AuthSettings()) == (
        f"langgraph dev is up at {url}; chat with it from another terminal:\n"
        f"LANGGRAPH_URL={url} {lgchat} chat"
    )
    assert chat_lines(url, lgchat, AuthSettings(jwt_secret="s" * 32)).splitlines() == [
        f"langgraph dev is up at {url}; auth is on: bearer tokens are HS256 JWTs signed with "
        "AUTH_JWT_SECRET; chat with it from another terminal:",
        f'LANGGRAPH_AUTH_TOKEN="$({lgchat} token --user "$(whoami)")" LANGGRAPH_URL={url} '
        f"{lgchat} chat",
    ]
    jwks = chat_lines(url, lgchat, AuthSettings(jwks_url="https://id.example/jwks"))
    assert jwks.splitlines()[1] == (
        f"LANGGRAPH_AUTH_TOKEN=<your identity provider's token> LANGGRAPH_URL={url} {lgchat} chat"
    )
