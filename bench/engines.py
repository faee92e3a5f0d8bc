"""The engine as a dimension: `langgraph dev`, Aegra, and Aegra x 2 with Redis, in one run.

Each engine is started in turn (the others stopped, so they share no CPU), on the same
scripted model server, and gets the same two benchmarks of `bench.suite`:

- `suite.latency` (benchmark 1, smaller): dispatch, TTFT through our client against
  the model's own TTFT (``ChatOpenAI.astream`` straight to the model server) and token
  delays; on Aegra x 2 through instance A.
- `suite.concurrency` (benchmark 4) at 1/10/50/100/200 sessions of 50 tokens/s, with
  sessions round-robin over both URLs on Aegra x 2 and the server CPU summed over every
  instance's process group. Once an engine is so saturated that the next level would
  take more than ``level_budget_s``, its remaining levels are skipped.

Aegra x 2 then gets `bench.recovery`: SIGKILL of the instance running a reply, rejoined
through the other, with short leases (`SHORT_LEASE`) and, in the full run, once more
with Aegra's defaults on a fresh pair. On `langgraph dev` a SIGKILL loses the run and
its thread (in-memory state), so there is nothing to measure.

Aegra runs on a fresh Postgres database per deployment (dropped at the end) and, for x 2,
a Redis prefix named after it. `N_JOBS_PER_WORKER` is raised like `langgraph dev`'s
``--n-jobs-per-worker`` so neither engine queues runs below the top level.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import suite
from bench.recovery import recovery
from bench.servers import ModelServer, dev_server, model_env
from devtools.aegra import AegraDeployment, AegraServer
from devtools.postgres import Database

ENGINES: dict[str, str] = {
    "dev": "`langgraph dev`",
    "aegra": "Aegra, 1 instance (Postgres)",
    "aegra-x2": "Aegra x 2 (Postgres + Redis)",
}
"""Engine keys of the results, and how the report names them."""

SHORT_LEASE: Mapping[str, str] = {
    "LEASE_DURATION_SECONDS": "3",
    "HEARTBEAT_INTERVAL_SECONDS": "1",
    "REAPER_INTERVAL_SECONDS": "1",
}
"""Lease settings of the measured recovery (Aegra wants lease > 2 x heartbeat, integers)."""

DEFAULT_LEASE: Mapping[str, str] = {
    "LEASE_DURATION_SECONDS": "30",
    "HEARTBEAT_INTERVAL_SECONDS": "10",
    "REAPER_INTERVAL_SECONDS": "15",
}
"""Aegra 0.11.0's defaults (`aegra_api.settings.WorkerSettings`), not set, only reported."""


@dataclass(frozen=True)
class EngineSizes:
    """How big the engines run is (full or ``--smoke``).

    Attributes:
        suite: Latency and concurrency sizes handed to `bench.suite`.
        level_budget_s: Skip the remaining concurrency levels past this predicted time.
        recovery_tokens: Tokens of the reply that is killed and recovered.
        recovery_rate: Its tokens per second.
        kill_after: Tokens seen before the SIGKILL.
        default_lease: Measure recovery once more with Aegra's default lease.
    """

    suite: suite.Sizes = field(
        default_factory=lambda: dataclasses.replace(
            suite.Sizes(),
            latency_runs=5,
            latency_tokens=60,
            concurrency=(1, 10, 50, 100, 200),
            concurrency_tokens=100,
        )
    )
    level_budget_s: float = 35.0
    recovery_tokens: int = 100
    recovery_rate: float = 50.0
    kill_after: int = 20
    default_lease: bool = True


SMOKE = EngineSizes(
    suite=suite.SMOKE,
    level_budget_s=math.inf,
    recovery_tokens=20,
    recovery_rate=50.0,
    kill_after=5,
    default_lease=False,
)


_DEPLOYMENTS = itertools.count()
"""Numbers the deployments' folders (their database names are known only once made)."""


def deployment(
    model: ModelServer, work: Path, *, redis: bool, env: Mapping[str, str]
) -> AegraDeployment:
    """Return a deployment on the model server, its instances' folders under ``work``."""
    return AegraDeployment(
        env={**model_env(model), **env},
        redis=redis,
        prefix="bench",
        workdir=work / f"deployment-{next(_DEPLOYMENTS)}",
        startup_timeout=90,
    )


