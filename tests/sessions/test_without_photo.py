"""A candidate without a reference photo (one who came through the LMS): enrolled, analysed without an identity
comparison (identity `not_checked`, nothing against them), compared with nobody's enrolled photo; a photo set later
is what identity is checked against from then on."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import cv2
import pytest
from sqlalchemy import select

from footprint.ledger.tables import EntryRow
from proctor.decode import iter_frames
from proctor.live.messages import CloseSession, FromWorker, IdentityChecked, OpenSession, SessionClosed, VideoIn
from proctor.live.worker import LiveWorker
from proctor.policy import policy_from_dict
from proctor.sessions.errors import InvalidInputError, NotFoundError, StateError
from proctor.sessions.faces import MatchKind, exam_face_matches
from proctor.sessions.job import run_job
from proctor.sessions.tables import CandidateRow, EventRow, ExamRow, SessionRow
from proctor.stream import FrameSampler
from tests.sessions.conftest import Platform
from tests.sessions.test_service import upload_of


def test_a_candidate_without_a_photo_is_enrolled_once(platform: Platform) -> None:
    service = platform.service
    exam = service.create_exam(platform.college, "Interim: Electrical safety", "interim", None)
    row = service.add_candidate_without_photo(
        platform.college, exam.id, "870412300123", "Dana Serikovna", email="dana@college.kz"
    )
    with service.sessions() as db:
        stored = db.get(CandidateRow, row.id)
        assert stored is not None and (stored.photo_key, stored.embedding) == (None, None)
        assert stored.email == "dana@college.kz" and stored.external_id == "870412300123"
    with pytest.raises(StateError, match="already enrolled"):
        service.add_candidate_without_photo(platform.college, exam.id, "870412300123", "Dana again")
    with pytest.raises(NotFoundError):
        service.add_candidate_without_photo(platform.other_college, exam.id, "S-1", "Someone")
    with pytest.raises(NotFoundError):
        service.set_reference_photo(platform.other_college, exam.id, row.id, b"")


def test_an_upload_is_analysed_without_identity_and_a_later_photo_counts(
    platform: Platform, media: Path, tmp_path: Path
) -> None:
    service = platform.service
    exam = service.create_exam(platform.college, "Final attestation: Welding", "final", None)
    enrolled = service.add_candidate(platform.college, exam.id, "S-1", "With Photo", (media / "obama.jpg").read_bytes())
    plain = service.add_candidate_without_photo(platform.college, exam.id, "S-2", "Without Photo")
    for candidate in (enrolled, plain):
        row, _ = service.create_session(platform.college, exam.id, candidate.id)
        service.recordings.accept(platform.college, row.id, upload_of(media / "single_face.mp4", tmp_path / "in"))
        job = service.analyses.start(row.id)
        assert job is not None and (job.embedding is None) == (candidate is plain)
        assert service.analyses.finish(run_job(job)) is not None
        with service.sessions() as db:
            session = db.get(SessionRow, row.id)
            assert session is not None and session.status == "analysed" and session.report is not None
            types = set(db.scalars(select(EventRow.type).where(EventRow.session_id == row.id)))
            if candidate is plain:  # nothing to compare with: not checked, and nothing counts against them
                assert session.identity == "not_checked" and session.report["identity_checked"] is False
                assert session.report["identity_checks"] == [] and "identity_mismatch" not in types
            else:
                assert session.identity is None and session.report["identity_checked"] is True
                assert session.report["identity_checks"]
    with service.sessions() as db:  # the exam's faces are compared with the one enrolled photo there is
        matches = exam_face_matches(db, platform.college, exam.id)
        assert not [m for m in matches if m.kind == MatchKind.ENROLLED_PHOTO and m.second.candidate_id == plain.id]

    with pytest.raises(InvalidInputError, match="no face"):
        service.set_reference_photo(
            platform.college, exam.id, plain.id, (media / "free-mountain-vector-01.jpg").read_bytes()
        )
    photo = (media / "biden.jpg").read_bytes()
    updated = service.set_reference_photo(platform.college, exam.id, plain.id, photo)
    assert updated.photo_key is not None and updated.embedding is not None
    assert service.storage.local_path(updated.photo_key).read_bytes() == photo
    row, _ = service.create_session(platform.college, exam.id, plain.id)
    service.recordings.accept(platform.college, row.id, upload_of(media / "single_face.mp4", tmp_path / "again"))
    job = service.analyses.start(row.id)
    assert job is not None and job.embedding == updated.embedding
    replaced = service.set_reference_photo(platform.college, exam.id, plain.id, (media / "obama2.jpg").read_bytes())
    assert replaced.photo_key != updated.photo_key and replaced.embedding != updated.embedding
    assert not service.storage.local_path(updated.photo_key).exists()  # the earlier photo is not kept
    with service.sessions() as db:
        records = db.scalars(select(EntryRow).where(EntryRow.kind == "reference_photo").order_by(EntryRow.index))
        payloads = [json.loads(bytes(entry.payload)) for entry in records]
    assert [(p["candidate"], p["replaced"]) for p in payloads] == [(plain.id, False), (plain.id, True)]
    assert payloads[0]["sha256"] == hashlib.sha256(photo).hexdigest()


def test_a_live_session_without_a_photo_checks_no_identity(platform: Platform, media: Path) -> None:
    """The live ticket carries no reference; the worker (its face encoder loaded for the sessions that have one)
    checks nobody's identity and reports that it did not."""
    service = platform.service
    exam = service.create_exam(platform.college, "Final attestation: Welding", "final", None)
    candidate = service.add_candidate_without_photo(platform.college, exam.id, "S-3", "Live Without Photo")
    row, token = service.create_session(platform.college, exam.id, candidate.id)
    ticket = service.live.ticket(token)
    assert (ticket.embedding, ticket.photo) == (None, None)
    service.live.start(row.id, datetime.now(UTC))
    with service.sessions() as db:
        exam_row = db.get(ExamRow, exam.id)
        assert exam_row is not None
        policy = dict(exam_row.policy)
    heard: list[FromWorker] = []
    worker = LiveWorker(heard.append)
    try:
        worker.warm_up()
        worker.handle(OpenSession(row.id, policy, ticket.embedding, photo=ticket.photo))
        sampler = FrameSampler(policy_from_dict(policy).analysis_rate_hz)
        end = 0.0
        for frame in iter_frames(media / "single_face.mp4"):
            end = frame.timestamp_s
            if sampler.due(frame.timestamp_s):
                height, width = frame.image.shape[:2]
                yuv = cv2.cvtColor(frame.image, cv2.COLOR_BGR2YUV_I420).tobytes()
                worker.handle(VideoIn(row.id, frame.timestamp_s, width, height, yuv))
        worker.handle(CloseSession(row.id, end))
    finally:
        worker.close()
    (closed,) = [m for m in heard if isinstance(m, SessionClosed)]
    assert not [m for m in heard if isinstance(m, IdentityChecked)]
    assert closed.report["identity_checked"] is False and closed.report["identity_checks"] == []
    assert "identity_mismatch" not in {event["type"] for event in closed.events}
    service.live.set_identity(row.id, "not_checked")  # what the live session records at once without a photo
    service.live.finish(row.id, closed.events, closed.score, closed.report, closed.faces)
    with service.sessions() as db:
        stored = db.get(SessionRow, row.id)
        assert stored is not None and stored.status == "analysed" and stored.identity == "not_checked"
