"""Smoke run of the benchmark suite: it runs end to end and its numbers are well formed.

`python -m bench --smoke` starts its own scripted model server and `langgraph dev`, runs
every benchmark at toy sizes (1 session, 20 tokens, 3 turns; 2 sessions per stream path
and 2 runs on one thread for the protocol comparison) and writes the report into a
temporary directory. `python -m bench engines --smoke` runs the engine comparison
(`bench.engines`: `langgraph dev`, Aegra, Aegra x 2 with Redis, and one fast SIGKILL
recovery), which needs `.venv-aegra` and the local Postgres and Redis: `make test-prod`
runs those tests, `make test` the others. Nothing here asserts a timing beyond sanity
(ordering, upper bounds far above the expected): only that each benchmark produced
finite, non-negative numbers of the right shape, and the counts that are deterministic.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SMOKE_TOKENS = 20
SMOKE_TURNS = 3
SMOKE_PROTOCOL_SESSIONS = 2
SMOKE_HISTORY_RUNS = 2
RUN_PATHS = {"messages", "messages-tuple"}
V3_PATHS = {"v3-sse", "v3-websocket"}


# The engine comparison runs Aegra on Postgres and Redis: `make test-prod` runs it. The
# rest runs `langgraph dev` alone, in `make test`.
ON_AEGRA = pytest.mark.engines("aegra")
ON_DEV = pytest.mark.engines("dev")


def _numbers(value: Any) -> list[float]:
    """Every number inside a JSON value (booleans excluded)."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, dict):
        return [n for item in value.values() for n in _numbers(item)]
    if isinstance(value, list):
        return [n for item in value for n in _numbers(item)]
    return []


def _finite(value: Any) -> bool:
    numbers = _numbers(value)
    return bool(numbers) and all(math.isfinite(n) for n in numbers)


def _run_bench(*args: str) -> None:
    """Run ``python -m bench ARGS`` from the repository; it must exit 0."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=480,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Run the smoke suite once; return its output directory and parsed results."""
    out = tmp_path_factory.mktemp("bench")
    _run_bench("--smoke", "--out", str(out))
    return out, json.loads((out / "latest.json").read_text())


@pytest.mark.server
@ON_DEV
def test_writes_report_and_plots(smoke: tuple[Path, dict[str, Any]]) -> None:
    out, results = smoke
    report = (out / "latest.md").read_text()
    for heading in ("## Targets", "## 1.", "## 2.", "## 3.", "## 4.", "## 5.", "## 6."):
        assert heading in report
    for path in V3_PATHS:
        assert f"| {path} |" in report
    names = ("latency.png", "bytes_cpu.png", "concurrency.png", "protocols.png", "conversation.png")
    for name in names:
        assert (out / name).read_bytes().startswith(b"\x89PNG")
    machine = results["machine"]
    assert machine["cores"] >= 1
    assert machine["python"]
    assert machine["packages"]["langgraph-sdk"] != "-"


@pytest.mark.server
@ON_DEV
def test_latency_numbers(smoke: tuple[Path, dict[str, Any]]) -> None:
    _, results = smoke
    rows = {row["path"]: row for row in results["latency"]["rows"]}
    assert set(rows) == {"baseline", "values"} | RUN_PATHS | V3_PATHS
    for row in rows.values():
        assert row["errors"] == 0
        assert row["crossed"] == 0
        assert row["tokens"] == SMOKE_TOKENS
        assert _finite(row["delay_ms"])
        assert _finite(row["gap_ms"])
        assert _finite(row["stages_ms"]["ttft"])
    for path in {"values"} | RUN_PATHS | V3_PATHS:
        stages = rows[path]["stages_ms"]
        assert stages["dispatch"] >= 0
        # The run is acknowledged before its first token. A run stream's first byte comes
        # after the ack; v3 subscribes before it starts the run, so its first byte (the
        # WebSocket's subscription acknowledgement) may come first.
        assert 0 <= stages["ack"] <= stages["ttft"]
        assert 0 <= stages["first_byte"] <= stages["ttft"]
        if path not in V3_PATHS:
            assert stages["ack"] <= stages["first_byte"]


