"""`python -m web backup DIR` and `python -m web restore DIR`: a consistent copy of a running platform, and its
return onto an empty data folder.

A backup folder holds the database (`proctor.db`, made with SQLite's online backup API: one read snapshot, taken
while the server goes on writing; or `proctor.pgdump`, `pg_dump --format=custom`, one snapshot too), then the media
(`media/…`, copied after the database: media files are written once under new names, so every file the copied
database names exists already; files written later are extra and harmless), the keys (`keys/ledger.key`,
`keys/ledger.pub`, `keys/ledger.keys.json` once the ledger's key was rotated, `keys/gate.key`), the settings in force
(`settings.json`, secrets left out and listed) and
`MANIFEST.json`: the format, when, the platform version, the database kind and every file's path, size and sha256.

A restore checks every file against the manifest before it copies anything, restores onto an empty data folder
(and an empty database) only, writes the keys 0600 and migrates the database to the current schema.
"""

from __future__ import annotations

import glob
import hashlib
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from footprint.ledger.history import HISTORY_FILE, history_file
from footprint.ledger.keys import PRIVATE_KEY_FILE, VERIFIER_KEY_FILE
from footprint.store import make_engine, migrate
from footprint.store.engine import StoreError, normalise_url
from proctor.recording.datakeys import DATA_KEYS, DataKeyError, LocalKeyFolder, load_master_key, master_ids_in
from web.commands import command
from web.private import PRIVATE_FILE, PRIVATE_FOLDER, sqlite_file
from web.settings import Settings

FORMAT = "proctor.kz backup"
FORMAT_VERSION = 1
MANIFEST = "MANIFEST.json"
SETTINGS_FILE = "settings.json"
SQLITE_FILE = "proctor.db"
POSTGRES_FILE = "proctor.pgdump"
MEDIA = "media"
KEYS = "keys"
GATE_KEY_FILE = "gate.key"
BUFFER = 1024 * 1024
PROGRESS_EVERY_S = 1.0
SECRET_NAME = re.compile(r"key|token|password|secret", re.IGNORECASE)
EMPTY_HINT = (
    "restore onto an empty data folder: point PROCTOR_DATA_DIR (and PROCTOR_MEDIA_DIR, PROCTOR_SIGNING_KEY_FILE or "
    "PROCTOR_DATABASE_URL where set) at a new folder and an empty database"
)

Progress = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore that cannot be done (exit 2); the reason in one line."""


@dataclass(frozen=True)
class Entry:
    """One file of a backup: its slash-separated path inside the backup folder, size and sha256 (hex)."""

    path: str
    size: int
    sha256: str

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True)
class BackupSummary:
    """What `backup` wrote."""

    folder: Path
    database: str
    files: int
    bytes: int
    media_files: int
    master_keys: tuple[str, ...] = ()
    """The ids of the master keys the media's data keys are wrapped under (kept apart: not in the backup)."""


@dataclass(frozen=True)
class RestoreSummary:
    """What `restore` put back, the files of the backup it did not use, and the audit command to run next."""

    database: str
    files: int
    media_files: int
    keys: tuple[Path, ...]
    extra: tuple[str, ...]
    audit_command: str


def _quiet(_message: str) -> None:
    pass


def database_kind(url: str) -> str:
    """`sqlite` or `postgresql` (BackupError for a URL the platform cannot use)."""
    try:
        return normalise_url(url).get_backend_name()
    except StoreError as exc:
        raise BackupError(str(exc)) from exc


