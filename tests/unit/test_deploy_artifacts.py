"""The deploy artifacts in `deploy/`, checked without a Docker engine.

- `deploy/langgraph-server/Dockerfile` is exactly what `langgraph dockerfile` generates for
  `langgraph.json` today (so it cannot go stale), builds on the base image for the config's
  Python version, installs the project, registers both graphs by file path, and bakes in no
  key and no download: with no key set the graphs use the offline model.
- `deploy/aegra/compose.yaml` is valid under the Compose Specification's JSON schema
  (vendored in `deploy/aegra/schema/`, checked unmodified), and means what it says: two Aegra
  instances on one Postgres and one Redis, each dependency healthy before they start,
  migrations run once, env names Aegra 0.11.0 reads, the offline model by default, and a
  build context that holds the project.
- `deploy/aegra/Dockerfile` installs the Aegra pins of `deploy/aegra/requirements.txt`, the
  only file that pins Aegra, and serves `langgraph.json` on the port the compose file checks.
- The Dockerfile-specific ignore files keep secrets and virtualenvs out of the build context
  and everything the images copy in.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import jsonschema
import pytest
import yaml

from agent.context import default_model

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
LANGGRAPH_JSON = REPO / "langgraph.json"
SERVER_DOCKERFILE = DEPLOY / "langgraph-server" / "Dockerfile"
AEGRA = DEPLOY / "aegra"
COMPOSE = AEGRA / "compose.yaml"
AEGRA_DOCKERFILE = AEGRA / "Dockerfile"
AEGRA_REQUIREMENTS = AEGRA / "requirements.txt"
NGINX_CONF = AEGRA / "nginx.conf"
SCHEMA_DIR = AEGRA / "schema"
PROJECT_IN_IMAGE = "/deps/langgraph-streaming-chat"
"""Where the committed Dockerfile puts the project: `langgraph dockerfile` run in a checkout
named `langgraph-streaming-chat` (the project's name in pyproject.toml)."""
DOCKERIGNORES = (
    DEPLOY / "langgraph-server" / "Dockerfile.dockerignore",
    AEGRA / "Dockerfile.dockerignore",
    # `langgraph build` and `langgraph up` send their Dockerfile on stdin: only this applies.
    REPO / ".dockerignore",
)

AEGRA_VERSION = "0.11.0"
AEGRA_PORT = 2026
INSTANCE_CMD = ["aegra", "serve", "-c", "langgraph.json", "--host", "0.0.0.0", "--port", "2026"]
MIGRATE_CMD = ["aegra", "db", "upgrade"]

AEGRA_SETTINGS = frozenset(
    {
        # aegra_api/settings.py of aegra-api 0.11.0: the names the compose file may set.
        "HOST",
        "PORT",
        "SERVER_URL",
        "AEGRA_CONFIG",
        "AUTH_TYPE",
        "LOG_LEVEL",
        "RUN_MIGRATIONS_ON_STARTUP",
        "DATABASE_URL",
        "POSTGRES_USER",
        "POSTGRES_PASSWORD",
        "POSTGRES_HOST",
        "POSTGRES_PORT",
        "POSTGRES_DB",
        "REDIS_BROKER_ENABLED",
        "REDIS_URL",
        "WORKER_COUNT",
        "N_JOBS_PER_WORKER",
        "LEASE_DURATION_SECONDS",
        "HEARTBEAT_INTERVAL_SECONDS",
        "REAPER_INTERVAL_SECONDS",
    }
)
PROJECT_ENV = frozenset({"OPENAI_API_KEY", "OPENAI_BASE_URL", "MODEL"})
"""Variables the graphs read (`agent/`)."""
SECURITY_ENV = frozenset(
    {"AUTH_JWT_SECRET", "AUTH_JWKS_URL", "AUTH_JWT_ISSUER", "AUTH_JWT_AUDIENCE"}
)
"""Variables the auth handlers read (`security/`)."""
LIBRARY_ENV = frozenset({"LANGSMITH_TRACING"})
"""Variables a runtime dependency reads (langsmith)."""

NO_NETWORK_AT_START = re.compile(r"\b(curl|wget)\b|https?://", re.IGNORECASE)
INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?P<op>:?[-?+])?(?P<arg>[^}]*)\}")


