"""The college's people on the desk: an admin adds an examiner and sets their exams, which is then exactly what
the examiner sees; examiners cannot manage people; another college's admin reaches none of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.desk.desk_client import HTML, sign_in
from tests.desk.world import World
from web.app import create_app

NEW = {
    "email": "zhanar@college-a.kz",
    "full_name": "Жанар Қасымова",
    "role": "examiner",
    "password": "an examiner's secret",
}


@pytest.fixture
def app(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.settings)) as client:
        yield client


def browser(app: TestClient) -> TestClient:
    other = TestClient(app.app)
    other.app_state.update(app.app_state)
    return other


def test_an_admin_adds_an_examiner_and_chooses_their_exams(app: TestClient, world: World) -> None:
    csrf = sign_in(app, world.admin_a.email)
    page = app.get("/desk/people", headers=HTML).text
    assert world.examiner_a.email in page and world.examiner_b.email not in page  # only the college's own
    assert app.post("/desk/people", data=NEW, follow_redirects=False).status_code == 403  # no CSRF token
    added = app.post("/desk/people", data={**NEW, "csrf_token": csrf}, follow_redirects=False)
    assert added.status_code == 303
    again = app.post("/desk/people", data={**NEW, "csrf_token": csrf}, headers=HTML)
    assert again.status_code == 409
    weak = app.post("/desk/people", data={**NEW, "email": "x@college-a.kz", "password": "short", "csrf_token": csrf})
    assert weak.status_code == 400
    page = app.get("/desk/people", headers=HTML).text
    assert "Жанар Қасымова" in page and "x@college-a.kz" not in page

    newcomer = browser(app)
    sign_in(newcomer, NEW["email"], NEW["password"])
    assert newcomer.get(f"/desk/exams/{world.exam_a}", headers=HTML).status_code == 404  # nothing assigned yet
    user_id = page.split("Жанар Қасымова")[0].rsplit('data-user-id="', 1)[1].split('"')[0]
    assigned = app.post(
        f"/desk/people/{user_id}/exams", data={"exam": world.exam_a, "csrf_token": csrf}, follow_redirects=False
    )
    assert assigned.status_code == 303
    assert newcomer.get(f"/desk/exams/{world.exam_a}", headers=HTML).status_code == 200
    examiners = app.get(f"/api/v1/exams/{world.exam_a}/examiners", headers={"Authorization": f"Bearer {world.key_a}"})
    assert {e["email"] for e in examiners.json()} == {world.examiner_a.email, NEW["email"]}  # the API sees the same
    cleared = app.post(f"/desk/people/{user_id}/exams", data={"csrf_token": csrf}, follow_redirects=False)
    assert cleared.status_code == 303
    assert newcomer.get(f"/desk/exams/{world.exam_a}", headers=HTML).status_code == 404


def test_only_the_colleges_admins_manage_its_people(app: TestClient, world: World) -> None:
    examiner = browser(app)
    csrf = sign_in(examiner, world.examiner_a.email)
    assert examiner.get("/desk/people", headers=HTML).status_code == 403
    assert examiner.post("/desk/people", data={**NEW, "csrf_token": csrf}).status_code == 403
    moved = examiner.post(
        f"/desk/people/{world.idle_examiner_a.id}/exams", data={"exam": world.exam_a, "csrf_token": csrf}
    )
    assert moved.status_code == 403
    other_admin = browser(app)
    csrf_b = sign_in(other_admin, world.admin_b.email)
    for target, exam in ((world.idle_examiner_a.id, world.exam_b), (world.examiner_b.id, world.exam_a)):
        answer = other_admin.post(f"/desk/people/{target}/exams", data={"exam": exam, "csrf_token": csrf_b})
        assert answer.status_code == 404
    idle = browser(app)
    sign_in(idle, world.idle_examiner_a.email)
    assert idle.get(f"/desk/exams/{world.exam_a}", headers=HTML).status_code == 404
    b_examiner = browser(app)
    sign_in(b_examiner, world.examiner_b.email)
    assert b_examiner.get(f"/desk/exams/{world.exam_a}", headers=HTML).status_code == 404
