"""LTI 1.3 end to end against an LMS emulator that sends what Moodle 4.x sends (tests/lti/platform.py): the college
registers its LMS, a teacher adds a proctored exam by deep linking, learners and teachers launch, every refusal the
spec asks for, the roster read into candidates, the proctoring outcome written to the LMS's gradebook."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select
from starlette.testclient import TestClient

from footprint.accounts import ALL_SCOPES, CollegeRow, create_college, issue_key
from footprint.ledger.tables import EntryRow as LedgerEntryRow
from footprint.people import Role, UserRow, add_person
from footprint.store import make_engine, make_session_factory
from proctor.lti import claims as c
from proctor.lti.tables import GradeWriteRow, LinkRow, StateRow
from proctor.sessions.tables import CandidateRow, ExamExaminerRow, ExamRow, SessionRow
from tests.desk.desk_client import HTML, sign_in
from tests.lti.flows import BASE, forms, launch, login, platform_answer
from tests.lti.platform import INSTRUCTOR, LEARNER, TEACHING_ASSISTANT, Member, PlatformEmulator
from web.app import create_app
from web.settings import load_settings

KEY = "lti-test-demo-college-key-0123"
ANN = Member("5", "Ann", "Lee", "ann@college.kz", [LEARNER], person_sourcedid="040101500011")
BOB = Member("6", "Bob", "Kim", "bob@college.kz", [LEARNER])
TEACHER = Member("2", "Aigul", "Sadykova", "aigul@college.kz", [INSTRUCTOR])
ASSISTANT = Member("3", "Dana", "Nur", "dana@college.kz", [TEACHING_ASSISTANT])


def auth(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def db_file(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'platform.db'}"


@pytest.fixture
def client(db_file: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = load_settings(
        {"PROCTOR_OUTBOUND_ALLOW_NETWORKS": "127.0.0.0/8"},  # the LMS emulators listen on loopback
        data_dir=tmp_path / "data",
        database_url=db_file,
        bootstrap_api_key=KEY,
        public_url=BASE,
    )
    with TestClient(create_app(settings), base_url=BASE) as test_client:
        yield test_client


@pytest.fixture
def lms() -> Iterator[PlatformEmulator]:
    with PlatformEmulator("Moodle A", client_id="tool-a") as emulator:
        yield emulator


def register(client: TestClient, lms: PlatformEmulator, key: str = KEY) -> dict[str, Any]:
    answer = client.post(
        "/api/v1/lti/platforms",
        headers=auth(key),
        json={
            "name": lms.name,
            "issuer": lms.issuer,
            "client_id": lms.client_id,
            "deployment_ids": [lms.deployment_id],
            "jwks_url": lms.jwks_url,
            "auth_url": lms.auth_url,
            "token_url": lms.token_url,
        },
    )
    assert answer.status_code == 201, answer.text
    registration: dict[str, Any] = answer.json()
    tool = registration["tool"]
    lms.configure_tool(
        login_url=tool["initiate_login_url"],
        redirect_uris=tool["redirection_uris"],
        jwks=client.get("/lti/jwks").json(),
    )
    return registration


def other_college(db_file: str, name: str = "Other College") -> str:
    engine = make_engine(db_file)
    try:
        with make_session_factory(engine)() as db, db.begin():
            college = create_college(db, name)
            return issue_key(db, college, "their admin", scopes=ALL_SCOPES).secret
    finally:
        engine.dispose()


def add_exam(client: TestClient, lms: PlatformEmulator, teacher: Member, title: str) -> tuple[str, dict[str, str]]:
    """A teacher adds a new proctored exam from the LMS (deep linking): its id and the link's custom parameters."""
    page = launch(client, lms, teacher, message="deeplink")
    assert page.status_code == 200, page.text
    create = next(form for form in forms(page.text) if form.fields.get("exam") == "new")
    create.fields.update(title=title, attestation="final", duration_min="90")
    posted = client.post(create.action, data=create.fields, follow_redirects=False)
    assert posted.status_code == 200, posted.text
    back = forms(posted.text)[0]
    assert back.action.startswith(lms.issuer + "/mod/lti/contentitem_return.php")
    returned = httpx.post(back.action, data=back.fields, timeout=10)
    assert returned.status_code == 200, returned.text
    item = lms.deep_links[-1][c.DL_CONTENT_ITEMS][0]
    assert item["type"] == "ltiResourceLink" and item["title"] == title and item["url"] == f"{BASE}/lti/launch"
    exams = client.get("/api/v1/exams", headers=auth()).json()["items"]
    exam_id = next(exam["id"] for exam in exams if exam["title"] == title)
    return exam_id, dict(item["custom"])