# --- helpers -----------------------------------------------------------------------------


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """Return a Dockerfile's instructions as (KEYWORD, arguments), continuations joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in dockerfile.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, arguments = line.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    assert not pending, f"{dockerfile} ends inside a continued line"
    return instructions


def _args(dockerfile: Path, keyword: str) -> list[str]:
    """Return the arguments of every `keyword` instruction of a Dockerfile."""
    return [arguments for key, arguments in _instructions(dockerfile) if key == keyword]


def _env(dockerfile: Path) -> dict[str, str]:
    """Return the variables a Dockerfile's ENV instructions set (`KEY=value` form)."""
    variables: dict[str, str] = {}
    for arguments in _args(dockerfile, "ENV"):
        for word in shlex.split(arguments):
            key, sep, value = word.partition("=")
            assert sep, f"ENV {arguments!r} is not in KEY=value form"
            variables[key] = value
    return variables


def _copy_sources(dockerfile: Path) -> list[tuple[str, str]]:
    """Return (source, destination) of every COPY/ADD from the build context."""
    pairs: list[tuple[str, str]] = []
    for key, arguments in _instructions(dockerfile):
        if key not in {"COPY", "ADD"}:
            continue
        words = [w for w in shlex.split(arguments) if not w.startswith("--")]
        assert "--from" not in arguments, "only build-context copies are expected"
        *sources, destination = words
        pairs.extend((source, destination) for source in sources)
    return pairs


def _ignore_patterns(path: Path) -> list[str]:
    """Return the patterns of a .dockerignore file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Translate a .dockerignore pattern (Go filepath.Match plus `**`) to a regex."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + r"\Z")


def _ignored(path: str, patterns: list[str]) -> bool:
    """Tell whether a context-relative path is left out (itself or through a parent).

    As in Docker, the last pattern that matches decides, and `!` patterns re-include.
    """
    parts = PurePosixPath(path).parts
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        regex = _glob_regex(pattern.lstrip("!").strip("/"))
        if any(regex.match(prefix) for prefix in prefixes):
            ignored = not negated
    return ignored


def _compose() -> dict[str, Any]:
    """Return the parsed compose file."""
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _services() -> dict[str, dict[str, Any]]:
    """Return the compose file's services."""
    services = _compose()["services"]
    assert isinstance(services, dict)
    return services


def _builds_aegra(service: dict[str, Any]) -> bool:
    """Tell whether a service runs the image of `deploy/aegra/Dockerfile`."""
    build = service.get("build")
    return isinstance(build, dict) and build.get("dockerfile") == "deploy/aegra/Dockerfile"


def _instances() -> dict[str, dict[str, Any]]:
    """Return the Aegra server services: the image's CMD, not a one-shot command."""
    return {
        name: service
        for name, service in _services().items()
        if _builds_aegra(service) and "command" not in service
    }


