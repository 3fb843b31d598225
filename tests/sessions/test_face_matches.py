"""The same face in sessions of different candidates of one exam (one person sitting for several): faces kept
with each analysis, uploaded and live, and compared across the exam (real models, real database).

Ground truth: who sits in front of the camera in each recording, and whose face each enrolment photo shows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from proctor.decode import iter_frames
from proctor.live.messages import CloseSession, FromWorker, IdentityChecked, OpenSession, SessionClosed, VideoIn
from proctor.live.worker import LiveWorker
from proctor.policy import policy_from_dict
from proctor.sessions.errors import NotFoundError
from proctor.sessions.faces import MatchKind, exam_face_matches, session_face_matches
from proctor.sessions.job import AnalysisJob, JobResult, run_job
from proctor.sessions.tables import ExamRow, SessionFaceRow, SessionRow
from proctor.stream import FrameSampler
from tests.fixtures.sittings import PHOTO_PERSON, Sitting, build_sitting, enrolment_photo
from tests.sessions.conftest import Platform
from tests.sessions.test_service import upload_of

POLICY = {"identity": {"interval_s": 1.0}}


@dataclass(frozen=True)
class Seat:
    """A candidate of the exam: their name, the photo they were enrolled with, and who sat their session."""

    name: str
    photo: str
    sitting: tuple[tuple[str, float], ...]


SEATS = {
    "aigerim": Seat("Aigerim Nurlanovna", "A", (("A", 6.0),)),
    # person A again, enrolled a second time under another name with another photo
    "dana": Seat("Dana Serikovna", "A again", (("A again", 6.0),)),
    "arman": Seat("Arman Bekov", "B", (("B", 6.0),)),
    # person A sits for a candidate whose enrolled photo is someone else's face (a proxy)
    "bolat": Seat("Bolat Ermekov", "obama", (("A again", 3.0), ("A", 3.0))),
}


@dataclass(frozen=True)
class Media:
    photos: dict[str, Path]
    sittings: dict[str, Sitting]


@pytest.fixture(scope="module")
def media_of_seats(tmp_path_factory: pytest.TempPathFactory, media: Path) -> Media:
    folder = tmp_path_factory.mktemp("seats")
    photos = {photo: enrolment_photo(folder, photo) for photo in {seat.photo for seat in SEATS.values()}}
    sittings = {key: build_sitting(folder / f"{key}.mp4", seat.sitting) for key, seat in SEATS.items()}
    return Media(photos, sittings)


_ANALYSED: dict[str, JobResult] = {}
"""Analyses by their inputs (recording, enrolled embedding, policy): the same inputs give the same result on
either database, so each is run once."""


def analysed(job: AnalysisJob, sitting: Sitting) -> JobResult:
    """The result of a session's analysis job (run once per inputs, see `_ANALYSED`)."""
    key = json.dumps([str(sitting.video), job.embedding.hex(), job.policy], sort_keys=True)
    if key not in _ANALYSED:
        _ANALYSED[key] = run_job(job)
    return replace(_ANALYSED[key], session_id=job.session_id)


def analyse(platform: Platform, college: str, session_id: str, sitting: Sitting, folder: Path) -> JobResult:
    """Upload a sitting to a session, run its analysis job and persist the result."""
    service = platform.service
    service.recordings.accept(college, session_id, upload_of(sitting.video, folder))
    job = service.analyses.start(session_id)
    assert job is not None
    result = analysed(job, sitting)
    assert service.analyses.finish(result) is not None
    return result


@dataclass(frozen=True)
class Exam:
    id: str
    sessions: dict[str, str]
    """Seat → session id."""
    results: dict[str, JobResult]


