"""The data folder is its owner's alone: it holds the database, recordings, ID photos and the ledger's key.

At every start the data and media folders are made 0700 and the SQLite database (with its -wal/-shm) and
the ledger and quiz-password keys 0600, so a folder left 0755/0644 by an older version or a copy is tightened
too (what lies inside the 0700 folders is out of others' reach whatever its own mode). The server
and its commands also run with the umask 0077, so whatever else they create (a scratch file, a decoder's
output, SQLite's journals) is private from its first byte; the media store writes its files 0600 itself.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from sqlalchemy.engine import make_url

from web.settings import Settings

logger = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077
PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600


def private_umask() -> None:
    """New files and folders of this process (and the workers it starts) are its owner's only."""
    os.umask(PRIVATE_UMASK)


def sqlite_file(url: str) -> Path | None:
    """The file of an SQLite database URL (None for another database or an in-memory one)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _restrict(path: Path, mode: int) -> None:
    try:
        path.chmod(mode)
    except FileNotFoundError:
        pass
    except PermissionError as exc:  # a folder of another owner: say so, the platform still starts
        logger.warning("could not make %s private (mode %o): %s", path, mode, exc)


def make_private(settings: Settings) -> None:
    """Create the data and media folders 0700 and the SQLite file 0600 (its journals then take its mode), and
    tighten an existing database or key file to 0600; call it before the database is opened."""
    for folder in (settings.data_dir, settings.media_path):
        folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
        _restrict(folder, PRIVATE_FOLDER)
    files = [settings.key_file, settings.gate_key_file, settings.master_key_path]
    database = sqlite_file(settings.db_url)
    if database is not None:
        database.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))  # an empty file is an empty database
        files += [database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")]
    for path in files:
        _restrict(path, PRIVATE_FILE)