def _resolve(value: str, shell: dict[str, str] | None = None) -> str:
    """Interpolate `${VAR}`, `${VAR:-default}` and `${VAR-default}` as Compose does."""
    shell = shell or {}

    def replace(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"] or "", match["arg"]
        assert "?" not in op, f"{match[0]} makes a variable required"
        if op == ":-":
            return shell.get(name) or arg
        if op == "-":
            return shell.get(name, arg)
        assert not op, f"unexpected interpolation {match[0]}"
        return shell.get(name, "")

    return INTERPOLATION.sub(replace, value)


def _environment(service: dict[str, Any]) -> dict[str, str]:
    """Return a service's environment with no variable set in the shell."""
    environment = service.get("environment", {})
    assert isinstance(environment, dict), "use the mapping form of `environment`"
    return {str(key): _resolve(str(value)) for key, value in environment.items()}


def _requirements() -> dict[str, str]:
    """Return the `name==version` pins of deploy/aegra/requirements.txt."""
    pins: dict[str, str] = {}
    for line in AEGRA_REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"{line!r} is not pinned with =="
            pins[name.strip()] = version.strip()
    return pins


def _aegra_site_packages() -> Iterator[Path]:
    """Yield the site-packages of the project's Aegra environment, if it is installed."""
    yield from sorted(REPO.glob(".venv-aegra/lib/python3.*/site-packages"))


# --- the licensed LangGraph Server image ---------------------------------------------------


def test_server_dockerfile_is_what_the_cli_generates(tmp_path: Path) -> None:
    cli = shutil.which("langgraph", path=str(Path(sys.executable).parent))
    assert cli, "langgraph-cli (the dev extra) is not installed next to this Python"
    env = {**os.environ, "LANGGRAPH_CLI_NO_ANALYTICS": "1"}
    out = tmp_path / "out"
    out.mkdir()
    done = subprocess.run(
        [cli, "dockerfile", "-c", str(LANGGRAPH_JSON), str(out / "Dockerfile")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["Dockerfile"], "it wrote extra files"
    # The CLI names the project's folder in the image after the checkout's folder
    # (`/deps/<name>`), which differs from clone to clone; everything else must match.
    generated = (out / "Dockerfile").read_text().replace(f"/deps/{REPO.name}", PROJECT_IN_IMAGE)
    assert SERVER_DOCKERFILE.read_text() == generated, (
        "deploy/langgraph-server/Dockerfile is stale; regenerate it with `make dockerfile`"
    )


def test_server_image_builds_from_the_api_image_of_the_python_version() -> None:
    config = json.loads(LANGGRAPH_JSON.read_text(encoding="utf-8"))
    assert config["python_version"] == "3.11"
    assert _args(SERVER_DOCKERFILE, "FROM") == ["langchain/langgraph-api:3.11"]


def test_server_image_installs_the_project() -> None:
    config = json.loads(LANGGRAPH_JSON.read_text(encoding="utf-8"))
    assert config["dependencies"] == ["."]
    assert _copy_sources(SERVER_DOCKERFILE) == [(".", PROJECT_IN_IMAGE)]
    installs = [run for run in _args(SERVER_DOCKERFILE, "RUN") if "/deps/*" in run]
    assert len(installs) == 1
    assert "pip install" in installs[0] and "-e ." in installs[0]
    assert _args(SERVER_DOCKERFILE, "WORKDIR") == [PROJECT_IN_IMAGE]


def test_server_image_registers_both_graphs_by_file_path() -> None:
    config = json.loads(LANGGRAPH_JSON.read_text(encoding="utf-8"))
    graphs = json.loads(_env(SERVER_DOCKERFILE)["LANGSERVE_GRAPHS"])
    assert set(graphs) == set(config["graphs"]) == {"chatbot", "agent"}
    for graph_id, spec in graphs.items():
        local = config["graphs"][graph_id]["path"]
        file, _, variable = local.partition(":")
        assert spec["path"] == f"{PROJECT_IN_IMAGE}/{PurePosixPath(file)}:{variable}"
        source = REPO / file
        assert source.is_file(), f"{graph_id}: {file} does not exist"
        assigned = {
            target.id
            for node in ast.parse(source.read_text(encoding="utf-8")).body
            if isinstance(node, ast.Assign | ast.AnnAssign)
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Name)
        }
        assert variable in assigned, f"{file} assigns no module-level {variable!r}"


def test_server_image_bakes_in_no_key_and_fetches_nothing() -> None:
    env = _env(SERVER_DOCKERFILE)
    assert set(env) == {"LANGSERVE_GRAPHS", "LANGGRAPH_AUTH"}
    # The auth config names the handlers; the secret or JWKS URL comes at run time.
    assert json.loads(env["LANGGRAPH_AUTH"]) == {
        "path": "/deps/langgraph-streaming-chat/security/handlers.py:auth",
        "disable_studio_auth": True,
    }
    keywords = {key for key, _ in _instructions(SERVER_DOCKERFILE)}
    # The base image's own start command runs; no ARG asks for a secret at build time.
    assert not keywords & {"ARG", "CMD", "ENTRYPOINT"}
    for key, arguments in _instructions(SERVER_DOCKERFILE):
        if key != "ENV":
            assert not NO_NETWORK_AT_START.search(arguments), f"{key} {arguments}"
    # Settings come from a git-ignored .env file at run time, never from langgraph.json.
    config = json.loads(LANGGRAPH_JSON.read_text(encoding="utf-8"))
    assert config["env"] == ".env"


def test_no_key_means_the_offline_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("MODEL", raising=False)
    assert default_model() == "offline"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert default_model() == "openai:gpt-4o"


# --- build contexts ----------------------------------------------------------------------


EACH_IGNORE_FILE = pytest.mark.parametrize(
    "ignore_file",
    DOCKERIGNORES,
    ids=lambda p: p.parent.name if p.name != ".dockerignore" else "root",
)


@EACH_IGNORE_FILE
def test_build_context_leaves_out_secrets_and_environments(ignore_file: Path) -> None:
    patterns = _ignore_patterns(ignore_file)
    for path in (
        ".env",
        ".env.local",
        ".venv/bin/python",
        ".venv-aegra/pyvenv.cfg",
        ".git/HEAD",
        "web/node_modules/react/index.js",
    ):
        assert _ignored(path, patterns), f"{ignore_file.name} lets {path} into the image"


@EACH_IGNORE_FILE
def test_build_context_keeps_what_the_images_need(ignore_file: Path) -> None:
    patterns = _ignore_patterns(ignore_file)
    needed = [
        "pyproject.toml",
        "README.md",  # pyproject's `readme`: the build fails without it
        "langgraph.json",
        "agent/chatbot.py",
        "agent/agent.py",
        "client/__init__.py",
        "devtools/__init__.py",
    ]
    dockerfile = ignore_file.with_suffix("")
    needed += [source for source, _ in _copy_sources(dockerfile) if source != "."]
    for path in needed:
        assert (REPO / path).exists(), f"{path} is missing from the repository"
        assert not _ignored(path, patterns), f"{ignore_file.name} leaves out {path}"


def test_ignore_matcher_follows_docker_rules() -> None:
    patterns = [".venv", "**/__pycache__", "*.egg-info", ".env.*", "!.env.example"]
    assert _ignored(".venv/lib/x.py", patterns)
    assert _ignored("agent/__pycache__/nodes.pyc", patterns)
    assert _ignored("pkg.egg-info/PKG-INFO", patterns)
    assert not _ignored(".env.example", patterns)
    assert not _ignored("agent/.venv", [".venv"])  # a bare name matches at the root only


# --- Aegra: the compose file ---------------------------------------------------------------


def _schema() -> dict[str, Any]:
    """Return the vendored Compose Specification schema."""
    schema = json.loads((SCHEMA_DIR / "compose-spec.json").read_text(encoding="utf-8"))
    assert isinstance(schema, dict)
    return schema


def _schema_errors(document: dict[str, Any]) -> list[str]:
    """Return the schema violations of a compose document."""
    schema = _schema()
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    return [error.message for error in validator(schema).iter_errors(document)]


def test_vendored_schema_is_the_recorded_upstream_file() -> None:
    notes = (SCHEMA_DIR / "README.md").read_text(encoding="utf-8")
    recorded = re.search(r"SHA-256: `([0-9a-f]{64})`", notes)
    assert recorded, "schema/README.md records no SHA-256"
    digest = hashlib.sha256((SCHEMA_DIR / "compose-spec.json").read_bytes()).hexdigest()
    assert digest == recorded[1]
    assert "tag `v2.13.0`" in notes
    assert "Apache License" in (SCHEMA_DIR / "LICENSE").read_text(encoding="utf-8")
    assert _schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_compose_file_is_valid_under_the_compose_spec() -> None:
    assert _schema_errors(_compose()) == []


BREAKAGES = {
    "unknown condition": (("aegra-1", "depends_on", "postgres", "condition"), "service_ready"),
    "misspelt healthcheck key": (("redis", "healthcheck", "intervall"), "5s"),
    "ports not a list": (("aegra-2", "ports"), "2028:2026"),
    "unknown service key": (("migrate", "command_line"), ["aegra"]),
}


@pytest.mark.parametrize("breakage", BREAKAGES, ids=str)
def test_compose_spec_check_rejects_a_broken_file(breakage: str) -> None:
    (*parents, key), value = BREAKAGES[breakage]
    broken = copy.deepcopy(_compose())
    node = broken["services"]
    for parent in parents:
        node = node[parent]
    node[key] = value
    assert _schema_errors(broken), f"the schema accepts a compose file with a {breakage}"


def test_two_aegra_instances_wait_for_healthy_dependencies() -> None:
    services = _services()
    instances = _instances()
    assert sorted(instances) == ["aegra-1", "aegra-2"]
    for name, service in instances.items():
        depends_on = service["depends_on"]
        assert depends_on == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }, name
        for dependency, rule in depends_on.items():
            assert dependency in services, f"{name} depends on a missing {dependency}"
            if rule["condition"] == "service_healthy":
                assert services[dependency].get("healthcheck"), f"{dependency}: no healthcheck"
        check = " ".join(service["healthcheck"]["test"])
        assert f"http://127.0.0.1:{AEGRA_PORT}/health" in check, name
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def test_migrations_run_once_before_the_instances() -> None:
    services = _services()
    one_shots = [s for s in services.values() if _builds_aegra(s) and "command" in s]
    assert len(one_shots) == 1
    migrate = services["migrate"]
    assert migrate["command"] == MIGRATE_CMD
    assert migrate["restart"] == "no"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name, service in _instances().items():
        assert _environment(service)["RUN_MIGRATIONS_ON_STARTUP"] == "false", name
    database = {k: v for k, v in _environment(migrate).items() if k.startswith("POSTGRES_")}
    for service in _instances().values():
        assert {k: _environment(service)[k] for k in database} == database


def test_instances_share_one_postgres_and_one_redis() -> None:
    services = _services()
    environments = [_environment(service) for service in _instances().values()]
    shared = ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DB", "POSTGRES_USER", "REDIS_URL")
    first = environments[0]
    for environment in environments[1:]:
        assert {k: environment[k] for k in shared} == {k: first[k] for k in shared}
    assert first["REDIS_BROKER_ENABLED"] == "true"
    assert "DATABASE_URL" not in first  # it would win over the POSTGRES_* variables

    postgres = services[first["POSTGRES_HOST"]]
    assert postgres["image"].split(":")[0] == "postgres"
    database = _environment(postgres)
    for key in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"):
        assert database[key] == first[key], key
    assert first["POSTGRES_PORT"] == "5432"
    assert any(v.startswith("postgres-data:/var/lib/postgresql/") for v in postgres["volumes"])
    assert "postgres-data" in _compose()["volumes"]

    redis_url = re.fullmatch(r"redis://(?P<host>[\w.-]+):(?P<port>\d+)/\d+", first["REDIS_URL"])
    assert redis_url, first["REDIS_URL"]
    assert services[redis_url["host"]]["image"].split(":")[0] == "redis"
    assert redis_url["port"] == "6379"


def test_aegra_environment_names_are_read_by_someone() -> None:
    for package, names in (("agent", PROJECT_ENV), ("security", SECURITY_ENV)):
        sources = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / package).glob("*.py"))
        for name in names:
            assert f'"{name}"' in sources, f"{package}/ does not read {name}"
    known = AEGRA_SETTINGS | PROJECT_ENV | SECURITY_ENV | LIBRARY_ENV
    for name, service in _services().items():
        if _builds_aegra(service):
            unknown = set(_environment(service)) - known
            assert not unknown, f"{name} sets variables nothing reads: {sorted(unknown)}"