@pytest.mark.server
@ON_DEV
def test_wire_and_overhead_numbers(smoke: tuple[Path, dict[str, Any]]) -> None:
    _, results = smoke
    wire = results["wire"]
    assert {row["mode"] for row in wire["rows"]} == RUN_PATHS | V3_PATHS
    for row in wire["rows"]:
        assert row["complete"], row["error"]
        assert row["crossed"] == 0
        assert row["bytes"] > 0
        assert row["bare_bytes"] > 0
        assert row["cpu_s"] >= 0
        # Only the WebSocket reads frames off a socket of its own.
        assert (row["socket_bytes"] > 0) == (row["mode"] == "v3-websocket")
    assert all(ratio["same_output"] for ratio in wire["ratios"])
    assert all(ratio["v3_same_output"] for ratio in wire["ratios"])
    assert {row["mode"] for row in wire["live"]} == RUN_PATHS | V3_PATHS
    for row in wire["live"]:
        assert row["client_ms_per_token"] > 0
        assert row["bare_ms_per_token"] > 0
    overhead = results["overhead"]["rows"]
    assert {row["mode"] for row in overhead} == {"messages", "messages-tuple"}
    for row in overhead:
        assert row["parts"] > 0
        assert row["events"] > 0
        assert _finite(row["per_part_ms"])
        assert row["bare_us_per_part"] > 0


@pytest.mark.server
@ON_DEV
def test_concurrency_and_conversation_numbers(smoke: tuple[Path, dict[str, Any]]) -> None:
    _, results = smoke
    (row,) = results["concurrency"]["rows"]
    assert row["sessions"] == 1
    assert row["errors"] == 0
    assert row["crossed"] == 0
    assert row["delivered"] == row["expected"] == SMOKE_TOKENS
    assert _finite(row["delay_ms"])
    assert row["server_cpu_pct"] >= 0
    conversation = results["conversation"]
    for tag in ("messages", "tokens", "off"):
        side = conversation[tag]
        assert side["errors"] == 0
        assert side["turn_calls"] == SMOKE_TURNS
        assert len(side["per_turn"]) == SMOKE_TURNS
        assert all(tokens > 0 for tokens in side["per_turn"])
        assert side["max"] >= side["mean"] > 0


@pytest.mark.server
@ON_DEV
def test_protocol_sessions_and_history(smoke: tuple[Path, dict[str, Any]]) -> None:
    _, results = smoke
    sessions = results["protocols"]["sessions"]
    assert sessions["sessions"] == SMOKE_PROTOCOL_SESSIONS
    rows = {row["path"]: row for row in sessions["rows"]}
    assert set(rows) == RUN_PATHS | V3_PATHS
    for path, row in rows.items():
        assert row["errors"] == 0, (path, row["error_samples"])
        assert row["complete"] == SMOKE_PROTOCOL_SESSIONS, path
        assert row["crossed"] == 0, path
        assert row["delivered"] == row["expected"] == SMOKE_PROTOCOL_SESSIONS * SMOKE_TOKENS
        assert _finite(row["delay_ms"])
        assert _finite(row["gap_ms"])
    history = results["protocols"]["history"]
    assert history["runs"] == SMOKE_HISTORY_RUNS
    assert {row["path"] for row in history["rows"]} == {"messages-tuple"} | V3_PATHS
    for row in history["rows"]:
        assert row["complete"], row["error"]
        assert row["crossed"] == 0  # an earlier run's tokens never show in a later run
        assert row["bytes"] > 0
        assert row["cpu_ms"] >= 0
    runs = [row["run"] for row in history["rows"] if row["path"] == "v3-sse"]
    assert runs == list(range(1, SMOKE_HISTORY_RUNS + 1))


