"""Run the project on Aegra, the open-source engine on Postgres (+ Redis for several instances).

Aegra 0.11.0 serves the same `langgraph.json` as `langgraph dev`, keeping threads, runs
and checkpoints in Postgres. It needs Python 3.12 or newer, so it lives in its own
environment, `.venv-aegra/` (the Makefile builds it), and runs as a subprocess:
`aegra serve -c <config>`. What differs from `langgraph dev` (measured, see the README's
engine table): graph paths must be file paths; the config's `env` key is ignored; there
is no `/ok` (health is `/health`); `aegra serve` runs uvicorn as a child, so the whole
process group is signalled.

With Redis (`REDIS_BROKER_ENABLED`), several instances share one database: runs go
through a Redis job queue with leases, a run created on one instance can be joined on
another, and a run whose instance died is taken over once its lease expires. Each
`AegraServer` given the same `redis_prefix` joins the same queue, so tests on a shared
Redis stay apart.

From the shell (`make serve`, `make serve-ha`):

    python -m devtools.serve                 # one instance on port 2026
    python -m devtools.serve --instances 2   # two instances and Redis
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from devtools.devserver import portable_config
from devtools.ports import LOOPBACK
from devtools.postgres import Database, fresh_database
from devtools.process import QUIET_ENV, ServerProcess

PROJECT_DIR = Path(__file__).resolve().parents[1]
AEGRA_VENV = PROJECT_DIR / ".venv-aegra"
"""The Python 3.12+ environment holding Aegra and the project (`make serve` builds it)."""

LOCAL_REDIS = "redis://127.0.0.1:6379/0"
"""The local Redis every machine of this project runs."""


SMALL_POOLS: dict[str, str] = {
    "SQLALCHEMY_POOL_SIZE": "4",
    "SQLALCHEMY_MAX_OVERFLOW": "4",
    "LANGGRAPH_MIN_POOL_SIZE": "1",
    "LANGGRAPH_MAX_POOL_SIZE": "6",
}
"""Connection pools of at most 14 Postgres connections per instance.