def sit_exam(platform: Platform, media: Media, folder: Path, seats: tuple[str, ...] = tuple(SEATS)) -> Exam:
    service = platform.service
    exam = service.create_exam(platform.college, "Final attestation: Electrical safety", "final", POLICY)
    sessions, results = {}, {}
    for number, key in enumerate(seats):
        seat = SEATS[key]
        photo = media.photos[seat.photo].read_bytes()
        candidate = service.add_candidate(platform.college, exam.id, f"S-{number}", seat.name, photo)
        row, _ = service.create_session(platform.college, exam.id, candidate.id)
        sessions[key] = row.id
        results[key] = analyse(platform, platform.college, row.id, media.sittings[key], folder / key)
    return Exam(exam.id, sessions, results)


def people_in(sitting: Sitting) -> set[str]:
    return {span.person for span in sitting.truth}


def expected_matches(exam: Exam, media: Media) -> set[tuple[str, str, str]]:
    """(kind, seat whose session saw the face, other seat) from the ground truth."""
    expected = set()
    for seen, other in ((s, o) for s in exam.sessions for o in exam.sessions if s != o):
        people = people_in(media.sittings[seen])
        if people & people_in(media.sittings[other]) and seen < other:
            expected.add((MatchKind.SESSION_FACE.value, seen, other))
        if PHOTO_PERSON[SEATS[other].photo] in people:
            expected.add((MatchKind.ENROLLED_PHOTO.value, seen, other))
    return expected


def test_one_person_in_sessions_of_different_candidates_is_found(
    platform: Platform, media_of_seats: Media, tmp_path: Path
) -> None:
    exam = sit_exam(platform, media_of_seats, tmp_path)
    seat_of = {session: key for key, session in exam.sessions.items()}
    with platform.service.sessions() as db:
        matches = exam_face_matches(db, platform.college, exam.id)
        threshold = policy_from_dict(db.get(ExamRow, exam.id).policy).identity.duplicate_face_distance  # type: ignore[union-attr]
    found = set()
    for match in matches:
        seen, other = seat_of[match.first.session_id], seat_of[match.second.session_id]
        if match.kind == MatchKind.SESSION_FACE:
            seen, other = sorted((seen, other))
            assert match.first.face_id is not None and match.second.face_id is not None
        else:
            assert match.first.face_id is not None and match.second.face_id is None
            assert match.second.photo_key is not None and "/candidates/" in match.second.photo_key
        assert match.distance <= match.threshold == threshold == 0.4
        assert match.first.candidate_id != match.second.candidate_id
        found.add((match.kind.value, seen, other))
    expected = expected_matches(exam, media_of_seats)
    assert found == expected
    # person A under two names and as a proxy: all three sessions found; person B's session with nobody
    assert {seat for _, *pair in expected for seat in pair} == {"aigerim", "dana", "bolat"}
    assert [m.distance for m in matches] == sorted(m.distance for m in matches)

    # one session's page: its own side first
    with platform.service.sessions() as db:
        bolat = session_face_matches(db, platform.college, exam.sessions["bolat"])
        assert bolat and all(m.first.session_id == exam.sessions["bolat"] for m in bolat)
        assert {seat_of[m.second.session_id] for m in bolat} == {"aigerim", "dana"}
        assert {m.first.candidate_name for m in bolat} == {"Bolat Ermekov"}
        aigerim = session_face_matches(db, platform.college, exam.sessions["aigerim"])
        # dana's session saw aigerim's enrolled photo: on aigerim's page that side (the photo) comes first
        photo_first = [m for m in aigerim if m.first.face_id is None]
        assert {seat_of[m.second.session_id] for m in photo_first} == {"dana", "bolat"}
        assert session_face_matches(db, platform.college, exam.sessions["arman"]) == []


