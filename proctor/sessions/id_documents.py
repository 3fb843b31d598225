"""ID cards at the door: the candidate's card still checked (proctor/identity_document), its outcome kept for the
examiner with the ledger's record, and the picture stored encrypted under the session's folder (`idcard/`), so that
retention and erasure take it with the session's faces.

Only the join token of the session opens it, after consent and before the room scan, when the exam's policy asks
for the card (`identity.id_document: on`); a failed check marks the session for the examiner, it never stops the
candidate. Logs name the session and the masked IIN at most; the ledger holds the picture's sha256, never its bytes.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from proctor.analyzers.faces import FaceDetector
from proctor.analyzers.identity import FaceEncoder
from proctor.errors import ReferencePhotoError
from proctor.frames import I420Picture
from proctor.identity_document.check import CheckInputs, DocumentCheck, check_document, embedding_from_bytes
from proctor.identity_document.ocr import Tesseract
from proctor.images import decode_photo
from proctor.policy import policy_from_dict
from proctor.sessions.errors import InvalidInputError, NotFoundError, StateError, TooLargeError
from proctor.sessions.lifecycle import Status
from proctor.sessions.live import ConsentRequired, SessionGone, TokenRefused, session_of
from proctor.sessions.store import SessionStore, college_session
from proctor.sessions.tables import CandidateRow, ExamRow, IdDocumentRow, SessionRow

logger = logging.getLogger(__name__)

MAX_STILL_BYTES = 8 * 1024 * 1024
"""A card still (a full-resolution camera JPEG or PNG) is at most this large."""
MAX_ATTEMPTS = 3
"""Checks a session may make (a retake after a blurred still, not a search for a card that passes)."""
OPEN_STATES = frozenset({Status.SCHEDULED, Status.IDENTITY_CHECK})
"""The card is shown after consent and before the room scan."""
STILL_TYPES = {b"\xff\xd8\xff": "jpg", b"\x89PNG": "png"}


@dataclass(frozen=True)
class CardSubmission:
    """What the page sends: the card still and, optionally, a still of the candidate's face; with the server's own
    pictures of the session's live video during the card step (the web process keeps them: web/live/door.py)."""

    card: bytes
    face: bytes | None = None
    stream: tuple[I420Picture, ...] = ()


@dataclass(frozen=True)
class CardRecord:
    """One stored check as the desk shows it."""

    id: int
    session_id: str
    attempt: int
    passed: bool
    outcome: DocumentCheck
    picture_key: str | None
    picture_sha256: str
    created_at: datetime
    reference_confirmed_at: datetime | None
    ledger_index: int
    card_face: bool = False
    """The check kept the card face's embedding (what `confirm_reference` makes a reference of)."""