def rows(db_file: str, query: Any) -> list[Any]:
    engine = make_engine(db_file)
    try:
        with make_session_factory(engine)() as db:
            return list(db.scalars(query))
    finally:
        engine.dispose()


# -- registration ---------------------------------------------------------------------------------------------


def test_a_college_admin_registers_its_lms_and_gets_what_to_paste(
    client: TestClient, lms: PlatformEmulator, db_file: str
) -> None:
    registration = register(client, lms)
    assert registration["tool"] == {
        "tool_url": f"{BASE}/lti/launch",
        "initiate_login_url": f"{BASE}/lti/login",
        "redirection_uris": [f"{BASE}/lti/launch"],
        "public_keyset_url": f"{BASE}/lti/jwks",
        "deep_linking_url": f"{BASE}/lti/launch",
    }
    listed = client.get("/api/v1/lti/platforms", headers=auth()).json()
    assert [p["issuer"] for p in listed] == [lms.issuer]
    # the same issuer and client id cannot name two registrations (a launch must name one college)
    again = client.post(
        "/api/v1/lti/platforms",
        headers=auth(),
        json={
            **{
                k: registration[k]
                for k in ("name", "issuer", "client_id", "deployment_ids", "jwks_url", "auth_url", "token_url")
            }
        },
    )
    assert again.status_code == 409
    bad = client.post(
        "/api/v1/lti/platforms",
        headers=auth(),
        json={
            **{
                k: registration[k] for k in ("name", "client_id", "deployment_ids", "jwks_url", "auth_url", "token_url")
            },
            "issuer": "ftp://x",
        },
    )
    assert bad.status_code == 422 and "issuer" in bad.text
    # registrations are the college's admins' business, and another college's are not found
    sessions_only = client.post(
        "/api/v1/keys", headers=auth(), json={"name": "lms", "scopes": ["xapi", "sessions"]}
    ).json()
    assert client.get("/api/v1/lti/platforms", headers=auth(sessions_only["secret"])).status_code == 403
    other = other_college(db_file)
    assert client.get("/api/v1/lti/platforms", headers=auth(other)).json() == []
    assert client.get(f"/api/v1/lti/platforms/{registration['id']}", headers=auth(other)).status_code == 404
    assert (
        client.patch(
            f"/api/v1/lti/platforms/{registration['id']}", headers=auth(other), json={"disabled": True}
        ).status_code
        == 404
    )


def test_the_tool_keyset_keeps_a_rotated_key_published(client: TestClient) -> None:
    first = client.get("/lti/jwks").json()["keys"]
    assert len(first) == 1 and first[0]["alg"] == "RS256" and "d" not in first[0]
    rotated = client.post("/api/v1/lti/keys/rotate", headers=auth()).json()
    kids = [key["kid"] for key in client.get("/lti/jwks").json()["keys"]]
    assert rotated["kid"] in kids and first[0]["kid"] in kids and rotated["kid"] != first[0]["kid"]


# -- launches -------------------------------------------------------------------------------------------------