def test_faces_are_kept_with_the_analysis(platform: Platform, media_of_seats: Media, tmp_path: Path) -> None:
    exam = sit_exam(platform, media_of_seats, tmp_path, ("aigerim", "bolat"))
    service = platform.service
    with service.sessions() as db:
        for key, session_id in exam.sessions.items():
            sitting = media_of_seats.sittings[key]
            row = db.get(SessionRow, session_id)
            assert row is not None and row.report is not None
            checks: list[dict[str, Any]] = row.report["identity_checks"]  # type: ignore[assignment]
            faces = faces_of(db, session_id, 1)
            assert [face.number for face in faces] == list(range(len(faces))) and faces
            assert sum(face.checks for face in faces) == len(checks)  # a short session forgets none
            assert faces[0].first_s == pytest.approx(checks[0]["at_s"], abs=0.01) and checks[0]["at_s"] == 0.0
            assert all(0.0 <= face.first_s <= face.last_s < sitting.duration_s for face in faces)
            own_face = PHOTO_PERSON[SEATS[key].photo] in people_in(sitting)
            for check in checks:
                assert check["match"] is own_face
            for face in faces:
                assert len(face.embedding) == 128 * 8 and face.reference_distance is not None
                assert (face.reference_distance <= 0.35) if own_face else (face.reference_distance >= 0.7)
                assert face.photo_key is not None and f"/{session_id}/run1/faces/" in face.photo_key
                assert service.storage.local_path(face.photo_key).read_bytes()[:2] == b"\xff\xd8"


def faces_of(db: Session, session_id: str, run: int) -> list[SessionFaceRow]:
    query = select(SessionFaceRow).where(SessionFaceRow.session_id == session_id, SessionFaceRow.analysis_run == run)
    return list(db.scalars(query.order_by(SessionFaceRow.number)))


def test_face_photos_go_when_the_transaction_fails(platform: Platform, media_of_seats: Media, tmp_path: Path) -> None:
    service = platform.service
    exam = service.create_exam(platform.college, "Interim: Physics", "interim", POLICY)
    photo = media_of_seats.photos["A"].read_bytes()
    candidate = service.add_candidate(platform.college, exam.id, "S-1", "Aigerim Nurlanovna", photo)
    row, _ = service.create_session(platform.college, exam.id, candidate.id)
    sitting = media_of_seats.sittings["aigerim"]
    service.recordings.accept(platform.college, row.id, upload_of(sitting.video, tmp_path))
    job = service.analyses.start(row.id)
    assert job is not None
    result = analysed(job, sitting)
    assert result.faces
    sink = service.store.statement_sink

    def broken(db: Session, college_id: str, statement: dict[str, Any]) -> None:
        raise RuntimeError("the footprint store is down")

    object.__setattr__(service.store, "statement_sink", broken)
    with pytest.raises(RuntimeError, match="footprint"):
        service.analyses.finish(result)
    assert not [key for key in service.storage.keys(platform.college) if "/faces/" in key]
    with service.sessions() as db:
        assert faces_of(db, row.id, 1) == []
    object.__setattr__(service.store, "statement_sink", sink)
    assert service.analyses.finish(result) is not None  # the job, still running, is finished again
    with service.sessions() as db:
        faces = faces_of(db, row.id, 1)
        assert len(faces) == len(result.faces) and all(f.photo_key for f in faces)
        assert all(service.storage.local_path(f.photo_key).is_file() for f in faces if f.photo_key)


def test_another_college_sees_no_match(platform: Platform, media_of_seats: Media, tmp_path: Path) -> None:
    exam = sit_exam(platform, media_of_seats, tmp_path / "ours", ("aigerim", "dana"))
    service = platform.service
    # the other college's exam: person A sits there too
    theirs = service.create_exam(platform.other_college, "Final: Welding", "final", POLICY)
    photo = media_of_seats.photos["A again"].read_bytes()
    candidate = service.add_candidate(platform.other_college, theirs.id, "T-1", "Dana Serikovna", photo)
    row, _ = service.create_session(platform.other_college, theirs.id, candidate.id)
    analyse(platform, platform.other_college, row.id, media_of_seats.sittings["dana"], tmp_path / "theirs")
    with service.sessions() as db:
        with pytest.raises(NotFoundError):
            exam_face_matches(db, platform.other_college, exam.id)
        with pytest.raises(NotFoundError):
            session_face_matches(db, platform.other_college, exam.sessions["aigerim"])
        with pytest.raises(NotFoundError):
            session_face_matches(db, platform.college, row.id)
        ours = exam_face_matches(db, platform.college, exam.id)
        assert ours and {s for m in ours for s in m.session_ids()} == set(exam.sessions.values())
        assert exam_face_matches(db, platform.other_college, theirs.id) == []  # one session: nobody to compare