# Needs .venv-aegra, which `make test-prod` builds and `make test` does not.
@pytest.mark.engines("aegra")
def test_known_aegra_settings_match_the_installed_aegra() -> None:
    settings = [sp / "aegra_api" / "settings.py" for sp in _aegra_site_packages()]
    settings = [path for path in settings if path.is_file()]
    assert settings, "Aegra is not installed in .venv-aegra"
    tree = ast.parse(settings[0].read_text(encoding="utf-8"))
    declared = {
        node.target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.AnnAssign)
        and isinstance(node.target, ast.Name)
        and node.target.id.isupper()
    }
    assert not AEGRA_SETTINGS - declared, sorted(AEGRA_SETTINGS - declared)


def test_lease_timing_passes_aegras_own_rule() -> None:
    for name, service in _instances().items():
        environment = _environment(service)
        lease = int(environment["LEASE_DURATION_SECONDS"])
        heartbeat = int(environment["HEARTBEAT_INTERVAL_SECONDS"])
        reaper = int(environment["REAPER_INTERVAL_SECONDS"])
        assert lease > 2 * heartbeat, name  # WorkerSettings._validate_lease_timing
        assert lease + reaper <= 45, f"{name}: a crashed run waits {lease + reaper} s"


def test_aegra_serves_the_offline_model_with_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    assert not re.search(r"\$\{\w+:?\?", text), "a variable is required from the shell"
    for name, service in _instances().items():
        environment = _environment(service)
        assert environment["OPENAI_API_KEY"] == "", name
        for key in PROJECT_ENV:
            monkeypatch.setenv(key, environment[key])
        assert default_model() == "offline", name