def test_a_learner_launch_opens_the_exam_page_of_their_own_session(
    client: TestClient, lms: PlatformEmulator, db_file: str
) -> None:
    register(client, lms)
    exam_id, custom = add_exam(client, lms, TEACHER, "Physics final")
    entered = launch(client, lms, ANN, custom=custom)
    assert entered.status_code == 303, entered.text
    target = entered.headers["location"]
    assert re.fullmatch(r"/join/[A-Za-z0-9_-]+(\?lang=en)?", target)
    page = client.get(target)
    assert page.status_code == 200 and "Physics final" in page.text
    (candidate,) = rows(db_file, select(CandidateRow).where(CandidateRow.exam_id == exam_id))
    assert (candidate.lti_sub, candidate.full_name, candidate.email) == ("5", "Ann Lee", "ann@college.kz")
    assert candidate.external_id == ANN.person_sourcedid  # the college's own id (Moodle's ID number)
    assert candidate.photo_key is None
    # a second launch is the same session with a new link; the old link stops working
    again = launch(client, lms, ANN, custom=custom)
    assert len(rows(db_file, select(SessionRow).where(SessionRow.exam_id == exam_id))) == 1
    assert client.get(target).status_code == 404
    assert client.get(again.headers["location"]).status_code == 200
    # another learner gets their own candidate and session
    launch(client, lms, BOB, custom=custom)
    assert len(rows(db_file, select(CandidateRow).where(CandidateRow.exam_id == exam_id))) == 2


def test_a_teacher_launch_opens_the_desk_as_an_examiner_of_that_exam_only(
    client: TestClient, lms: PlatformEmulator, db_file: str
) -> None:
    register(client, lms)
    exam_id, custom = add_exam(client, lms, TEACHER, "Chemistry final")
    other_exam = client.post(
        "/api/v1/exams", headers=auth(), json={"title": "Not theirs", "attestation": "final"}
    ).json()
    entered = launch(client, lms, ASSISTANT, custom=custom)
    assert entered.status_code == 303 and entered.headers["location"].startswith(f"/desk/exams/{exam_id}")
    assert client.get(entered.headers["location"]).status_code == 200
    assert client.get(f"/desk/exams/{other_exam['id']}").status_code in (403, 404)
    (account,) = rows(db_file, select(UserRow).where(UserRow.email == "dana@college.kz"))
    assert account.role == "examiner"  # an LMS never makes anyone a college admin
    assigned = rows(db_file, select(ExamExaminerRow.exam_id).where(ExamExaminerRow.user_id == account.id))
    assert assigned == [exam_id]
    # no password opens an account that came through the LMS
    denied = client.post("/desk/login", data={"email": "dana@college.kz", "password": "!lti"}, follow_redirects=False)
    assert denied.status_code != 303


def _tampered(token: str) -> str:
    head, body, signature = token.split(".")
    return ".".join([head, body, signature[:-4] + ("AAAA" if not signature.endswith("AAAA") else "BBBB")])


