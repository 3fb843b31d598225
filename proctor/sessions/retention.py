"""Retention: each kind of personal data is deleted once its college's period has passed, and the ledger says so.

Periods are per college and per kind (`RetentionPolicy`; a kind the college has not set keeps the platform's
`retention_days`): recordings (with their playback files and frame signatures), evidence pictures (with their
thumbnails), the faces the analysis saw (crops and embeddings), reference photos (with their embeddings), and the
detail of page events (what the exam page reported; the event itself stays, it may carry a verdict). A session
under a hold (an appeal, proctor/sessions/holds.py) keeps everything until the hold is lifted.

`purge_session_media` is the one way media leaves a session, for retention and for an erasure request alike: the rows
are marked and the purge is appended to the ledger in one transaction (`retention_purge`, for reference photos
`reference_photos_purge`), with the sha256 of every chunk it removes; only after it commits are the files deleted, so
a failed run never leaves rows that point at missing media. Once nothing of a session is left, it is marked purged
for good (`media_purged_at`) and later rounds pass it by; a node that died between the commit and that mark leaves
the session unmarked, so the next round (on any node: one node at a time runs the job, see web/platform) deletes what
is left and marks it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from footprint.store.times import as_utc
from proctor.events.vocabulary import BROWSER
from proctor.sessions.lifecycle import Status
from proctor.sessions.store import SessionStore
from proctor.sessions.tables import (
    CandidateRow,
    ChunkRow,
    EventRow,
    ExamRow,
    FrameSignatureRow,
    IdDocumentRow,
    RetentionPolicyRow,
    SessionFaceRow,
    SessionRow,
)

Kind = Literal["recordings", "evidence", "faces"]
MEDIA_KINDS: tuple[Kind, ...] = get_args(Kind)
NOT_TAKEN_YET = (Status.SCHEDULED, Status.IDENTITY_CHECK, Status.ROOM_SCAN, Status.IN_PROGRESS)
"""Sessions whose candidate still needs the reference photo."""
PAGE_DETAIL_KEPT = {"source"}
"""What a page event keeps of its detail past its period."""
PAGE_EVENT_TYPES = sorted(t.value for t in BROWSER)
"""The event types only the exam page reports (the only ones with page detail)."""


@dataclass(frozen=True)
class RetentionPolicy:
    """Days a college keeps each kind of personal data after the session (or the candidate's enrolment)."""

    recordings_days: int
    evidence_days: int
    faces_days: int
    reference_photos_days: int
    page_events_days: int

    @classmethod
    def uniform(cls, days: int) -> RetentionPolicy:
        return cls(days, days, days, days, days)

    def days(self, kind: Kind) -> int:
        return {"recordings": self.recordings_days, "evidence": self.evidence_days, "faces": self.faces_days}[kind]

    def as_json(self) -> dict[str, int]:
        return asdict(self)


POLICY_FIELDS = tuple(f.name for f in fields(RetentionPolicy))


def policy_of(db: Session, college_id: str, default_days: int) -> RetentionPolicy:
    """The college's periods, the platform's default where it set none."""
    row = db.get(RetentionPolicyRow, college_id)
    if row is None:
        return RetentionPolicy.uniform(default_days)
    values = {name: getattr(row, name) for name in POLICY_FIELDS}
    return RetentionPolicy(**{name: default_days if value is None else value for name, value in values.items()})


def set_policy(store: SessionStore, college_id: str, days: dict[str, int | None]) -> RetentionPolicy:
    """Set some of the college's periods (None: back to the default); the change is a ledger record."""
    unknown = set(days) - set(POLICY_FIELDS)
    if unknown:
        raise ValueError(f"unknown retention periods: {', '.join(sorted(unknown))}")
    with store.write() as db:
        row = db.get(RetentionPolicyRow, college_id)
        if row is None:
            row = RetentionPolicyRow(college_id=college_id)
            db.add(row)
        for name, value in days.items():
            setattr(row, name, value)
        row.updated_at = datetime.now(UTC)
        db.flush()
        policy = policy_of(db, college_id, store.config.retention_days)
        store.ledger.append(
            db,
            "retention_policy",
            f"{college_id}/{row.updated_at.isoformat()}",
            {"college": college_id, "set": days, "in_force": policy.as_json()},
        )
    return policy


@dataclass(frozen=True)
class PurgeReport:
    """What a retention run removed."""

    sessions: int
    chunks: int
    evidence: int
    faces: int = 0
    reference_photos: int = 0
    page_events: int = 0


@dataclass(frozen=True)
class SessionPurge:
    """What `purge_session_media` removed of one session."""

    chunks: int
    evidence: int
    faces: int
    complete: bool
    """Nothing of the session's media is left."""


def purge_session_media(
    store: SessionStore, session_id: str, kinds: Iterable[Kind], now: datetime, ledger_kind: str, why: dict[str, object]
) -> SessionPurge:
    """Remove the session's media of `kinds` (rows marked and a ledger record `ledger_kind` in one transaction, then
    the files); `why` goes into the record (the period, or the erasure request)."""
    wanted = set(kinds)
    keys: list[str] = []
    prefixes: list[str] = []
    with store.write() as db:
        row = db.get(SessionRow, session_id)
        exam = db.get(ExamRow, row.exam_id) if row is not None else None
        if row is None or exam is None:
            return SessionPurge(0, 0, 0, True)
        folder = f"{exam.college_id}/{exam.id}/{session_id}"
        chunks = (
            db.scalars(select(ChunkRow).where(ChunkRow.session_id == session_id, ChunkRow.purged_at.is_(None))).all()
            if "recordings" in wanted
            else []
        )
        events = (
            db.scalars(
                select(EventRow).where(
                    EventRow.session_id == session_id,
                    EventRow.evidence_key.is_not(None),
                    EventRow.evidence_purged_at.is_(None),
                )
            ).all()
            if "evidence" in wanted
            else []
        )
        faces = (
            db.scalars(
                select(SessionFaceRow).where(SessionFaceRow.session_id == session_id, SessionFaceRow.embedding != b"")
            ).all()
            if "faces" in wanted
            else []
        )
        cards = (
            db.scalars(
                select(IdDocumentRow).where(
                    IdDocumentRow.session_id == session_id, IdDocumentRow.picture_purged_at.is_(None)
                )
            ).all()
            if "faces" in wanted  # the ID card's picture and face are biometric: they go with the faces
            else []
        )
        for card in cards:
            keys.extend([card.picture_key] if card.picture_key else [])
            card.picture_purged_at = now
            card.card_embedding = None
        for chunk in chunks:
            keys.append(chunk.storage_key)
            chunk.purged_at = now
            chunk.samples = None  # signatures of its pictures go with them
        if "recordings" in wanted:
            db.execute(delete(FrameSignatureRow).where(FrameSignatureRow.session_id == session_id))
            prefixes += [f"{folder}/playback", f"{folder}/playback-screen"]
        for event in events:
            keys.extend([event.evidence_key] if event.evidence_key else [])
            event.evidence_purged_at = now
        if "evidence" in wanted:
            prefixes.append(f"{folder}/thumbs")
        for face in faces:
            keys.extend([face.photo_key] if face.photo_key and face.photo_purged_at is None else [])
            face.photo_purged_at = face.photo_purged_at or now
            face.embedding = b""  # biometric: goes with the picture
        if chunks or events or faces or cards:
            store.ledger.append(
                db,
                ledger_kind,
                f"{session_id}/{now.isoformat()}/{'+'.join(sorted(wanted))}",
                {
                    "session": session_id,
                    "exam": exam.id,
                    "purged_at": now.isoformat(),
                    "kinds": sorted(wanted),
                    "chunks": [c.sha256 for c in chunks],
                    "evidence": len(events),
                    "face_photos": len(faces),
                    **({"id_cards": [card.picture_sha256 for card in cards]} if cards else {}),
                    **why,
                },
            )
        db.flush()
        complete = _nothing_left(db, session_id)
    for key in keys:  # only once the purge is recorded
        store.storage.delete(key)
    for prefix in prefixes:  # what is made from the purged media (playback, thumbnails)
        store.storage.delete_prefix(prefix)
    if complete:  # and anything a run that died left behind
        store.storage.delete_prefix(folder)
        _purged_for_good(store, session_id, now)
    return SessionPurge(len(chunks), len(events), len(faces), complete)


def _nothing_left(db: Session, session_id: str) -> bool:
    chunk = db.scalar(select(ChunkRow.id).where(ChunkRow.session_id == session_id, ChunkRow.purged_at.is_(None)))
    evidence = db.scalar(
        select(EventRow.id).where(
            EventRow.session_id == session_id, EventRow.evidence_key.is_not(None), EventRow.evidence_purged_at.is_(None)
        )
    )
    face = db.scalar(
        select(SessionFaceRow.id).where(SessionFaceRow.session_id == session_id, SessionFaceRow.embedding != b"")
    )
    card = db.scalar(
        select(IdDocumentRow.id).where(
            IdDocumentRow.session_id == session_id, IdDocumentRow.picture_purged_at.is_(None)
        )
    )
    return chunk is None and evidence is None and face is None and card is None


def purge_expired(store: SessionStore, now: datetime) -> PurgeReport:
    """Purge, college by college, every kind of personal data past its period (sessions under a hold excepted)."""
    with store.sessions() as db:
        colleges = sorted(set(db.scalars(select(ExamRow.college_id).distinct())))
        policies = {college: policy_of(db, college, store.config.retention_days) for college in colleges}
    sessions = chunks = evidence = faces = photos = page = 0
    for college, policy in policies.items():
        with store.sessions() as db:
            due = [
                (row.id, row.created_at)
                for row in db.scalars(
                    select(SessionRow)
                    .join(ExamRow, ExamRow.id == SessionRow.exam_id)
                    .where(
                        ExamRow.college_id == college,
                        SessionRow.media_purged_at.is_(None),
                        SessionRow.held_at.is_(None),
                        SessionRow.created_at < now - timedelta(days=min(policy.days(k) for k in MEDIA_KINDS)),
                    )
                )
            ]
        for session_id, created_at in due:
            kinds = [k for k in MEDIA_KINDS if as_utc(created_at) < now - timedelta(days=policy.days(k))]
            why: dict[str, object] = {"retention_days": {k: policy.days(k) for k in kinds}}
            done = purge_session_media(store, session_id, kinds, now, "retention_purge", why)
            if done.chunks or done.evidence or done.faces:
                sessions += 1
            chunks, evidence, faces = chunks + done.chunks, evidence + done.evidence, faces + done.faces
        photos += _purge_reference_photos(store, college, policy, now)
        page += _strip_page_events(store, college, policy, now)
    return PurgeReport(sessions, chunks, evidence, faces, photos, page)


def _purge_reference_photos(store: SessionStore, college: str, policy: RetentionPolicy, now: datetime) -> int:
    """Reference photos and their embeddings of candidates enrolled before the period, none of whose sessions is
    held or still to be taken."""
    cutoff = now - timedelta(days=policy.reference_photos_days)
    held_or_open = (
        select(SessionRow.candidate_id)
        .where(SessionRow.held_at.is_not(None) | SessionRow.status.in_([s.value for s in NOT_TAKEN_YET]))
        .scalar_subquery()
    )
    keys: list[str] = []
    with store.write() as db:
        candidates = db.scalars(
            select(CandidateRow)
            .join(ExamRow, ExamRow.id == CandidateRow.exam_id)
            .where(
                ExamRow.college_id == college,
                CandidateRow.created_at < cutoff,
                CandidateRow.photo_key.is_not(None) | CandidateRow.embedding.is_not(None),
                CandidateRow.id.not_in(held_or_open),
            )
        ).all()
        for candidate in candidates:
            keys.extend([candidate.photo_key] if candidate.photo_key else [])
            candidate.photo_key, candidate.embedding = None, None
        if candidates:
            store.ledger.append(
                db,
                "reference_photos_purge",
                f"{college}/{now.isoformat()}",
                {
                    "college": college,
                    "purged_at": now.isoformat(),
                    "kinds": ["reference_photos"],
                    "candidates": sorted(c.id for c in candidates),
                    "retention_days": {"reference_photos": policy.reference_photos_days},
                },
            )
    for key in keys:
        store.storage.delete(key)
    return len(candidates)


def _strip_page_events(store: SessionStore, college: str, policy: RetentionPolicy, now: datetime) -> int:
    """The detail of page events (what the page reported) of sessions before the period; the events stay."""
    cutoff = now - timedelta(days=policy.page_events_days)
    with store.write() as db:
        return strip_page_detail(
            db.scalars(
                select(EventRow)
                .join(SessionRow, SessionRow.id == EventRow.session_id)
                .join(ExamRow, ExamRow.id == SessionRow.exam_id)
                .where(
                    ExamRow.college_id == college,
                    SessionRow.created_at < cutoff,
                    SessionRow.held_at.is_(None),
                    EventRow.type.in_(PAGE_EVENT_TYPES),
                )
            )
        )


def strip_page_detail(events: Iterable[EventRow]) -> int:
    """Reduce each page event's detail to what is kept past its period (retention, erasure); how many changed."""
    stripped = 0
    for event in events:
        detail = event.measurements or {}
        if detail.get("source") == "page" and set(detail) - PAGE_DETAIL_KEPT:
            event.measurements = {k: v for k, v in detail.items() if k in PAGE_DETAIL_KEPT}
            stripped += 1
    return stripped


def _purged_for_good(store: SessionStore, session_id: str, now: datetime) -> None:
    """Mark a session whose rows are purged and whose files are deleted: later rounds pass it by."""
    with store.write() as db:
        db.execute(
            update(SessionRow)
            .where(SessionRow.id == session_id)
            .values(media_purged_at=now)
            .execution_options(synchronize_session=False)
        )