def test_shell_variables_reach_the_instances() -> None:
    service = _instances()["aegra-1"]
    environment = service["environment"]
    assert _resolve(environment["OPENAI_API_KEY"], {"OPENAI_API_KEY": "sk-x"}) == "sk-x"
    assert _resolve(environment["POSTGRES_PASSWORD"], {"POSTGRES_PASSWORD": "p"}) == "p"


def test_build_context_holds_the_project() -> None:
    for name, service in _services().items():
        if not _builds_aegra(service):
            continue
        context = (COMPOSE.parent / service["build"]["context"]).resolve()
        assert context == REPO, name
        assert (context / "langgraph.json").is_file()
        assert (context / service["build"]["dockerfile"]).resolve() == AEGRA_DOCKERFILE
        for source, _ in _copy_sources(AEGRA_DOCKERFILE):
            assert (context / source).exists(), f"COPY {source}: not in the build context"


def test_instances_publish_the_port_aegra_listens_on() -> None:
    for name, service in _instances().items():
        container_ports = {int(str(mapping).rsplit(":", 1)[1]) for mapping in service["ports"]}
        assert container_ports == {AEGRA_PORT}, name
    published = [m for service in _services().values() for m in service.get("ports", [])]
    host_ports = [str(mapping).rsplit(":", 1)[0] for mapping in published]
    assert len(host_ports) == len(set(host_ports)), "two services publish one host port"


