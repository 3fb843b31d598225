"""A person's data, as an answer to their request (Law 94-V "On personal data": the subject's right to know): what the
platform keeps about them, why, and until when — per exam and session — without the media itself (the college hands
copies over through its own channel, after checking who asks). Who saw it is added by the web layer
(web/access_trail.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from footprint.store.times import as_utc
from proctor.sessions.erasure import person_candidates
from proctor.sessions.retention import RetentionPolicy, policy_of
from proctor.sessions.store import SessionStore
from proctor.sessions.tables import ChunkRow, DecisionRow, EventRow, ExamRow, SessionFaceRow, SessionRow

PURPOSES = {
    "identity": "Full name and the college's id: to tell whose exam it is (order 137 on distance learning, "
    "online proctoring: identification of the person).",
    "reference_photo": "The reference photo and its face embedding (biometric): to check that the person at the "
    "camera is the candidate (face recognition and identification).",
    "recordings": "Camera, microphone and screen recordings: kept as the record of the exam that examiners review "
    "and that confirms its result.",
    "evidence": "Pictures of moments the analysis flagged: for the examiner to decide, never a verdict by itself.",
    "faces": "Faces the analysis saw at the candidate's place (crops and embeddings, biometric): to notice one "
    "person sitting for several candidates.",
    "page_events": "What the exam page reported (leaving the page, screen sharing stopped): for the examiner.",
    "events_and_verdicts": "Flagged events' types and times and the examiners' verdicts: the college's attestation "
    "record; kept after the media is deleted.",
}


def _until(start: datetime, days: int) -> str:
    moment = as_utc(start)
    return (moment + timedelta(days=days)).date().isoformat()


def export_person(store: SessionStore, college_id: str, external_id: str) -> dict[str, Any]:
    """The person's data as JSON-ready values (NotFoundError when the college has no such candidate)."""
    candidates = person_candidates(store, college_id, external_id)
    with store.sessions() as db:
        policy: RetentionPolicy = policy_of(db, college_id, store.config.retention_days)
        enrolments = []
        for candidate in candidates:
            exam = db.get(ExamRow, candidate.exam_id)
            assert exam is not None
            sessions = []
            for row in db.scalars(
                select(SessionRow).where(SessionRow.candidate_id == candidate.id).order_by(SessionRow.created_at)
            ):
                sessions.append(_session(db, row, policy))
            enrolments.append(
                {
                    "candidate_id": candidate.id,
                    "exam": {"id": exam.id, "title": exam.title, "attestation": exam.attestation},
                    "full_name": candidate.full_name,
                    "email": candidate.email,
                    "enrolled_at": candidate.created_at.isoformat(),
                    "erased_at": candidate.erased_at.isoformat() if candidate.erased_at else None,
                    "reference_photo": {
                        "kept": candidate.photo_key is not None,
                        "embedding_kept": candidate.embedding is not None,
                        "kept_until": _until(candidate.created_at, policy.reference_photos_days)
                        if candidate.photo_key or candidate.embedding
                        else None,
                    },
                    "lti": {"platform": candidate.lti_platform_id, "sub": candidate.lti_sub}
                    if candidate.lti_sub
                    else None,
                    "sessions": sessions,
                }
            )
    return {
        "college": college_id,
        "external_id": external_id,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "purposes": PURPOSES,
        "retention_days": policy.as_json(),
        "enrolments": enrolments,
    }


def _session(db: Any, row: SessionRow, policy: RetentionPolicy) -> dict[str, Any]:
    chunks = db.execute(
        select(func.count(ChunkRow.id), func.coalesce(func.sum(ChunkRow.size), 0)).where(
            ChunkRow.session_id == row.id, ChunkRow.purged_at.is_(None)
        )
    ).one()
    evidence = db.scalar(
        select(func.count(EventRow.id)).where(
            EventRow.session_id == row.id, EventRow.evidence_key.is_not(None), EventRow.evidence_purged_at.is_(None)
        )
    )
    faces = db.scalar(
        select(func.count(SessionFaceRow.id)).where(
            SessionFaceRow.session_id == row.id, SessionFaceRow.embedding != b""
        )
    )
    events = db.scalars(
        select(EventRow)
        .where(EventRow.session_id == row.id, EventRow.analysis_run == row.analysis_run)
        .order_by(EventRow.seq)
    ).all()
    verdicts = db.scalars(select(DecisionRow).where(DecisionRow.session_id == row.id).order_by(DecisionRow.id)).all()
    return {
        "session_id": row.id,
        "status": row.status,
        "created_at": row.created_at.isoformat(),
        "consent": row.consent,
        "identity": row.identity,
        "held": {"since": row.held_at.isoformat(), "reason": row.hold_reason} if row.held_at else None,
        "recordings": {
            "pieces": chunks[0],
            "bytes": int(chunks[1]),
            "kept_until": _until(row.created_at, policy.recordings_days),
        },
        "evidence_pictures": {"count": evidence or 0, "kept_until": _until(row.created_at, policy.evidence_days)},
        "faces_seen": {"count": faces or 0, "kept_until": _until(row.created_at, policy.faces_days)},
        "events": [
            {
                "type": e.type,
                "start_s": e.start_s,
                "end_s": e.end_s,
                "severity": e.severity,
                "technical": e.technical,
                "detail": e.measurements if (e.measurements or {}).get("source") == "page" else None,
            }
            for e in events
        ],
        "verdicts": [
            {"verdict": d.verdict, "examiner": d.examiner, "note": d.note, "at": d.created_at.isoformat()}
            for d in verdicts
        ],
    }
