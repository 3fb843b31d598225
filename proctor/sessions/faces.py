"""Faces seen in sessions: kept with their analysis run, and compared across one exam for one person sitting it
for several candidates (a proxy).

A session's faces (`SessionFace`, summarised by the analysis from its identity checks) are stored as rows of
`session_faces` with a crop of each face; the crops are stored before the transaction that adds the rows and
removed again if it fails, like evidence images. Only the faces of each session's latest analysis run count.

Two sessions of different candidates of one exam share a face when one of a session's faces lies within the
exam policy's `identity.duplicate_face_distance` of a face of the other session, or of the other session's
candidate's enrolled photo (a candidate with two sessions has that photo matched once per session). Sessions
of one candidate (a retake) are never compared with each other; candidates without a session are not compared,
nor is the enrolled photo of a candidate who has none (one who came through the LMS without it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from proctor.analyzers.sessionfaces import SessionFace
from proctor.policy import policy_from_dict
from proctor.sessions.store import SessionStore, college_exam, college_session
from proctor.sessions.tables import CandidateRow, SessionFaceRow, SessionRow

Matrix = npt.NDArray[np.float64]


def store_face_photos(store: SessionStore, prefix: str, faces: Sequence[SessionFace], tag: str = "") -> dict[int, str]:
    """Store the photo of each face under `prefix` (before the transaction that adds the rows), its name tagged
    with `tag`; number → key. Should one fail, those already stored are removed again."""
    keys: dict[int, str] = {}
    with store.kept_until_commit([]) as stored:
        for number, face in enumerate(faces):
            if face.photo is not None:
                name = f"{number:02d}-{tag}.jpg" if tag else f"{number:02d}.jpg"
                keys[number] = store.put_bytes(f"{prefix}/{name}", face.photo)
                stored.append(keys[number])
    return keys


def face_rows(
    session_id: str, analysis_run: int, faces: Sequence[SessionFace], photo_keys: dict[int, str]
) -> list[SessionFaceRow]:
    """The rows of a session's faces for one analysis run, numbered in the order given (the most checked first)."""
    return [
        SessionFaceRow(
            session_id=session_id,
            analysis_run=analysis_run,
            number=number,
            embedding=face.embedding_bytes(),
            checks=face.checks,
            first_s=face.first_s,
            last_s=face.last_s,
            reference_distance=face.reference_distance,
            photo_key=photo_keys.get(number),
        )
        for number, face in enumerate(faces)
    ]


class MatchKind(StrEnum):
    """What a face seen in a session was found in."""

    SESSION_FACE = "session_face"
    """A face seen in another candidate's session."""
    ENROLLED_PHOTO = "enrolled_photo"
    """The enrolled photo of another session's candidate."""


@dataclass(frozen=True)
class FaceSide:
    """One side of a match: a session, its candidate, and the face of it that matched."""

    session_id: str
    candidate_id: str
    candidate_name: str
    external_id: str
    face_id: int | None
    """The `session_faces` row; None when this side is the candidate's enrolled photo."""
    photo_key: str | None
    """The stored photo of this side: the face's crop, or the candidate's enrolled photo."""
    checks: int = 0
    """Identity checks that saw the face (0 for an enrolled photo)."""
    first_s: float | None = None
    last_s: float | None = None


@dataclass(frozen=True)
class FaceMatch:
    """A face seen in one session that is, within the threshold, a face of another candidate's session."""

    kind: MatchKind
    distance: float
    threshold: float
    first: FaceSide
    """A face seen in a session (or, in a match `facing` the other session, that session's enrolled photo)."""
    second: FaceSide
    """A face seen in the other session, or (kind `enrolled_photo`) the other session's candidate's photo."""

    def session_ids(self) -> tuple[str, str]:
        return self.first.session_id, self.second.session_id

    def facing(self, session_id: str) -> FaceMatch:
        """The match with `session_id`'s side first (as that session's page shows it)."""
        if self.first.session_id == session_id:
            return self
        return replace(self, first=self.second, second=self.first)


