"""Postgres databases for the Aegra engine: a fresh one per test run, or the local one.

Tests create `aegra_<random>` on the local server and drop it afterwards; `make serve`
creates its database once and keeps it. Needs `psycopg` (the `dev` extra).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from devtools import require_dev_extra

if TYPE_CHECKING:
    import psycopg

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
"""The local service every machine of this project runs (trust auth)."""


class PostgresUnavailable(RuntimeError):
    """The Postgres server cannot be reached, or refused to create or drop a database."""


@dataclass(frozen=True, slots=True)
class Database:
    """Where one Postgres database is.

    Attributes:
        host: Server host.
        port: Server port.
        user: Role to connect as.
        password: Its password (empty with trust auth).
        name: The database.
    """

    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: str = ""
    name: str = "postgres"

    @classmethod
    def from_url(cls, url: str) -> Database:
        """Parse ``postgresql://user:password@host:port/name``."""
        parts = urlsplit(url)
        if parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
            raise ValueError(f"not a postgresql:// URL: {url!r}")
        return cls(
            host=parts.hostname,
            port=parts.port or 5432,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            name=parts.path.lstrip("/") or "postgres",
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, *, default_name: str) -> Database:
        """Read ``DATABASE_URL``, else ``POSTGRES_*``, else the local service.

        Args:
            env: The environment to read.
            default_name: The database when neither names one.
        """
        if url := env.get("DATABASE_URL"):
            return cls.from_url(url)
        return cls(
            host=env.get("POSTGRES_HOST", "127.0.0.1"),
            port=int(env.get("POSTGRES_PORT", "5432")),
            user=env.get("POSTGRES_USER", "postgres"),
            password=env.get("POSTGRES_PASSWORD", ""),
            name=env.get("POSTGRES_DB", default_name),
        )

    @property
    def url(self) -> str:
        """The ``postgresql://`` URL (password included)."""
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        return f"postgresql://{auth}@{self.host}:{self.port}/{quote(self.name, safe='')}"

    @property
    def display(self) -> str:
        """The URL without the password, for messages."""
        return replace(self, password="").url

    def server_env(self) -> dict[str, str]:
        """Return the ``POSTGRES_*`` variables Aegra reads, and no ``DATABASE_URL``."""
        return {
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_DB": self.name,
        }

    @contextlib.contextmanager
    def _admin_connection(self) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """Connect to the server's ``postgres`` database; errors become one line."""
        with require_dev_extra("devtools.postgres"):
            import psycopg

        admin = replace(self, name="postgres").url
        try:
            with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
                yield conn
        except psycopg.Error as error:
            lines = str(error).strip().splitlines()
            raise PostgresUnavailable(
                f"Postgres at {self.display}: {lines[0] if lines else type(error).__name__}"
            ) from error

    def _execute(self, statement: str) -> None:
        from psycopg import sql

        with self._admin_connection() as conn:
            conn.execute(sql.SQL(statement).format(sql.Identifier(self.name)))

    def exists(self) -> bool:
        """Return whether the database exists (raises when the server is unreachable)."""
        with self._admin_connection() as conn:
            query = "SELECT 1 FROM pg_database WHERE datname = %s"
            return conn.execute(query, (self.name,)).fetchone() is not None

    def create(self) -> Database:
        """Create the database; return ``self``."""
        self._execute("CREATE DATABASE {}")
        return self

    def ensure(self) -> Database:
        """Create the database unless it exists; return ``self``."""
        if not self.exists():
            self.create()
        return self

    def drop(self) -> None:
        """Drop the database, disconnecting whoever is still connected."""
        self._execute("DROP DATABASE IF EXISTS {} WITH (FORCE)")


def fresh_database(base: Database | None = None, *, prefix: str = "aegra") -> Database:
    """Create a database with a new random name on ``base``'s server, and return it.

    Args:
        base: The server (its ``name`` is ignored); the local service by default.
        prefix: The name's start: ``<prefix>_<16 hex digits>``.
    """
    server = base or Database.from_url(LOCAL_POSTGRES)
    return replace(server, name=f"{prefix}_{secrets.token_hex(8)}").create()
