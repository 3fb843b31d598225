"""The ID card check on the desk: the identity panel and the protocol show its outcome (IIN valid, name, face
distances) and the card picture, served only to a reviewer of the session's exam, every view in the access trail."""

from __future__ import annotations

import io
from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from proctor.analyzers.faces import FaceDetector
from proctor.analyzers.identity import FaceEncoder, IdentityConfig
from proctor.identity_document.check import CheckInputs, check_document
from proctor.identity_document.iin import IinReason
from proctor.identity_document.ocr import Tesseract
from proctor.sessions.tables import IdDocumentRow
from tests.desk.desk_client import sign_in
from tests.desk.test_access import fresh
from tests.desk.test_access_trail import seen
from tests.desk.world import World
from tests.fixtures.id_cards import BIDEN, card_still
from web.app import create_app
from web.desk.pages import IIN_MESSAGES


@pytest.fixture
def app(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.settings)) as client:
        yield client


def keep_check(client: TestClient, world: World) -> bytes:
    """A failed card check (another person's card) kept for world.sessions_a[0], as the live endpoint keeps it."""
    service = client.app_state["platform"].service
    still = card_still(BIDEN, "flat")
    with FaceDetector() as detector:
        image = cv2.imdecode(np.frombuffer(still, np.uint8), cv2.IMREAD_COLOR)
        outcome, face = check_document(
            CheckInputs(image, "Айгерім Нұрланқызы", None, None), IdentityConfig(), detector, FaceEncoder(), Tesseract()
        )
    session = world.sessions_a[0]
    key = service.store.put_bytes(f"{world.college_a}/{world.exam_a}/{session}/idcard/test.jpg", still)
    with service.store.write() as db:
        db.add(
            IdDocumentRow(
                session_id=session,
                attempt=0,
                passed=outcome.passed,
                outcome=outcome.to_json(),
                picture_key=key,
                picture_sha256="0" * 64,
                card_embedding=face.vector.tobytes() if face is not None else None,
                ledger_index=0,
            )
        )
    return still


def test_the_panel_and_protocol_show_the_outcome_and_the_picture_to_the_exams_reviewers_only(
    app: TestClient, world: World
) -> None:
    still = keep_check(app, world)
    session = world.sessions_a[0]
    examiner = fresh(app)
    sign_in(examiner, world.examiner_a.email)
    page = examiner.get(f"/desk/sessions/{session}")
    assert page.status_code == 200
    assert 'data-idcard-passed="no"' in page.text and BIDEN.iin[-4:] in page.text and BIDEN.iin not in page.text
    picture = examiner.get(f"/desk/sessions/{session}/idcard/0")
    assert picture.status_code == 200 and picture.content == still
    assert "no-store" in picture.headers["cache-control"]
    pdf = examiner.get(f"/desk/sessions/{session}/protocol.pdf")
    assert pdf.status_code == 200
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "********" + BIDEN.iin[-4:] in text and BIDEN.iin not in text
    other = fresh(app)
    sign_in(other, world.admin_b.email)  # another college's admin
    assert other.get(f"/desk/sessions/{session}/idcard/0").status_code == 404
    idle = fresh(app)
    sign_in(idle, world.idle_examiner_a.email)  # same college, not assigned to the exam
    assert idle.get(f"/desk/sessions/{session}/idcard/0").status_code == 404
    who = ("person", world.examiner_a.email)
    assert (*who, "id_card", f"{session}/0") in seen(world)


def test_every_iin_outcome_has_its_message() -> None:
    assert {f"desk.idcard.iin_{reason.value}" for reason in IinReason} == set(IIN_MESSAGES)
