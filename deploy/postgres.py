"""A PostgreSQL server of the cluster's own (Debian's binaries), in a folder, on loopback.

Every connection needs the password (SCRAM-SHA-256), over TCP and over the server's socket alike: a
loopback address is reachable by every user and process of the machine. The password is made once and
kept, readable by the server's user only, in the server's folder (`password`).
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

SERVER_USER = "postgres"
PASSWORD_FILE = "password"


def binaries() -> Path:
    """The bin folder of the newest installed PostgreSQL (`make system-deps` installs it)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path is None:
        raise RuntimeError("PostgreSQL is not installed: run `make system-deps`")
    return Path(on_path).resolve().parent


def as_server_user() -> list[str]:
    """Root runs the server as the postgres user (the server refuses root)."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", SERVER_USER, "--"]


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr or done.stdout}")


def start(folder: Path, port: int) -> str:
    """Create (once) and start a server in `folder` on 127.0.0.1:`port`; returns the URL of database `proctor`."""
    bindir, prefix = binaries(), as_server_user()
    data, log, secret = folder / "data", folder / "server.log", folder / PASSWORD_FILE
    folder.mkdir(parents=True, exist_ok=True)
    if prefix:
        shutil.chown(folder, user=SERVER_USER, group=SERVER_USER)
    if not secret.exists():
        _write_password(secret, secrets.token_hex(24), owner=SERVER_USER if prefix else None)
    password = secret.read_text().strip()
    if not (data / "PG_VERSION").exists():
        initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "scram-sha-256", "-E", "UTF8"]
        _run([*prefix, *initdb, f"--pwfile={secret}"])
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
    _run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"])
    user = f"postgres:{quote(password, safe='')}"
    admin = f"postgresql+psycopg://{user}@127.0.0.1:{port}/postgres"
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            if not connection.execute(text("SELECT 1 FROM pg_database WHERE datname = 'proctor'")).scalar():
                connection.execute(text('CREATE DATABASE "proctor"'))
    finally:
        engine.dispose()
    return f"postgresql+psycopg://{user}@127.0.0.1:{port}/proctor"


def _write_password(path: Path, password: str, owner: str | None) -> None:
    """The password file, readable by its owner (the server's user when we are root) only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as output:
        output.write(password + "\n")
    if owner is not None:
        shutil.chown(path, user=owner, group=owner)


def stop(folder: Path) -> None:
    """Stop the server of `folder` (fast shutdown: connections are closed, committed data stays)."""
    data = folder / "data"
    if (data / "postmaster.pid").exists():
        _run([*as_server_user(), str(binaries() / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
