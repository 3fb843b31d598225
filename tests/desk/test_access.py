"""Who may see what on the desk: every page, recording, evidence picture and PDF refuses an anonymous request, a
college's API key, a candidate's join link, another college's examiner and an examiner of the same college who is
not assigned to the exam; the assigned examiner and the college's admins see them. Sign-in cookies, CSRF and the
login rate limit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select

from footprint.signins import FREE_FAILURES_PER_ACCOUNT, FREE_FAILURES_PER_ADDRESS
from footprint.store import make_engine
from proctor.sessions.tables import DecisionRow, EventReviewRow, SessionFaceRow
from tests.desk.desk_client import HTML, login_token, sign_in
from tests.desk.world import KAZAKH_NAME, PASSWORD, World
from web.app import create_app
from web.pages.i18n import catalog


@pytest.fixture
def app(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.settings)) as client:
        yield client


def fresh(client: TestClient) -> TestClient:
    """Another browser on the same running app (its own cookies, the app's services)."""
    browser = TestClient(client.app)
    browser.app_state.update(client.app_state)  # the lifespan's services, shared by reference
    return browser


def first_face(world: World) -> int:
    engine = make_engine(world.settings.db_url)
    try:
        with engine.connect() as db:
            face = db.scalar(
                select(func.min(SessionFaceRow.id)).where(SessionFaceRow.session_id == world.sessions_a[0])
            )
    finally:
        engine.dispose()
    assert face is not None
    return int(face)


def resources(world: World) -> dict[str, str]:
    session = world.sessions_a[0]
    return {
        "face picture": f"/desk/faces/{first_face(world)}",
        "exam page": f"/desk/exams/{world.exam_a}",
        "session page": f"/desk/sessions/{session}",
        "recording": f"/desk/sessions/{session}/recording",
        "evidence": f"/desk/sessions/{session}/events/1/evidence",
        "thumbnail": f"/desk/sessions/{session}/events/1/thumb",
        "reference photo": f"/desk/sessions/{session}/reference",
        "protocol": f"/desk/sessions/{session}/protocol.pdf",
    }


def refused(client: TestClient, url: str, expected: set[int], **headers: str) -> None:
    for accept in ("text/html", "*/*"):
        answer = client.get(url, headers={"Accept": accept, **headers})
        assert answer.status_code in expected, (url, accept, answer.status_code)
        assert KAZAKH_NAME.encode() not in answer.content  # nothing of the candidate's leaks
        assert not answer.headers.get("content-type", "").startswith(("video/", "image/", "application/pdf"))


def test_the_assigned_examiner_and_the_admin_see_every_page_and_media(app: TestClient, world: World) -> None:
    for email in (world.examiner_a.email, world.admin_a.email):
        browser = fresh(app)
        sign_in(browser, email)
        for what, url in resources(world).items():
            answer = browser.get(url, headers=HTML if "page" in what else {"Accept": "*/*"})
            assert answer.status_code == 200, (email, what, answer.text[:300])
        assert browser.get(resources(world)["recording"], headers={"Range": "bytes=0-99"}).status_code == 206
        kinds = {what: browser.get(url).headers["content-type"] for what, url in resources(world).items()}
        assert kinds["protocol"] == "application/pdf" and kinds["thumbnail"] == "image/jpeg"
        assert kinds["recording"].startswith("video/")
        assert "private" in browser.get(resources(world)["evidence"]).headers["cache-control"]


def test_nobody_else_sees_them(app: TestClient, world: World) -> None:
    urls = resources(world).values()
    anonymous = fresh(app)
    for url in urls:
        refused(anonymous, url, {403})
    page = anonymous.get(resources(world)["session page"], headers=HTML)
    assert "/desk/login?next=" in page.text  # the page offers the sign-in form
    for key in (world.key_a, world.key_b, world.join_token_a):
        for url in urls:
            refused(fresh(app), url, {403}, Authorization=f"Bearer {key}")
    joined = fresh(app)
    joined.cookies.set("proctor_desk", world.join_token_a, path="/desk")
    for url in urls:
        refused(joined, url, {403})
    for person in (world.examiner_b, world.admin_b, world.idle_examiner_a):
        browser = fresh(app)
        sign_in(browser, person.email)
        for url in urls:
            refused(browser, url, {404})
        review = browser.post(
            f"/desk/api/sessions/{world.sessions_a[0]}/events/1/review",
            json={"action": "confirmed"},
            headers={"X-CSRF-Token": sign_in(fresh(app), person.email)},
        )
        assert review.status_code in (403, 404)
    # the college API: the join token is no key, another college's key finds nothing
    api = f"/api/v1/sessions/{world.sessions_a[0]}"
    for url in (f"{api}/recording", f"{api}/events/1/evidence", api):
        assert app.get(url, headers={"Authorization": f"Bearer {world.join_token_a}"}).status_code == 401
        assert app.get(url, headers={"Authorization": f"Bearer {world.key_b}"}).status_code == 404
        assert app.get(url).status_code == 401


def test_each_sees_only_their_exams(app: TestClient, world: World) -> None:
    seen = {}
    for person in (world.admin_a, world.examiner_a, world.idle_examiner_a, world.admin_b, world.examiner_b):
        browser = fresh(app)
        sign_in(browser, person.email)
        page = browser.get("/desk", headers=HTML).text
        seen[person.email] = {exam for exam in (world.exam_a, world.exam_b) if f'data-exam-id="{exam}"' in page}
    assert seen[world.admin_a.email] == {world.exam_a} == seen[world.examiner_a.email]
    assert seen[world.idle_examiner_a.email] == set()
    assert seen[world.admin_b.email] == {world.exam_b}
    assert seen[world.examiner_b.email] == set()  # not assigned to exam_b


def test_cookies_are_http_only_same_site_and_limited_to_the_desk(app: TestClient, world: World) -> None:
    answer = fresh(app).post(
        "/desk/login",
        data={"email": world.examiner_a.email, "password": PASSWORD, "csrf_token": "x"},
        follow_redirects=False,
    )
    assert answer.status_code == 403  # no login cookie beside the form's token: a forged cross-site login
    browser = fresh(app)
    token = login_token(browser)
    answer = browser.post(
        "/desk/login",
        data={"email": world.examiner_a.email, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("proctor_desk="))
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "samesite=lax", "path=/desk"} <= flags and "secure" not in flags


def test_cookies_are_secure_when_the_platform_is_served_over_https(world: World) -> None:
    settings = world.settings.model_copy(update={"public_url": "https://proctor.college.kz"})
    with TestClient(create_app(settings), base_url="https://proctor.college.kz") as browser:
        token = login_token(browser)
        answer = browser.post(
            "/desk/login",
            data={"email": world.examiner_a.email, "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("proctor_desk="))
        assert "secure" in {part.strip().lower() for part in cookie.split(";")}


def counts(world: World) -> tuple[int, int]:
    engine = make_engine(world.settings.db_url)
    try:
        with engine.connect() as db:
            reviews = db.scalar(select(func.count()).select_from(EventReviewRow)) or 0
            verdicts = db.scalar(select(func.count()).select_from(DecisionRow)) or 0
    finally:
        engine.dispose()
    return int(reviews), int(verdicts)


def test_changes_without_the_csrf_token_are_refused_and_change_nothing(app: TestClient, world: World) -> None:
    browser = fresh(app)
    csrf = sign_in(browser, world.examiner_a.email)
    other_csrf = sign_in(fresh(app), world.examiner_a.email)  # the same person's other sign-in
    session = world.sessions_a[0]
    review = f"/desk/api/sessions/{session}/events/1/review"
    before = counts(world)
    for headers in ({}, {"X-CSRF-Token": "forged"}, {"X-CSRF-Token": other_csrf}):
        assert browser.post(review, json={"action": "confirmed"}, headers=headers).status_code == 403
    verdict = f"/desk/sessions/{session}/verdict"
    for form in ({"verdict": "confirmed"}, {"verdict": "confirmed", "csrf_token": "forged"}):
        assert browser.post(verdict, data=form, headers=HTML, follow_redirects=False).status_code == 403
    weights = f"/desk/exams/{world.exam_a}/weights"
    assert browser.post(weights, data={"weight.looking_away": "0"}, follow_redirects=False).status_code == 403
    assert browser.post("/desk/logout", data={}, follow_redirects=False).status_code == 403
    assert counts(world) == before
    assert browser.get(f"/desk/sessions/{session}", headers=HTML).status_code == 200  # still signed in
    assert browser.post(review, json={"action": "confirmed"}, headers={"X-CSRF-Token": csrf}).status_code == 201
    assert counts(world) == (before[0] + 1, before[1])
    out = browser.post("/desk/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    stolen = fresh(app)  # the signed-out cookie opens nothing any more, wherever it is replayed
    stolen.cookies.set(
        "proctor_desk", out.request.headers["cookie"].split("proctor_desk=")[1].split(";")[0], path="/desk"
    )
    assert stolen.get(f"/desk/sessions/{session}", headers=HTML).status_code == 403


def browser_at(client: TestClient, address: str) -> TestClient:
    """Another browser on the same running app, at another network address."""
    browser = TestClient(client.app, client=(address, 50000))
    browser.app_state.update(client.app_state)
    return browser


def attempt(browser: TestClient, email: str, password: str) -> Response:
    form = {"email": email, "password": password, "csrf_token": login_token(browser)}
    return browser.post("/desk/login", data=form, follow_redirects=False)


def test_failed_logins_slow_that_address_down_but_never_lock_the_person_out(app: TestClient, world: World) -> None:
    attacker = browser_at(app, "203.0.113.7")
    for _ in range(FREE_FAILURES_PER_ACCOUNT):
        wrong = attempt(attacker, world.examiner_a.email, "not the password")
        assert wrong.status_code == 401 and catalog("kk").text("desk.login.failed") in wrong.text
    limited = attempt(attacker, world.examiner_a.email, PASSWORD)  # even the right password has to wait
    assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 2
    assert catalog("kk").text("desk.login.too_many", seconds=limited.headers["retry-after"]) in limited.text
    assert "proctor_desk" not in limited.headers.get("set-cookie", "")
    sign_in(browser_at(app, "198.51.100.20"), world.examiner_a.email)  # the examiner elsewhere: as ever
    sign_in(attacker, world.admin_a.email)  # another account from the attacker's address: as ever
    unknown = attempt(browser_at(app, "198.51.100.21"), "nobody@college-a.kz", PASSWORD)
    assert unknown.status_code == 401  # an unknown address gets the wrong-password answer


def test_a_browser_the_person_signed_in_from_has_its_own_throttle(app: TestClient, world: World) -> None:
    """Someone guessing from the examiner's own network (a college's NAT) slows only their own attempts: the
    examiner's browser, which signed in there before, carries a device cookie and signs in at once."""
    examiner = browser_at(app, "192.0.2.50")
    csrf = sign_in(examiner, world.examiner_a.email)  # a device cookie from this sign-in
    assert examiner.post("/desk/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    guesser = browser_at(app, "192.0.2.50")
    for _ in range(FREE_FAILURES_PER_ACCOUNT):
        assert attempt(guesser, world.examiner_a.email, "guess").status_code == 401
    assert attempt(guesser, world.examiner_a.email, PASSWORD).status_code == 429
    assert attempt(examiner, world.examiner_a.email, PASSWORD).status_code == 303


def test_one_network_address_cannot_try_many_accounts(app: TestClient, world: World) -> None:
    browser = browser_at(app, "203.0.113.99")
    for number in range(FREE_FAILURES_PER_ADDRESS):
        assert attempt(browser, f"guess{number}@college-a.kz", "guess").status_code == 401
    assert attempt(browser, world.admin_a.email, PASSWORD).status_code == 429
    sign_in(browser_at(app, "203.0.113.100"), world.admin_a.email)
