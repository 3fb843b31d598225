"""The ID card at the door over HTTP: the candidate's join token posts the card still, only after consent and
before the room scan, only where the exam's policy asks; the picture is kept encrypted under the session's folder,
the outcome for the examiner, the ledger's record without the picture or the IIN; another college sees nothing."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from footprint.accounts import ALL_SCOPES, issue_key_for
from proctor.sessions.errors import NotFoundError, StateError
from proctor.sessions.retention import purge_session_media
from proctor.sessions.service import SessionService
from proctor.sessions.tables import ExamRow, IdDocumentRow
from tests.college.test_quiz_gate import ledger_entries, new_exam, service_of, settings_in, walk
from tests.fixtures.id_cards import BIDEN, OBAMA, card_still, photo_bytes
from web.app import create_app
from web.settings import Settings

NAME = "Ерлан Сейтқалиев"  # as printed on OBAMA's card
ON: dict[str, object] = {"identity": {"id_document": "on"}}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_in(tmp_path)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def enrolled_session(client: TestClient, service: SessionService, policy: dict[str, object] | None) -> tuple[str, str]:
    exam_id = new_exam(client, policy)
    with service.sessions() as db:
        exam = db.get(ExamRow, exam_id)
        assert exam is not None
        college_id = exam.college_id
    candidate = service.add_candidate(college_id, exam_id, "S-1", NAME, photo_bytes("obama2.jpg"))
    session, token = service.create_session(college_id, exam_id, candidate.id)
    return session.id, token


def post_card(client: TestClient, token: str, card: bytes, face: bytes | None = None) -> Any:
    files = {"card": ("card.jpg", card, "image/jpeg")}
    if face is not None:
        files["face"] = ("face.jpg", face, "image/jpeg")
    return client.post("/live/idcard", files=files, headers={"Authorization": f"Bearer {token}"})


def test_the_candidates_card_is_checked_kept_encrypted_and_recorded(
    client: TestClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    service = service_of(client)
    session_id, token = enrolled_session(client, service, ON)
    still = card_still(OBAMA, "perspective")
    assert post_card(client, token, still).status_code == 403  # before consent
    walk(service, session_id, "consent")
    with caplog.at_level(logging.DEBUG):
        answer = post_card(client, token, still, photo_bytes("obama3.jpg"))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"attempt": 0, "received": True, "readable": True}
    assert OBAMA.iin not in caplog.text and OBAMA.iin[-4:] in caplog.text  # masked in the log
    with service.sessions() as db:
        row = db.scalars(select(IdDocumentRow).where(IdDocumentRow.session_id == session_id)).one()
        exam = db.get(ExamRow, new_exam_id(service, session_id))
        assert exam is not None
        college_id = exam.college_id
    # everything the stills show agrees; with no live video here the server had no picture of its own to compare
    # the card with (tests/live/test_id_card_stream.py has one), and says so to the examiner
    assert row.outcome["problems"] == ["stream_face_unverified"], row.outcome
    assert row.outcome["live"]["match"] and row.outcome["enrolled"]["match"]
    assert row.outcome["iin_valid"] and row.outcome["name_match"]
    assert OBAMA.iin not in json.dumps(row.outcome)
    assert row.picture_key is not None and row.picture_key.startswith(f"{college_id}/{exam.id}/{session_id}/idcard/")
    raw = b"".join(p.read_bytes() for p in settings.data_dir.rglob("*") if p.is_file() and "idcard" in str(p))
    assert raw and still not in raw and not raw.startswith(b"\xff\xd8")  # encrypted at rest
    picture, media_type = service.id_documents.picture(college_id, session_id, 0)
    assert picture == still and media_type == "image/jpeg"
    entries = ledger_entries(service, "id_document_check")
    assert entries and entries[-1][1]["passed"] is False and entries[-1][1]["stream_distance"] is None
    assert OBAMA.iin not in json.dumps(entries) and "picture_sha256" in entries[-1][1]


def new_exam_id(service: SessionService, session_id: str) -> str:
    from proctor.sessions.tables import SessionRow

    with service.sessions() as db:
        row = db.get(SessionRow, session_id)
        assert row is not None
        return row.exam_id


def test_another_persons_card_marks_the_session_and_the_candidate_goes_on(client: TestClient) -> None:
    service = service_of(client)
    session_id, token = enrolled_session(client, service, ON)
    walk(service, session_id, "consent")
    answer = post_card(client, token, card_still(BIDEN, "flat"), photo_bytes("obama3.jpg"))
    assert answer.status_code == 200 and answer.json()["received"]
    with service.sessions() as db:
        row = db.scalars(select(IdDocumentRow).where(IdDocumentRow.session_id == session_id)).one()
    assert not row.passed
    problems = row.outcome["problems"]
    assert isinstance(problems, list)
    assert {"name_mismatch", "live_face_mismatch", "enrolled_face_mismatch"} <= set(problems)


def test_only_where_the_policy_asks_and_before_the_room_scan(client: TestClient) -> None:
    service = service_of(client)
    session_id, token = enrolled_session(client, service, None)  # id_document off by default
    walk(service, session_id, "consent")
    assert post_card(client, token, card_still(OBAMA)).status_code == 409
    session_id, token = enrolled_session(client, service, ON)
    walk(service, session_id, "consent", "identity", "room_scan")
    assert post_card(client, token, card_still(OBAMA)).status_code == 409


def test_limits_types_and_tokens(client: TestClient) -> None:
    service = service_of(client)
    session_id, token = enrolled_session(client, service, ON)
    walk(service, session_id, "consent")
    assert post_card(client, "not-a-token", card_still(OBAMA)).status_code == 401
    assert post_card(client, token, b"GIF89a....").status_code == 415
    big = b"\xff\xd8\xff" + b"\0" * (8 * 1024 * 1024)
    assert post_card(client, token, big).status_code == 413
    assert post_card(client, token, b"\xff\xd8\xff\xe0 not a jpeg").status_code == 422


def test_another_college_sees_nothing_and_retention_takes_the_picture(client: TestClient) -> None:
    service = service_of(client)
    session_id, token = enrolled_session(client, service, ON)
    walk(service, session_id, "consent")
    assert post_card(client, token, card_still(OBAMA, "low_resolution")).status_code == 200
    with service.store.write() as db:
        other = issue_key_for(db, "Other College", "lms", ALL_SCOPES, new_college=True).credential.college_id
    with pytest.raises(NotFoundError):
        service.id_documents.for_session(other, session_id)
    with pytest.raises(NotFoundError):
        service.id_documents.picture(other, session_id, 0)
    with service.sessions() as db:
        row = db.scalars(select(IdDocumentRow).where(IdDocumentRow.session_id == session_id)).one()
        key = row.picture_key
    assert key is not None and service.storage.exists(key)
    from datetime import UTC, datetime

    purge_session_media(service.store, session_id, ("faces",), datetime.now(UTC), "retention_purge", {"days": 1})
    assert not service.storage.exists(key)
    with service.sessions() as db:
        row = db.scalars(select(IdDocumentRow).where(IdDocumentRow.session_id == session_id)).one()
    assert row.picture_purged_at is not None and row.card_embedding is None
    assert row.outcome["iin_valid"]  # the outcome stays for the examiner and the protocol


def test_a_card_becomes_the_reference_only_once_an_examiner_confirms_it(client: TestClient) -> None:
    service = service_of(client)
    exam_id = new_exam(client, ON)
    with service.sessions() as db:
        exam = db.get(ExamRow, exam_id)
        assert exam is not None
        college_id = exam.college_id
    candidate = service.add_candidate_without_photo(college_id, exam_id, "S-9", NAME)
    session, token = service.create_session(college_id, exam_id, candidate.id)
    walk(service, session.id, "consent")
    answer = post_card(client, token, card_still(OBAMA), photo_bytes("obama3.jpg"))
    assert answer.status_code == 200
    record = service.id_documents.for_session(college_id, session.id)[0]
    assert record.outcome.enrolled.match is None and record.outcome.live.match  # nothing enrolled to compare with
    with service.store.write() as db:
        from footprint.people import Role, add_person

        examiner = add_person(db, college_id, "ex@college.kz", "Examiner", Role.EXAMINER, "pw-0123456789abc")
    service.id_documents.confirm_reference(college_id, session.id, 0, examiner.id)
    from proctor.sessions.tables import CandidateRow

    with service.sessions() as db:
        enrolled = db.get(CandidateRow, candidate.id)
        assert enrolled is not None and enrolled.photo_key is not None and enrolled.embedding is not None
    with pytest.raises(StateError):  # once only
        service.id_documents.confirm_reference(college_id, session.id, 0, examiner.id)
    assert ledger_entries(service, "reference_photo")[-1][1]["from_id_card"] == f"{session.id}/0"