class IdDocuments:
    """The card checks of the platform's sessions."""

    def __init__(self, store: SessionStore, tesseract: Tesseract | None = None) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._models: tuple[FaceDetector, FaceEncoder] | None = None
        self._tesseract = tesseract

    def submit(self, token: str, submission: CardSubmission) -> tuple[int, DocumentCheck]:
        """Check a card still sent with the session's join token; returns the attempt number and the outcome."""
        for name, data in (("the card still", submission.card), ("the face still", submission.face)):
            if data is not None and len(data) > MAX_STILL_BYTES:
                raise TooLargeError(f"{name} is at most {MAX_STILL_BYTES} bytes")
        extension = _still_type(submission.card)
        session_id, college_id, exam_id, name, embedding, config = self._open(token)
        try:
            card = decode_photo(submission.card, "the card still")
            face = decode_photo(submission.face, "the face still") if submission.face else None
        except ReferencePhotoError as exc:
            raise InvalidInputError(str(exc)) from exc
        with self._lock:
            if self._models is None:
                self._models = (FaceDetector(), FaceEncoder())
            if self._tesseract is None:
                self._tesseract = Tesseract()
            detector, encoder = self._models
            outcome, card_face = check_document(
                CheckInputs(
                    card,
                    name,
                    embedding_from_bytes(embedding),
                    face,
                    tuple(picture.bgr() for picture in submission.stream),
                ),
                config,
                detector,
                encoder,
                self._tesseract,
            )
        digest = hashlib.sha256(submission.card).hexdigest()
        key = self.store.put_bytes(
            f"{college_id}/{exam_id}/{session_id}/idcard/{uuid.uuid4().hex[:12]}.{extension}", submission.card
        )
        with self.store.kept_until_commit([key]), self.store.write() as db:
            row = db.get(SessionRow, session_id, with_for_update=True)
            if row is None:
                raise TokenRefused("this exam link is not valid")
            attempt = _attempts(db, session_id)
            if attempt >= MAX_ATTEMPTS:
                raise StateError(f"the ID card was checked {MAX_ATTEMPTS} times in this session already")
            record: dict[str, Any] = {
                "session": session_id,
                "exam": exam_id,
                "attempt": attempt,
                "picture_sha256": digest,
                "passed": outcome.passed,
                "problems": list(outcome.problems),
                "iin_valid": outcome.iin_valid,
                "name_match": outcome.name_match,
                "live_distance": outcome.live.distance,
                "enrolled_distance": outcome.enrolled.distance,
                "stream_distance": outcome.stream.distance,
            }
            entry = self.store.ledger.append(db, "id_document_check", f"{session_id}/{attempt}", record)
            db.add(
                IdDocumentRow(
                    session_id=session_id,
                    attempt=attempt,
                    passed=outcome.passed,
                    outcome=outcome.to_json(),
                    picture_key=key,
                    picture_sha256=digest,
                    card_embedding=card_face.vector.tobytes() if card_face is not None else None,
                    ledger_index=entry.index,
                )
            )
        logger.info(
            "ID card check %d: IIN %s %s, name %s, %s in %.0f ms",
            attempt,
            outcome.iin_masked,
            outcome.iin_reason,
            "matches" if outcome.name_match else "differs",
            "passed" if outcome.passed else "marked for the examiner: " + ", ".join(outcome.problems),
            outcome.timings_ms.get("total", 0.0),
        )
        return attempt, outcome

    def _open(self, token: str) -> tuple[str, str, str, str, bytes | None, Any]:
        """The session this token opens for a card check (its college, exam, candidate's name, reference, config)."""
        with self.store.sessions() as db:
            row = session_of(db, token)
            if row is None:
                raise TokenRefused("this exam link is not valid")
            exam = db.get(ExamRow, row.exam_id)
            candidate = db.get(CandidateRow, row.candidate_id)
            if exam is None or candidate is None:
                raise TokenRefused("this exam link is not valid")
            if row.consent != "accepted":
                raise ConsentRequired("the candidate has not accepted the proctoring terms: send consent first")
            if Status(row.status) not in OPEN_STATES:
                if Status(row.status) in (Status.ROOM_SCAN, Status.IN_PROGRESS):
                    raise StateError("the ID card is shown before the room scan; this session is past it")
                raise SessionGone("this session is finished")
            config = policy_from_dict(exam.policy).identity
            if config.id_document != "on":
                raise StateError("this exam does not ask for an ID card")
            return row.id, exam.college_id, exam.id, candidate.full_name, candidate.embedding, config

    # -- the examiner's side ------------------------------------------------------------------------

    def for_session(self, college_id: str, session_id: str) -> list[CardRecord]:
        """The session's card checks, first attempt first (another college's session is not found)."""
        with self.store.sessions() as db:
            college_session(db, college_id, session_id)
            return card_records(db, session_id)

    def picture(self, college_id: str, session_id: str, attempt: int) -> tuple[bytes, str]:
        """The card picture of one check (its bytes and media type); NotFoundError once purged."""
        with self.store.sessions() as db:
            college_session(db, college_id, session_id)
            row = db.scalars(
                select(IdDocumentRow).where(IdDocumentRow.session_id == session_id, IdDocumentRow.attempt == attempt)
            ).first()
            if row is None or row.picture_key is None or row.picture_purged_at is not None:
                raise NotFoundError(f"no ID card picture {attempt} in session {session_id}")
            key = row.picture_key
        media_type = "image/png" if key.endswith(".png") else "image/jpeg"
        with self.store.storage.open(key) as handle:
            return handle.read(), media_type

    def confirm_reference(self, college_id: str, session_id: str, attempt: int, user_id: str) -> str:
        """An examiner confirms the card's photo as the reference of a candidate enrolled without one: the card
        face's embedding becomes theirs, and the card picture their reference photo. Returns the candidate's id."""
        with self.store.write() as db:
            session = college_session(db, college_id, session_id)
            row = db.scalars(
                select(IdDocumentRow).where(IdDocumentRow.session_id == session_id, IdDocumentRow.attempt == attempt)
            ).first()
            if row is None:
                raise NotFoundError(f"no ID card check {attempt} in session {session_id}")
            candidate = db.get(CandidateRow, session.candidate_id, with_for_update=True)
            if candidate is None:
                raise NotFoundError(f"no candidate for session {session_id}")
            if candidate.photo_key is not None or candidate.embedding is not None:
                raise StateError("the candidate has a reference photo already")
            if row.card_embedding is None or row.picture_key is None or row.picture_purged_at is not None:
                raise StateError("this check found no face on the card to take as the reference")
            with self.store.storage.open(row.picture_key) as handle:
                data = handle.read()
            key = self.store.put_bytes(
                f"{college_id}/{session.exam_id}/candidates/{candidate.id}-card-{uuid.uuid4().hex[:8]}.jpg", data
            )
            candidate.photo_key, candidate.embedding = key, row.card_embedding
            row.reference_confirmed_by, row.reference_confirmed_at = user_id, datetime.now(UTC)
            self.store.ledger.append(
                db,
                "reference_photo",
                f"{candidate.id}/card-{session_id}-{attempt}",
                {
                    "candidate": candidate.id,
                    "exam": session.exam_id,
                    "sha256": row.picture_sha256,
                    "replaced": False,
                    "from_id_card": f"{session_id}/{attempt}",
                    "confirmed_by": user_id,
                },
            )
            return candidate.id


def card_records(db: Session, session_id: str) -> list[CardRecord]:
    """The card checks of a session the caller may already see (the desk's session view checked it)."""
    rows = db.scalars(
        select(IdDocumentRow).where(IdDocumentRow.session_id == session_id).order_by(IdDocumentRow.attempt)
    ).all()
    return [_record(row) for row in rows]


def _still_type(data: bytes) -> str:
    for magic, extension in STILL_TYPES.items():
        if data.startswith(magic):
            return extension
    raise InvalidInputError("the card still must be a JPEG or PNG picture")


def _attempts(db: Session, session_id: str) -> int:
    found = db.scalar(select(func.count(IdDocumentRow.id)).where(IdDocumentRow.session_id == session_id))
    return int(found or 0)


def _record(row: IdDocumentRow) -> CardRecord:
    return CardRecord(
        id=row.id,
        session_id=row.session_id,
        attempt=row.attempt,
        passed=row.passed,
        outcome=DocumentCheck.from_json(dict(row.outcome)),
        picture_key=row.picture_key if row.picture_purged_at is None else None,
        picture_sha256=row.picture_sha256,
        created_at=row.created_at,
        reference_confirmed_at=row.reference_confirmed_at,
        ledger_index=row.ledger_index,
        card_face=row.card_embedding is not None,
    )
