"""Erasure requests (Law 94-V "On personal data": destruction at the subject's request): a person's media and biometric
data deleted everywhere it is kept — recordings, playback files, evidence pictures and thumbnails, the faces the
analysis saw (crops and embeddings), reference photos and their embeddings, frame signatures, and the detail of page
events.

A person is a college's `external_id` (one candidate row per exam). What stays: their name, the exams they sat,
the events' types and times and the verdicts (the college's attestation record, which it must keep), and in the
ledger only hashes — each removed chunk's and photo's sha256 — so every earlier proof and receipt still verifies.
The request itself is a ledger record naming the person by a keyed hash, not by their id.

Refused (StateError, nothing removed) while one of the person's sessions is in progress or under a hold (an
appeal, proctor/sessions/holds.py): the college lifts the hold once the appeal is decided, then erases.

Every node reads media from the one shared store, so deleting it there deletes it for all of them; what a node
makes from media (playback files, thumbnails) is kept in that store too and goes with it. Backups made before the
request still hold the data until they are rotated out (docs/security-privacy.md).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from proctor.sessions.errors import NotFoundError, StateError
from proctor.sessions.lifecycle import Status
from proctor.sessions.retention import MEDIA_KINDS, PAGE_EVENT_TYPES, purge_session_media, strip_page_detail
from proctor.sessions.store import SessionStore
from proctor.sessions.tables import CandidateRow, EventRow, ExamRow, SessionRow

LIVE = (Status.IDENTITY_CHECK, Status.ROOM_SCAN, Status.IN_PROGRESS)


@dataclass(frozen=True)
class ErasureReport:
    """What an erasure request removed."""

    request_id: str
    erased_at: datetime
    candidates: int
    sessions: int
    chunks: int
    evidence: int
    faces: int
    reference_photos: int
    ledger_index: int

    def as_json(self) -> dict[str, object]:
        return {**self.__dict__, "erased_at": self.erased_at.isoformat()}


def person_hash(store: SessionStore, college_id: str, external_id: str) -> str:
    """How the ledger names a person: keyed with the platform's secret, so it cannot be guessed from an id."""
    message = f"person\0{college_id}\0{external_id}".encode()
    return hmac.new(store.statement_id_key or b"proctor-kz", message, hashlib.sha256).hexdigest()


def person_candidates(store: SessionStore, college_id: str, external_id: str) -> list[CandidateRow]:
    """The person's candidate rows in the college's exams (NotFoundError when there is none)."""
    with store.sessions() as db:
        rows = list(
            db.scalars(
                select(CandidateRow)
                .join(ExamRow, ExamRow.id == CandidateRow.exam_id)
                .where(ExamRow.college_id == college_id, CandidateRow.external_id == external_id)
                .order_by(CandidateRow.created_at)
            )
        )
    if not rows:
        raise NotFoundError(f"no candidate {external_id!r}")
    return rows


def erase_person(store: SessionStore, college_id: str, external_id: str, requested_by: str) -> ErasureReport:
    """Delete the person's media and biometric data (see the module); StateError while a session of theirs is in
    progress or held."""
    candidates = person_candidates(store, college_id, external_id)
    ids = [c.id for c in candidates]
    with store.sessions() as db:
        sessions = list(db.scalars(select(SessionRow).where(SessionRow.candidate_id.in_(ids))))
    held = [s.id for s in sessions if s.held_at is not None]
    if held:
        raise StateError(f"session(s) {', '.join(held)} are under a hold (an appeal): lift it first, then erase")
    live = [s.id for s in sessions if s.status in LIVE]
    if live:
        raise StateError(f"session(s) {', '.join(live)} are in progress: erase once they are submitted")
    now = datetime.now(UTC)
    request_id = str(uuid.uuid4())
    why: dict[str, object] = {"erasure_request": request_id}
    chunks = evidence = faces = 0
    for session in sessions:
        done = purge_session_media(store, session.id, MEDIA_KINDS, now, "erasure_purge", why)
        chunks, evidence, faces = chunks + done.chunks, evidence + done.evidence, faces + done.faces
    photos: list[tuple[str, str]] = []
    for candidate in candidates:
        if candidate.photo_key:
            try:
                with store.storage.open(candidate.photo_key) as photo:
                    photos.append((candidate.photo_key, hashlib.sha256(photo.read()).hexdigest()))
            except FileNotFoundError:
                photos.append((candidate.photo_key, ""))
    with store.write() as db:
        for row in db.scalars(select(CandidateRow).where(CandidateRow.id.in_(ids))):
            row.photo_key, row.embedding, row.erased_at = None, None, now
        strip_page_detail(
            db.scalars(
                select(EventRow).where(
                    EventRow.session_id.in_([s.id for s in sessions]), EventRow.type.in_(PAGE_EVENT_TYPES)
                )
            )
        )
        entry = store.ledger.append(
            db,
            "erasure",
            request_id,
            {
                "college": college_id,
                "person": person_hash(store, college_id, external_id),
                "requested_by": requested_by,
                "erased_at": now.isoformat(),
                "candidates": ids,
                "sessions": [s.id for s in sessions],
                "reference_photos": [digest for _key, digest in photos],
                "chunks": chunks,
                "evidence": evidence,
                "faces": faces,
            },
        )
    for key, _digest in photos:  # once the erasure is recorded
        store.storage.delete(key)
    return ErasureReport(
        request_id, now, len(candidates), len(sessions), chunks, evidence, faces, len(photos), entry.index
    )