@dataclass(frozen=True)
class _Seat:
    """A session of the exam and its candidate (only the columns a match names: a session's report is large)."""

    session_id: str
    candidate_id: str
    candidate_name: str
    external_id: str
    photo_key: str | None
    embedding: bytes | None
    """The candidate's enrolled photo and its embedding; None when they have no reference photo."""

    def side(self, face: SessionFaceRow | None) -> FaceSide:
        """This seat's side of a match: a face seen in its session, or (None) its candidate's enrolled photo."""
        who = (self.session_id, self.candidate_id, self.candidate_name, self.external_id)
        if face is None:
            return FaceSide(*who, None, self.photo_key)
        return FaceSide(*who, face.id, face.photo_key, face.checks, face.first_s, face.last_s)


def exam_face_matches(db: Session, college_id: str, exam_id: str) -> list[FaceMatch]:
    """Every shared face between the exam's sessions of different candidates, nearest first (NotFoundError for
    another college's exam)."""
    exam = college_exam(db, college_id, exam_id)
    threshold = policy_from_dict(exam.policy, source="exam policy").identity.duplicate_face_distance
    columns = (CandidateRow.id, CandidateRow.full_name, CandidateRow.external_id, CandidateRow.photo_key)
    seats = {
        row[0]: _Seat(*row)
        for row in db.execute(
            select(SessionRow.id, *columns, CandidateRow.embedding)
            .join(CandidateRow, CandidateRow.id == SessionRow.candidate_id)
            .where(SessionRow.exam_id == exam_id)
            .order_by(SessionRow.created_at, SessionRow.id)
        ).all()
    }
    faces = list(
        db.scalars(
            select(SessionFaceRow)
            .join(
                SessionRow,
                and_(
                    SessionRow.id == SessionFaceRow.session_id, SessionRow.analysis_run == SessionFaceRow.analysis_run
                ),
            )
            .where(SessionRow.exam_id == exam_id)
            .order_by(SessionRow.created_at, SessionRow.id, SessionFaceRow.number)
        )
    )
    faces = [face for face in faces if face.embedding]  # purged ones (retention, erasure) compare to nothing
    if not faces:
        return []
    order = [seat for seat in seats.values() if seat.embedding is not None]
    seen = np.stack([_vector(face.embedding) for face in faces])
    photos = [_vector(seat.embedding) for seat in order if seat.embedding is not None]
    enrolled = np.stack(photos) if photos else np.empty((0, seen.shape[1]))
    face_candidate = np.array([seats[face.session_id].candidate_id for face in faces])
    seat_candidate = np.array([seat.candidate_id for seat in order])

    matches: list[FaceMatch] = []
    between = _distances(seen, seen)
    others = face_candidate[:, None] != face_candidate[None, :]
    for i, j in zip(*np.nonzero(np.triu(others & (between <= threshold), k=1)), strict=True):
        first, second = faces[int(i)], faces[int(j)]
        matches.append(
            FaceMatch(
                MatchKind.SESSION_FACE,
                round(float(between[i, j]), 3),
                threshold,
                seats[first.session_id].side(first),
                seats[second.session_id].side(second),
            )
        )
    to_photos = _distances(seen, enrolled)
    others = face_candidate[:, None] != seat_candidate[None, :]
    for i, k in zip(*np.nonzero(others & (to_photos <= threshold)), strict=True):
        face = faces[int(i)]
        matches.append(
            FaceMatch(
                MatchKind.ENROLLED_PHOTO,
                round(float(to_photos[i, k]), 3),
                threshold,
                seats[face.session_id].side(face),
                order[int(k)].side(None),
            )
        )
    matches.sort(key=lambda m: (m.distance, m.kind.value, m.first.session_id, m.second.session_id))
    return matches


def session_face_matches(db: Session, college_id: str, session_id: str) -> list[FaceMatch]:
    """The shared faces of one session with the other sessions of its exam, this session's side first
    (NotFoundError for another college's session)."""
    row = college_session(db, college_id, session_id)
    return [
        m.facing(session_id) for m in exam_face_matches(db, college_id, row.exam_id) if session_id in m.session_ids()
    ]


def _vector(blob: bytes) -> Matrix:
    return np.frombuffer(blob, dtype=np.float64)


def _distances(rows: Matrix, columns: Matrix) -> Matrix:
    """Euclidean distances between every row of `rows` and of `columns` (without an n × m × 128 array)."""
    squared = (rows**2).sum(axis=1)[:, None] + (columns**2).sum(axis=1)[None, :] - 2.0 * rows @ columns.T
    distances: Matrix = np.sqrt(np.maximum(squared, 0.0))
    return distances