def test_load_balancer_spreads_over_both_instances() -> None:
    services = _services()
    lb = services["lb"]
    assert "./nginx.conf:/etc/nginx/conf.d/default.conf:ro" in lb["volumes"]
    assert set(lb["depends_on"]) == set(_instances())
    conf = NGINX_CONF.read_text(encoding="utf-8")
    upstream = re.findall(r"^\s*server\s+([\w.-]+):(\d+)", conf, re.MULTILINE)
    assert sorted(upstream) == sorted((name, str(AEGRA_PORT)) for name in _instances())
    assert re.search(r"^\s*proxy_buffering off;", conf, re.MULTILINE), "SSE needs no buffering"


# --- Aegra: the image ----------------------------------------------------------------------


def test_aegra_image_runs_the_pinned_aegra_on_the_project() -> None:
    assert _args(AEGRA_DOCKERFILE, "FROM") == ["python:3.12-slim"]
    copies = _copy_sources(AEGRA_DOCKERFILE)
    assert ("deploy/aegra/requirements.txt", "/tmp/aegra-requirements.txt") in copies
    assert ("constraints.txt", "/tmp/constraints.txt") in copies
    pinned = "pip install -c /tmp/constraints.txt -r /tmp/aegra-requirements.txt"
    installs = _args(AEGRA_DOCKERFILE, "RUN")
    assert pinned in installs  # Aegra alone first: a layer that code edits do not rebuild
    assert f"{pinned} . && pip check" in installs  # then the project, resolved with the pins
    assert _args(AEGRA_DOCKERFILE, "WORKDIR") == ["/app"]
    assert ("langgraph.json", "./") in _copy_sources(AEGRA_DOCKERFILE)
    assert [json.loads(cmd) for cmd in _args(AEGRA_DOCKERFILE, "CMD")] == [INSTANCE_CMD]