def test_every_bad_launch_is_refused_with_a_page_and_logged(
    client: TestClient, lms: PlatformEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    register(client, lms)
    _, custom = add_exam(client, lms, TEACHER, "Biology final")
    caplog.set_level(logging.INFO)

    def refused(answer: httpx.Response, status: int, words: str) -> None:
        assert answer.status_code == status, answer.text
        assert words in answer.text and "text/html" in answer.headers["content-type"]

    # a replay: the same id_token and state posted again (the browser's state cookie is spent with the launch;
    # one who kept a copy of it is refused all the same)
    answer = platform_answer(login(client, lms, ANN, custom=custom))
    kept = {cookie.name: cookie.value for cookie in client.cookies.jar if cookie.name.startswith("lti_state_")}
    assert client.post("/lti/launch", data=answer.fields, follow_redirects=False).status_code == 303
    refused(client.post("/lti/launch", data=answer.fields), 403, "state cookie")
    for name, value in kept.items():
        client.cookies.set(name, value, domain="testserver.local", path="/lti/")
    refused(client.post("/lti/launch", data=answer.fields), 403, "used already")
    # an old token (its nonce) under a fresh state
    fresh = platform_answer(login(client, lms, ANN, custom=custom))
    refused(client.post("/lti/launch", data={**fresh.fields, "id_token": answer.fields["id_token"]}), 403, "nonce")

    def forged(**change: Any) -> httpx.Response:
        """A fresh login whose id_token the test re-signs with changed claims (or another key)."""
        form = platform_answer(login(client, lms, ANN, custom=custom))
        claims = jwt.decode(form.fields["id_token"], options={"verify_signature": False})
        key = change.pop("key", None)
        kid = change.pop("kid", None)
        claims.update(change)
        for name in [name for name, value in change.items() if value is None]:
            del claims[name]
        return client.post("/lti/launch", data={**form.fields, "id_token": lms.sign(claims, key=key, kid=kid)})

    refused(forged(aud="another-tool"), 403, "audience")
    refused(forged(exp=int(time.time()) - 120, iat=int(time.time()) - 180), 403, "expired")
    refused(forged(iss="https://moodle.elsewhere.kz"), 403, "issuer")
    refused(forged(**{c.DEPLOYMENT_ID: "99"}), 403, "deployment")
    refused(forged(**{c.VERSION: "1.1"}), 400, "1.3.0")
    refused(forged(**{c.MESSAGE_TYPE: "LtiSubmissionReviewRequest"}), 400, "does not handle")
    refused(forged(aud=["tool-a", "tool-b"]), 403, "azp")
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    refused(forged(key=stranger, kid="not-published"), 403, "does not publish")
    refused(forged(key=stranger), 403, "signature")
    # a token whose signature was broken
    form = platform_answer(login(client, lms, ANN, custom=custom))
    refused(client.post("/lti/launch", data={**form.fields, "id_token": _tampered(form.fields["id_token"])}), 403, "")
    # a browser that did not start the login (no state cookie)
    form = platform_answer(login(client, lms, ANN, custom=custom))
    client.cookies.clear()
    refused(client.post("/lti/launch", data=form.fields), 403, "state cookie")
    # a state the tool never issued
    refused(client.post("/lti/launch", data={"state": "made-up", "id_token": "x"}), 403, "state cookie")
    # a login from an LMS nobody registered, and from an unknown deployment
    params = lms.login_params(ANN, target_link_uri=f"{BASE}/lti/launch")
    refused(client.post("/lti/login", data={**params, "iss": "https://unknown.example"}), 403, "no LTI platform")
    refused(client.post("/lti/login", data={**params, "lti_deployment_id": "77"}), 403, "deployment")
    # an activity the tool never linked, and a link a teacher edited in the LMS
    refused(launch(client, lms, ANN, resource_link_id="99"), 404, "not linked")
    edited = {c.EXAM_LINK: custom[c.EXAM_LINK][:-6] + "AAAAAA"}
    refused(launch(client, lms, ANN, resource_link_id="98", custom=edited), 403, "exam link")
    refusals = [r.getMessage() for r in caplog.records if "LTI launch refused" in r.getMessage()]
    assert len(refusals) >= 15
    tokens = [form.fields["id_token"], answer.fields["id_token"]]
    assert not any(token in record.getMessage() for token in tokens for record in caplog.records)


def test_a_registration_of_another_college_cannot_open_this_colleges_exam(
    client: TestClient, lms: PlatformEmulator, db_file: str
) -> None:
    register(client, lms)
    _, custom = add_exam(client, lms, TEACHER, "History final")
    with PlatformEmulator("Moodle B", client_id="tool-b") as theirs:
        register(client, theirs, other_college(db_file, "College B"))
        refusal = launch(client, theirs, BOB, custom=custom)  # college A's link, pasted into college B's LMS
        assert refusal.status_code == 403 and "another LMS registration" in refusal.text
        disabled = client.patch(f"/api/v1/lti/platforms/{register_id(client)}", headers=auth(), json={"disabled": True})
        assert disabled.status_code == 200 and disabled.json()["disabled"] is True
        shut = login(client, lms, ANN, custom=custom)
        assert shut.status_code == 403 and "disabled" in shut.text


def register_id(client: TestClient) -> str:
    return str(client.get("/api/v1/lti/platforms", headers=auth()).json()[0]["id"])


def test_a_learner_cannot_add_exams_and_a_role_outside_the_course_gets_nothing(
    client: TestClient, lms: PlatformEmulator
) -> None:
    register(client, lms)
    _, custom = add_exam(client, lms, TEACHER, "Maths final")
    deep = launch(client, lms, ANN, message="deeplink")
    assert deep.status_code == 403 and "teachers" in deep.text
    guest = Member(
        "9", "Guest", "User", "guest@college.kz", ["http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"]
    )
    assert launch(client, lms, guest, custom=custom).status_code == 403


# -- pages may be framed by the registered LMS ------------------------------------------------------------------


def test_pages_may_be_framed_by_registered_lms_only(client: TestClient, lms: PlatformEmulator) -> None:
    before = client.get("/desk/login").headers["content-security-policy"]
    assert "frame-ancestors 'self';" in before
    register(client, lms)
    after = client.get("/desk/login").headers["content-security-policy"]
    assert f"frame-ancestors 'self' {lms.issuer};" in after


# -- roster (NRPS) ----------------------------------------------------------------------------------------------


def test_the_course_roster_becomes_the_exams_candidates(
    client: TestClient, lms: PlatformEmulator, db_file: str
) -> None:
    register(client, lms)
    exam_id, custom = add_exam(client, lms, TEACHER, "Roster final")
    launch(client, lms, TEACHER, custom=custom)  # the first launch binds the link and learns the roster's URL
    lms.members = [ANN, BOB, TEACHER, Member("7", "Cem", "Ay", "cem@college.kz", [LEARNER])]
    report = client.post(f"/api/v1/exams/{exam_id}/roster", headers=auth())
    assert report.status_code == 200, report.text
    assert report.json() | {"exam_id": ""} == {
        "exam_id": "",
        "learners": 3,
        "added": 3,
        "withdrawn": 0,
        "returned": 0,
        "links": 1,
    }
    lms.members = [ANN, TEACHER, Member("7", "Cem", "Ay", "cem@college.kz", [LEARNER])]
    assert client.post(f"/api/v1/exams/{exam_id}/roster", headers=auth()).json()["withdrawn"] == 1
    withdrawn = rows(db_file, select(CandidateRow.lti_sub).where(CandidateRow.withdrawn_at.is_not(None)))
    assert withdrawn == ["6"]
    listed = client.get(f"/api/v1/exams/{exam_id}/candidates", headers=auth()).json()["items"]
    assert {(c["full_name"], c["withdrawn"], c["reference_photo"]) for c in listed} == {
        ("Ann Lee", False, False),
        ("Bob Kim", True, False),
        ("Cem Ay", False, False),
    }
    lms.down = True
    assert client.post(f"/api/v1/exams/{exam_id}/roster", headers=auth()).status_code == 502
    lms.down = False
    assert client.post(f"/api/v1/exams/{exam_id}/roster", headers=auth(other_college(db_file))).status_code == 404


# -- grades (AGS) -----------------------------------------------------------------------------------------------


def test_a_verdict_is_written_to_the_gradebook_and_updated_when_it_changes(
    client: TestClient, lms: PlatformEmulator, db_file: str
) -> None:
    register(client, lms)
    exam_id, custom = add_exam(client, lms, TEACHER, "Graded final")
    launch(client, lms, ANN, custom=custom)
    (session,) = rows(db_file, select(SessionRow).where(SessionRow.exam_id == exam_id))
    engine = make_engine(db_file)
    with engine.begin() as connection:  # analysis is not what this test is about: the session is ready for review
        connection.execute(SessionRow.__table__.update().values(status="analysed"))
    engine.dispose()
    tool = client.app_state["lti"]  # type: ignore[attr-defined]

    def verdict(value: str, note: str = "") -> None:
        answer = client.post(
            f"/api/v1/sessions/{session.id}/verdict",
            headers=auth(),
            json={"verdict": value, "examiner": "aigul@college.kz", "note": note},
        )
        assert answer.status_code in (200, 201), answer.text

    verdict("confirmed")
    assert tool.grades.deliver_due() == 1
    (item,) = lms.line_items
    assert item["label"] == "Proctoring review" and item["scoreMaximum"] == 1
    (score,) = lms.scores
    assert score["content_type"] == "application/vnd.ims.lis.v1.score+json"
    assert score["body"]["userId"] == "5" and score["body"]["scoreGiven"] == 1.0
    assert score["body"]["gradingProgress"] == "FullyGraded" and "confirmed" in score["body"]["comment"]
    # the LMS is down: the write waits and is tried again later, then reaches it
    lms.down = True
    verdict("annulled", "notes on the desk")
    assert tool.grades.deliver_due() == 0
    (waiting,) = rows(db_file, select(GradeWriteRow).where(GradeWriteRow.done_at.is_(None)))
    assert waiting.attempts == 1 and "503" in (waiting.last_error or "")
    lms.down = False
    assert tool.grades.deliver_due() == 0  # not due yet (backoff)
    later = waiting.next_at.replace(tzinfo=UTC)
    assert tool.grades.deliver_due(now=later + timedelta(seconds=1)) == 1
    assert lms.scores[-1]["body"]["scoreGiven"] == 0.0 and "annulled" in lms.scores[-1]["body"]["comment"]
    assert len(lms.line_items) == 1  # the same column, updated
    written = rows(db_file, select(func.count()).select_from(LedgerEntryRow).where(LedgerEntryRow.kind == "lti_grade"))
    assert written == [2]
    links = rows(db_file, select(LinkRow))
    assert links[0].lineitem_url == item["id"]


# -- the desk -------------------------------------------------------------------------------------------------


def test_a_college_admin_registers_an_lms_on_the_desk(client: TestClient, lms: PlatformEmulator, db_file: str) -> None:
    engine = make_engine(db_file)
    with make_session_factory(engine)() as db, db.begin():
        (college,) = db.scalars(select(CollegeRow.id))
        add_person(db, college, "admin@college.kz", "College Admin", Role.ADMIN, "admin-password-123")
    engine.dispose()
    csrf = sign_in(client, "admin@college.kz", "admin-password-123")
    page = client.get("/desk/lti", headers=HTML)
    assert page.status_code == 200 and f"{BASE}/lti/login" in page.text and f"{BASE}/lti/jwks" in page.text
    form = {
        "csrf_token": csrf,
        "name": "College Moodle",
        "issuer": lms.issuer,
        "client_id": lms.client_id,
        "deployment_ids": "1, 2",
        "jwks_url": lms.jwks_url,
        "auth_url": lms.auth_url,
        "token_url": lms.token_url,
    }
    bad = client.post("/desk/lti/platforms", data={**form, "jwks_url": "not a url"}, headers=HTML)
    assert bad.status_code == 422 and "jwks_url" in bad.text
    assert (
        client.post("/desk/lti/platforms", data={k: v for k, v in form.items() if k != "csrf_token"}).status_code == 403
    )
    done = client.post("/desk/lti/platforms", data=form, follow_redirects=False)
    assert done.status_code == 303
    (registered,) = client.get("/api/v1/lti/platforms", headers=auth()).json()
    assert registered["deployment_ids"] == ["1", "2"] and registered["issuer"] == lms.issuer
    shown = client.get("/desk/lti", headers=HTML).text
    assert "College Moodle" in shown
    off = client.post(f"/desk/lti/platforms/{registered['id']}/disabled", data={"csrf_token": csrf, "disabled": "true"})
    assert off.status_code == 200 and client.get("/api/v1/lti/platforms", headers=auth()).json()[0]["disabled"]
    # an examiner who came through the LMS does not manage registrations
    client.post(f"/desk/lti/platforms/{registered['id']}/disabled", data={"csrf_token": csrf, "disabled": "false"})
    lms.configure_tool(
        login_url=f"{BASE}/lti/login", redirect_uris=[f"{BASE}/lti/launch"], jwks=client.get("/lti/jwks").json()
    )
    client.cookies.clear()
    launch(client, lms, TEACHER, message="deeplink")
    assert client.get("/desk/lti", headers=HTML).status_code == 403


def test_the_loop_forgets_old_logins_and_reads_rosters_before_the_exam(
    client: TestClient, lms: PlatformEmulator, db_file: str
) -> None:
    register(client, lms)
    exam_id, custom = add_exam(client, lms, TEACHER, "Looped final")
    launch(client, lms, TEACHER, custom=custom)
    login(client, lms, ANN, custom=custom)
    assert len(rows(db_file, select(StateRow))) == 3  # the deep link, the launch, the login never finished
    opens = datetime.now(UTC) + timedelta(minutes=30)
    engine = make_engine(db_file)
    with engine.begin() as connection:
        connection.execute(ExamRow.__table__.update().where(ExamRow.id == exam_id).values(opens_at=opens))
    engine.dispose()
    lms.members = [ANN, BOB, TEACHER]
    tool = client.app_state["lti"]
    tool.round(now=datetime.now(UTC) + timedelta(days=1, minutes=1))  # a day later: nothing opens within the hour
    assert rows(db_file, select(StateRow)) == []
    assert rows(db_file, select(CandidateRow).where(CandidateRow.exam_id == exam_id)) == []
    tool.round()  # half an hour before the exam opens: its roster is read
    synced = rows(db_file, select(CandidateRow.lti_sub).where(CandidateRow.exam_id == exam_id))
    assert sorted(synced) == ["5", "6"]
    tool.round()  # read once per hour before the exam, not every round
    assert sum(1 for line in lms.requests if "/memberships" in line) == 1


# -- dynamic registration ---------------------------------------------------------------------------------------


def test_an_lms_registers_itself_with_a_one_time_link_for_its_college(
    client: TestClient, lms: PlatformEmulator, db_file: str, caplog: pytest.LogCaptureFixture
) -> None:
    made = client.post("/api/v1/lti/registration-links", headers=auth())
    assert made.status_code == 201, made.text
    link = made.json()["url"]
    assert link.startswith(f"{BASE}/lti/register/")
    assert client.post("/api/v1/lti/registration-links", headers=auth(other_college(db_file))).status_code == 201
    opened = client.get(lms.registration_start(link).removeprefix(BASE))
    assert opened.status_code == 200, opened.text
    assert "/assets/lti/registered.js" in opened.text
    (sent,) = lms.registrations
    assert sent["initiate_login_uri"] == f"{BASE}/lti/login" and sent["jwks_uri"] == f"{BASE}/lti/jwks"
    assert sent["redirect_uris"] == [f"{BASE}/lti/launch"]
    (platform,) = client.get("/api/v1/lti/platforms", headers=auth()).json()
    assert (platform["issuer"], platform["client_id"], platform["deployment_ids"]) == (
        lms.issuer,
        lms.client_id,
        [lms.deployment_id],
    )
    assert (platform["auth_url"], platform["token_url"], platform["jwks_url"]) == (
        lms.auth_url,
        lms.token_url,
        lms.jwks_url,
    )
    # the link works once; a made-up one never
    again = client.get(lms.registration_start(link).removeprefix(BASE))
    assert again.status_code == 410 and "used already" in again.text
    assert client.get("/lti/register/made-up?openid_configuration=x").status_code == 404
    # what the LMS registered launches
    lms.configure_tool(
        login_url=f"{BASE}/lti/login", redirect_uris=[f"{BASE}/lti/launch"], jwks=client.get("/lti/jwks").json()
    )
    _, custom = add_exam(client, lms, TEACHER, "Registered final")
    assert launch(client, lms, ANN, custom=custom).status_code == 303
    written = rows(db_file, select(LedgerEntryRow.kind).where(LedgerEntryRow.kind == "lti_registration"))
    assert written == ["lti_registration"]


def test_a_bad_new_exam_from_the_lms_is_refused_and_nothing_is_made(client: TestClient, lms: PlatformEmulator) -> None:
    register(client, lms)
    page = launch(client, lms, TEACHER, message="deeplink")
    create = next(form for form in forms(page.text) if form.fields.get("exam") == "new")
    for bad in (
        {"title": ""},
        {"title": "T", "duration_min": "0"},
        {"title": "T", "content_url": "javascript:alert(1)"},
        {"title": "T", "opens_at": "tomorrow"},
        {"title": "T", "attestation": "weekly"},
    ):
        answer = client.post(create.action, data={**create.fields, **bad}, headers=HTML)
        assert answer.status_code == 422, (bad, answer.status_code)
    assert client.get("/api/v1/exams", headers=auth()).json()["items"] == []
    forged = client.post(create.action, data={**create.fields, "title": "T", "context": "x.y.z"}, headers=HTML)
    assert forged.status_code == 403
    assert lms.deep_links == []