@pytest.mark.server
@ON_DEV
def test_conversation_runs_alone(tmp_path: Path) -> None:
    _run_bench("conversation", "--smoke", "--out", str(tmp_path))
    assert not (tmp_path / "latest.md").exists()
    report = (tmp_path / "conversation.md").read_text()
    assert "| token budget (T=800): summary calls per turn <= 0.32 |" in report
    assert (tmp_path / "conversation.png").read_bytes().startswith(b"\x89PNG")
    conversation = json.loads((tmp_path / "conversation.json").read_text())["conversation"]
    assert conversation["budget"] == 800
    for tag in ("messages", "tokens", "off"):
        assert conversation[tag]["errors"] == 0
        assert conversation[tag]["turn_calls"] == SMOKE_TURNS


@pytest.mark.server
@ON_DEV
def test_cpu_runs_alone(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "cpu", "--smoke", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert not (tmp_path / "latest.md").exists()
    assert "| messages-tuple |" in (tmp_path / "cpu.md").read_text()
    cpu = json.loads((tmp_path / "cpu.json").read_text())["cpu"]
    assert {row["mode"] for row in cpu["live"]} == {"messages", "messages-tuple"}
    for row in cpu["overhead"]["rows"]:
        assert row["parts"] > 0
        assert row["bare_median_us_per_part"] > 0
        assert row["per_part_ms"]["p99"] >= 0


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Run the engine comparison's smoke version once; return its output and results."""
    out = tmp_path_factory.mktemp("engines")
    _run_bench("engines", "--smoke", "--out", str(out))
    return out, json.loads((out / "engines.json").read_text())


@pytest.mark.server
@ON_AEGRA
def test_engines_report(engines: tuple[Path, dict[str, Any]]) -> None:
    out, results = engines
    report = (out / "engines.md").read_text()
    for heading in ("## Targets", "## 1. Latency", "## 2. Concurrency", "## 3. Recovery"):
        assert heading in report
    assert "TTFT through our client <= model's own + 50 ms" in report
    assert (out / "engines.png").read_bytes().startswith(b"\x89PNG")
    assert set(results["engines"]) == {"dev", "aegra", "aegra-x2"}
    assert results["smoke"] is True


@pytest.mark.server
@ON_AEGRA
def test_engines_latency_and_concurrency(engines: tuple[Path, dict[str, Any]]) -> None:
    _, results = engines
    for name, engine in results["engines"].items():
        latency = engine["latency"]
        assert _finite(latency), name
        assert latency["errors"] == 0, name
        assert 0 < latency["dispatch_ms"] <= latency["ttft_ms"] < 10_000, name
        assert 0 < latency["model_ttft_ms"] < 10_000, name
        assert latency["delivery_ms"] >= 0, name
        assert engine["startup_s"] > 0, name
        conc = engine["concurrency"]
        assert conc["servers"] == (2 if name == "aegra-x2" else 1)
        assert conc["skipped"] == []
        (row,) = conc["rows"]
        assert row["sessions"] == 1
        assert row["errors"] == 0, row["error_samples"]
        assert row["delivered"] == row["expected"] == SMOKE_TOKENS
        assert _finite(row["delay_ms"])
        assert row["server_cpu_pct"] >= 0
        assert row["client_cpu_pct"] >= 0
        assert engine["saturation"]["saturates_at"] is None


@pytest.mark.server
@ON_AEGRA
def test_engines_recovery(engines: tuple[Path, dict[str, Any]]) -> None:
    _, results = engines
    assert results["engines"]["dev"]["recovery"] == "lost"
    recoveries = results["engines"]["aegra-x2"]["recovery"]
    assert set(recoveries) == {"short"}  # the smoke run skips Aegra's default lease
    short = recoveries["short"]
    assert "failed" not in short, short.get("failed")
    assert short["lease"]["LEASE_DURATION_SECONDS"] == "3"
    assert short["run_status"] == short["stream_status"] == "success"
    assert short["complete"]
    assert short["error"] is None
    assert short["retracted"]  # the partial reply of the killed attempt was retracted
    assert short["model_requests"] == 2  # the first attempt and the retry
    assert 1 <= short["killed_after_tokens"] < SMOKE_TOKENS
    assert 0 < short["takeover_s"] <= short["first_token_s"] <= short["final_event_s"]
    assert short["final_event_s"] <= short["success_s"] < 30