Aegra's defaults allow 30 (SQLAlchemy) + 20 (the checkpointer) per instance, and
Postgres allows 100 clients in all by default: two instances under load, or a test
session's five, would be refused with "too many clients already". Runs wait for a
connection instead."""


@dataclass(frozen=True, slots=True)
class RedisBroker:
    """The Redis that several instances share.

    Attributes:
        url: ``redis://host:port/db``.
        prefix: Namespace of the job queue and the run channels: instances with the
            same prefix share work, others never see it.
    """

    url: str = LOCAL_REDIS
    prefix: str = "aegra"

    def server_env(self) -> dict[str, str]:
        """Return the variables that switch Aegra to the Redis broker."""
        return {
            "REDIS_BROKER_ENABLED": "true",
            "REDIS_URL": self.url,
            "REDIS_CHANNEL_PREFIX": f"{self.prefix}:run:",
            "WORKER_QUEUE_KEY": f"{self.prefix}:jobs",
        }


def aegra_executable() -> Path:
    """Return the ``aegra`` command: ``$AEGRA_BIN``, else the one in ``.venv-aegra``."""
    return Path(os.environ.get("AEGRA_BIN") or AEGRA_VENV / "bin" / "aegra")


class AegraServer(ServerProcess):
    """An ``aegra serve`` subprocess on one Postgres database, optionally with Redis.

    The database must exist; Aegra migrates it at start. :meth:`kill` is a crash:
    threads and finished runs survive it in Postgres.
    """

    name = "aegra"
    health_path = "/health"
    port_taken = re.compile(r"address already in use")

    def __init__(
        self,
        config: str | Path = PROJECT_DIR / "langgraph.json",
        *,
        database: Database,
        redis: RedisBroker | None = None,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        workdir: str | Path | None = None,
        aegra: str | Path | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        """Prepare the server; nothing runs until :meth:`start`.

        Args:
            config: The project's ``langgraph.json``.
            database: The Postgres database to keep state in.
            redis: The broker shared with other instances; None runs runs in-process.
            env: Extra environment (``MODEL``, ``OPENAI_BASE_URL``, lease times...); it
                overrides everything else.
            port: Port to serve on; a free one by default.
            workdir: Holds the generated config and the log; a temporary directory
                by default.
            aegra: The ``aegra`` executable; see :func:`aegra_executable`.
            startup_timeout: Seconds to wait for ``GET /health`` (migrations included).
        """
        super().__init__(env=env, port=port, workdir=workdir, startup_timeout=startup_timeout)
        self.config_path = Path(config).resolve()
        self.database = database
        self.redis = redis
        self.aegra = Path(aegra) if aegra else aegra_executable()

    @property
    def config_file(self) -> Path:
        """The generated config, with absolute paths (Aegra resolves them from its cwd)."""
        return self.workdir / "langgraph.json"

    def prepare(self) -> None:
        """Check the executable and write the portable config."""
        if not self.aegra.exists():
            raise FileNotFoundError(
                f"{self.aegra} is missing: Aegra needs Python 3.12+ in its own environment "
                "(`make serve` builds .venv-aegra)"
            )
        config = portable_config(self.config_path)
        self.config_file.write_text(json.dumps(config, indent=2))

    def environment(self) -> dict[str, str]:
        """Return the environment: the database, the broker, quiet logs, then ``env``."""
        env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
        env.update(QUIET_ENV)
        env.update(self.database.server_env())
        if self.redis is not None:
            env.update(self.redis.server_env())
        env["LOG_VERBOSITY"] = "standard"
        env.update(self.env)
        return env

    def command(self) -> list[str]:
        """Return ``aegra serve`` on :attr:`port`."""
        return [
            str(self.aegra),
            "serve",
            "-c",
            str(self.config_file),
            "--host",
            LOOPBACK,
            "--port",
            str(self.port),
        ]


class AegraDeployment:
    """Aegra instances on one fresh database (and one Redis queue); all gone at the end.

    The database (``<prefix>_<random>``) and the queue (named after it) are the
    deployment's alone, so deployments on a shared Postgres and Redis never see each
    other's runs. Instances started with :meth:`add` are stopped, and the database
    dropped, when the ``with`` block ends.
    """

    def __init__(
        self,
        *,
        env: Mapping[str, str],
        redis: bool = True,
        prefix: str = "aegra",
        workdir: Path | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        """Prepare; the database is created on entering the ``with`` block.

        Args:
            env: Every instance's extra environment (see `AegraServer`).
            redis: Share runs through Redis (needed for more than one instance).
            prefix: The database name's start.
            workdir: Where each instance's folder goes; temporary folders by default.
            startup_timeout: Seconds each instance may take to answer ``/health``.
        """
        self.env = dict(env)
        self.use_redis = redis
        self.prefix = prefix
        self.workdir = workdir
        self.startup_timeout = startup_timeout
        self.servers: list[AegraServer] = []
        self._stack = contextlib.ExitStack()
        self._database: Database | None = None

    @property
    def database(self) -> Database:
        """The deployment's database."""
        if self._database is None:
            raise RuntimeError("the deployment has not been entered")
        return self._database

    def add(self, env: Mapping[str, str] | None = None) -> AegraServer:
        """Start one more instance, with extra ``env``; the first one migrates the database."""
        redis = RedisBroker(prefix=self.database.name) if self.use_redis else None
        folder = self.workdir / f"aegra-{len(self.servers)}" if self.workdir else None
        server = AegraServer(
            database=self.database,
            redis=redis,
            env={**self.env, **(env or {})},
            workdir=folder,
            startup_timeout=self.startup_timeout,
        )
        self.servers.append(self._stack.enter_context(server))
        return server

    def __enter__(self) -> Self:
        """Create the database."""
        self._database = fresh_database(prefix=self.prefix)
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop every instance, then drop the database."""
        try:
            self._stack.close()
        finally:
            self.database.drop()
