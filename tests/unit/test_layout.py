"""The import rules of the layout: which package may import which, and what ships.

- `client` without `client.local` and `client.cli` imports neither the graphs
  (`agent`) nor the langgraph runtime, `rich` or `starlette`;
- `client.cli.entry` (the console script) imports nothing but the standard library
  before its `try`, so Ctrl-C while Python imports exits 130;
- only the CLI's composition root (`client/cli/graphs.py`) imports `agent`;
- the library layers never import the layers above them (`client.local`,
  `client.cli`), nor `devtools`, `examples`, `tests` or `bench`;
- `bench` imports `devtools`, never `tests`;
- shipped modules (`agent`, `client`, `devtools`, `security`) import only the standard library,
  shipped packages and the runtime dependencies declared in `pyproject.toml`, or a
  package of the `dev` extra inside `with require_dev_extra(...)`, which names the
  extra when the package is missing.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHIPPED = ("agent", "client", "devtools", "security")
COMPOSITION_ROOT = "client/cli/graphs.py"
LIBRARY_ONLY = ("client.local", "client.cli")
"""Layers above the remote library: `client` outside them must not import them."""
CLI_MODULES = ("client.cli", "client.__main__")
"""The command line (`python -m client` is `lgchat` too)."""

IMPORT_NAMES = {
    "langgraph": ("langgraph",),
    "langchain-core": ("langchain_core",),
    "langchain-openai": ("langchain_openai",),
    "langgraph-sdk": ("langgraph_sdk",),
    "langgraph-checkpoint-sqlite": ("langgraph",),  # langgraph.checkpoint.sqlite
    "python-dotenv": ("dotenv",),
    "annotated-types": ("annotated_types",),
    "langgraph-cli": ("langgraph_cli", "langgraph_api"),  # [inmem] brings langgraph-api
    "httpx-sse": ("httpx_sse",),
    "pyjwt": ("jwt",),
}
"""Import names of the distributions whose import name is not their own name."""


def _modules(*roots: str) -> list[Path]:
    return sorted(p for root in roots for p in (REPO / root).rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Return the absolute module names `path` imports (relative imports resolved)."""
    package = _module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _guarded_imports(path: Path) -> set[str]:
    """Return the modules `path` imports inside `with require_dev_extra(...)` blocks."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.With) and any(
            isinstance(item.context_expr, ast.Call)
            and isinstance(item.context_expr.func, ast.Name)
            and item.context_expr.func.id == "require_dev_extra"
            for item in node.items
        ):
            for inner in (n for statement in node.body for n in ast.walk(statement)):
                if isinstance(inner, ast.Import):
                    found.update(alias.name for alias in inner.names)
                elif isinstance(inner, ast.ImportFrom) and inner.module:
                    found.add(inner.module)
                elif (
                    isinstance(inner, ast.Call)
                    and isinstance(inner.func, ast.Attribute)
                    and inner.func.attr == "import_module"
                    and inner.args
                    and isinstance(inner.args[0], ast.Constant)
                ):
                    found.add(str(inner.args[0].value))
    return found


def _import_names(requirements: list[str]) -> set[str]:
    names: set[str] = set()
    for requirement in requirements:
        distribution = re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower()
        names.update(IMPORT_NAMES.get(distribution, (distribution.replace("-", "_"),)))
    return names


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_library_imports_no_graphs_no_runtime_and_no_rendering() -> None:
    # httpx imports rich for its own command line when rich is installed; refusing
    # rich proves the library itself does not need it.
    code = """
import importlib.abc, sys

class NoRich(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "rich" or name.startswith("rich."):
            raise ImportError("rich is refused")
        return None

sys.meta_path.insert(0, NoRich())
import client
from client import *  # every public name, so every module behind them
import client.context_schema, client.decode, client.errors, client.events, client.inputs
import client.messages, client.remote, client.session, client.threads, client.values
print(" ".join(sorted(sys.modules)))
"""
    loaded = _run(code).split()
    for banned in ("agent", "langgraph", "rich", "starlette", "client.local", "client.cli"):
        assert not [m for m in loaded if _under(m, banned)], banned
    assert "langgraph_sdk" in loaded


def test_the_console_script_imports_only_the_standard_library_first() -> None:
    code = "import sys; import client.cli.entry; print(' '.join(sorted(sys.modules)))"
    loaded = {m.split(".")[0] for m in _run(code).split()}
    assert loaded - set(sys.stdlib_module_names) <= {"client", "__main__", "_distutils_hack"} | {
        m for m in loaded if m.startswith("__editable__")
    }


@pytest.mark.parametrize("path", _modules("client"), ids=_module_name)
def test_client_modules_import_only_what_their_layer_may(path: Path) -> None:
    name, imported = _module_name(path), _imports(path)
    for other in ("devtools", "examples", "tests", "bench"):
        assert not [m for m in imported if _under(m, other)], other
    if path.relative_to(REPO).as_posix() != COMPOSITION_ROOT:
        assert not [m for m in imported if _under(m, "agent")]
    if not any(_under(name, layer) for layer in (*LIBRARY_ONLY, *CLI_MODULES)):
        assert not [m for m in imported if any(_under(m, layer) for layer in LIBRARY_ONLY)]
    if _under(name, "client.local"):
        assert not [m for m in imported if _under(m, "client.cli")]


@pytest.mark.parametrize("path", _modules("agent"), ids=_module_name)
def test_the_graphs_import_no_client_code(path: Path) -> None:
    for other in ("client", "devtools", "examples", "tests", "bench"):
        assert not [m for m in _imports(path) if _under(m, other)], other


@pytest.mark.parametrize("path", _modules("security"), ids=_module_name)
def test_the_auth_handlers_import_no_graph_client_or_dev_code(path: Path) -> None:
    # Both engines load security/handlers.py on every deployment, the production one too.
    for other in ("agent", "client", "devtools", "examples", "tests", "bench"):
        assert not [m for m in _imports(path) if _under(m, other)], other


@pytest.mark.parametrize("path", _modules("bench", "devtools"), ids=_module_name)
def test_bench_and_devtools_never_import_the_tests(path: Path) -> None:
    assert not [m for m in _imports(path) if _under(m, "tests")]


def test_shipped_modules_import_only_declared_dependencies() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = set(project["tool"]["setuptools"]["packages"])
    declared = _import_names(project["project"]["dependencies"])
    dev_extra = _import_names(project["project"]["optional-dependencies"]["dev"])
    undeclared: dict[str, set[str]] = {}
    for path in _modules(*SHIPPED):
        assert _module_name(path).rpartition(".")[0] in packages | {""} or (
            _module_name(path) in packages
        ), f"{path} is in no shipped package"
        guarded = {m.split(".")[0] for m in _guarded_imports(path)} & dev_extra
        for module in _imports(path):
            top = module.split(".")[0]
            allowed = {*SHIPPED, *declared, *guarded}
            if top and top not in sys.stdlib_module_names and top not in allowed:
                undeclared.setdefault(top, set()).add(path.relative_to(REPO).as_posix())
    assert undeclared == {}


def test_a_missing_dev_extra_is_named() -> None:
    code = """
import importlib.abc, sys

class NoStarlette(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "starlette" or name.startswith("starlette."):
            raise ImportError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoStarlette())
try:
    import devtools.fake_openai
except ImportError as error:
    print(error)
"""
    assert "from the `dev` extra: pip install -e '.[dev]'" in _run(code)
