"""Kept recordings: an upload becomes hashed chunks on the session's timeline (a live client's recording
arrives in parts of runs instead: `proctor/sessions/parts.py`).

The slow file work (probing, remuxing, copying and fsyncing chunks) happens before the write
transaction, which then only adds rows and ledger leaves: other writers never wait for a copy. A
retried upload — the same file, or the same Idempotency-Key — is recognised and answered with the
first upload, so a client retrying after a lost response never doubles a session.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from proctor.decode import probe
from proctor.errors import RecordingError
from proctor.recording.segmenter import Chunk, segment_recording
from proctor.sessions.clock import db_time
from proctor.sessions.errors import InvalidInputError, StateError
from proctor.sessions.lifecycle import Status, move
from proctor.sessions.store import SessionStore, college_exam, college_session
from proctor.sessions.tables import ChunkRow, ExamRow, SessionRow, UploadRow, utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Upload:
    """A received upload, already on disk: its hash and size, and how messages name it."""

    path: Path
    sha256: str
    size: int
    name: str = "the upload"
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Accepted:
    """The upload that holds this file: new, or (`replayed`) one accepted before."""

    upload_id: str
    chunks: int
    replayed: bool


class Recordings:
    """Accepts uploads into a session's kept recording and opens it for playback."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store

    def accept(self, college_id: str, session_id: str, upload: Upload) -> Accepted:
        """Keep an upload as hashed chunks (each a ledger leaf) after the session's earlier ones, and queue
        its analysis; a retry of an accepted upload changes nothing and returns that upload."""
        with self.store.sessions() as db:
            row = college_session(db, college_id, session_id)
            earlier = _earlier_upload(db, session_id, upload)
            if earlier is not None:
                return earlier
            move(row.status, Status.SUBMITTED)
            exam = college_exam(db, college_id, row.exam_id)
            opened = exam.opens_at is None or db.scalar(
                select(ExamRow.id).where(ExamRow.id == exam.id, ExamRow.opens_at <= db_time(0))
            )
            if not opened:
                raise StateError("the exam has not opened yet: no recording of it can exist")
        try:
            info = probe(upload.path, upload.name)
        except RecordingError as exc:
            raise InvalidInputError(str(exc)) from exc
        upload_id = str(uuid.uuid4())
        prefix = f"{college_id}/{exam.id}/{session_id}/recording/{upload_id}"
        keys: list[str] = []
        with self.store.scratch() as staging:
            try:
                chunks = segment_recording(upload.path, staging / "chunks", self.store.config.chunk_s, 0, upload.name)
            except RecordingError as exc:
                raise InvalidInputError(str(exc)) from exc
            with self.store.kept_until_commit(keys):  # a failure part-way removes the chunks stored so far
                for chunk in chunks:
                    keys.append(self.store.storage.put(f"{prefix}/{chunk.path.name}", chunk.path).key)
                replay = self._commit(college_id, session_id, upload, upload_id, chunks, info.rotation, keys)
            if replay is not None:  # an identical upload committed while this one was being copied
                for key in keys:
                    self.store.storage.delete(key)
                return replay
            return Accepted(upload_id, len(chunks), replayed=False)

    def _commit(
        self,
        college_id: str,
        session_id: str,
        upload: Upload,
        upload_id: str,
        chunks: list[Chunk],
        rotation: int,
        keys: list[str],
    ) -> Accepted | None:
        with self.store.write() as db:
            row = college_session(db, college_id, session_id)
            earlier = _earlier_upload(db, session_id, upload)
            if earlier is not None:
                return earlier
            move(row.status, Status.SUBMITTED)
            previous = db.scalars(select(ChunkRow).where(ChunkRow.session_id == session_id)).all()
            offset = max((c.start_s + c.duration_s for c in previous), default=0.0)
            first_seq = max((c.seq for c in previous), default=-1) + 1
            for number, (chunk, key) in enumerate(zip(chunks, keys, strict=True)):
                seq = first_seq + number
                entry = self.store.ledger.append(
                    db,
                    "recording_chunk",
                    f"{session_id}/{seq}",
                    {
                        "session": session_id,
                        "upload": upload_id,
                        "seq": seq,
                        "sha256": chunk.sha256,
                        "size": chunk.size,
                        "start_s": round(offset + chunk.start_s, 3),
                        "duration_s": chunk.duration_s,
                    },
                )
                db.add(
                    ChunkRow(
                        session_id=session_id,
                        seq=seq,
                        start_s=offset + chunk.start_s,
                        duration_s=chunk.duration_s,
                        sha256=chunk.sha256,
                        size=chunk.size,
                        container=chunk.container,
                        rotation=rotation,
                        storage_key=key,
                        ledger_index=entry.index,
                    )
                )
            duration = max((c.start_s + c.duration_s for c in chunks), default=0.0)
            db.add(
                UploadRow(
                    id=upload_id,
                    session_id=session_id,
                    sha256=upload.sha256,
                    idempotency_key=upload.idempotency_key,
                    size=upload.size,
                    first_seq=first_seq,
                    chunks=len(chunks),
                    duration_s=round(duration, 3),
                )
            )
            _queue(row)
        return None


def _earlier_upload(db: Session, session_id: str, upload: Upload) -> Accepted | None:
    """The upload of this session with the same file or Idempotency-Key; a key reused for another file is refused."""
    match = UploadRow.sha256 == upload.sha256
    if upload.idempotency_key is not None:
        match = or_(match, UploadRow.idempotency_key == upload.idempotency_key)
    found = db.scalars(select(UploadRow).where(UploadRow.session_id == session_id, match)).all()
    for earlier in found:
        if upload.idempotency_key is not None and earlier.idempotency_key == upload.idempotency_key:
            if earlier.sha256 != upload.sha256:
                raise StateError("this Idempotency-Key was already used for a different file")
    if not found:
        return None
    logger.info("upload to session %s repeats upload %s; nothing new stored", session_id, found[0].id)
    return Accepted(found[0].id, found[0].chunks, replayed=True)


def _queue(row: SessionRow) -> None:
    row.status = Status.SUBMITTED.value
    row.job_state = "queued"
    row.job_progress = None
    row.job_started_at = None
    row.job_attempts = 0  # a new recording is a new job
    row.job_error = None
    row.job_retry_at = None
    row.job_queued_at = utcnow()
