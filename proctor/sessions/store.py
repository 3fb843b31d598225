"""What every part of the session service shares: the database and its writer, media storage, the
ledger, the settings — and the lookups that make another college's objects not found."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy.orm import Session, sessionmaker

from footprint.ledger import Ledger
from proctor.recording.storage import Storage, scratch_folder
from proctor.sessions.errors import NotFoundError
from proctor.sessions.statements import SessionFacts, session_facts
from proctor.sessions.tables import ExamRow, SessionRow

Writer = Callable[[], AbstractContextManager[Session]]
"""Opens one write transaction (the web app serialises SQLite writers through its own lock)."""

StatementSink = Callable[[Session, str, dict[str, Any]], None]
"""Stores an xAPI statement in a college's footprint (session, college id, statement) in the caller's transaction."""


@dataclass(frozen=True)
class RecordingLimits:
    """What a live client's own recording may be: a part's and a session's bytes, its runs, and how long after the
    exam its last parts are taken."""

    part_bytes: int = 8 * 1024 * 1024
    session_bytes: int = 2 * 1024**3
    runs: int = 50
    grace_s: float = 300.0


@dataclass(frozen=True)
class ServiceConfig:
    """Settings of the session service."""

    base_url: str
    chunk_s: float = 10.0
    retention_days: int = 365
    scratch_dir: Path | None = None
    """This node's own folder for staging and remuxing (None: the system's temporary folder); never shared."""
    recording: RecordingLimits = RecordingLimits()
    gate_key_file: Path | None = None
    """The key of the exams' LMS quiz passwords (proctor/sessions/gate.py); None: no password can be kept."""


@dataclass(frozen=True)
class SessionStore:
    """The session service's shared parts; `write` opens one write transaction."""

    sessions: sessionmaker[Session]
    write: Writer
    storage: Storage
    ledger: Ledger
    config: ServiceConfig
    statement_sink: StatementSink | None = None

    def facts(self, db: Session, row: SessionRow) -> SessionFacts:
        """What the footprint statements say about a session (their ids keyed with the platform's secret)."""
        return session_facts(db, row, self.config.base_url, self.statement_id_key)

    @functools.cached_property
    def statement_id_key(self) -> bytes:
        """A secret for statement ids, derived from the ledger's signing key (none without one)."""
        signer = self.ledger.signer
        if signer is None:
            return b""
        raw = signer.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return hashlib.sha256(b"proctor-kz statement ids\0" + raw).digest()

    def put_bytes(self, key: str, data: bytes) -> str:
        """Store bytes under `key` (atomically) and return the key."""
        self.storage.put_bytes(key, data)
        return key

    def scratch(self) -> AbstractContextManager[Path]:
        """A private temporary folder on this node, removed after the block."""
        return scratch_folder(self.config.scratch_dir)

    @contextmanager
    def kept_until_commit(self, keys: list[str]) -> Iterator[list[str]]:
        """Files stored for a transaction: removed again if the block (the transaction) fails."""
        try:
            yield keys
        except BaseException:
            for key in keys:
                self.storage.delete(key)
            raise


def college_exam(db: Session, college_id: str, exam_id: str) -> ExamRow:
    """The college's exam; another college's (or an unknown) id is not found."""
    exam = db.get(ExamRow, exam_id)
    if exam is None or exam.college_id != college_id:
        raise NotFoundError(f"no exam {exam_id}")
    return exam


def college_session(db: Session, college_id: str, session_id: str) -> SessionRow:
    """The college's session; another college's (or an unknown) id is not found."""
    row = db.get(SessionRow, session_id)
    exam = db.get(ExamRow, row.exam_id) if row is not None else None
    if row is None or exam is None or exam.college_id != college_id:
        raise NotFoundError(f"no session {session_id}")  # the same words for another college's: nothing of it told
    return row