def test_a_live_session_keeps_its_checks_and_faces(platform: Platform, media_of_seats: Media, tmp_path: Path) -> None:
    """The live worker reports every identity check and the faces it saw; the live records keep them, and the
    live session's faces are compared with the uploaded ones."""
    exam = sit_exam(platform, media_of_seats, tmp_path, ("aigerim",))
    service = platform.service
    photo = media_of_seats.photos["A again"].read_bytes()
    candidate = service.add_candidate(platform.college, exam.id, "S-9", "Dana Serikovna", photo)
    row, _ = service.create_session(platform.college, exam.id, candidate.id)
    service.live.start(row.id, datetime.now(UTC))
    with service.sessions() as db:
        policy = dict(db.get(ExamRow, exam.id).policy)  # type: ignore[union-attr]
    sitting = media_of_seats.sittings["dana"]

    heard: list[FromWorker] = []
    worker = LiveWorker(heard.append)
    try:
        worker.handle(OpenSession(row.id, policy, candidate.embedding, photo=photo))
        sampler = FrameSampler(policy_from_dict(policy).analysis_rate_hz)
        end = 0.0
        for frame in iter_frames(sitting.video):
            end = frame.timestamp_s
            if sampler.due(frame.timestamp_s):
                height, width = frame.image.shape[:2]
                yuv = cv2.cvtColor(frame.image, cv2.COLOR_BGR2YUV_I420).tobytes()
                worker.handle(VideoIn(row.id, frame.timestamp_s, width, height, yuv))
        worker.handle(CloseSession(row.id, end))
    finally:
        worker.close()
    (closed,) = [m for m in heard if isinstance(m, SessionClosed)]
    announced = [m for m in heard if isinstance(m, IdentityChecked)]
    service.live.finish(row.id, closed.events, closed.score, closed.report, closed.faces)

    with service.sessions() as db:
        stored = db.get(SessionRow, row.id)
        assert stored is not None and stored.report is not None and stored.status == "analysed"
        checks: list[dict[str, Any]] = stored.report["identity_checks"]  # type: ignore[assignment]
        # the report keeps every check the candidate's page was told of, at the same media time
        assert [(c["at_s"], c["match"]) for c in checks] == [(round(m.at_s, 2), m.match) for m in announced]
        assert [c["distance"] for c in checks] == pytest.approx([m.distance for m in announced], abs=0.001)
        assert len(checks) >= 5 and all(c["match"] and c["distance"] <= 0.35 for c in checks)  # A, A's photo
        faces = faces_of(db, row.id, 1)
        assert faces and sum(f.checks for f in faces) == len(checks)
        assert all(f.photo_key and service.storage.local_path(f.photo_key).is_file() for f in faces)
        matches = session_face_matches(db, platform.college, row.id)
    # person A, live under the name Dana, is person A of the uploaded session of Aigerim
    kinds = {(m.kind, m.first.face_id is None, m.second.session_id) for m in matches}
    aigerim = exam.sessions["aigerim"]
    assert kinds == {
        (MatchKind.SESSION_FACE, False, aigerim),
        (MatchKind.ENROLLED_PHOTO, False, aigerim),  # the live face is Aigerim's enrolled photo
        (MatchKind.ENROLLED_PHOTO, True, aigerim),  # Dana's enrolled photo is the face of Aigerim's session
    }
    assert np.all([m.distance <= 0.4 for m in matches])