def latency_summary(latency: dict[str, Any]) -> dict[str, float]:
    """Return the numbers the engine table shows, from a `suite.latency` result.

    TTFT through our client is the ``messages-tuple`` path's (the client's default
    mode); the model's own is the ``baseline`` path's, measured in the same run.
    """
    rows = {row["path"]: row for row in latency["rows"]}
    ours, base = rows["messages-tuple"], rows["baseline"]
    return {
        "dispatch_ms": ours["stages_ms"]["dispatch"],
        "ttft_ms": ours["stages_ms"]["ttft"],
        "model_ttft_ms": base["stages_ms"]["ttft"],
        "ttft_added_ms": ours["stages_ms"]["ttft"] - base["stages_ms"]["ttft"],
        "delivery_ms": ours["stages_ms"]["delivery"],
        "delay_p50_ms": ours["delay_ms"]["p50"],
        "delay_p99_ms": ours["delay_ms"]["p99"],
        "gap_jitter_p99_ms": ours["jitter_ms"]["p99"],
        "errors": sum(row["errors"] for row in rows.values()),
    }


def saturation(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Return the first level below 90% of the ideal rate or with errors, and the peak."""
    peak = max(rows, key=lambda r: r["tokens_per_s"], default=None)
    first = next(
        (r for r in rows if r["errors"] or r["tokens_per_s"] < 0.9 * r["ideal_tokens_per_s"]),
        None,
    )
    return {
        "saturates_at": first["sessions"] if first else None,
        "peak_tokens_per_s": peak["tokens_per_s"] if peak else math.nan,
        "peak_sessions": peak["sessions"] if peak else None,
    }


async def measure(
    urls: Sequence[str], pgids: Sequence[int], model: ModelServer, sizes: EngineSizes
) -> dict[str, Any]:
    """Run benchmark 1 (through the first URL) and benchmark 4 (over all URLs)."""
    model.reset()
    latency = await suite.latency(urls[0], model, sizes.suite)
    model.reset()
    concurrency = await suite.concurrency(
        urls, model, pgids, sizes.suite, level_budget_s=sizes.level_budget_s
    )
    return {
        "latency": latency_summary(latency),
        "latency_rows": latency["rows"],
        "concurrency": concurrency,
        "saturation": saturation(concurrency["rows"]),
    }


def _pgids(servers: Sequence[AegraServer]) -> list[int]:
    return [pid for server in servers if (pid := server.pid) is not None]


async def run(
    model: ModelServer, work: Path, sizes: EngineSizes, log: Callable[[str], None]
) -> dict[str, Any]:
    """Start each engine in turn, measure it, stop it; return the results of all three.

    One event loop for everything: the model client of `suite.latency` keeps its
    connection pool across calls. Servers start and stop blocking it; nothing streams then.
    """
    jobs = max(max(sizes.suite.concurrency), 10)
    engines: dict[str, Any] = {}
    log("engines: langgraph dev")
    with dev_server(model, jobs=jobs, workdir=work / "engines-dev") as dev:
        assert dev.pid is not None
        engines["dev"] = await measure([dev.url], [dev.pid], model, sizes)
        engines["dev"].update(startup_s=dev.startup_seconds, recovery="lost")
    jobs_env = {"N_JOBS_PER_WORKER": str(jobs)}
    log("engines: Aegra, 1 instance")
    with deployment(model, work, redis=False, env=jobs_env) as single:
        server = single.add()
        engines["aegra"] = await measure([server.url], _pgids([server]), model, sizes)
        engines["aegra"].update(startup_s=server.startup_seconds, recovery=None)
    log("engines: Aegra x 2 with Redis")
    recoveries: dict[str, Any] = {}
    with deployment(model, work, redis=True, env=jobs_env) as pair:
        a, b = pair.add(SHORT_LEASE), pair.add(SHORT_LEASE)
        urls = [a.url, b.url]
        engines["aegra-x2"] = await measure(urls, _pgids([a, b]), model, sizes)
        engines["aegra-x2"].update(startup_s=a.startup_seconds)
        log("engines: recovery after SIGKILL, short lease")
        recoveries["short"] = await _recover(a, b, pair.database, model, sizes, SHORT_LEASE)
        if sizes.default_lease:
            a.stop()
            b.stop()
            log("engines: recovery after SIGKILL, Aegra's default lease")
            a2, b2 = pair.add(), pair.add()
            recoveries["default"] = await _recover(
                a2, b2, pair.database, model, sizes, DEFAULT_LEASE
            )
    engines["aegra-x2"]["recovery"] = recoveries
    return {"jobs": jobs, "sizes": dataclasses.asdict(sizes), "engines": engines}


async def _recover(
    a: AegraServer,
    b: AegraServer,
    database: Database,
    model: ModelServer,
    sizes: EngineSizes,
    lease: Mapping[str, str],
) -> dict[str, Any]:
    """Run `recovery`; a failure is recorded (``failed``) instead of losing the other results."""
    started = time.monotonic()
    try:
        result = await recovery(
            a, b, database, model, tokens=sizes.recovery_tokens, rate=sizes.recovery_rate,
            kill_after=sizes.kill_after, lease=lease,
        )  # fmt: skip
    except Exception as exc:
        result = {"lease": dict(lease), "failed": f"{type(exc).__name__}: {exc}"}
    result["elapsed_s"] = time.monotonic() - started
    return result