def test_aegra_image_copies_every_package_the_project_ships() -> None:
    # `pip install .` in the image fails on a package folder that was not copied in.
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = {name.split(".")[0] for name in pyproject["tool"]["setuptools"]["packages"]}
    copied = {source.rstrip("/") for source, _ in _copy_sources(AEGRA_DOCKERFILE)}
    assert shipped <= copied, sorted(shipped - copied)


def test_aegra_is_pinned_in_one_place() -> None:
    assert _requirements() == {"aegra-api": AEGRA_VERSION, "aegra-cli": AEGRA_VERSION}
    pin = re.compile(r"aegra-(?:api|cli)\s*[=<>~!]=\s*([\w.]+)")
    for path in (AEGRA_DOCKERFILE, COMPOSE, REPO / "Makefile", REPO / "pyproject.toml"):
        assert not pin.search(path.read_text(encoding="utf-8")), f"{path.name} pins Aegra"
    if (REPO / ".ci" / "run").is_file():
        assert not pin.search((REPO / ".ci" / "run").read_text(encoding="utf-8"))
    # A frozen constraints file may list Aegra too, but only at the same version.
    constrained = pin.findall((REPO / "constraints.txt").read_text(encoding="utf-8"))
    assert set(constrained) <= {AEGRA_VERSION}, constrained


@pytest.mark.engines("aegra")  # needs .venv-aegra, like the test above
def test_installed_aegra_is_the_pinned_one() -> None:
    found = {
        dist.name.split("-")[0]: dist.name.removesuffix(".dist-info").split("-")[1]
        for site in _aegra_site_packages()
        for dist in site.glob("aegra_*.dist-info")
    }
    assert found == {"aegra_api": AEGRA_VERSION, "aegra_cli": AEGRA_VERSION}


def test_postgres_admits_every_instances_full_pools() -> None:
    services = _services()
    instances = [s for s in services.values() if _builds_aegra(s) and "command" not in s]
    command = services["postgres"]["command"]
    limit = int(next(arg for arg in command if arg.startswith("max_connections=")).split("=")[1])
    # Aegra 0.11's defaults: SQLAlchemy 10 + 20 overflow, the checkpointer's pool 20.
    per_instance = 10 + 20 + 20
    assert len(instances) == 2
    assert limit >= len(instances) * per_instance + 10, limit
