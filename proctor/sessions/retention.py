"""Retention: recordings and evidence past the retention period are deleted, and the ledger says so.

The rows are marked and the purge is appended to the ledger in one transaction; only after it
commits are the files deleted, so a failed run never leaves rows that point at missing media. Once the
files are gone too, the session is marked purged for good (`media_purged_at`) and later rounds pass it
by; a node that died between the commit and that mark leaves the session unmarked, so the next round (on
any node: one node at a time runs the job, see web/platform) deletes what is left and marks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from proctor.sessions.store import SessionStore
from proctor.sessions.tables import ChunkRow, EventRow, ExamRow, FrameSignatureRow, SessionFaceRow, SessionRow


@dataclass(frozen=True)
class PurgeReport:
    """What a retention run removed."""

    sessions: int
    chunks: int
    evidence: int


def purge_expired(store: SessionStore, now: datetime) -> PurgeReport:
    """Purge the media of every session created before `now` minus the retention period."""
    retention_days = store.config.retention_days
    cutoff = now - timedelta(days=retention_days)
    with store.sessions() as db:
        expired = [
            (row.id, row.exam_id, college)
            for row, college in db.execute(
                select(SessionRow, ExamRow.college_id)
                .join(ExamRow, ExamRow.id == SessionRow.exam_id)
                .where(SessionRow.created_at < cutoff, SessionRow.media_purged_at.is_(None))
            ).all()
        ]
    purged_sessions = purged_chunks = purged_evidence = 0
    for session_id, exam_id, college_id in expired:
        keys: list[str] = []
        with store.write() as db:
            chunk_rows = db.scalars(
                select(ChunkRow).where(ChunkRow.session_id == session_id, ChunkRow.purged_at.is_(None))
            ).all()
            event_rows = db.scalars(
                select(EventRow).where(
                    EventRow.session_id == session_id,
                    EventRow.evidence_key.is_not(None),
                    EventRow.evidence_purged_at.is_(None),
                )
            ).all()
            face_rows = db.scalars(
                select(SessionFaceRow).where(
                    SessionFaceRow.session_id == session_id,
                    SessionFaceRow.photo_key.is_not(None),
                    SessionFaceRow.photo_purged_at.is_(None),
                )
            ).all()
            # purged before when nothing is left: a node that died right after that commit may have left
            # files behind, swept below (outside this transaction: the write lock is not reentrant)
            purged_before = not chunk_rows and not event_rows and not face_rows
            for chunk in chunk_rows:
                keys.append(chunk.storage_key)
                chunk.purged_at = now
                chunk.samples = None  # signatures of its pictures go with them
            db.execute(delete(FrameSignatureRow).where(FrameSignatureRow.session_id == session_id))
            for event in event_rows:
                keys.extend([event.evidence_key] if event.evidence_key else [])
                event.evidence_purged_at = now
            for face in face_rows:
                keys.extend([face.photo_key] if face.photo_key else [])
                face.photo_purged_at = now
            if not purged_before:
                store.ledger.append(
                    db,
                    "retention_purge",
                    f"{session_id}/{now.isoformat()}",
                    {
                        "session": session_id,
                        "exam": exam_id,
                        "purged_at": now.isoformat(),
                        "chunks": [c.sha256 for c in chunk_rows],
                        "evidence": len(event_rows),
                        "face_photos": len(face_rows),
                        "retention_days": retention_days,
                    },
                )
        for key in keys:  # only once the purge is recorded
            store.storage.delete(key)
        # what is made from the purged media (playback, thumbnails), and anything a run that died left behind
        store.storage.delete_prefix(f"{college_id}/{exam_id}/{session_id}")
        _purged_for_good(store, session_id, now)
        if purged_before:
            continue
        purged_sessions += 1
        purged_chunks += len(chunk_rows)
        purged_evidence += len(event_rows)
    return PurgeReport(purged_sessions, purged_chunks, purged_evidence)


def _purged_for_good(store: SessionStore, session_id: str, now: datetime) -> None:
    """Mark a session whose rows are purged and whose files are deleted: later rounds pass it by."""
    with store.write() as db:
        db.execute(
            update(SessionRow)
            .where(SessionRow.id == session_id)
            .values(media_purged_at=now)
            .execution_options(synchronize_session=False)
        )