def _hash(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as data:
        while chunk := data.read(BUFFER):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _new_private_file(path: Path) -> int:
    """A new file readable by its owner only (its folders made 0700); refuses to replace one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)


def _copy(source: Path, target: Path) -> tuple[int, str]:
    """Copy `source` to the new private file `target`; the size and sha256 of the bytes copied."""
    digest, size = hashlib.sha256(), 0
    with source.open("rb") as data:
        with os.fdopen(_new_private_file(target), "wb") as out:
            while chunk := data.read(BUFFER):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
    return size, digest.hexdigest()


def _entry(folder: Path, path: Path) -> Entry:
    size, sha256 = _hash(path)
    return Entry(path.relative_to(folder).as_posix(), size, sha256)


class _Counter:
    """`files done / total` on the progress line, at most once a second and at the end."""

    def __init__(self, what: str, total: int, progress: Progress) -> None:
        self.what, self.total, self.progress = what, total, progress
        self.done, self.shown_at = 0, time.monotonic()

    def step(self) -> None:
        self.done += 1
        now = time.monotonic()
        if self.done == self.total or now - self.shown_at >= PROGRESS_EVERY_S:
            self.shown_at = now
            self.progress(f"{self.what}: {self.done}/{self.total} files")


def key_files(settings: Settings) -> tuple[tuple[str, Path], ...]:
    """Each key's path in a backup and where it lives under these settings."""
    return (
        (f"{KEYS}/{PRIVATE_KEY_FILE}", settings.key_file),
        (f"{KEYS}/{VERIFIER_KEY_FILE}", settings.key_file.with_name(VERIFIER_KEY_FILE)),
        (f"{KEYS}/{HISTORY_FILE}", history_file(settings.key_file)),
        (f"{KEYS}/{GATE_KEY_FILE}", settings.gate_key_file),
    )


def settings_record(settings: Settings) -> dict[str, Any]:
    """The settings in force, with every secret left out and named under `omitted`."""
    values = settings.model_dump(mode="json")
    omitted = []
    for name in sorted(values):
        if SECRET_NAME.search(name) and not name.endswith(("_file", "_dir")):
            del values[name]
            omitted.append(name)
    url = normalise_url(settings.db_url)
    if url.password is not None:
        values["database_url"] = url.render_as_string(hide_password=True)
        omitted.append("database_url's password")
    servers = json.loads(settings.ice_servers)
    if any("credential" in server for server in servers):
        values["ice_servers"] = json.dumps([{k: v for k, v in s.items() if k != "credential"} for s in servers])
        omitted.append("ice_servers' credentials")
    effective = {
        "database": url.get_backend_name(),
        "database_url": url.render_as_string(hide_password=True),
        "media_path": str(settings.media_path),
        "key_file": str(settings.key_file),
        "gate_key_file": str(settings.gate_key_file),
    }
    return {"settings": values, "effective": effective, "omitted": omitted}


def _platform_version() -> str:
    try:
        return importlib.metadata.version("proctor-kz")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


# --- PostgreSQL tools ---------------------------------------------------------------------------------------------


def postgres_tool(name: str) -> str:
    """`pg_dump` or `pg_restore`: the newest Debian install (it reads older servers), else the one on PATH."""
    found = sorted(
        (p for p in glob.glob(f"/usr/lib/postgresql/*/bin/{name}") if Path(p).parts[-3].isdigit()),
        key=lambda p: int(Path(p).parts[-3]),
    )
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise BackupError(f"{name} is not installed: install PostgreSQL's client tools (apt-get install postgresql-client)")


def _libpq(url_text: str) -> tuple[str, dict[str, str]]:
    """The libpq URI (no password in it: a command line is visible to every user) and the environment carrying it."""
    url: URL = normalise_url(url_text)
    environment = dict(os.environ)
    if url.password is not None:
        environment["PGPASSWORD"] = str(url.password)
    plain = url._replace(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), environment


def _run_tool(arguments: list[str], environment: dict[str, str]) -> None:
    result = subprocess.run(arguments, env=environment, capture_output=True, text=True, check=False)
    if result.returncode:
        reason = (result.stderr or result.stdout).strip().splitlines()
        raise BackupError(
            f"{Path(arguments[0]).name} failed (exit {result.returncode}): {reason[-1] if reason else 'no message'}"
        )


# --- backup -------------------------------------------------------------------------------------------------------


def _schema_revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    return None if row is None else str(row[0])


def _backup_sqlite(settings: Settings, folder: Path) -> tuple[Entry, str | None]:
    database = sqlite_file(settings.db_url)
    if database is None or not database.is_file():
        raise BackupError(f"no SQLite database at {database}: is PROCTOR_DATA_DIR the platform's data folder?")
    target = folder / SQLITE_FILE
    os.close(_new_private_file(target))
    source = sqlite3.connect(database, timeout=30)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)  # every page in one step: one read snapshot, the writers go on meanwhile (WAL)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            revision = _schema_revision(copy)
        finally:
            copy.close()
    except sqlite3.Error as exc:
        raise BackupError(f"cannot copy the database {database}: {exc}") from exc
    finally:
        source.close()
    return _entry(folder, target), revision


