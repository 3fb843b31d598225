"""pytest plugin: a real PostgreSQL server for the test session, and a `db_url` over SQLite and PostgreSQL.

Register with `pytest_plugins = ["tests.pg"]`. With `PROCTOR_TEST_POSTGRES_URL` set (an admin URL of a
server you run) the tests create their databases there; otherwise each pytest(-xdist) worker starts its
own throwaway cluster with Debian's PostgreSQL binaries on a free port and a private socket directory,
as the `postgres` system user when running as root (initdb and postgres refuse root), and removes it at
the end. Every test that asks for `postgres_url` or `db_url[postgresql]` gets a fresh empty database.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

logger = logging.getLogger(__name__)

ENV_URL = "PROCTOR_TEST_POSTGRES_URL"
SERVER_USER = "postgres"


@dataclass(frozen=True)
class PostgresServer:
    """A running server and an admin URL on it; creates and drops the per-test databases."""

    admin_url: URL

    def create_database(self) -> URL:
        """A fresh empty database with a unique name."""
        name = f"proctor_test_{uuid.uuid4().hex[:16]}"
        self._execute(f'CREATE DATABASE "{name}"')
        return self.admin_url.set(database=name)

    def drop_database(self, url: URL) -> None:
        """Drop a database made by `create_database`, disconnecting whoever is still on it."""
        self._execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')

    def _execute(self, statement: str) -> None:
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            with engine.connect() as connection:
                connection.execute(text(statement))
        finally:
            engine.dispose()


def _binaries() -> Path | None:
    """The bin directory of the newest installed PostgreSQL (Debian layout first, then PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).resolve().parent if on_path else None


def _as_server_user() -> list[str]:
    """Command prefix that drops root to the postgres system user (the server refuses to run as root)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser"):
        return ["runuser", "-u", SERVER_USER, "--"]
    return ["setpriv", "--reuid", SERVER_USER, "--regid", SERVER_USER, "--init-groups", "--"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr or result.stdout}")


@contextlib.contextmanager
def _throwaway_cluster(bindir: Path) -> Iterator[URL]:
    """initdb + pg_ctl start on a temp dir; yields the admin URL; stops and removes it afterwards."""
    root = Path(tempfile.mkdtemp(prefix="proctor-pg-"))
    prefix = _as_server_user()
    if prefix:
        shutil.chown(root, user=SERVER_USER, group=SERVER_USER)
    data, log = root / "data", root / "server.log"
    port = _free_port()
    durability_off = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"  # throwaway data: speed
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 {durability_off}"
    started = False
    try:
        _run(
            [
                *prefix,
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ]
        )
        _run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"]
        )
        started = True
        logger.info("throwaway PostgreSQL on port %d in %s", port, root)
        yield URL.create("postgresql+psycopg", username="postgres", host="127.0.0.1", port=port, database="postgres")
    finally:
        if started:
            _run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server: `PROCTOR_TEST_POSTGRES_URL`, or a throwaway cluster per worker."""
    given = os.environ.get(ENV_URL)
    if given:
        url = make_url(given)
        if url.get_driver_name() != "psycopg":
            url = url.set(drivername="postgresql+psycopg")
        yield PostgresServer(url)
        return
    bindir = _binaries()
    if bindir is None:
        pytest.fail(
            f"PostgreSQL is not installed: run `make system-deps` (apt-get install postgresql) or set {ENV_URL}"
        )
    with _throwaway_cluster(bindir) as admin_url:
        yield PostgresServer(admin_url)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database, dropped after the test."""
    url = postgres_server.create_database()
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        postgres_server.drop_database(url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database URL: an SQLite file in the test's tmp dir, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'platform.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
