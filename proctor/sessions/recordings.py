"""Kept recordings: an upload becomes hashed chunks on the session's timeline; playback reads them back.

The slow file work (probing, remuxing, copying and fsyncing chunks) happens before the write
transaction, which then only adds rows and ledger leaves: other writers never wait for a copy. A
retried upload — the same file, or the same Idempotency-Key — is recognised and answered with the
first upload, so a client retrying after a lost response never doubles a session.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from proctor.decode import probe
from proctor.errors import RecordingError
from proctor.recording.segmenter import Chunk, segment_recording
from proctor.sessions.errors import InvalidInputError, NotFoundError, StateError
from proctor.sessions.lifecycle import Status, move
from proctor.sessions.store import SessionStore, college_exam, college_session
from proctor.sessions.tables import ChunkRow, SessionRow, UploadRow

logger = logging.getLogger(__name__)

BLOCK = 1 << 20


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


@dataclass
class Playback:
    """A session's kept recording, its chunk files already open (a purge meanwhile cannot cut it short)."""

    media_type: str
    files: list[BinaryIO]

    def blocks(self) -> Iterator[bytes]:
        """The chunks' bytes in order; the files are closed at the end (or when the reader stops)."""
        try:
            for handle in self.files:
                while block := handle.read(BLOCK):
                    yield block
        finally:
            self.close()

    def close(self) -> None:
        for handle in self.files:
            handle.close()


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
        try:
            info = probe(upload.path, upload.name)
        except RecordingError as exc:
            raise InvalidInputError(str(exc)) from exc
        upload_id = str(uuid.uuid4())
        prefix = f"{college_id}/{exam.id}/{session_id}/recording/{upload_id}"
        staging = Path(tempfile.mkdtemp(prefix=".upload.", dir=self.store.storage.root))
        keys: list[str] = []
        try:
            try:
                chunks = segment_recording(upload.path, staging / "chunks", self.store.config.chunk_s, 0, upload.name)
            except RecordingError as exc:
                raise InvalidInputError(str(exc)) from exc
            for chunk in chunks:
                keys.append(self.store.storage.put(f"{prefix}/{chunk.path.name}", chunk.path).key)
            with self.store.kept_until_commit(keys):
                replay = self._commit(college_id, session_id, upload, upload_id, chunks, info.rotation, keys)
            if replay is not None:  # an identical upload committed while this one was being copied
                for key in keys:
                    self.store.storage.local_path(key).unlink(missing_ok=True)
                return replay
            return Accepted(upload_id, len(chunks), replayed=False)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

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

    def open(self, college_id: str, session_id: str) -> Playback:
        """The kept recording of a session, opened; NotFoundError when none is kept (never uploaded, purged)."""
        with self.store.sessions() as db:
            college_session(db, college_id, session_id)
            chunks = db.scalars(
                select(ChunkRow)
                .where(ChunkRow.session_id == session_id, ChunkRow.purged_at.is_(None))
                .order_by(ChunkRow.seq)
            ).all()
        if not chunks:
            raise NotFoundError("no recording is kept for this session")
        if any(c.container != "mpegts" for c in chunks):
            chunks = chunks[:1]  # Matroska chunks do not concatenate; the first one plays alone
        files: list[BinaryIO] = []
        try:
            for chunk in chunks:
                files.append(self.store.storage.open(chunk.storage_key))
        except FileNotFoundError as exc:
            for handle in files:
                handle.close()
            raise NotFoundError("the recording was purged while it was being opened") from exc
        media_type = "video/mp2t" if chunks[0].container == "mpegts" else "video/x-matroska"
        return Playback(media_type, files)


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