def _backup_postgres(settings: Settings, folder: Path) -> tuple[Entry, str | None]:
    target = folder / POSTGRES_FILE
    engine = make_engine(settings.db_url)
    try:
        with engine.connect() as connection:
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError as exc:
        raise BackupError(f"cannot read the database: {exc.__class__.__name__}") from exc
    finally:
        engine.dispose()
    uri, environment = _libpq(settings.db_url)
    os.close(_new_private_file(target))  # pg_dump writes into it, keeping its mode
    _run_tool([postgres_tool("pg_dump"), "--format=custom", "--file", str(target), "--dbname", uri], environment)
    return _entry(folder, target), None if revision is None else str(revision)


def _media_files(root: Path) -> list[Path]:
    """The stored media files (not the hidden partial files of writes under way), sorted."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def _backup_media(root: Path, folder: Path, progress: Progress) -> list[Entry]:
    files = _media_files(root)
    counter = _Counter("media", len(files), progress)
    entries = []
    for path in files:
        relative = f"{MEDIA}/{path.relative_to(root).as_posix()}"
        target = folder / relative
        try:
            size, sha256 = _copy(path, target)
        except FileNotFoundError:  # purged (retention) since it was listed
            target.unlink(missing_ok=True)
            counter.step()
            continue
        entries.append(Entry(relative, size, sha256))
        counter.step()
    return entries


def _write_json(folder: Path, name: str, value: Any) -> Path:
    path = folder / name
    with os.fdopen(_new_private_file(path), "w", encoding="utf-8") as out:
        json.dump(value, out, indent=2, ensure_ascii=False)
        out.write("\n")
    return path


def _check_backup_folder(folder: Path) -> None:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BackupError(f"{folder} is not an empty folder: back up into a new or empty one")


def _clear(folder: Path, remove: bool) -> None:
    if remove:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def backup(settings: Settings, folder: Path, progress: Progress = _quiet) -> BackupSummary:
    """Copy the database (first), the media, the keys and the settings into the empty or new `folder`, with the
    manifest last; on failure nothing is left in `folder`."""
    _check_backup_folder(folder)
    kind = database_kind(settings.db_url)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
    folder.chmod(PRIVATE_FOLDER)
    try:
        return _backup(settings, folder, kind, progress)
    except BaseException:
        _clear(folder, created)
        raise


def _backup(settings: Settings, folder: Path, kind: str, progress: Progress) -> BackupSummary:
    progress(f"database ({kind}): copying")
    database, revision = (_backup_sqlite if kind == "sqlite" else _backup_postgres)(settings, folder)
    progress(f"database ({kind}): {database.size} bytes copied")
    media = _backup_media(settings.media_path, folder, progress)
    keys = [_entry(folder, path) for path in _copy_keys(settings, folder)]
    recorded = _entry(folder, _write_json(folder, SETTINGS_FILE, settings_record(settings)))
    entries = [database, *media, *keys, recorded]
    masters = tuple(sorted(master_ids_in(LocalKeyFolder(folder / MEDIA / DATA_KEYS))))
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "platform_version": _platform_version(),
        "database": kind,
        "schema_revision": revision,
        "master_keys": list(masters),
        "files": [entry.as_json() for entry in entries],
    }
    _write_json(folder, MANIFEST, manifest)
    return BackupSummary(folder, kind, len(entries), sum(e.size for e in entries), len(media), masters)


def _copy_keys(settings: Settings, folder: Path) -> Iterator[Path]:
    for relative, path in key_files(settings):
        if path.is_file():
            _copy(path, folder / relative)
            yield folder / relative


# --- restore ------------------------------------------------------------------------------------------------------


def _safe_path(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise BackupError(f"{MANIFEST} names a file without a path")
    path = PurePosixPath(value)
    if path.is_absolute() or any(part in ("", ".", "..") for part in value.split("/")) or value == MANIFEST:
        raise BackupError(f"{MANIFEST} names a file outside the backup: {value!r}")
    return value


def read_manifest(folder: Path) -> tuple[dict[str, Any], list[Entry]]:
    """The manifest and its files; BackupError when `folder` is no backup this platform reads."""
    path = folder / MANIFEST
    if not path.is_file():
        raise BackupError(f"{folder} holds no {MANIFEST}: not a backup made by `backup`")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{MANIFEST} is not readable JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{MANIFEST} is not the manifest of a {FORMAT}")
    version = manifest.get("format_version")
    if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise BackupError(f"backup format {version!r}: this platform reads formats 1 to {FORMAT_VERSION}")
    if manifest.get("database") not in ("sqlite", "postgresql"):
        raise BackupError(f"{MANIFEST} names no database kind this platform knows")
    files = manifest.get("files")
    if not isinstance(files, list):
        raise BackupError(f"{MANIFEST} lists no files")
    entries = []
    for item in files:
        if not isinstance(item, dict):
            raise BackupError(f"{MANIFEST} holds a file entry that is not an object")
        size, sha256 = item.get("size"), item.get("sha256")
        if not isinstance(size, int) or not isinstance(sha256, str):
            raise BackupError(f"{MANIFEST} gives no size or sha256 for {item.get('path')!r}")
        entries.append(Entry(_safe_path(item.get("path")), size, sha256))
    if len({e.path for e in entries}) != len(entries):
        raise BackupError(f"{MANIFEST} lists a file twice")
    return manifest, entries


def verify_backup(folder: Path, entries: list[Entry], progress: Progress = _quiet) -> tuple[str, ...]:
    """Check every file's size and sha256 (BackupError naming the first that does not hold); the extra files."""
    counter = _Counter("checked", len(entries), progress)
    for entry in entries:
        path = folder / entry.path
        if not path.is_file():
            raise BackupError(f"{entry.path} is missing from the backup")
        size = path.stat().st_size
        if size != entry.size:
            raise BackupError(f"{entry.path} does not hold: {size} bytes, the manifest says {entry.size}")
        if _hash(path)[1] != entry.sha256:
            raise BackupError(f"{entry.path} does not hold: its sha256 differs from the manifest's")
        counter.step()
    listed = {entry.path for entry in entries} | {MANIFEST}
    found = (p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    return tuple(sorted(path for path in found if path not in listed))


def _check_target(settings: Settings, kind: str) -> None:
    """BackupError unless the data folder, media folder, keys and database of `settings` are all empty."""
    target_kind = database_kind(settings.db_url)
    if target_kind != kind:
        raise BackupError(f"the backup holds a {kind} database, but the settings name a {target_kind} one")
    if kind == "sqlite":
        database = sqlite_file(settings.db_url)
        if database is None:
            raise BackupError("the settings name an in-memory SQLite database: nothing to restore into")
        for path in (database, database.with_name(database.name + "-wal")):
            if path.is_file() and path.stat().st_size > 0:
                raise BackupError(f"{path} already holds a database; {EMPTY_HINT}")
    else:
        engine = make_engine(settings.db_url)
        try:
            tables = inspect(engine).get_table_names()
        except SQLAlchemyError as exc:
            raise BackupError(f"cannot reach the database: {exc.__class__.__name__}") from exc
        finally:
            engine.dispose()
        if tables:
            raise BackupError(f"the database already holds {len(tables)} tables; {EMPTY_HINT}")
    if _media_files(settings.media_path):
        raise BackupError(f"the media folder {settings.media_path} already holds files; {EMPTY_HINT}")
    for _relative, path in key_files(settings):
        if path.exists():
            raise BackupError(f"{path} already exists; {EMPTY_HINT}")


def _check_master_key(settings: Settings, needed: list[str]) -> None:
    """BackupError unless the master key of `settings` opens the backup's encrypted media (when it has any)."""
    if not needed:
        return
    path = settings.master_key_path
    wanted = " or ".join(needed)
    if not path.is_file():
        raise BackupError(
            f"the backup's media is encrypted under the master key {wanted}, kept apart from backups: copy that key "
            f"to {path} (or point PROCTOR_MASTER_KEY_FILE at it) before restoring"
        )
    try:
        found = load_master_key(path).id
    except DataKeyError as exc:
        raise BackupError(str(exc)) from exc
    if found not in needed:
        raise BackupError(f"{path} is the master key {found}, but the backup's media is encrypted under {wanted}")


def _restore_sqlite(source: Path, settings: Settings) -> None:
    database = sqlite_file(settings.db_url)
    assert database is not None  # checked by _check_target
    partial = database.with_name(f".{database.name}.restore")
    partial.unlink(missing_ok=True)
    try:
        _copy(source, partial)
        for journal in (database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")):
            journal.unlink(missing_ok=True)  # empty ones (checked): a new database starts without them
        os.replace(partial, database)
    finally:
        partial.unlink(missing_ok=True)


def _restore_postgres(source: Path, settings: Settings) -> None:
    uri, environment = _libpq(settings.db_url)
    restore = postgres_tool("pg_restore")
    options = ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
    _run_tool([restore, *options, "--dbname", uri, str(source)], environment)


def audit_command(settings: Settings) -> str:
    """`footprint audit` of these settings' database (with the ledger's key history, or its public key before the first
    rotation), to paste in a new terminal; a PostgreSQL password is left out of it (libpq takes it from PGPASSWORD)."""
    url = normalise_url(settings.db_url)
    arguments = f"audit {shlex.quote(url._replace(password=None).render_as_string(hide_password=False))}"
    public_key = history_file(settings.key_file)
    if not public_key.is_file():
        public_key = settings.key_file.with_name(VERIFIER_KEY_FILE)
    if public_key.is_file():
        arguments += f" --public-key {shlex.quote(str(public_key.resolve()))}"
    return command(arguments, module="footprint")


def restore(settings: Settings, folder: Path, progress: Progress = _quiet) -> RestoreSummary:
    """Check the whole backup, then restore it onto the empty data folder and database of `settings` and migrate."""
    manifest, entries = read_manifest(folder)
    kind = str(manifest["database"])
    database_file = SQLITE_FILE if kind == "sqlite" else POSTGRES_FILE
    if database_file not in {entry.path for entry in entries}:
        raise BackupError(f"{MANIFEST} lists no {database_file}")
    _check_target(settings, kind)
    _check_master_key(settings, [str(m) for m in manifest.get("master_keys", [])])
    extra = verify_backup(folder, entries, progress)
    progress(f"database ({kind}): restoring")
    if kind == "sqlite":
        _restore_sqlite(folder / database_file, settings)
    else:
        _restore_postgres(folder / database_file, settings)
    media = [entry for entry in entries if entry.path.startswith(f"{MEDIA}/")]
    counter = _Counter("media", len(media), progress)
    settings.media_path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
    for entry in media:
        _copy(folder / entry.path, settings.media_path / entry.path.removeprefix(f"{MEDIA}/"))
        counter.step()
    listed = {entry.path for entry in entries}
    keys = []
    for relative, path in key_files(settings):
        if relative in listed:
            _copy(folder / relative, path)
            keys.append(path)
    progress("database: migrating to the current schema")
    engine = make_engine(settings.db_url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    return RestoreSummary(kind, len(entries), len(media), tuple(keys), extra, audit_command(settings))


# --- the commands -------------------------------------------------------------------------------------------------


def _to_stderr(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def run_backup(settings: Settings, folder: Path) -> int:
    """`python -m web backup DIR`: exit 0 and a one-line summary, or 2 and the reason."""
    try:
        summary = backup(settings, folder, _to_stderr)
    except BackupError as exc:
        _to_stderr(f"error: {exc}")
        return 2
    sys.stdout.write(
        f"backup of the {summary.database} platform in {summary.folder}: {summary.files} files, "
        f"{summary.bytes} bytes ({summary.media_files} media files); restore with: "
        f"{command('restore ' + shlex.quote(str(summary.folder.resolve())))}\n"
    )
    if summary.master_keys:
        sys.stdout.write(
            f"the media is encrypted under the master key {' and '.join(summary.master_keys)} "
            f"({settings.master_key_path}), which is not in the backup: keep a copy of it apart; a restore needs it\n"
        )
    return 0


def run_restore(settings: Settings, folder: Path) -> int:
    """`python -m web restore DIR`: exit 0 and what to check next, or 2 and the reason (nothing copied)."""
    try:
        summary = restore(settings, folder, _to_stderr)
    except BackupError as exc:
        _to_stderr(f"error: {exc}")
        return 2
    for path in summary.extra:
        _to_stderr(f"not in the manifest, not restored: {path}")
    sys.stdout.write(
        f"restored the {summary.database} database, {summary.media_files} media files and {len(summary.keys)} keys "
        f"into {settings.data_dir.resolve()}; the database is at the current schema\n"
        f"check the ledger next:  {summary.audit_command}\n"
        f"then start the platform with the settings of {(folder / SETTINGS_FILE).resolve()} "
        "(its secrets were left out: set them again)\n"
    )
    return 0
