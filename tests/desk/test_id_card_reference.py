"""Enrolment from the ID card on the desk: a candidate without a reference photo gets the card's photo as their
reference once an examiner of the exam confirms it (a form with the CSRF token, the ledger's `reference_photo`
record); the button is there only when the candidate has no photo and the check found a face on the card. A failed
card check marks the session in the exam's list ("ID card: needs review")."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from proctor.sessions.tables import CandidateRow, IdDocumentRow, SessionRow
from tests.college.test_quiz_gate import ledger_entries
from tests.desk.desk_client import HTML, sign_in
from tests.desk.test_access import fresh
from tests.desk.test_id_card_desk import keep_check
from tests.desk.world import World
from web.app import create_app
from web.pages.i18n import LANGUAGES, catalog

FORM = 'data-action="card-reference"'


@pytest.fixture
def app(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.settings)) as client:
        yield client


def candidate_of(app: TestClient, session_id: str) -> CandidateRow:
    service = app.app_state["platform"].service
    with service.sessions() as db:
        session = db.get(SessionRow, session_id)
        assert session is not None
        candidate = db.get(CandidateRow, session.candidate_id)
        assert candidate is not None
        db.expunge(candidate)
        return candidate


def without_photo(app: TestClient, session_id: str) -> None:
    """The session's candidate as the LMS enrols one: no reference photo, no embedding."""
    service = app.app_state["platform"].service
    with service.store.write() as db:
        session = db.get(SessionRow, session_id)
        assert session is not None
        candidate = db.get(CandidateRow, session.candidate_id)
        assert candidate is not None
        candidate.photo_key, candidate.embedding = None, None


def confirm(client: TestClient, session_id: str, csrf: str | None, attempt: int = 0) -> int:
    data = {"csrf_token": csrf} if csrf is not None else {}
    answer = client.post(f"/desk/sessions/{session_id}/idcard/{attempt}/reference", data=data, follow_redirects=False)
    return answer.status_code


def test_an_examiner_confirms_the_cards_photo_as_the_reference_of_a_candidate_without_one(
    app: TestClient, world: World
) -> None:
    session = world.sessions_a[0]
    keep_check(app, world)
    without_photo(app, session)
    examiner = fresh(app)
    csrf = sign_in(examiner, world.examiner_a.email)
    page = examiner.get(f"/desk/sessions/{session}", headers=HTML).text
    assert FORM in page and f'action="/desk/sessions/{session}/idcard/0/reference"' in page

    other = fresh(app)
    other_csrf = sign_in(other, world.admin_b.email)  # another college's admin
    assert confirm(other, session, other_csrf) == 404
    idle = fresh(app)
    idle_csrf = sign_in(idle, world.idle_examiner_a.email)  # same college, not assigned to the exam
    assert confirm(idle, session, idle_csrf) == 404
    assert confirm(examiner, session, None) == 403  # no CSRF token
    assert candidate_of(app, session).photo_key is None

    assert confirm(examiner, session, csrf) == 303
    candidate = candidate_of(app, session)
    service = app.app_state["platform"].service
    with service.sessions() as db:
        row = db.scalars(select(IdDocumentRow).where(IdDocumentRow.session_id == session)).one()
        assert candidate.embedding == row.card_embedding and candidate.photo_key is not None
        assert row.reference_confirmed_by == world.examiner_a.id
    records = [payload for _, payload in ledger_entries(service, "reference_photo")]
    assert records[-1]["from_id_card"] == f"{session}/0" and records[-1]["confirmed_by"] == world.examiner_a.id
    page = examiner.get(f"/desk/sessions/{session}", headers=HTML).text
    assert FORM not in page and 'data-reference-confirmed="true"' in page
    assert confirm(examiner, session, csrf) == 409  # the candidate has a reference photo now


def test_a_candidate_with_a_photo_gets_no_button_and_the_post_is_refused(app: TestClient, world: World) -> None:
    session = world.sessions_a[0]
    keep_check(app, world)
    examiner = fresh(app)
    csrf = sign_in(examiner, world.examiner_a.email)
    page = examiner.get(f"/desk/sessions/{session}", headers=HTML).text
    assert 'data-idcard-attempt="0"' in page and FORM not in page
    photo = candidate_of(app, session).photo_key
    assert confirm(examiner, session, csrf) == 409
    assert confirm(examiner, session, csrf, attempt=5) == 404  # no such check
    assert candidate_of(app, session).photo_key == photo


def test_a_failed_card_check_marks_the_session_in_the_exams_list(app: TestClient, world: World) -> None:
    examiner = fresh(app)
    sign_in(examiner, world.examiner_a.email)
    listing = examiner.get(f"/desk/exams/{world.exam_a}", headers=HTML).text
    assert "data-id-card-review" not in listing
    keep_check(app, world)  # another person's card: the check failed
    listing = examiner.get(f"/desk/exams/{world.exam_a}", headers=HTML).text
    marked = re.findall(r'<tr data-session-id="([^"]+)"[^>]*>(?:(?!</tr>).)*data-id-card-review="true"', listing, re.S)
    assert marked == [world.sessions_a[0]]
    assert any(catalog(language).text("desk.exam.id_card_review") in listing for language in LANGUAGES)
    service = app.app_state["platform"].service
    with service.store.write() as db:  # a later check that passed settles it
        db.add(
            IdDocumentRow(
                session_id=world.sessions_a[0], attempt=1, passed=True, outcome={}, picture_key=None,
                picture_sha256="1" * 64, ledger_index=0,
            )
        )  # fmt: skip
    listing = examiner.get(f"/desk/exams/{world.exam_a}", headers=HTML).text
    assert "data-id-card-review" not in listing
